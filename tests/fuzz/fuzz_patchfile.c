/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer entry for the patch descriptor reader: any byte string must give
 * 0 or a negative error, never a crash, a leak or an out-of-bounds read.
 * Seeds: tests/fuzz/corpus/patchfile/ (real patches built with hotpatch.h).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/common.h"
#include "elf/elf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct patch_file pf;

	hp_err_clear();
	if (patch_file_read_mem(data, size, "fuzz.so", &pf) == 0) {
		/* touch what a caller reads: strings must be terminated */
		size_t n = 0;
		for (unsigned i = 0; i < pf.ndesc; i++)
			n += strlen(pf.desc[i].symbol) + strlen(pf.desc[i].object) +
			     strlen(pf.desc[i].file) + strlen(pf.desc[i].addr_name);
		if (n == SIZE_MAX)
			__builtin_trap();
	}
	patch_file_release(&pf);
	return 0;
}

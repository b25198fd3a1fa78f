/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer entry for the /proc/PID/maps parser: any byte string must give 0
 * or -ENOMEM, never a crash, a leak or an out-of-bounds access, and every
 * entry it returns must be well-formed. Seeds: tests/fuzz/corpus/maps/ (real
 * maps files, plus the odd lines the kernel can produce).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "proc/proc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct map *maps = NULL;
	size_t n = 0;
	size_t lines = 0;

	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n';
	hp_err_clear();
	int err = maps_parse((const char *)data, size, &maps, &n);
	if (err) {
		if (err != -ENOMEM || maps)
			__builtin_trap();
		return 0;
	}
	/* At most one entry per line; each one well-formed. */
	if (n > lines + 1)
		__builtin_trap();
	for (size_t i = 0; i < n; i++) {
		const struct map *m = &maps[i];
		/* The path lies in the block, after the room for one entry per line. */
		const char *pool = (const char *)(maps + lines + 1);
		if (m->path < pool || m->path >= pool + size + lines + 1)
			__builtin_trap();
		size_t len = strlen(m->path);
		if (m->start >= m->end ||
		    (m->prot & ~(unsigned)(PROT_READ | PROT_WRITE | PROT_EXEC)))
			__builtin_trap();
		/* The path is a copy of input bytes: it must be found in the input. */
		if (len && !memmem(data, size, m->path, len))
			__builtin_trap();
	}
	free(maps);
	return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * Fixups of descriptor version 2 (HOTPATCH_KIND_PC32, HOTPATCH_KIND_ABS64):
 * references from a generated patch's code and data to the target's own
 * functions and variables, written once the patch is loaded, before any
 * replacement is live. A PC32 fixup is what lets `add %rax, var+8(%rip)`
 * in the patch address the program's static 'var' directly; it works
 * because the patch is mapped within reach of the program it replaces
 * functions of, and is refused (nothing written) when it is not.
 */
#include <inttypes.h>
#include <string.h>

#include "patch/patch.h"

int patch_write_fixup(struct proc *p, const struct patch_desc *d, uint64_t sym, uint64_t l_addr)
{
	uint64_t place = l_addr + d->addr_vaddr;
	uint64_t value = sym + (uint64_t)d->addend;

	if (d->kind == HOTPATCH_KIND_ABS64)
		return proc_write(p, place, &value, sizeof(value));
	if (d->kind != HOTPATCH_KIND_PC32)
		return hp_err(HOTPATCH_E_BADDESC, "pid %d: '%s': unknown fixup kind %d", p->pid,
			      d->symbol, d->kind);
	int64_t rel = (int64_t)(value - place);
	if (rel < INT32_MIN || rel > INT32_MAX)
		return hp_err(HOTPATCH_E_BADDESC,
			      "pid %d: '%s' at 0x%" PRIx64
			      " is out of reach of the patch code at 0x%" PRIx64
			      " (PC-relative, more than 2 GiB away)",
			      p->pid, d->symbol, sym, place);
	int32_t v = (int32_t)rel;
	return proc_write(p, place, &v, sizeof(v));
}

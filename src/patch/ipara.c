/* SPDX-License-Identifier: MIT */
/* Register preservation (IPA-RA): which caller-saved registers a replacement must keep for callers. */
#include <string.h>
#include <elf.h>

#include "patch/plan.h"

/*
 * Caller-saved registers the old function (and what it calls directly in its
 * own object) never writes. GCC's -fipa-ra lets callers in the same unit keep
 * live values there across the call; a replacement must preserve them too.
 * Anything we cannot see through (PLT, pointer calls, undecodable bytes)
 * means "clobbers everything", which needs no preservation.
 */
void ipara_clobbers(struct elf_file *ef, uint64_t value, uint32_t *written, bool *stack_args)
{
	uint64_t todo[64], seen[64];
	size_t ntodo = 0, nseen = 0;
	struct arch_func_info info;

	*written = 0;
	*stack_args = false;
	/* Whatever cannot be read or decoded only means "clobbers everything". */
	hp_err_quiet_begin();
	if (!ef)
		goto all;
	todo[ntodo++] = value;
	while (ntodo) {
		uint64_t a = todo[--ntodo];
		struct elf_sym sym;
		if (nseen == ARRAY_SIZE(seen) || elf_file_symbolize(ef, a, &sym) || sym.value != a ||
		    !sym.size || sym.size > (1u << 20))
			goto all;
		seen[nseen++] = a;
		uint8_t *code = malloc(sym.size);
		if (!code || elf_file_read(ef, a, code, sym.size) ||
		    arch_analyze_func(code, sym.size, a, &info)) {
			free(code);
			goto all;
		}
		free(code);
		if (info.indirect_call || info.undecodable || info.callees_overflow)
			goto all;
		if (a == value)
			*stack_args = info.stack_args;
		*written |= info.written;
		for (int i = 0; i < info.ncallees; i++) {
			uint64_t c = info.callees[i];
			bool known = false;
			for (size_t j = 0; j < nseen; j++)
				known |= seen[j] == c;
			for (size_t j = 0; j < ntodo; j++)
				known |= todo[j] == c;
			if (known)
				continue;
			if (ntodo == ARRAY_SIZE(todo))
				goto all;
			todo[ntodo++] = c;
		}
	}
	hp_err_quiet_end();
	return;
all:
	hp_err_quiet_end();
	*written = ARCH_REGS_CALLER_SAVED;
}

/*
 * HOTPATCH_NO_PRESERVE=1 is a debug knob for tests and for reproducing a
 * suspected IPA-RA corruption: the analysis runs and reports, but no
 * preserving island is built and nothing is refused. Never for production.
 */
static bool no_preserve_knob(void)
{
	const char *v = getenv("HOTPATCH_NO_PRESERVE");
	return v && !strcmp(v, "1");
}

int ipara_plan(struct proc *p, struct plan *pl, const struct hotpatch_opts *opts)
{
	bool knob = no_preserve_knob();

	struct elf_file *patch_ef = NULL;
	for (size_t i = 0; i < pl->nf; i++) {
		struct plan_func *f = &pl->f[i];
		struct elf_file *ef;
		uint32_t written, new_written;
		bool stack_args, unused;
		/*
		 * A global function of a shared library can be interposed, so
		 * callers may not assume anything about its registers.
		 */
		if (!f->r.obj->main && f->r.sym.bind != STB_LOCAL)
			continue;
		/* Every call to an ifunc goes through a GOT slot: nobody can assume its registers. */
		if (f->resolver)
			continue;
		ipara_clobbers(object_elf(f->r.obj, &ef) ? NULL : ef, f->r.sym.value, &written,
				 &stack_args);
		/*
		 * Return registers included: a function that never writes rax
		 * returns nothing in it, and its callers may keep a value there.
		 */
		uint32_t keep = ARCH_REGS_CALLER_SAVED & ~written;
		if (!keep)
			continue;
		/*
		 * Of those, only the registers the replacement (or anything it
		 * calls) may write need saving: the same analysis, on the patch
		 * file. A replacement that writes none of them gets a plain jump
		 * (an island saving all 24 cost 10 ns per call here).
		 */
		if (!patch_ef && elf_file_open(pl->path, pl->path, &patch_ef))
			patch_ef = NULL;
		ipara_clobbers(patch_ef, f->d->addr_vaddr, &new_written, &unused);
		keep &= new_written;
		if (!keep) {
			hp_debug("pid %d: '%s': the replacement writes no register its callers may keep",
				 p->pid, f->d->symbol);
			continue;
		}
		char regs[256];
		arch_regs_str(keep, regs, sizeof(regs));
		if (knob) {
			hp_warn("pid %d: '%s': HOTPATCH_NO_PRESERVE=1: callers relying on %s are not protected (debug knob)",
				p->pid, f->d->symbol, regs);
			continue;
		}
		if (stack_args && !(opts && opts->force_clobber)) {
			elf_file_free(patch_ef);
			return hp_err(HOTPATCH_E_CLOBBER,
				      "pid %d: '%s' never writes %s, so optimized callers (gcc -fipa-ra) may keep values there; it takes stack arguments, so no preserving island can be built: rebuild the target with -fno-ipa-ra, or --force-regs if the replacement preserves them",
				      p->pid, f->d->symbol, regs);
		}
		if (stack_args) {
			hp_warn("pid %d: '%s': --force-regs: callers relying on %s are not protected",
				p->pid, f->d->symbol, regs);
			continue;
		}
		f->preserved = keep;
		hp_info("pid %d: '%s': preserving %s for its callers", p->pid, f->d->symbol, regs);
	}
	elf_file_free(patch_ef);
	return 0;
}

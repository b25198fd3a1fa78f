/* SPDX-License-Identifier: MIT */
/* The revert transaction, a peer of apply.c. */
/*
 * The mirror of apply: the entries restored under one stop, all or nothing
 * (rolled back if the patch's code cannot be drained), then the patch
 * unloaded from a safe point while the other threads run.
 */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "patch/patch.h"

const struct hotpatch_patch *stacked_over(const struct state *st, const struct hotpatch_patch *hp,
					  const char **fn)
{
	for (unsigned i = 0; i < st->npatches; i++) {
		const struct hotpatch_patch *later = &st->patches[i];
		if (later->id <= hp->id)
			continue;
		for (unsigned a = 0; a < hp->nfuncs; a++)
			for (unsigned b = 0; b < later->nfuncs; b++)
				if (hp->funcs[a].addr == later->funcs[b].addr) {
					*fn = hp->funcs[a].name;
					return later;
				}
	}
	return NULL;
}

/* Roll a revert back: our jumps over hp->funcs[from..], once no thread is amid those bytes. */
static int put_jumps_back(struct proc *p, const struct hotpatch_patch *hp, unsigned from)
{
	size_t n = hp->nfuncs - from;
	struct range *w = calloc(n + 1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	for (unsigned j = from; j < hp->nfuncs; j++) {
		uint64_t a = hp->funcs[j].addr + hp->funcs[j].jump_off;
		w[j - from] = (struct range){ a, a + hp->funcs[j].jump_len, hp->funcs[j].name };
	}
	/* The operation's own deadline has passed: a few steps need no more than a second. */
	int err = leave_windows(p, w, n, hp_now_ns() + 1000000000ull);
	unsigned j;
	for (j = from; !err && j < hp->nfuncs; j++)
		err = proc_write(p, w[j - from].start, hp->funcs[j].jump, hp->funcs[j].jump_len);
	/* A write refused half-way: nothing ran since, take back the ones written. */
	if (err)
		while (j-- > from)
			proc_write(p, w[j - from].start, hp->funcs[j].orig, hp->funcs[j].jump_len);
	free(w);
	return err;
}

/* Inside the stop, before the threads are checked: the entries go back to their old bytes. */
struct restore {
	struct proc *p;
	const struct hotpatch_patch *hp;
	unsigned restored;	/* hp->funcs[restored..] hold their original bytes again */
};

static int restore_entries(void *arg)
{
	struct restore *r = arg;
	const struct hotpatch_patch *hp = r->hp;
	int err = 0;

	/* The entries must still hold our jumps; anything else means someone else wrote there. */
	for (unsigned i = 0; !err && i < hp->nfuncs; i++) {
		const struct hotpatch_func *f = &hp->funcs[i];
		uint8_t cur[16];
		err = proc_read(r->p, f->addr + f->jump_off, cur, f->jump_len);
		if (!err && memcmp(cur, f->jump, f->jump_len))
			err = hp_err(HOTPATCH_E_STATE,
				     "pid %d: '%s' at 0x%llx no longer holds the jump of patch %u: not touching it",
				     r->p->pid, f->name, (unsigned long long)f->addr, hp->id);
	}
	/*
	 * Restore the entries first, then wait for the threads inside the
	 * patch's code to leave: with the jumps gone nobody can enter it any
	 * more, so the wait converges even for a function called in a tight
	 * loop. A thread at a jump's first byte simply runs the original
	 * instruction; nothing can be in the middle of a jump we wrote.
	 */
	while (!err && r->restored > 0) {
		const struct hotpatch_func *f = &hp->funcs[r->restored - 1];
		err = proc_write(r->p, f->addr + f->jump_off, f->orig, f->jump_len);
		if (!err)
			r->restored--;
	}
	return err;
}

/*
 * World held, the entries restored, no thread inside: does anything still
 * refer to the patch's code or islands? Then the patch is recorded as
 * retained (staged again here: rare, and it must be in the commit) and its
 * code is not unloaded. *why says what refers to it.
 */
static int retain_if_referenced(struct proc *p, struct objects *objs, struct state *st,
				const struct hotpatch_patch *hp,
				const uint64_t *isl, size_t nisl, const struct range *ranges, size_t nr,
				uint64_t budget, char *why, size_t whylen, bool *retained)
{
	struct ref ref;
	bool unproven;
	struct hp_err_catch c;
	hp_err_catch_begin(&c);
	char own[4096];
	int r = contexts_references(p, objs, patch_map_path(p, hp, own, sizeof(own)), ranges, nr, budget,
				    &ref, &unproven);
	hp_err_catch_end(&c);

	*retained = false;
	if (r < 0) {
		snprintf(why, whylen, "the memory scan failed (%.200s)", c.code ? c.msg : strerror(-r));
	} else if (r > 0 && ref.at) {
		snprintf(why, whylen, "%s 0x%llx at 0x%llx (%s) points into it",
			 ref.mangled ? "a saved (mangled) pc" : "the word", (unsigned long long)ref.value,
			 (unsigned long long)ref.at, ref.where);
	} else if (r > 0) {
		snprintf(why, whylen, "0x%llx in %s points into it", (unsigned long long)ref.value,
			 ref.where);
	} else if (unproven) {
		snprintf(why, whylen, "not all of its memory could be read to prove nothing refers to it");
	} else {
		return 0;
	}
	struct hotpatch_patch *v = realloc(st->retained, (st->nretained + 1) * sizeof(*v));
	struct island_rec *ni = realloc(st->islands, (st->nislands + nisl + 1) * sizeof(*ni));
	if (v)
		st->retained = v;
	if (ni)
		st->islands = ni;
	if (!v || !ni)
		return -ENOMEM;
	struct hotpatch_patch *rec = &st->retained[st->nretained];
	*rec = *hp;
	rec->nfuncs = 0;
	rec->funcs = calloc(1, sizeof(*rec->funcs));
	rec->nimports = 0;
	rec->imports = NULL;
	if (!rec->funcs)
		return -ENOMEM;
	st->nretained++;
	for (size_t i = 0; i < nisl; i++)
		st->islands[st->nislands++] = (struct island_rec){ hp->id, isl[i], 4096 };
	*retained = true;
	return state_stage(p, NULL, st);
}

/*
 * Append to r the patch's code: its code sections where its ELF file says so (an executable
 * mapping may also hold the ELF header and the symbol hash, which the dynamic linker's own
 * records point to: aarch64's single R E segment), else its executable mappings. r has room
 * for p->nmaps + PATCH_CODE_MAX.
 */
#define PATCH_CODE_MAX 8
static size_t patch_code(struct proc *p, struct objects *objs, const char *mapped, struct range *r)
{
	uint64_t code[PATCH_CODE_MAX][2];
	struct object *po = objects_find_name(objs, mapped);
	struct elf_file *pef;
	size_t n = 0;
	hp_err_quiet_begin();
	int ncode = po && !object_elf(po, &pef) ? elf_file_code_ranges(pef, code, PATCH_CODE_MAX) : 0;
	hp_err_quiet_end();
	if (ncode > PATCH_CODE_MAX)
		ncode = 0;
	for (int i = 0; i < ncode; i++)
		r[n++] = (struct range){ po->bias + code[i][0], po->bias + code[i][1], "patch code" };
	for (size_t i = 0; !ncode && i < p->nmaps; i++)
		if (!strcmp(p->maps[i].path, mapped) && (p->maps[i].prot & PROT_EXEC))
			r[n++] = (struct range){ p->maps[i].start, p->maps[i].end, "patch code" };
	return n;
}

static int do_revert(struct op *op, const char *what, struct hotpatch_result *res)
{
	struct proc *p = op->p;
	struct state *st = &op->st;
	const struct hotpatch_opts *opts = op->opts;
	struct thread *t;
	struct range *ranges = NULL;
	struct hotpatch_patch gone = { 0 };
	uint64_t isl[64];
	size_t nisl = 0, nr = 0;
	int err;

	/*
	 * Everything but the restore itself is prepared while the target runs:
	 * the state changes only under our per-target lock.
	 */
	objects_prefetch(&op->objs);
	struct hotpatch_patch *hp = state_find(st, what);
	if (!hp) {
		err = hp_err(HOTPATCH_E_NOTAPPLIED, "pid %d: no applied patch '%s'", p->pid, what);
		goto out;
	}
	const char *fn = NULL;
	const struct hotpatch_patch *later = stacked_over(st, hp, &fn);
	if (later) {
		err = hp_err(HOTPATCH_E_STACKED,
			     "pid %d: patch %u cannot be reverted before patch %u, which also replaces '%s': revert %u first (or --all)",
			     p->pid, hp->id, later->id, fn, later->id);
		goto out;
	}
	/* No thread may stay inside the patch's code (it will be unmapped) or its islands. */
	err = proc_maps_refresh(p);
	char mp[4096];
	const char *mapped = err ? hp->path : patch_map_path(p, hp, mp, sizeof(mp));
	size_t cap = p->nmaps + st->nislands + PATCH_CODE_MAX + 1;
	ranges = calloc(cap, sizeof(*ranges));
	if (!ranges && !err)
		err = -ENOMEM;
	if (!err)
		nr = patch_code(p, &op->objs, mapped, ranges);
	for (unsigned i = 0; !err && i < st->nislands; i++)
		if (st->islands[i].patch_id == hp->id)
			ranges[nr++] = (struct range){ st->islands[i].addr,
						       st->islands[i].addr + st->islands[i].len, "jump island" };
	if (err)
		goto out;
	/* The state without it, staged now: inside the stop only the commit is left. */
	gone = *hp;		/* gone owns the funcs from here */
	unsigned k = 0;
	for (unsigned j = 0; j < st->nislands; j++) {
		if (st->islands[j].patch_id == gone.id && nisl < ARRAY_SIZE(isl))
			isl[nisl++] = st->islands[j].addr;
		else
			st->islands[k++] = st->islands[j];
	}
	st->nislands = k;
	unsigned idx = (unsigned)(hp - st->patches);
	memmove(&st->patches[idx], &st->patches[idx + 1],
		(st->npatches - idx - 1) * sizeof(*st->patches));
	st->npatches--;
	err = state_stage(p, NULL, st);
	if (err)
		goto out;

	struct restore rs = { .p = p, .hp = &gone, .restored = gone.nfuncs };
	bool keep_loaded = false, retained = false;
	char why_kept[256] = "";
	/*
	 * Where the target has parked contexts (coroutines) the proof that
	 * nothing leads back into the code is made inside the pause, where
	 * nothing moves: about 0.3-1 ms per MiB of resident writable memory.
	 * Where the search finds none, it runs after the pause instead, while
	 * the threads run, so that a revert's pause does not grow with the
	 * target's memory: what it can then miss is a reference copied from a
	 * word not yet read to one already read during the scan (docs/contexts.md).
	 */
	struct pctxset cs = { 0 };
	hp_err_quiet_begin();
	contexts_find(p, &op->objs, &cs);
	hp_err_quiet_end();
	bool in_pause = cs.n > 0;
	contexts_release(&cs);
	err = consistency_stop(p, &op->objs, ranges, nr, op->deadline, restore_entries, &rs);
	if (!err && in_pause) {
		/* No thread is inside; a parked context or a stored pointer may still come back. */
		err = retain_if_referenced(p, &op->objs, st, &gone, isl, nisl, ranges, nr, REFERENCE_SCAN_BUDGET,
					   why_kept, sizeof(why_kept), &retained);
	}
	if (!err)
		err = state_commit(p, st);
	if (err && rs.restored < gone.nfuncs && !patch_target_gone(p, err)) {
		/*
		 * All or nothing: put our jumps back. Threads have run the restored
		 * bytes meanwhile, so first none may be in the middle of them.
		 * If that cannot be made so, finish the revert instead (all old
		 * is as consistent as all new) and leave the code loaded for the
		 * threads still inside it.
		 */
		struct hp_err_saved why;
		hp_err_save(&why);
		int rb = -EAGAIN;
		if (p->held || !proc_hold_all(p))
			rb = put_jumps_back(p, &gone, rs.restored);
		if (!rb) {
			hp_err_restore(&why);
			goto out;
		}
		hp_warn("%s; putting the jumps back is not safe (%s): patch %u is reverted instead and its code stays loaded",
			why.msg, hotpatch_errmsg(), gone.id);
		hp_err_clear();
		/* The entries hold the old bytes: the state must say so (the target never reads it). */
		err = state_commit(p, st);
		if (err)
			goto out;
		keep_loaded = true;
	} else if (err) {
		goto out;
	}
	proc_release_all(p, NULL);
	res->timing.stw_ns = p->pause_ns;
	if (!in_pause && !keep_loaded) {
		/* The threads' registers were read in the stop: the scan leaves their stacks alone. */
		int r = retain_if_referenced(p, &op->objs, st, &gone, isl, nisl, ranges, nr,
					     REFERENCE_SCAN_BUDGET_RUNNING, why_kept, sizeof(why_kept),
					     &retained);
		if (!r && retained)
			r = state_commit(p, st);
		if (r && !patch_target_gone(p, r)) {
			/* Not recorded as retained: then it must not be unloaded either. */
			hp_warn("pid %d: patch %u reverted; its code stays loaded (the retained record could not be written: %s)",
				p->pid, gone.id, strerror(-r));
			keep_loaded = true;
		} else if (r) {
			err = r;
			goto out;
		}
	}
	patch_record_copy(&gone, &res->patch);
	patch_imports(p, &res->patch);

	if (retained)
		hp_warn("pid %d: patch %u reverted, but its code stays loaded: %s; 'hotpatch reclaim %d' unloads it once nothing refers to it",
			p->pid, gone.id, why_kept, p->pid);
	if (keep_loaded || retained)
		goto out;
	/* The code is unreachable now; unload it from a safe point, the other threads running. */
	int r = safepoint_borrow(p, &op->objs, patch_deadline(opts, hp_now_ns()), &t);
	if (r == 0) {
		r = remote_dlclose(p, &op->objs, t, res->patch.handle, patch_deadline(opts, hp_now_ns()));
		if (r && !patch_target_gone(p, r))
			hp_warn("pid %d: patch %u reverted but dlclose failed: %s", p->pid,
				res->patch.id, hotpatch_errmsg());
		if (!r)
			patch_memfd_close(p, t, &res->patch, -1);
		for (size_t j = 0; j < nisl && !t->gone; j++)
			remote_munmap(p, t, isl[j], 4096);
	} else if (!patch_target_gone(p, r)) {
		hp_warn("pid %d: patch %u reverted but left loaded (no safe point for dlclose)", p->pid,
			res->patch.id);
	}
	hp_err_clear();
out:
	free(gone.funcs);
	free(ranges);
	proc_release_all(p, NULL);
	return err;
}


int hotpatch_revert(pid_t pid, const char *what, const struct hotpatch_opts *opts,
		    struct hotpatch_result *res)
{
	struct op op = { 0 };

	hp_err_clear();
	memset(res, 0, sizeof(*res));
	int err = op_begin(&op, "revert", pid, OP_LOCK | OP_OBJECTS | OP_STATE, opts, &res->timing);
	if (!err)
		err = do_revert(&op, what, res);
	return op_end(&op, err);
}

/* The code ranges of a retained patch: its mapped code (unless applied again) and its islands. */
static size_t retained_ranges(struct proc *p, struct objects *objs, const struct state *st,
			      const struct hotpatch_patch *rec, struct range *r)
{
	size_t n = 0;
	bool again = false;
	char mine[4096], theirs[4096];
	const char *mapped = patch_map_path(p, rec, mine, sizeof(mine));
	/* A copy (memfd) is named after its own load: applied again, it is another object. */
	for (unsigned i = 0; i < st->npatches; i++)
		again |= !strcmp(patch_map_path(p, &st->patches[i], theirs, sizeof(theirs)), mapped);
	/* Applied again, the same mapping serves the applied copy: dlclose only drops a reference. */
	if (!again)
		n = patch_code(p, objs, mapped, r);
	for (unsigned i = 0; i < st->nislands; i++)
		if (st->islands[i].patch_id == rec->id)
			r[n++] = (struct range){ st->islands[i].addr,
						 st->islands[i].addr + st->islands[i].len, "jump island" };
	return n;
}

static int do_reclaim(struct op *op, unsigned *freed, unsigned *left)
{
	struct proc *p = op->p;
	struct state *st = &op->st;
	struct hotpatch_patch *drop = NULL;
	struct island_rec *disl = NULL;
	unsigned ndrop = 0, ndisl = 0;
	struct range *r = NULL;
	int err;

	*left = st->nretained;
	if (!st->nretained)
		return 0;
	err = proc_maps_refresh(p);
	if (!err) {
		r = calloc(p->nmaps + st->nislands + PATCH_CODE_MAX + 1, sizeof(*r));
		drop = calloc(st->nretained, sizeof(*drop));
		disl = calloc(st->nislands + 1, sizeof(*disl));
		if (!r || !drop || !disl)
			err = -ENOMEM;
	}
	if (!err)
		err = proc_hold_all(p);
	for (size_t i = 0; !err && i < p->nthreads; i++)
		if (p->threads[i]->attached && p->threads[i]->stopped)
			err = thread_get_regs(p, p->threads[i]);
	/* Under one stop: which ones nothing refers to any more. */
	unsigned k = 0, n0 = st->nretained;
	for (unsigned i = 0; !err && i < n0; i++) {
		struct hotpatch_patch *rec = &st->retained[i];
		size_t nr = retained_ranges(p, &op->objs, st, rec, r);
		struct ref ref;
		bool unproven;
		char own[4096];
		int ref_found = nr ? contexts_references(p, &op->objs, patch_map_path(p, rec, own, sizeof(own)), r,
							   nr, REFERENCE_SCAN_BUDGET, &ref, &unproven) : 0;
		if (ref_found < 0) {
			/* Nothing is dropped: the records not looked at yet stay, after the kept ones. */
			err = ref_found;
			for (unsigned d = 0; d < ndrop; d++)
				st->retained[k++] = drop[d];
			for (unsigned j = i; j < n0; j++)
				st->retained[k++] = st->retained[j];
			st->nretained = k;
			ndrop = 0;
			break;
		}
		if (ref_found || (nr && unproven)) {
			hp_debug("pid %d: patch %u still referred to (0x%llx at 0x%llx)%s", p->pid,
				 rec->id, (unsigned long long)ref.value, (unsigned long long)ref.at,
				 unproven ? " or unproven" : "");
			st->retained[k++] = *rec;
			continue;
		}
		drop[ndrop++] = *rec;
	}
	if (!err && ndrop) {
		st->nretained = k;
		unsigned m = 0;
		for (unsigned j = 0; j < st->nislands; j++) {
			bool dropped = false;
			for (unsigned d = 0; d < ndrop; d++)
				dropped |= st->islands[j].patch_id == drop[d].id;
			if (dropped)
				disl[ndisl++] = st->islands[j];
			else
				st->islands[m++] = st->islands[j];
		}
		st->nislands = m;
		/* Inside the stop: what was proven free must not gain a reference before the commit. */
		err = state_write(p, NULL, st);
		if (err) {
			/* Not recorded: nothing is unloaded (the funcs of drop[] were moved, not copied). */
			for (unsigned d = 0; d < ndrop; d++)
				st->retained[st->nretained++] = drop[d];
			ndrop = 0;
		}
	}
	proc_release_all(p, NULL);
	*left = st->nretained;
	/* Unreachable and unreferenced: unload from a safe point, the other threads running. */
	for (unsigned d = 0; !err && d < ndrop; d++) {
		struct thread *t;
		struct hp_err_catch c;
		/* Unreachable and recorded gone: a failure here only leaves it mapped, said as a warning. */
		hp_err_catch_begin(&c);
		int rr = safepoint_borrow(p, &op->objs, patch_deadline(op->opts, hp_now_ns()), &t);
		if (!rr)
			rr = remote_dlclose(p, &op->objs, t, drop[d].handle,
					    patch_deadline(op->opts, hp_now_ns()));
		for (unsigned j = 0; !rr && j < ndisl; j++)
			if (disl[j].patch_id == drop[d].id && !t->gone)
				remote_munmap(p, t, disl[j].addr, disl[j].len);
		if (!rr)
			patch_memfd_close(p, t, &drop[d], -1);
		proc_release_all(p, NULL);
		hp_err_catch_end(&c);
		if (rr && !patch_target_gone(p, rr))
			hp_warn("pid %d: retained patch %u is unreferenced but could not be unloaded: %s",
				p->pid, drop[d].id, c.code ? c.msg : strerror(-rr));
		else if (!rr)
			(*freed)++;
	}
	for (unsigned d = 0; d < ndrop; d++)
		free(drop[d].funcs);
	free(drop);
	free(disl);
	free(r);
	return err;
}

int hotpatch_reclaim(pid_t pid, const struct hotpatch_opts *opts, unsigned *freed, unsigned *left)
{
	struct op op = { 0 };
	unsigned f = 0, l = 0;

	hp_err_clear();
	int err = op_begin(&op, "reclaim", pid, OP_LOCK | OP_OBJECTS | OP_STATE, opts, NULL);
	if (!err)
		err = do_reclaim(&op, &f, &l);
	if (freed)
		*freed = f;
	if (left)
		*left = l;
	return op_end(&op, err);
}

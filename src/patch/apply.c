/* SPDX-License-Identifier: MIT */
/* The apply transaction, and check (its dry run). */
/*
 * Everything that can be checked is checked before the target is touched
 * (plan.c, ipara.c); after that, every step that changes the target has its
 * undo, run in reverse order on any failure (CRIU style), so the target is
 * left as found.
 */
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "patch/plan.h"

/* Undo a dlopen: pick a safe thread again (the world is held), dlclose, unmap islands. */
static void undo_load_steps(struct proc *p, struct objects *objs, struct plan *pl,
			    uint64_t handle, const struct hotpatch_opts *opts, int cause)
{
	struct thread *t;
	uint64_t deadline = patch_deadline(opts, hp_now_ns());
	/* Nothing to undo in a process that is gone or runs a new image. */
	if (proc_wait_vanished(p, cause, 200) || (!p->held && proc_hold_all(p)))
		return;
	int err = safepoint_choose(p, objs, deadline, &t);
	if (err) {
		/* A process on its way out (exit_group running) is no reason to warn. */
		if (!patch_target_gone(p, err))
			hp_warn("pid %d: patch left loaded (inert, no jump to it): no safe point for dlclose",
				p->pid);
		return;
	}
	proc_release_all(p, t);
	err = handle ? remote_dlclose(p, objs, t, handle, deadline) : 0;
	if (err && !patch_target_gone(p, err))
		hp_warn("pid %d: dlclose of the patch failed; it stays loaded but unused", p->pid);
	if (t->gone)
		return;
	if (!err && pl->memfd >= 0)
		patch_memfd_close(p, t, NULL, pl->memfd);
	/*
	 * A failed dlopen (a seccomp filter refusing PROT_EXEC, say) can leave
	 * the file's first mapping behind, forgotten by the loader: unmap what
	 * maps our file now when nothing did before.
	 */
	if (!handle && !pl->was_mapped)
		patch_unmap_file(p, t, &pl->st);
	for (size_t i = 0; i < pl->isl.n; i++)
		remote_munmap(p, t, pl->isl.page[i], ISLAND_PAGE);
	/* An empty state region we created: nothing records anything in it. */
	if (pl->new_region)
		remote_munmap(p, t, pl->new_region, STATE_REGION_LEN);
}

static void undo_load(struct op *op, struct plan *pl, uint64_t handle, int cause)
{
	struct hp_err_saved saved;
	hp_err_save(&saved);
	undo_load_steps(op->p, &op->objs, pl, handle, op->opts, cause);
	hp_err_restore(&saved);
}

/* The dlopen phase: one thread busy at a safe point, the others running. */
static int load_phase(struct op *op, struct thread *t, struct plan *pl, uint64_t deadline,
		      uint64_t *handle)
{
	struct proc *p = op->p;
	struct state *st = &op->st;
	uint64_t *near = calloc(pl->nf + 1, sizeof(*near));
	char memfd_name[96];
	patch_memfd_name(st->next_id, pl->pf.build_id, memfd_name, sizeof(memfd_name));
	struct inject in = { .path = pl->path, .st = &pl->st, .span = pl->pf.load_span,
			     .align = pl->pf.load_align, .near = near, .nnear = pl->nf,
			     .memfd_name = memfd_name };
	int err = near ? 0 : -ENOMEM;

	for (size_t i = 0; i < pl->nf && near; i++)
		near[i] = pl->f[i].r.addr;
	/* Create the state region now, while we have a thread to run syscalls in. */
	bool had_region = st->region != 0;
	if (!err)
		err = state_prepare(p, t, st);
	if (!err && !had_region)
		pl->new_region = st->region;
	if (!err) {
		err = inject_dlopen(p, &op->objs, t, &in, deadline);
		pl->was_mapped = in.was_mapped;
		pl->memfd = in.memfd;
		*handle = in.handle;
	}
	free(near);
	if (!err)
		err = jumps_write_imports(p, pl, in.l_addr);
	if (!err)
		err = plan_ifuncs(p, t, pl, deadline);
	if (!err)
		err = jumps_plan(p, t, pl, in.l_addr);
	/* The patch is a new module: the unwinder learns of it now, not with everything stopped. */
	if (!err)
		objects_unwinder_refresh(&op->objs);
	return err;
}

static int do_apply(struct op *op, struct plan *pl, struct hotpatch_result *res)
{
	struct proc *p = op->p;
	struct state *st = &op->st;
	const struct hotpatch_opts *opts = op->opts;
	struct thread *t;
	uint64_t handle = 0, deadline;
	int err;

	err = plan_build(p, &op->objs, st, pl, opts);
	if (err)
		return err;
	objects_prefetch(&op->objs);
	/*
	 * --timeout bounds what we wait for in the target (safe points, busy
	 * threads, remote calls), not the reading of symbols before it: a patch
	 * of 2000 functions of libc takes ~2 s to plan, untouched.
	 */
	deadline = patch_deadline(opts, hp_now_ns());

	err = safepoint_borrow(p, &op->objs, deadline, &t);
	if (err)
		return err;
	/*
	 * Another invocation may have committed since our read. Not from now
	 * on: it would have to stop the thread we hold.
	 */
	state_release(st);
	err = state_read(p, st);
	if (!err && plan_applied(st, pl))
		err = hp_err(HOTPATCH_E_APPLIED, "pid %d: %s already applied", p->pid, pl->path);
	if (err)
		goto release;

	uint64_t t_dl = hp_now_ns();
	err = load_phase(op, t, pl, deadline, &handle);
	res->timing.dlopen_ns = hp_now_ns() - t_dl;
	if (err)
		goto undo;

	/*
	 * The state record is built and staged while the threads run (for 1000
	 * functions that is a megabyte to write), with the entries' bytes as
	 * they are now. Under the stop jumps_write reads them again: if one
	 * changed meanwhile, the record is staged again there; then one small
	 * write commits it.
	 */
	struct hotpatch_patch rec = { 0 };
	plan_record(pl, &rec);
	struct range *ranges = calloc(pl->nf * 5 + 1, sizeof(*ranges));
	struct hotpatch_patch *np = realloc(st->patches, (st->npatches + 1) * sizeof(*np));
	struct island_rec *ni = realloc(st->islands, (st->nislands + pl->isl.n + 1) * sizeof(*ni));
	size_t nr = 0;
	if (np)
		st->patches = np;
	if (ni)
		st->islands = ni;
	if (!ranges || !rec.funcs || !np || !ni) {
		free(ranges);
		free(rec.funcs);
		err = -ENOMEM;
		goto undo;
	}
	for (size_t i = 0; i < pl->nf && !err; i++)
		err = proc_read(p, rec.funcs[i].addr + rec.funcs[i].jump_off, rec.funcs[i].orig,
				rec.funcs[i].jump_len);
	rec.id = st->next_id;
	rec.handle = handle;
	rec.applied_at = time(NULL);
	st->patches[st->npatches++] = rec;	/* st owns rec.funcs from here */
	for (size_t i = 0; i < pl->isl.n; i++)
		st->islands[st->nislands++] = (struct island_rec){ rec.id, pl->isl.page[i], ISLAND_PAGE };
	st->next_id++;
	struct hotpatch_patch *mine = &st->patches[st->npatches - 1];
	if (!err)
		err = state_stage(p, NULL, st);
	if (err) {
		free(ranges);
		goto undo;
	}
	for (size_t i = 0; i < pl->nf; i++) {
		struct plan_func *f = &pl->f[i];
		/* The function and the padding a short one lends to the jump: avail counts from off. */
		ranges[nr++] = (struct range){ f->r.addr, f->r.addr + f->off + f->avail, f->d->symbol };
		for (int c = 0; c < f->ncold; c++)
			ranges[nr++] = (struct range){ f->cold[c][0], f->cold[c][1], f->d->symbol };
	}

	/*
	 * Parked coroutines are searched for while the threads run (a scan of
	 * the writable memory); under the stop only the ones found are read
	 * again and unwound. A context parked inside a replaced function is
	 * refused like a thread; inside a wrapped one it finishes the call in
	 * the original, as a call already under way, unless it would resume
	 * inside the bytes the jump overwrites.
	 */
	struct pctxset cs = { 0 };
	struct range *inside = calloc(nr + 1, sizeof(*inside)), *win = calloc(pl->nf + 1, sizeof(*win));
	size_t ninside = 0, nwin = 0;
	if (!inside || !win)
		err = -ENOMEM;
	for (size_t i = 0, k = 0; !err && i < pl->nf; i++) {
		const struct plan_func *f = &pl->f[i];
		uint64_t j = f->r.addr + f->off;
		win[nwin++] = (struct range){ j, j + f->jump_len, f->d->symbol };
		bool wrap = f->d->kind == HOTPATCH_KIND_WRAP;
		for (int c = 0; c <= f->ncold; c++, k++)
			if (!wrap)
				inside[ninside++] = ranges[k];
	}
	if (!err) {
		/* A search that could not run (no memory) only means fewer contexts seen. */
		hp_err_quiet_begin();
		contexts_find(p, &op->objs, &cs);
		hp_err_quiet_end();
	}

	/* Stop the world, wait until no thread is inside a function we redirect, write. */
	uint64_t paused = p->pause_ns, t_stop, t_write, t_resume, t_end;
	t_stop = hp_now_ns();
	if (!err)
		err = consistency_stop(p, &op->objs, ranges, nr, deadline, NULL, NULL);
	free(ranges);
	if (!err)
		err = contexts_check(p, &op->objs, &cs, inside, ninside, win, nwin);
	contexts_release(&cs);
	free(inside);
	free(win);
	t_write = hp_now_ns();
	if (!err)
		err = jumps_write(p, pl);
	if (!err) {
		bool changed = false;
		for (size_t i = 0; i < pl->nf; i++) {
			if (memcmp(mine->funcs[i].orig, pl->f[i].orig, pl->f[i].jump_len)) {
				memcpy(mine->funcs[i].orig, pl->f[i].orig, sizeof(mine->funcs[i].orig));
				changed = true;
			}
		}
		if (changed) {
			hp_debug("pid %d: entry bytes changed since staging: staging again", p->pid);
			err = state_stage(p, NULL, st);
		}
	}
	if (!err)
		err = state_commit(p, st);
	if (err) {
		jumps_unwrite(p, pl);
		goto undo;
	}
	t_resume = hp_now_ns();
	proc_release_all(p, NULL);
	t_end = hp_now_ns();
	hp_debug("pid %d: final stop of %zu threads: seize, stop and check %" PRIu64
		 " us, write %" PRIu64 " us, resume %" PRIu64 " us", p->pid, proc_nlive(p),
		 (t_write - t_stop) / 1000, (t_resume - t_write) / 1000, (t_end - t_resume) / 1000);
	/* The final stop, from the first thread stopped to the last resumed. */
	res->timing.stw_ns = p->pause_ns - paused;
	/* The caller's copy of the record: after the threads are running again. */
	patch_record_copy(mine, &res->patch);
	return 0;
undo:
	undo_load(op, pl, handle, err);
release:
	proc_release_all(p, NULL);
	return err;
}

int hotpatch_apply(pid_t pid, const char *patch_path, const struct hotpatch_opts *opts,
		   struct hotpatch_result *res)
{
	struct plan pl = { 0 };
	struct op op = { 0 };
	struct hotpatch_opts o;

	hp_err_clear();
	memset(res, 0, sizeof(*res));
	/* A caller's mistake in the options is reported before anything else. */
	int err = patch_opts_get(opts, &o);
	if (!err)
		err = plan_open(patch_path, &pl);
	if (!err)
		err = op_begin(&op, "apply", pid, OP_LOCK | OP_OBJECTS | OP_STATE, opts, &res->timing);
	if (!err)
		err = do_apply(&op, &pl, res);
	err = op_end(&op, err);
	if (!err)
		plan_imports(&pl, &res->patch);
	if (err)
		hp_info("apply pid=%d patch=%s result=error (%s)", pid, pl.path, hotpatch_errmsg());
	plan_release(&pl);
	return err;
}

int hotpatch_check(pid_t pid, const char *patch_path, const struct hotpatch_opts *opts,
		   struct hotpatch_result *res)
{
	struct plan pl = { 0 };
	struct op op = { 0 };
	struct hotpatch_opts o;

	hp_err_clear();
	memset(res, 0, sizeof(*res));
	int err = patch_opts_get(opts, &o);
	if (!err)
		err = plan_open(patch_path, &pl);
	if (!err)
		err = op_begin(&op, "check", pid, OP_READER | OP_OBJECTS | OP_STATE, opts,
			       &res->timing);	/* check only reads: a tracer is no obstacle */
	if (!err)
		err = plan_build(op.p, &op.objs, &op.st, &pl, op.opts);
	if (!err) {
		plan_record(&pl, &res->patch);
		plan_imports(&pl, &res->patch);	/* the same imports as apply reports */
	}
	err = op_end(&op, err);
	plan_release(&pl);
	return err;
}

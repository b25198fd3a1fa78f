/* SPDX-License-Identifier: MIT */
/* load, revert, list, info and the result helpers of the public API. */
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <limits.h>
#include <unistd.h>

#include "patch/patch.h"


int patch_op_result(struct proc *p, int err, const char *op)
{
	/* A refused syscall or a failed dlopen in a sandboxed target: say what refused it. */
	if ((err == -EPERM || err == -EACCES || err == -HOTPATCH_E_DLOPEN) && p &&
	    proc_seccomp_filtered(p) && !strstr(hotpatch_errmsg(), "seccomp")) {
		char msg[1024];
		hp_strlcpy(msg, hotpatch_errmsg(), sizeof(msg));
		return hp_err_force(-err, "%s (the target runs under a seccomp filter, which may forbid it)",
				    msg);
	}
	/* ESRCH, ENOENT, a lost register write: all just mean the target is gone. */
	if (err && p && proc_wait_vanished(p, err, 200))
		return p->execed ? hp_err_force(HOTPATCH_E_EXITED,
						"pid %d: process called exec during %s: it runs a new program image, untouched",
						p->pid, op)
				 : hp_err_force(HOTPATCH_E_EXITED, "pid %d: process exited during %s",
						p->pid, op);
	return err;
}

void hotpatch_patch_release(struct hotpatch_patch *p)
{
	if (!p)
		return;
	free(p->funcs);
	free(p->imports);
	p->funcs = NULL;
	p->imports = NULL;
	p->nfuncs = p->nimports = 0;
}

void hotpatch_result_release(struct hotpatch_result *res)
{
	if (res)
		hotpatch_patch_release(&res->patch);
}

void hotpatch_list_free(struct hotpatch_patch *patches, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		hotpatch_patch_release(&patches[i]);
	free(patches);
}

int hotpatch_info(const char *patch_path, struct hotpatch_patch *out)
{
	struct patch_file pf;
	char canon[4096];

	hp_err_clear();
	memset(out, 0, sizeof(*out));
	if (!realpath(patch_path, canon))
		return hp_err(errno, "%s: %s", patch_path,
			      errno == ENOENT ? "no such file" : strerror(errno));
	int err = patch_file_read(canon, &pf);
	if (err)
		return err;
	hp_strlcpy(out->path, canon, sizeof(out->path));
	hp_strlcpy(out->build_id, pf.build_id, sizeof(out->build_id));
	hp_strlcpy(out->pin, pf.pin, sizeof(out->pin));
	out->funcs = calloc(pf.ndesc + 1, sizeof(*out->funcs));
	out->imports = calloc(pf.ndesc + 1, sizeof(*out->imports));
	if (!out->funcs || !out->imports) {
		patch_file_release(&pf);
		hotpatch_patch_release(out);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < pf.ndesc; i++) {
		const struct patch_desc *d = &pf.desc[i];
		if (patch_desc_is_import(d->kind)) {
			hp_strlcpy(out->imports[out->nimports++], d->symbol, HOTPATCH_NAME_MAX);
			continue;
		}
		struct hotpatch_func *f = &out->funcs[out->nfuncs++];
		hp_strlcpy(f->name, d->symbol, sizeof(f->name));
		hp_strlcpy(f->object, d->object, sizeof(f->object));
		hp_strlcpy(f->new_name, d->addr_name, sizeof(f->new_name));
		hp_strlcpy(f->orig_var, d->aux_name, sizeof(f->orig_var));
		f->wrap = d->kind == HOTPATCH_KIND_WRAP;
		hp_strlcpy(f->file, d->file, sizeof(f->file));
	}
	patch_file_release(&pf);
	return 0;
}

static int copy_patch(const struct hotpatch_patch *src, struct hotpatch_patch *dst)
{
	*dst = *src;
	dst->imports = NULL;
	dst->nimports = 0;	/* names are not kept in the target's state */
	dst->funcs = calloc(src->nfuncs + 1, sizeof(*dst->funcs));
	if (!dst->funcs)
		return -ENOMEM;
	memcpy(dst->funcs, src->funcs, src->nfuncs * sizeof(*dst->funcs));
	return 0;
}

int hotpatch_list(pid_t pid, struct hotpatch_patch **patches, unsigned *n)
{
	struct proc *p;
	struct state st;

	hp_err_clear();
	*patches = NULL;
	*n = 0;
	int err = proc_open(pid, &p);
	if (err)
		return err;
	err = state_read(p, &st);
	if (!err) {
		*patches = calloc(st.npatches + 1, sizeof(**patches));
		if (!*patches)
			err = -ENOMEM;
		for (unsigned i = 0; !err && i < st.npatches; i++) {
			err = copy_patch(&st.patches[i], &(*patches)[i]);
			if (!err)
				(*n)++;
		}
		if (err) {
			hotpatch_list_free(*patches, *n);
			*patches = NULL;
			*n = 0;
		}
	}
	state_release(&st);
	proc_close(p);
	return err;
}

int hotpatch_load(pid_t pid, const char *so_path, const struct hotpatch_opts *opts,
		  uint64_t *handle, struct hotpatch_timing *timing)
{
	struct proc *p;
	struct objects objs;
	struct thread *t;
	char canon[4096];
	uint64_t start = hp_now_ns(), deadline = patch_deadline(opts, start);

	hp_err_clear();
	*handle = 0;
	if (timing)
		memset(timing, 0, sizeof(*timing));
	/* Any object we inject is code run inside the target: the same file rules as a patch. */
	struct stat fst;
	int err = patch_file_check(so_path, canon, &fst);
	if (err)
		return err;
	/* The ELF checks of a patch apply to any object we inject: fail here, not in dlerror. */
	struct elf_file *ef;
	err = elf_file_open(canon, canon, &ef);
	if (err)
		return err;
	elf_file_free(ef);
	err = proc_open_locked(pid, patch_timeout_ms(opts), &p);
	if (err)
		return err;
	start = hp_now_ns();
	deadline = patch_deadline(opts, start);
	err = objects_load(p, &objs);
	if (!err) {
		objects_prefetch(&objs);
		err = safepoint_borrow(p, &objs, deadline, &t);
	}
	if (!err) {
		uint64_t t_dl = hp_now_ns();
		bool was_mapped = err || patch_file_mapped(p, &fst);
		if (!err)
			err = remote_dlopen(p, &objs, t, canon, NULL, handle, deadline + 5000000000ull);
		if (err == -HOTPATCH_E_DLOPEN && !was_mapped) {
			struct hp_err_saved saved;
			hp_err_save(&saved);
			patch_unmap_file(p, t, &fst);
			hp_err_restore(&saved);
		}
		uint64_t l_addr = 0;
		if (!err)
			err = proc_read(p, *handle, &l_addr, sizeof(l_addr));	/* link_map.l_addr */
		if (!err)
			err = patch_verify_mapping(p, canon, &fst, l_addr);
		if (err && *handle && !t->gone) {
			/* Loaded, but not the file we checked: unload it at once (its constructor ran). */
			struct hp_err_saved saved;
			hp_err_save(&saved);
			int r = remote_dlclose(p, &objs, t, *handle, deadline + 5000000000ull);
			if (r && !patch_target_gone(p, r))
				hp_warn("pid %d: could not unload %s again", p->pid, canon);
			hp_err_restore(&saved);
			*handle = 0;
		}
		if (timing)
			timing->dlopen_ns = hp_now_ns() - t_dl;
		proc_release_all(p, NULL);
	}
	err = patch_op_result(p, err, "load");
	if (timing) {
		pid_t *tids;
		size_t n = p->nthreads;
		/* Only the borrowed thread was stopped: count them all for the report. */
		if (!err && !proc_tasks(p, &tids, &n))
			free(tids);
		timing->total_ns = hp_now_ns() - start;
		timing->pause_ns = p->pause_ns;
		timing->threads = (unsigned)proc_nlive(p);
	}
	objects_release(&objs);
	proc_close(p);
	return err;
}

/* Patches applied after 'hp' that replace one of its functions. */
static const struct hotpatch_patch *stacked_over(struct state *st, const struct hotpatch_patch *hp,
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

static int do_revert(struct proc *p, const char *what, const struct hotpatch_opts *opts,
		     struct hotpatch_result *res, uint64_t start)
{
	struct objects objs;
	struct state st;
	struct thread *t;
	uint64_t deadline = patch_deadline(opts, start);
	struct range *ranges = NULL;
	struct hotpatch_patch gone = { 0 };
	uint64_t isl[64];
	size_t nisl = 0, nr = 0;
	int err;

	/*
	 * Everything but the restore itself is prepared while the target runs:
	 * the state changes only under our per-target lock.
	 */
	memset(&st, 0, sizeof(st));
	err = objects_load(p, &objs);
	if (!err) {
		objects_prefetch(&objs);
		err = state_read(p, &st);
	}
	if (err)
		goto out;
	struct hotpatch_patch *hp = state_find(&st, what);
	if (!hp) {
		err = hp_err(HOTPATCH_E_NOTAPPLIED, "pid %d: no applied patch '%s'", p->pid, what);
		goto out;
	}
	const char *fn = NULL;
	const struct hotpatch_patch *later = stacked_over(&st, hp, &fn);
	if (later) {
		err = hp_err(HOTPATCH_E_STACKED,
			     "pid %d: patch %u cannot be reverted before patch %u, which also replaces '%s': revert %u first (or --all)",
			     p->pid, hp->id, later->id, fn, later->id);
		goto out;
	}
	/* No thread may stay inside the patch's code (it will be unmapped) or its islands. */
	err = proc_maps_refresh(p);
	size_t cap = p->nmaps + st.nislands + 1;
	ranges = calloc(cap, sizeof(*ranges));
	if (!ranges && !err)
		err = -ENOMEM;
	for (size_t i = 0; !err && i < p->nmaps; i++)
		if (!strcmp(p->maps[i].path, hp->path) && (p->maps[i].prot & PROT_EXEC))
			ranges[nr++] = (struct range){ p->maps[i].start, p->maps[i].end, "patch code" };
	for (unsigned i = 0; !err && i < st.nislands; i++)
		if (st.islands[i].patch_id == hp->id)
			ranges[nr++] = (struct range){ st.islands[i].addr,
						       st.islands[i].addr + st.islands[i].len, "jump island" };
	if (err)
		goto out;
	/* The state without it, staged now: inside the stop only the commit is left. */
	gone = *hp;		/* gone owns the funcs from here */
	unsigned k = 0;
	for (unsigned j = 0; j < st.nislands; j++) {
		if (st.islands[j].patch_id == gone.id && nisl < ARRAY_SIZE(isl))
			isl[nisl++] = st.islands[j].addr;
		else
			st.islands[k++] = st.islands[j];
	}
	st.nislands = k;
	unsigned idx = (unsigned)(hp - st.patches);
	memmove(&st.patches[idx], &st.patches[idx + 1], (st.npatches - idx - 1) * sizeof(*st.patches));
	st.npatches--;
	err = state_stage(p, NULL, &st);
	if (err)
		goto out;

	struct restore rs = { .p = p, .hp = &gone, .restored = gone.nfuncs };
	bool keep_loaded = false;
	err = consistency_stop(p, &objs, ranges, nr, deadline, restore_entries, &rs);
	if (!err)
		err = state_commit(p, &st);
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
		err = state_commit(p, &st);
		if (err)
			goto out;
		keep_loaded = true;
	} else if (err) {
		goto out;
	}
	proc_release_all(p, NULL);
	res->timing.stw_ns = p->pause_ns;
	res->patch = gone;
	res->patch.funcs = NULL;
	copy_patch(&gone, &res->patch);

	if (keep_loaded)
		goto out;
	/* The code is unreachable now; unload it from a safe point, the other threads running. */
	int r = safepoint_borrow(p, &objs, patch_deadline(opts, hp_now_ns()), &t);
	if (r == 0) {
		r = remote_dlclose(p, &objs, t, res->patch.handle, patch_deadline(opts, hp_now_ns()));
		if (r && !patch_target_gone(p, r))
			hp_warn("pid %d: patch %u reverted but dlclose failed: %s", p->pid,
				res->patch.id, hotpatch_errmsg());
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
	state_release(&st);
	objects_release(&objs);
	return err;
}

int hotpatch_revert(pid_t pid, const char *what, const struct hotpatch_opts *opts,
		    struct hotpatch_result *res)
{
	struct proc *p;
	uint64_t start = hp_now_ns();

	hp_err_clear();
	memset(res, 0, sizeof(*res));
	int err = proc_open_locked(pid, patch_timeout_ms(opts), &p);
	if (err)
		return err;
	start = hp_now_ns();
	err = patch_op_result(p, do_revert(p, what, opts, res, start), "revert");
	res->timing.total_ns = hp_now_ns() - start;
	res->timing.pause_ns = p->pause_ns;
	res->timing.threads = (unsigned)proc_nlive(p);
	proc_close(p);
	return err;
}

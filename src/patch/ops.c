/* SPDX-License-Identifier: MIT */
/* The frame of every operation (begin/end, result, timing), public records, and load, list, info. */
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <limits.h>
#include <unistd.h>

#include "patch/patch.h"

int patch_opts_get(const struct hotpatch_opts *in, struct hotpatch_opts *out)
{
	const unsigned char *tail;

	memset(out, 0, sizeof(*out));
	out->sz = sizeof(*out);
	if (!in)
		return 0;
	if (in->sz < sizeof(in->sz))
		return hp_err(EINVAL, "hotpatch_opts.sz is %zu: set it to sizeof(struct hotpatch_opts) "
				      "(declare the options with HOTPATCH_OPTS)", in->sz);
	/* Newer than us: what we do not know must be unset. */
	tail = (const unsigned char *)in;
	for (size_t i = sizeof(*out); i < in->sz; i++)
		if (tail[i])
			return hp_err(EINVAL, "hotpatch_opts: an option at offset %zu is set that "
					      "libhotpatch %s does not know", i, HOTPATCH_VERSION);
	memcpy(out, in, in->sz < sizeof(*out) ? in->sz : sizeof(*out));
	out->sz = sizeof(*out);
	return 0;
}

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

int op_begin(struct op *op, const char *name, pid_t pid, unsigned flags,
	     const struct hotpatch_opts *opts, struct hotpatch_timing *timing)
{
	int err;

	memset(op, 0, sizeof(*op));
	op->name = name;
	op->opts = &op->o;
	op->timing = timing;
	op->start = hp_now_ns();
	err = patch_opts_get(opts, &op->o);
	if (err)
		return err;
	opts = op->opts;
	if (flags & OP_LOCK)
		err = proc_open_locked(pid, patch_timeout_ms(opts), &op->p);
	else if (flags & OP_READER)
		err = proc_open_reader(pid, &op->p);
	else
		err = proc_open(pid, &op->p);
	if (err) {
		op->p = NULL;
		return err;
	}
	/* --timeout bounds our own work: waiting for another hotpatch does not count. */
	op->start = hp_now_ns();
	op->deadline = patch_deadline(opts, op->start);
	if (flags & OP_OBJECTS)
		err = objects_load(op->p, &op->objs);
	if (!err && (flags & OP_STATE))
		err = state_read(op->p, &op->st);
	return err;
}

/* Some thread is still seized by us (a failure path that did not release it). */
static bool any_attached(const struct proc *p)
{
	for (size_t i = 0; i < p->nthreads; i++)
		if (p->threads[i]->attached)
			return true;
	return false;
}

int op_end(struct op *op, int err)
{
	struct proc *p = op->p;

	if (p && any_attached(p))
		proc_release_all(p, NULL);
	state_release(&op->st);
	objects_release(&op->objs);
	if (p)
		err = patch_op_result(p, err, op->name);
	if (op->timing && p) {
		pid_t *tids;
		size_t n;
		/* Only the borrowed thread was stopped: count them all for the report. */
		if (op->count_threads && !err && !proc_tasks(p, &tids, &n))
			free(tids);
		op->timing->total_ns = hp_now_ns() - op->start;
		op->timing->pause_ns = p->pause_ns;
		op->timing->threads = (unsigned)proc_nlive(p);
	}
	proc_close(p);
	op->p = NULL;
	return err;
}

void func_from_desc(struct hotpatch_func *f, const struct patch_desc *d)
{
	hp_strlcpy(f->name, d->symbol, sizeof(f->name));
	hp_strlcpy(f->object, d->object, sizeof(f->object));
	hp_strlcpy(f->new_name, d->addr_name, sizeof(f->new_name));
	hp_strlcpy(f->orig_var, d->aux_name, sizeof(f->orig_var));
	hp_strlcpy(f->file, d->file, sizeof(f->file));
	f->wrap = d->kind == HOTPATCH_KIND_WRAP;
}

int patch_record_copy(const struct hotpatch_patch *src, struct hotpatch_patch *dst)
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

/* The HOTPATCH_IMPORT names of a patch file, in descriptor order (as hotpatch_info gives them). */
static int imports_of_file(const char *path, const char *build_id, struct hotpatch_patch *dst)
{
	struct patch_file pf;

	if (patch_file_read(path, &pf))
		return -ENOENT;
	if (build_id && strcmp(pf.build_id, build_id)) {
		patch_file_release(&pf);
		return -ESTALE;
	}
	dst->imports = calloc(pf.ndesc + 1, sizeof(*dst->imports));
	for (unsigned i = 0; dst->imports && i < pf.ndesc; i++)
		if (patch_desc_is_import(pf.desc[i].kind))
			hp_strlcpy(dst->imports[dst->nimports++], pf.desc[i].symbol, HOTPATCH_NAME_MAX);
	patch_file_release(&pf);
	return dst->imports ? 0 : -ENOMEM;
}

/*
 * The imports of an applied patch: the target's state does not keep them, the
 * patch file does. Read from the file the target has mapped (its map_files
 * link: the very file loaded, even if replaced or deleted since), else from
 * the path if that file still has the recorded build-id; else none.
 */
void patch_imports(struct proc *p, struct hotpatch_patch *dst)
{
	char path[128];
	int err = -ENOENT;

	dst->imports = NULL;
	dst->nimports = 0;
	hp_err_quiet_begin();	/* an unreadable file fails nothing: a probe */
	if (!proc_maps_refresh(p)) {
		for (size_t i = 0; err && i < p->nmaps; i++) {
			if (p->maps[i].offset || strcmp(p->maps[i].path, dst->path))
				continue;
			snprintf(path, sizeof(path), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, p->pid,
				 p->maps[i].start, p->maps[i].end);
			err = imports_of_file(path, NULL, dst);
		}
	}
	if (err && err != -ENOMEM)
		err = imports_of_file(dst->path, dst->build_id, dst);
	if (err)
		hp_debug("pid %d: patch %u: its file is not readable any more: imports unknown",
			 p->pid, dst->id);
	hp_err_quiet_end();
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
		if (patch_desc_is_import(d->kind))
			hp_strlcpy(out->imports[out->nimports++], d->symbol, HOTPATCH_NAME_MAX);
		else
			func_from_desc(&out->funcs[out->nfuncs++], d);
	}
	patch_file_release(&pf);
	return 0;
}

/* The applied patches of pid, or (retained) the reverted ones whose code stays loaded. */
static int list_records(pid_t pid, bool retained, struct hotpatch_patch **patches, unsigned *n)
{
	struct proc *p;
	struct state st;

	hp_err_clear();
	*patches = NULL;
	*n = 0;
	int err = proc_open_reader(pid, &p);
	if (err)
		return err;
	err = state_read(p, &st);
	if (!err) {
		const struct hotpatch_patch *v = retained ? st.retained : st.patches;
		unsigned nv = retained ? st.nretained : st.npatches;
		*patches = calloc(nv + 1, sizeof(**patches));
		if (!*patches)
			err = -ENOMEM;
		for (unsigned i = 0; !err && i < nv; i++) {
			err = patch_record_copy(&v[i], &(*patches)[i]);
			if (!err) {
				if (!retained)
					patch_imports(p, &(*patches)[i]);
				(*n)++;
			}
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

int hotpatch_list(pid_t pid, struct hotpatch_patch **patches, unsigned *n)
{
	return list_records(pid, false, patches, n);
}

int hotpatch_list_retained(pid_t pid, struct hotpatch_patch **patches, unsigned *n)
{
	return list_records(pid, true, patches, n);
}

int hotpatch_load(pid_t pid, const char *so_path, const struct hotpatch_opts *opts,
		  uint64_t *handle, struct hotpatch_timing *timing)
{
	struct op op = { 0 };
	struct thread *t;
	struct stat fst;
	char canon[4096];

	hp_err_clear();
	*handle = 0;
	if (timing)
		memset(timing, 0, sizeof(*timing));
	/* Any object we inject is code run inside the target: the same file rules as a patch. */
	int err = patch_file_check(so_path, canon, &fst);
	if (err)
		return err;
	/* The ELF checks of a patch apply to any object we inject: fail here, not in dlerror. */
	struct elf_file *ef;
	err = elf_file_open(canon, canon, &ef);
	if (err)
		return err;
	elf_file_free(ef);
	err = op_begin(&op, "load", pid, OP_LOCK | OP_OBJECTS, opts, timing);
	if (err)
		return op_end(&op, err);
	opts = op.opts;
	op.count_threads = true;
	objects_prefetch(&op.objs);
	err = safepoint_borrow(op.p, &op.objs, op.deadline, &t);
	if (!err) {
		struct inject in = { .path = canon, .st = &fst, .memfd_name = "hotpatch-load" };
		uint64_t t_dl = hp_now_ns();
		err = inject_dlopen(op.p, &op.objs, t, &in, op.deadline);
		*handle = in.handle;
		if (timing)
			timing->dlopen_ns = hp_now_ns() - t_dl;
	}
	return op_end(&op, err);
}

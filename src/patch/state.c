/* SPDX-License-Identifier: MIT */
/* The state kept in the target: its encoding, its region, staging and commit. */
/*
 * State kept in the target: which patches are applied, per function the
 * bytes we replaced, and the islands we mapped. It lives in a private mapping
 * of a memfd named "hotpatch-state", so any later invocation finds it in
 * /proc/PID/maps ("/memfd:hotpatch-state (deleted)"); MAP_PRIVATE so a
 * fork()ed child gets its own copy, exactly like the patched code it inherits.
 * Format: fixed little-endian records, versioned by the magic.
 *
 * Two slots, and a root in the first page naming the valid one: a new state
 * is written whole into the other slot while the target runs (state_stage),
 * and made valid by one small write of the root (state_commit), the only
 * state write left inside the pause. A state of 1000 functions is a megabyte,
 * which cost a millisecond of pause when it was written there.
 */
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "patch/patch.h"

#define STATE_MAGIC "HPSTATE1"
#define ROOT_MAGIC "HPSTATE2"
#define ROOT_LEN 4096u

struct rec_root {
	char magic[8];
	uint32_t slot;		/* 0 or 1: which slot holds the state */
	uint32_t pad;
};

struct rec_hdr {
	char magic[8];
	uint32_t size;		/* bytes used */
	uint32_t next_id;
	uint32_t npatches, nfuncs, nislands, pad;
};

struct rec_patch {
	uint32_t id, nfuncs;
	int64_t applied_at;
	uint64_t handle;
	char path[4096];
	char build_id[HOTPATCH_BUILD_ID_MAX];
	char pin[HOTPATCH_BUILD_ID_MAX];
	uint16_t flags;		/* was padding: older versions wrote 0 */
	uint32_t nimports;
};
/*
 * Reverted, its jumps gone, but its code still mapped because something in
 * the target may still return into it (a parked coroutine): no functions,
 * only the handle and islands to free once nothing refers to it. A hotpatch
 * from before this flag lists it as a patch of no functions.
 */
#define PATCH_RETAINED 1

struct rec_func {
	uint32_t patch_id, flags;
	uint64_t addr, size, new_addr, island;
	uint32_t jump_len, jump_off, preserved, pad;
	uint8_t orig[16], jump[16];
	char name[HOTPATCH_NAME_MAX];
	char object[512];
	char new_name[HOTPATCH_NAME_MAX];
};
#define FUNC_WRAP 1

struct rec_island {
	uint32_t patch_id, pad;
	uint64_t addr, len;
};

static int find_region(struct proc *p, uint64_t *addr, uint64_t *len)
{
	int err = proc_maps_refresh(p);
	if (err)
		return err;
	*addr = *len = 0;
	for (size_t i = 0; i < p->nmaps; i++) {
		if (!strcmp(p->maps[i].path, "/memfd:" STATE_NAME)) {
			*addr = p->maps[i].start;
			*len = p->maps[i].end - p->maps[i].start;
			return 0;
		}
	}
	return 0;
}

void state_release(struct state *st)
{
	for (unsigned i = 0; i < st->npatches; i++)
		free(st->patches[i].funcs);
	free(st->patches);
	for (unsigned i = 0; i < st->nretained; i++)
		free(st->retained[i].funcs);
	free(st->retained);
	free(st->islands);
	memset(st, 0, sizeof(*st));
}

static uint64_t slot_len(const struct state *st)
{
	return ((st->region_len - ROOT_LEN) / 2) & ~4095ull;
}

static uint64_t slot_addr(const struct state *st, unsigned k)
{
	return st->region + ROOT_LEN + k * slot_len(st);
}

static uint64_t image_size(const struct rec_hdr *h)
{
	return sizeof(*h) + (uint64_t)h->npatches * sizeof(struct rec_patch) +
	       (uint64_t)h->nfuncs * sizeof(struct rec_func) +
	       (uint64_t)h->nislands * sizeof(struct rec_island);
}

static void func_decode(const struct rec_func *r, struct hotpatch_func *f)
{
	f->addr = r->addr;
	f->size = r->size;
	f->new_addr = r->new_addr;
	f->island = r->island;
	f->jump_len = r->jump_len > 16 ? 16 : r->jump_len;
	f->jump_off = r->jump_off;
	f->preserved_regs = r->preserved;
	f->wrap = r->flags & FUNC_WRAP;
	memcpy(f->orig, r->orig, 16);
	memcpy(f->jump, r->jump, 16);
	memcpy(f->name, r->name, sizeof(f->name));
	f->name[sizeof(f->name) - 1] = 0;
	memcpy(f->object, r->object, sizeof(f->object));
	f->object[sizeof(f->object) - 1] = 0;
	memcpy(f->new_name, r->new_name, sizeof(f->new_name));
	f->new_name[sizeof(f->new_name) - 1] = 0;
}

static void func_encode(const struct hotpatch_func *f, unsigned patch_id, struct rec_func *r)
{
	r->patch_id = patch_id;
	r->flags = f->wrap ? FUNC_WRAP : 0;
	r->addr = f->addr;
	r->size = f->size;
	r->new_addr = f->new_addr;
	r->island = f->island;
	r->jump_len = f->jump_len;
	r->jump_off = f->jump_off;
	r->preserved = f->preserved_regs;
	memcpy(r->orig, f->orig, 16);
	memcpy(r->jump, f->jump, 16);
	memcpy(r->name, f->name, sizeof(r->name));
	memcpy(r->object, f->object, sizeof(r->object));
	memcpy(r->new_name, f->new_name, sizeof(r->new_name));
}

static unsigned patch_rec_nfuncs(const struct rec_patch *rp, unsigned n, unsigned id)
{
	for (unsigned i = 0; i < n; i++)
		if (rp[i].id == id && !(rp[i].flags & PATCH_RETAINED))
			return rp[i].nfuncs;
	return 0;
}

int state_decode(pid_t pid, const uint8_t *buf, size_t len, struct state *st)
{
	struct rec_hdr h;

	if (len < sizeof(h))
		return hp_err(HOTPATCH_E_STATE, "pid %d: state region is inconsistent", pid);
	memcpy(&h, buf, sizeof(h));
	if (memcmp(h.magic, STATE_MAGIC, 8))
		return hp_err(HOTPATCH_E_STATE, "pid %d: state slot has bad magic", pid);
	uint64_t need = image_size(&h);
	if (need != h.size || need > len)
		return hp_err(HOTPATCH_E_STATE, "pid %d: state region is inconsistent", pid);
	const struct rec_patch *rp = (const struct rec_patch *)(buf + sizeof(h));
	const struct rec_func *rf = (const struct rec_func *)(rp + h.npatches);
	const struct rec_island *ri = (const struct rec_island *)(rf + h.nfuncs);
	st->next_id = h.next_id;
	st->patches = calloc(h.npatches + 1, sizeof(*st->patches));
	st->retained = calloc(h.npatches + 1, sizeof(*st->retained));
	st->islands = calloc(h.nislands + 1, sizeof(*st->islands));
	if (!st->patches || !st->retained || !st->islands) {
		state_release(st);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < h.npatches; i++) {
		bool retained = rp[i].flags & PATCH_RETAINED;
		struct hotpatch_patch *hp = retained ? &st->retained[st->nretained++]
						     : &st->patches[st->npatches++];
		hp->id = rp[i].id;
		hp->applied_at = rp[i].applied_at;
		hp->handle = rp[i].handle;
		hp->nimports = rp[i].nimports;
		memcpy(hp->path, rp[i].path, sizeof(hp->path));
		hp->path[sizeof(hp->path) - 1] = 0;
		memcpy(hp->build_id, rp[i].build_id, sizeof(hp->build_id));
		hp->build_id[sizeof(hp->build_id) - 1] = 0;
		memcpy(hp->pin, rp[i].pin, sizeof(hp->pin));
		hp->pin[sizeof(hp->pin) - 1] = 0;
		hp->funcs = calloc(retained ? 1 : rp[i].nfuncs + 1, sizeof(*hp->funcs));
		if (!hp->funcs) {
			state_release(st);
			return -ENOMEM;
		}
	}
	for (unsigned i = 0; i < h.nfuncs; i++) {
		struct hotpatch_patch *hp = state_find_id(st, rf[i].patch_id);
		/* A record of a patch that is not there, or more records than it said: ignored. */
		if (!hp || hp->nfuncs >= patch_rec_nfuncs(rp, h.npatches, hp->id))
			continue;
		func_decode(&rf[i], &hp->funcs[hp->nfuncs++]);
	}
	for (unsigned i = 0; i < h.nislands; i++) {
		st->islands[st->nislands].patch_id = ri[i].patch_id;
		st->islands[st->nislands].addr = ri[i].addr;
		st->islands[st->nislands].len = ri[i].len;
		st->nislands++;
	}
	return 0;
}

int state_read(struct proc *p, struct state *st)
{
	struct rec_root root;
	struct rec_hdr h;
	int err;

	memset(st, 0, sizeof(*st));
	st->next_id = 1;
	err = find_region(p, &st->region, &st->region_len);
	if (err || !st->region)
		return err;
	if (st->region_len < ROOT_LEN + 2 * 4096)
		return hp_err(HOTPATCH_E_STATE, "pid %d: state region is too small", p->pid);
	err = proc_read(p, st->region, &root, sizeof(root));
	if (err)
		return err;
	uint64_t base, room;
	if (!memcmp(root.magic, STATE_MAGIC, 8)) {
		/* Written by a hotpatch before the slots: one image at the start, read as such. */
		base = st->region;
		room = st->region_len;
	} else if (!memcmp(root.magic, ROOT_MAGIC, 8) && root.slot <= 1) {
		st->slot = root.slot;
		base = slot_addr(st, st->slot);
		room = slot_len(st);
	} else {
		return root.magic[0] ? hp_err(HOTPATCH_E_STATE, "pid %d: state region has bad magic", p->pid) : 0;
	}
	err = proc_read(p, base, &h, sizeof(h));
	if (err)
		return err;
	if (memcmp(h.magic, STATE_MAGIC, 8))
		return hp_err(HOTPATCH_E_STATE, "pid %d: state slot %u has bad magic", p->pid, st->slot);
	uint64_t need = image_size(&h);
	if (need != h.size || need > room)
		return hp_err(HOTPATCH_E_STATE, "pid %d: state region is inconsistent", p->pid);
	if (base == st->region)
		st->legacy_end = need;
	uint8_t *buf = malloc(need);
	if (!buf)
		return -ENOMEM;
	err = proc_read(p, base, buf, need);
	if (!err)
		err = state_decode(p->pid, buf, need, st);
	free(buf);
	return err;
}

struct hotpatch_patch *state_find_id(struct state *st, unsigned id)
{
	for (unsigned i = 0; i < st->npatches; i++)
		if (st->patches[i].id == id)
			return &st->patches[i];
	return NULL;
}

struct hotpatch_patch *state_find(struct state *st, const char *what)
{
	char *end;
	unsigned long id = strtoul(what, &end, 10);
	if (*what && !*end)
		return state_find_id(st, (unsigned)id);
	char canon[4096];
	const char *key = realpath(what, canon) ? canon : what;
	for (unsigned i = st->npatches; i-- > 0;)
		if (!strcmp(st->patches[i].path, key))
			return &st->patches[i];
	return NULL;
}

static int region_create(struct proc *p, struct thread *t, struct state *st)
{
	long fd, r;
	int err;
	uint64_t args[6];

	args[0] = REMOTE_DATA;
	args[1] = 1;	/* MFD_CLOEXEC: an exec()ing target must not inherit it */
	err = proc_remote_syscall(p, t, SYS_memfd_create, args, 2, STATE_NAME, sizeof(STATE_NAME), &fd);
	if (err)
		return err;
	if (fd < 0)
		return hp_err((int)-fd, "pid %d: memfd_create in target: %s", p->pid, strerror((int)-fd));
	args[0] = (uint64_t)fd;
	args[1] = STATE_REGION_LEN;
	err = proc_remote_syscall(p, t, SYS_ftruncate, args, 2, NULL, 0, &r);
	if (!err && r < 0)
		err = hp_err((int)-r, "pid %d: ftruncate in target: %s", p->pid, strerror((int)-r));
	if (!err) {
		uint64_t margs[6] = { 0, STATE_REGION_LEN, PROT_READ, MAP_PRIVATE, (uint64_t)fd, 0 };
		err = proc_remote_syscall(p, t, SYS_mmap, margs, 6, NULL, 0, &r);
		if (!err && r < 0 && r > -4096)
			err = hp_err((int)-r, "pid %d: mmap in target: %s", p->pid, strerror((int)-r));
		if (!err) {
			st->region = (uint64_t)r;
			st->region_len = STATE_REGION_LEN;
		}
	}
	/* The mapping keeps the memfd alive; the descriptor must not stay in the target. */
	remote_close(p, t, fd);
	return err;
}

int state_prepare(struct proc *p, struct thread *t, struct state *st)
{
	return st->region ? 0 : region_create(p, t, st);
}

int state_encode(const struct state *st, uint8_t **out, size_t *out_len)
{
	unsigned nfuncs = 0;

	unsigned nrec = st->npatches + st->nretained;
	for (unsigned i = 0; i < st->npatches; i++)
		nfuncs += st->patches[i].nfuncs;
	size_t size = sizeof(struct rec_hdr) + nrec * sizeof(struct rec_patch) +
		      nfuncs * sizeof(struct rec_func) + st->nislands * sizeof(struct rec_island);
	uint8_t *buf = calloc(1, size);
	if (!buf)
		return -ENOMEM;
	struct rec_hdr *h = (struct rec_hdr *)buf;
	memcpy(h->magic, STATE_MAGIC, 8);
	h->size = (uint32_t)size;
	h->next_id = st->next_id;
	h->npatches = nrec;
	h->nfuncs = nfuncs;
	h->nislands = st->nislands;
	struct rec_patch *rp = (struct rec_patch *)(h + 1);
	struct rec_func *rf = (struct rec_func *)(rp + nrec);
	struct rec_island *ri = (struct rec_island *)(rf + nfuncs);
	for (unsigned i = 0; i < nrec; i++) {
		bool retained = i >= st->npatches;
		const struct hotpatch_patch *hp = retained ? &st->retained[i - st->npatches]
							   : &st->patches[i];
		rp[i].id = hp->id;
		rp[i].flags = retained ? PATCH_RETAINED : 0;
		rp[i].nfuncs = retained ? 0 : hp->nfuncs;
		rp[i].applied_at = hp->applied_at;
		rp[i].handle = hp->handle;
		rp[i].nimports = hp->nimports;
		memcpy(rp[i].path, hp->path, sizeof(rp[i].path));
		memcpy(rp[i].build_id, hp->build_id, sizeof(rp[i].build_id));
		memcpy(rp[i].pin, hp->pin, sizeof(rp[i].pin));
		for (unsigned j = 0; !retained && j < hp->nfuncs; j++)
			func_encode(&hp->funcs[j], hp->id, rf++);
	}
	for (unsigned i = 0; i < st->nislands; i++) {
		ri[i].patch_id = st->islands[i].patch_id;
		ri[i].addr = st->islands[i].addr;
		ri[i].len = st->islands[i].len;
	}
	*out = buf;
	*out_len = size;
	return 0;
}

int state_stage(struct proc *p, struct thread *t, struct state *st)
{
	uint8_t *buf;
	size_t size;
	int err;

	if (!st->region) {
		if (!st->npatches && !st->nretained)
			return 0;	/* nothing to remember, nothing to create */
		if (!t)
			BUG("state region creation needs a thread");
		err = region_create(p, t, st);
		if (err)
			return err;
	}
	err = state_encode(st, &buf, &size);
	if (err)
		return err;
	if (size > slot_len(st)) {
		free(buf);
		return hp_err(HOTPATCH_E_NOTSUP, "pid %d: too many patches for the state region", p->pid);
	}
	/* The slot not in use: until the root names it, nothing reads it. */
	unsigned k = st->staged ? st->staged - 1 : !st->slot;
	/* Over an old single image (slot reads as 0): slot 1, if that image does not reach it. */
	if (st->legacy_end && ROOT_LEN + k * slot_len(st) < st->legacy_end) {
		free(buf);
		return hp_err(HOTPATCH_E_NOTSUP,
			      "pid %d: the state written by an older hotpatch is too large to convert: revert with that version",
			      p->pid);
	}
	err = proc_write(p, slot_addr(st, k), buf, size);
	free(buf);
	if (!err)
		st->staged = k + 1;
	return err;
}

int state_commit(struct proc *p, struct state *st)
{
	struct rec_root root = { .magic = ROOT_MAGIC };

	if (!st->staged)
		return 0;	/* nothing staged: nothing was to be remembered */
	root.slot = st->staged - 1;
	int err = proc_write(p, st->region, &root, sizeof(root));
	if (!err) {
		st->slot = root.slot;
		st->staged = 0;
		st->legacy_end = 0;
	}
	return err;
}

int state_write(struct proc *p, struct thread *t, struct state *st)
{
	int err = state_stage(p, t, st);
	return err ? err : state_commit(p, st);
}

/* SPDX-License-Identifier: MIT */
/* Jumps into the patch: island space, WRAP trampolines, imports, and the writes of the entries. */
#include <string.h>
#include <sys/mman.h>

#include "patch/plan.h"

/* The most bytes an applied function's record keeps of its jump (and of what it overwrote). */
#define RECORD_JUMP_MAX sizeof(((struct hotpatch_func *)0)->jump)

static size_t slot_round(size_t n)
{
	return (n + ISLAND_SLOT - 1) & ~(size_t)(ISLAND_SLOT - 1);
}

int island_take(struct islands *is, uint64_t from, size_t size, uint64_t *slot)
{
	size = slot_round(size);
	for (size_t i = 0; i < is->n; i++) {
		uint64_t s = is->page[i] + is->used[i];
		if (is->used[i] + size <= ISLAND_PAGE && arch_rel32_reaches(from, s) &&
		    arch_rel32_reaches(from, s + size)) {
			is->used[i] += size;
			*slot = s;
			return 0;
		}
	}
	return -ENOSPC;
}

int island_add(struct islands *is, uint64_t page, size_t size)
{
	if (is->n == ARRAY_SIZE(is->page))
		return -ENOSPC;
	is->page[is->n] = page;
	is->used[is->n++] = slot_round(size);
	return 0;
}

/*
 * Give back the unused tail of the island space last taken at 'slot' (a
 * trampoline reserves the most it could need; it needs ~30 bytes): without
 * this a patch wrapping ~1000 functions ran out of island pages.
 */
void island_trim(struct islands *is, uint64_t slot, size_t reserved, size_t used)
{
	reserved = slot_round(reserved);
	used = slot_round(used);
	for (size_t i = 0; i < is->n; i++)
		if (used < reserved && is->page[i] + is->used[i] == slot + reserved)
			is->used[i] -= reserved - used;
}

/* 'size' bytes of island code within rel32 reach of 'from', mapping a page near it if needed. */
static int island_alloc(struct proc *p, struct thread *t, struct plan *pl, uint64_t from,
			size_t size, uint64_t *slot)
{
	if (!island_take(&pl->isl, from, size, slot))
		return 0;
	if (pl->isl.n == ARRAY_SIZE(pl->isl.page))
		return hp_err(HOTPATCH_E_NOTSUP, "pid %d: too many jump islands", p->pid);
	uint64_t page;
	int err = remote_mmap_near(p, t, from, ISLAND_PAGE, &page);
	if (err)
		return err;
	island_add(&pl->isl, page, size);
	*slot = page;
	return 0;
}

/*
 * HOTPATCH_WRAP: copy the instructions a 'min_len'-byte jump displaces into
 * a trampoline at 'tramp' (relocated), so 'orig' calls the old
 * implementation. Bytes are read from the process as they are now: a
 * function wrapped twice relocates the first patch's jump.
 */
int jumps_relocate(struct proc *p, struct plan_func *f, size_t min_len, uint64_t tramp,
		   uint8_t *out, size_t out_max, size_t *out_len)
{
	size_t len = f->r.sym.size + (f->avail - (f->r.sym.size - f->off));
	size_t consumed = 0, pre = 0;
	int err;

	if (len > (1u << 20))
		return hp_err(HOTPATCH_E_NOTSUP, "pid %d: '%s' too large to wrap", p->pid, f->d->symbol);
	uint8_t *code = malloc(len);
	if (!code)
		return -ENOMEM;
	err = proc_read(p, f->r.addr, code, len);
	if (!err) {
		if (f->off) {
			memcpy(out, code, ARCH_ENDBR_LEN);	/* keep endbr64 first, for IBT */
			pre = ARCH_ENDBR_LEN;
		}
		err = arch_build_trampoline(code, len, f->r.addr + f->off, min_len, f->r.addr,
					    f->r.addr + f->r.sym.size, tramp + pre, out + pre,
					    out_max - pre, out_len, &consumed);
		*out_len += pre;
	}
	free(code);
	if (err == -HOTPATCH_E_NORELOC) {
		char why[512];	/* a copy: the message buffer is rewritten below */
		hp_strlcpy(why, hotpatch_errmsg(), sizeof(why));
		err = hp_err_force(HOTPATCH_E_NORELOC, "pid %d: cannot wrap '%s': %s", p->pid,
				   f->d->symbol, why);
	}
	return err;
}

static int plan_trampoline(struct proc *p, struct thread *t, struct plan *pl, struct plan_func *f,
			   uint64_t l_addr)
{
	uint8_t out[256];
	size_t out_len = 0;
	uint64_t tramp;

	int err = island_alloc(p, t, pl, f->r.addr, sizeof(out) + ARCH_ENDBR_LEN, &tramp);
	if (!err)
		err = jumps_relocate(p, f, f->jump_len, tramp, out, sizeof(out), &out_len);
	if (!err)
		err = proc_write(p, tramp, out, out_len);
	if (!err) {
		island_trim(&pl->isl, tramp, sizeof(out) + ARCH_ENDBR_LEN, out_len);
		err = proc_write(p, l_addr + f->d->aux_vaddr, &tramp, sizeof(tramp));
	}
	return err;
}

/* With the patch loaded: where each replacement lives, and the bytes to write. */
int jumps_plan(struct proc *p, struct thread *t, struct plan *pl, uint64_t l_addr)
{
	const struct map *m;
	uint8_t buf[1024];
	int err;

	for (size_t i = 0; i < pl->nf; i++) {
		struct plan_func *f = &pl->f[i];
		uint64_t from = f->r.addr + f->off, target;
		f->new_addr = l_addr + f->d->addr_vaddr;
		m = proc_map_find(p, f->new_addr);
		if (!f->d->addr_vaddr || !m || !(m->prot & PROT_EXEC))
			return hp_err(HOTPATCH_E_BADDESC, "%s: replacement for '%s' is not code in the loaded patch",
				      pl->path, f->d->symbol);
		target = f->new_addr;
		if (f->preserved) {
			/* Entry -> island that saves what callers keep, calls the replacement, restores. */
			err = island_alloc(p, t, pl, from + f->pad, 512, &f->island);
			if (err)
				return err;
			int n = arch_build_preserving_island(f->preserved, f->island, f->new_addr, buf,
							     sizeof(buf));
			if (n < 0)
				return hp_err(n, "pid %d: cannot build the preserving island for '%s'",
					      p->pid, f->d->symbol);
			err = proc_write(p, f->island, buf, (size_t)n);
			if (err)
				return err;
			target = f->island;
		}
		/*
		 * The entry sequence: a landing pad of ours first where the entry
		 * needs one (aarch64: PACIASP -> BTI c), then the near jump, else
		 * the far one. A WRAP keeps running the old body after the
		 * displaced bytes, so displace as few as possible: 14 bytes of ff25
		 * reach into loops that branch back near the entry (nginx's
		 * ngx_writev), 5 do not; and the near form is the one plan_build
		 * checked. The far form must also fit the bytes the record keeps.
		 */
		size_t n = arch_encode_entry_jump(f->entry, sizeof(f->entry), from, target, f->jump);
		if (n > f->pad + ARCH_JMP_REL32_LEN &&
		    (n > f->avail || n > RECORD_JUMP_MAX || f->d->kind == HOTPATCH_KIND_WRAP)) {
			/* Out of near reach, and no room for the far form: near to an island holding it. */
			err = island_alloc(p, t, pl, from + f->pad, ARCH_JMP_ABS_LEN, &f->island);
			if (err)
				return err;
			size_t k = arch_encode_jmp_abs(target, buf);
			err = proc_write(p, f->island, buf, k);
			if (err)
				return err;
			n = arch_encode_entry_jump(f->entry, sizeof(f->entry), from, f->island, f->jump);
		}
		f->jump_len = (unsigned)n;
		if (f->d->kind == HOTPATCH_KIND_WRAP) {
			err = plan_trampoline(p, t, pl, f, l_addr);
			if (err)
				return err;
		}
	}
	return 0;
}

int jumps_write_imports(struct proc *p, struct plan *pl, uint64_t l_addr)
{
	for (size_t i = 0; i < pl->ni; i++) {
		uint64_t var = l_addr + pl->im[i].d->addr_vaddr;
		int err = pl->im[i].d->kind == HOTPATCH_KIND_IMPORT
				  ? proc_write(p, var, &pl->im[i].r.addr, sizeof(uint64_t))
				  : patch_write_fixup(p, pl->im[i].d, pl->im[i].r.addr, l_addr);
		if (err)
			return err;
	}
	return 0;
}

/* Restore the entries we wrote; used on failure. */
void jumps_unwrite(struct proc *p, struct plan *pl)
{
	for (size_t i = pl->nf; i-- > 0;) {
		struct plan_func *f = &pl->f[i];
		if (f->written && proc_write(p, f->r.addr + f->off, f->orig, f->jump_len))
			hp_warn("pid %d: could not restore '%s'", p->pid, f->d->symbol);
		f->written = false;
	}
}

static int cmp_jump_addr(const void *a, const void *b)
{
	const struct plan_func *x = *(struct plan_func *const *)a, *y = *(struct plan_func *const *)b;
	uint64_t ax = x->r.addr + x->off, ay = y->r.addr + y->off;
	return (ax > ay) - (ax < ay);
}

/*
 * Under stop-the-world: the bytes we will put back must be the current ones.
 * Jumps whose pages are written anyway are grouped: one read and one write
 * per group instead of two syscalls per function (1000 functions were 2000
 * syscalls with every thread waiting). A group never reaches into a page
 * holding none of its jumps, so no page is copied on write that would not
 * be otherwise; the bytes between its jumps are written back as just read.
 */
int jumps_write(struct proc *p, struct plan *pl)
{
	struct plan_func **v = calloc(pl->nf + 1, sizeof(*v));
	uint8_t *buf = NULL, *old = NULL;
	size_t cap = 0;
	int err = 0;

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < pl->nf; i++)
		v[i] = &pl->f[i];
	qsort(v, pl->nf, sizeof(*v), cmp_jump_addr);
	for (size_t i = 0, k; i < pl->nf && !err; i = k) {
		uint64_t start = v[i]->r.addr + v[i]->off, end = start + v[i]->jump_len;
		for (k = i + 1; k < pl->nf; k++) {
			uint64_t s = v[k]->r.addr + v[k]->off;
			if (s < start || (s & ~4095ull) > ((end - 1) & ~4095ull))
				break;
			if (s + v[k]->jump_len > end)
				end = s + v[k]->jump_len;
		}
		size_t len = end - start;
		if (len > cap) {
			uint8_t *nb = realloc(buf, len), *no = nb ? realloc(old, len) : NULL;
			if (nb)
				buf = nb;
			if (no)
				old = no;
			if (!nb || !no) {
				err = -ENOMEM;
				break;
			}
			cap = len;
		}
		err = proc_read(p, start, buf, len);
		if (err)
			break;
		memcpy(old, buf, len);
		for (size_t j = i; j < k; j++) {
			size_t o = v[j]->r.addr + v[j]->off - start;
			memcpy(v[j]->orig, buf + o, v[j]->jump_len);
			memcpy(buf + o, v[j]->jump, v[j]->jump_len);
		}
		err = proc_write(p, start, buf, len);
		if (err) {
			/* A partial write must not leave half a jump behind. */
			proc_write(p, start, old, len);
			break;
		}
		for (size_t j = i; j < k; j++)
			v[j]->written = true;
	}
	if (err)
		jumps_unwrite(p, pl);
	free(v);
	free(buf);
	free(old);
	return err;
}

/* SPDX-License-Identifier: MIT */
/*
 * The transactions: apply, load, revert, and the read-only check/list/info.
 * Everything that can be checked is checked before the target is touched;
 * after that, every step that changes the target has its undo, run in
 * reverse order on any failure (CRIU style), so the target is left as found.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <elf.h>

#include "arch/arch.h"
#include "patch/patch.h"

#define ISLAND_PAGE 4096
#define ISLAND_SLOT 16

struct plan_func {
	const struct patch_desc *d;
	struct resolved r;
	unsigned off;		/* 4 when the entry is endbr64: keep it, IBT needs it */
	uint64_t avail;		/* bytes we may overwrite from addr + off */
	uint64_t cold[4][2];
	int ncold;
	uint64_t new_addr;
	uint64_t island;	/* slot holding the absolute jump, 0 if direct */
	uint8_t jump[ARCH_JUMP_MAX];
	unsigned jump_len;
	uint8_t orig[ARCH_JUMP_MAX];
	uint32_t preserved;	/* caller-saved registers kept for IPA-RA callers */
	bool written;
	uint64_t resolver;	/* STT_GNU_IFUNC: its resolver (r then becomes the implementation) */
	char note[256];		/* inlined copies, clones, ifunc: what the jump does not reach */
};

struct plan_import {
	const struct patch_desc *d;
	struct resolved r;
};

struct plan {
	char path[4096];
	struct stat st;		/* identity of the file we checked */
	struct patch_file pf;
	struct plan_func *f;
	size_t nf;
	struct plan_import *im;
	size_t ni;
	uint64_t islands[64];	/* pages mapped by this apply */
	size_t nislands;
	size_t island_used[64];
	uint64_t new_region;	/* state region created by this apply, 0 if it existed */
	bool was_mapped;	/* the file was mapped in the target before our dlopen */
};

static void plan_release(struct plan *pl)
{
	free(pl->f);
	free(pl->im);
	patch_file_release(&pl->pf);
	memset(pl, 0, sizeof(*pl));
}

/*
 * The patch must be exactly what its owner wrote: a regular file owned by
 * root or by us, writable by nobody else (issue: a patch file is code that
 * will run inside a production process).
 */
int patch_file_check(const char *arg, char *canon, struct stat *st)
{
	if (!realpath(arg, canon))
		return hp_err(errno, "%s: %s", arg, errno == ENOENT ? "no such file" : strerror(errno));
	if (stat(canon, st))
		return hp_err(errno, "%s: %s", canon, strerror(errno));
	if (!S_ISREG(st->st_mode))
		return hp_err(HOTPATCH_E_NOTELF, "%s: not a regular file", canon);
	if (st->st_uid != 0 && st->st_uid != geteuid())
		return hp_err(HOTPATCH_E_FILEPERM, "%s: owned by uid %d, not by root or by us (uid %d)",
			      canon, (int)st->st_uid, (int)geteuid());
	if (st->st_mode & (S_IWGRP | S_IWOTH))
		return hp_err(HOTPATCH_E_FILEPERM,
			      "%s: writable by %s (mode %04o): anyone could change the code we load",
			      canon, st->st_mode & S_IWOTH ? "others" : "group",
			      (unsigned)(st->st_mode & 07777));
	return 0;
}

/*
 * A patch linked without a GNU build-id still needs an identity, so that the
 * same bytes under another path are recognised as already applied: a hash
 * of the file's content (FNV-1a, 64 bits), shown as "content:HEX".
 */
static void content_identity(const char *path, char *out, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;
	uint8_t buf[65536];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		for (ssize_t i = 0; i < n; i++)
			h = (h ^ buf[i]) * 0x100000001b3ull;
	close(fd);
	if (n == 0)
		snprintf(out, len, "content:%016llx", (unsigned long long)h);
}

static int load_patch(const char *arg, struct plan *pl)
{
	memset(pl, 0, sizeof(*pl));
	int err = patch_file_check(arg, pl->path, &pl->st);
	if (!err)
		err = patch_file_read(pl->path, &pl->pf);
	if (!err && !pl->pf.build_id[0])
		content_identity(pl->path, pl->pf.build_id, sizeof(pl->pf.build_id));
	return err;
}

static struct hotpatch_patch *state_by_identity(struct state *st, const struct plan *pl)
{
	for (unsigned i = 0; i < st->npatches; i++) {
		struct hotpatch_patch *hp = &st->patches[i];
		if (!strcmp(hp->path, pl->path) ||
		    (pl->pf.build_id[0] && !strcmp(hp->build_id, pl->pf.build_id)))
			return hp;
	}
	return NULL;
}

/* Largest prefix of buf[0..len) that is alignment padding. */
static size_t padding_prefix(const uint8_t *buf, size_t len)
{
	while (len && !arch_is_padding(buf, len))
		len--;
	return len;
}

static int plan_registers(struct proc *p, struct plan *pl, const struct hotpatch_opts *opts);
static int plan_wrap_check(struct proc *p, struct plan_func *f);

/* True when the patch itself replaces a function named 'name' of object 'o'. */
static bool plan_replaces(const struct plan *pl, const struct object *o, const char *name)
{
	for (size_t i = 0; i < pl->nf; i++)
		if (pl->f[i].r.obj == o && !strcmp(pl->f[i].r.sym.name, name))
			return true;
	return false;
}

/* Append "what: a, b, c" to the note, as many names as fit ("and N more" for the rest). */
static void note_names(char *note, size_t size, const char *what, char (*names)[HOTPATCH_NAME_MAX],
		       int n)
{
	size_t len = strlen(note);
	int shown = 0;

	len += (size_t)snprintf(note + len, len < size ? size - len : 0, "%s%s", len ? "; " : "", what);
	for (int i = 0; i < n && len < size; i++) {
		size_t need = strlen(names[i]) + 2 + 16;	/* room left for "and N more" */
		if (shown && len + need >= size)
			break;
		len += (size_t)snprintf(note + len, size - len, "%s%s", shown ? ", " : " ", names[i]);
		shown++;
	}
	if (shown < n && len < size)
		snprintf(note + len, size - len, " and %d more", n - shown);
}

/*
 * Code the jump at the entry does not reach: copies inlined into callers
 * (DWARF) and compiler clones (f.constprop.0 ...) that callers call
 * instead of f. Both keep running the old code; say so, with names, so the
 * author can replace those callers or clones too. Functions the patch
 * replaces as well are left out.
 */
static void plan_notes(struct proc *p, struct plan *pl)
{
	char (*names)[HOTPATCH_NAME_MAX] = calloc(32, HOTPATCH_NAME_MAX);
	char (*left)[HOTPATCH_NAME_MAX] = calloc(32, HOTPATCH_NAME_MAX);

	if (!names || !left)
		goto out;
	for (size_t i = 0; i < pl->nf; i++) {
		struct plan_func *f = &pl->f[i];
		struct elf_file *ef;
		int n, k;

		if (object_elf(f->r.obj, &ef))
			continue;
		n = elf_file_inlined_callers(ef, f->r.sym.name, names, 32);
		for (int j = k = 0; j < n; j++)
			if (!plan_replaces(pl, f->r.obj, names[j]))
				memcpy(left[k++], names[j], HOTPATCH_NAME_MAX);
		if (k) {
			note_names(f->note, sizeof(f->note), "inlined into", left, k);
			hp_warn("pid %d: '%s' was inlined into %d caller%s in %s (%s%s): they keep the old code unless replaced too",
				p->pid, f->r.sym.name, k, k == 1 ? "" : "s", f->r.obj->path, left[0],
				k > 1 ? ", ..." : "");
		}
		n = elf_file_clones(ef, f->r.sym.name, names, 32);
		for (int j = k = 0; j < n; j++)
			if (!plan_replaces(pl, f->r.obj, names[j]))
				memcpy(left[k++], names[j], HOTPATCH_NAME_MAX);
		if (k) {
			note_names(f->note, sizeof(f->note), "has clones", left, k);
			hp_warn("pid %d: '%s' has %s in %s (%s%s): callers of a clone keep the old code unless it is replaced too",
				p->pid, f->r.sym.name, k == 1 ? "a compiler clone" : "compiler clones",
				f->r.obj->path, left[0],
				k > 1 ? ", ..." : "");
		}
	}
out:
	hp_err_clear();
	free(names);
	free(left);
}

/* Check the entry of f (size, endbr64, padding after it) and find its .cold parts. */
static int plan_entry(struct proc *p, struct plan_func *f)
{
	const struct patch_desc *d = f->d;
	uint8_t head[ARCH_ENDBR_LEN] = { 0 }, pad[ARCH_JUMP_MAX] = { 0 };
	size_t hlen = f->r.sym.size < sizeof(head) ? f->r.sym.size : sizeof(head);
	int err;

	if (!f->r.sym.size)
		return hp_err(HOTPATCH_E_SMALL, "pid %d: '%s' in %s has no size: cannot tell what a jump would overwrite",
			      p->pid, d->symbol, f->r.obj->path);
	err = proc_read(p, f->r.addr, head, hlen);
	if (err)
		return err;
	f->off = arch_is_endbr(head, hlen) ? ARCH_ENDBR_LEN : 0;
	size_t gap = f->r.sym.gap_after < sizeof(pad) ? f->r.sym.gap_after : sizeof(pad);
	size_t padlen = 0;
	if (gap && !proc_read(p, f->r.addr + f->r.sym.size, pad, gap))
		padlen = padding_prefix(pad, gap);
	hp_err_clear();
	f->avail = f->r.sym.size - f->off + padlen;
	if (f->avail < ARCH_JMP_REL32_LEN)
		return hp_err(HOTPATCH_E_SMALL,
			      "pid %d: '%s' in %s is %llu bytes with %zu bytes of padding after it: too small for a %d-byte jump",
			      p->pid, d->symbol, f->r.obj->path,
			      (unsigned long long)f->r.sym.size, padlen, ARCH_JMP_REL32_LEN);
	struct elf_file *ef;
	if (!object_elf(f->r.obj, &ef)) {
		f->ncold = elf_file_cold_parts(ef, f->r.sym.name, f->cold, 4);
		if (f->ncold < 0)
			f->ncold = 0;
		for (int c = 0; c < f->ncold; c++) {
			f->cold[c][0] += f->r.obj->bias;
			f->cold[c][1] += f->r.obj->bias;
		}
	}
	return 0;
}

/* Resolve and check everything; touches nothing. */
static int plan_build(struct proc *p, struct objects *objs, struct state *st, struct plan *pl,
		      const struct hotpatch_opts *opts)
{
	const struct patch_file *pf = &pl->pf;
	int err;

	struct hotpatch_patch *dup = state_by_identity(st, pl);
	if (dup)
		return hp_err(HOTPATCH_E_APPLIED, "pid %d: %s already applied as patch %u", p->pid,
			      pl->path, dup->id);
	if (pf->pin[0]) {
		struct elf_file *ef;
		char id[HOTPATCH_BUILD_ID_MAX] = "";
		err = object_elf(&objs->v[0], &ef);
		if (err)
			return err;
		if (elf_file_build_id(ef, id) || strcmp(id, pf->pin))
			return hp_err(HOTPATCH_E_BUILDID,
				      "pid %d: build-id mismatch: patch wants %s, %s has %s", p->pid,
				      pf->pin, objs->v[0].path, id[0] ? id : "none");
	}
	pl->f = calloc(pf->ndesc + 1, sizeof(*pl->f));
	pl->im = calloc(pf->ndesc + 1, sizeof(*pl->im));
	if (!pl->f || !pl->im)
		return -ENOMEM;
	for (unsigned i = 0; i < pf->ndesc; i++) {
		const struct patch_desc *d = &pf->desc[i];
		if (patch_desc_is_import(d->kind)) {
			struct plan_import *im = &pl->im[pl->ni];
			im->d = d;
			err = resolve_symbol(p, objs, d->object, d->file[0] ? d->file : NULL, d->symbol,
					     ELF_SYM_ANY, &im->r);
			if (err)
				return err;
			pl->ni++;
			continue;
		}
		if (d->kind != HOTPATCH_KIND_REPLACE && d->kind != HOTPATCH_KIND_WRAP)
			continue;
		struct plan_func *f = &pl->f[pl->nf];
		f->d = d;
		err = resolve_symbol(p, objs, d->object, d->file[0] ? d->file : NULL, d->symbol,
				     ELF_SYM_FUNC, &f->r);
		if (err)
			return err;
		for (size_t j = 0; j < pl->nf; j++)
			if (pl->f[j].r.addr == f->r.addr)
				return hp_err(HOTPATCH_E_BADDESC, "%s: '%s' and '%s' are the same function",
					      pl->path, pl->f[j].d->symbol, d->symbol);
		if (f->r.sym.type == STT_GNU_IFUNC) {
			/* The code to patch is chosen by the resolver, in the target: see plan_ifuncs. */
			f->resolver = f->r.addr;
			snprintf(f->note, sizeof(f->note),
				 "ifunc: the implementation is chosen by its resolver at apply time");
		} else {
			err = plan_entry(p, f);
			if (!err && d->kind == HOTPATCH_KIND_WRAP)
				err = plan_wrap_check(p, f);
			if (err)
				return err;
		}
		pl->nf++;
	}
	if (!pl->nf && !pl->ni)
		return hp_err(HOTPATCH_E_NODESC, "%s: no replacements", pl->path);
	plan_notes(p, pl);
	return plan_registers(p, pl, opts);
}

static void fill_funcs(const struct plan *pl, struct hotpatch_patch *out)
{
	out->funcs = calloc(pl->nf + 1, sizeof(*out->funcs));
	if (!out->funcs)
		return;
	out->nfuncs = (unsigned)pl->nf;
	for (size_t i = 0; i < pl->nf; i++) {
		const struct plan_func *f = &pl->f[i];
		struct hotpatch_func *o = &out->funcs[i];
		hp_strlcpy(o->name, f->resolver ? f->d->symbol : f->r.sym.name, sizeof(o->name));
		hp_strlcpy(o->object, f->r.obj->path, sizeof(o->object));
		hp_strlcpy(o->new_name, f->d->addr_name, sizeof(o->new_name));
		hp_strlcpy(o->orig_var, f->d->aux_name, sizeof(o->orig_var));
		o->addr = f->r.addr;
		o->size = f->r.sym.size;
		o->new_addr = f->new_addr;
		o->island = f->island;
		o->jump_len = f->jump_len;
		o->jump_off = f->off;
		memcpy(o->orig, f->orig, sizeof(o->orig));
		memcpy(o->jump, f->jump, sizeof(o->jump));
		o->wrap = f->d->kind == HOTPATCH_KIND_WRAP;
		o->preserved_regs = f->preserved;
		hp_strlcpy(o->note, f->note, sizeof(o->note));
		hp_strlcpy(o->file, f->d->file, sizeof(o->file));
	}
	hp_strlcpy(out->path, pl->path, sizeof(out->path));
	hp_strlcpy(out->build_id, pl->pf.build_id, sizeof(out->build_id));
	hp_strlcpy(out->pin, pl->pf.pin, sizeof(out->pin));
}

/*
 * Give back the unused tail of the island space last taken at 'slot' (a
 * trampoline reserves the most it could need; it needs ~30 bytes): without
 * this a patch wrapping ~1000 functions ran out of island pages.
 */
static void island_trim(struct plan *pl, uint64_t slot, size_t reserved, size_t used)
{
	reserved = (reserved + ISLAND_SLOT - 1) & ~(size_t)(ISLAND_SLOT - 1);
	used = (used + ISLAND_SLOT - 1) & ~(size_t)(ISLAND_SLOT - 1);
	for (size_t i = 0; i < pl->nislands; i++)
		if (used < reserved && pl->islands[i] + pl->island_used[i] == slot + reserved)
			pl->island_used[i] -= reserved - used;
}

/* 'size' bytes of island code within rel32 reach of 'from', mapping a page near it if needed. */
static int island_alloc(struct proc *p, struct thread *t, struct plan *pl, uint64_t from,
			size_t size, uint64_t *slot)
{
	size = (size + ISLAND_SLOT - 1) & ~(size_t)(ISLAND_SLOT - 1);
	for (size_t i = 0; i < pl->nislands; i++) {
		uint64_t s = pl->islands[i] + pl->island_used[i];
		if (pl->island_used[i] + size <= ISLAND_PAGE && arch_rel32_reaches(from, s) &&
		    arch_rel32_reaches(from, s + size)) {
			pl->island_used[i] += size;
			*slot = s;
			return 0;
		}
	}
	if (pl->nislands == ARRAY_SIZE(pl->islands))
		return hp_err(HOTPATCH_E_NOTSUP, "pid %d: too many jump islands", p->pid);
	uint64_t page;
	int err = remote_mmap_near(p, t, from, ISLAND_PAGE, &page);
	if (err)
		return err;
	pl->islands[pl->nislands] = page;
	pl->island_used[pl->nislands++] = size;
	*slot = page;
	return 0;
}

/*
 * Caller-saved registers the old function (and what it calls directly in its
 * own object) never writes. GCC's -fipa-ra lets callers in the same unit keep
 * live values there across the call; a replacement must preserve them too.
 * Anything we cannot see through (PLT, pointer calls, undecodable bytes)
 * means "clobbers everything", which needs no preservation.
 */
static int clobber_analysis(struct elf_file *ef, uint64_t value, uint32_t *written,
			    bool *stack_args)
{
	uint64_t todo[64], seen[64];
	size_t ntodo = 0, nseen = 0;
	struct arch_func_info info;

	*written = 0;
	*stack_args = false;
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
	hp_err_clear();
	return 0;
all:
	hp_err_clear();
	*written = ARCH_REGS_CALLER_SAVED;
	return 0;
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

static int plan_registers(struct proc *p, struct plan *pl, const struct hotpatch_opts *opts)
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
		clobber_analysis(object_elf(f->r.obj, &ef) ? NULL : ef, f->r.sym.value, &written,
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
		clobber_analysis(patch_ef, f->d->addr_vaddr, &new_written, &unused);
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

/*
 * HOTPATCH_WRAP: copy the instructions a 'min_len'-byte jump displaces into
 * a trampoline at 'tramp' (relocated), so 'orig' calls the old
 * implementation. Bytes are read from the process as they are now: a
 * function wrapped twice relocates the first patch's jump.
 */
static int wrap_relocate(struct proc *p, struct plan_func *f, size_t min_len, uint64_t tramp,
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

/*
 * Before anything is touched: can the shortest jump we may write (e9 rel32)
 * be relocated? A branch into the displaced bytes or an unmovable
 * instruction there is refused now, by `check` too, not after dlopen. The
 * trampoline is placed at the entry itself for this dry run: rip-relative
 * operands then reach as they will from an island near it.
 */
static int plan_wrap_check(struct proc *p, struct plan_func *f)
{
	uint8_t out[256];
	size_t out_len;

	return wrap_relocate(p, f, ARCH_JMP_REL32_LEN, f->r.addr, out, sizeof(out), &out_len);
}

static int plan_trampoline(struct proc *p, struct thread *t, struct plan *pl, struct plan_func *f,
			   uint64_t l_addr)
{
	uint8_t out[256];
	size_t out_len = 0;
	uint64_t tramp;

	int err = island_alloc(p, t, pl, f->r.addr, sizeof(out) + ARCH_ENDBR_LEN, &tramp);
	if (!err)
		err = wrap_relocate(p, f, f->jump_len, tramp, out, sizeof(out), &out_len);
	if (!err)
		err = proc_write(p, tramp, out, out_len);
	if (!err) {
		island_trim(pl, tramp, sizeof(out) + ARCH_ENDBR_LEN, out_len);
		err = proc_write(p, l_addr + f->d->aux_vaddr, &tramp, sizeof(tramp));
	}
	return err;
}

/*
 * STT_GNU_IFUNC: the symbol is a resolver, and every caller reaches the
 * implementation it returned (through a GOT slot filled by the dynamic
 * linker). Patching the resolver would change nothing, silently. Ask the
 * resolver itself, in the target (its choice depends on the CPU and on the
 * target's tunables), on the borrowed thread at its safe point: x86_64 glibc
 * calls resolvers with no arguments, and they only read CPU features.
 */
static int plan_ifuncs(struct proc *p, struct thread *t, struct plan *pl, uint64_t deadline)
{
	for (size_t i = 0; i < pl->nf; i++) {
		struct plan_func *f = &pl->f[i];
		struct object *o = f->r.obj;
		struct elf_file *ef;
		struct elf_sym sym;
		uint64_t impl = 0, s, e;
		if (!f->resolver)
			continue;
		int err = proc_remote_call(p, t, f->resolver, NULL, 0, NULL, 0, &impl, deadline);
		if (err)
			return err;
		const struct map *m = proc_map_find(p, impl);
		if (!m || !(m->prot & PROT_EXEC) || impl < o->lo || impl >= o->hi)
			return hp_err(HOTPATCH_E_NOTSUP,
				      "pid %d: ifunc '%s' of %s resolves to 0x%llx, outside its object's code",
				      p->pid, f->d->symbol, o->path, (unsigned long long)impl);
		err = object_elf(o, &ef);
		if (err)
			return err;
		if (!elf_file_symbolize(ef, impl - o->bias, &sym) && sym.value == impl - o->bias) {
			f->r.sym = sym;
		} else if (!elf_file_fde_range(ef, impl - o->bias, &s, &e) && s == impl - o->bias) {
			/* Stripped and no debuginfo: the call-frame entry bounds the function. */
			memset(&f->r.sym, 0, sizeof(f->r.sym));
			snprintf(f->r.sym.name, sizeof(f->r.sym.name), "%.200s+0x%llx", o->path[0] ?
				 strrchr(o->path, '/') ? strrchr(o->path, '/') + 1 : o->path : "?",
				 (unsigned long long)s);
			f->r.sym.value = s;
			f->r.sym.size = e - s;
			f->r.sym.type = STT_FUNC;
		} else {
			return hp_err(HOTPATCH_E_SMALL,
				      "pid %d: ifunc '%s' of %s resolves to 0x%llx, whose extent is unknown (no symbol, no call-frame entry)",
				      p->pid, f->d->symbol, o->path, (unsigned long long)impl);
		}
		hp_err_clear();
		f->r.addr = impl;
		snprintf(f->note, sizeof(f->note), "ifunc: resolved to '%.180s' at 0x%llx",
			 f->r.sym.name, (unsigned long long)impl);
		hp_info("pid %d: ifunc '%s' resolves to '%s' at 0x%llx", p->pid, f->d->symbol,
			f->r.sym.name, (unsigned long long)impl);
		for (size_t j = 0; j < pl->nf; j++)
			if (j != i && pl->f[j].r.addr == impl)
				return hp_err(HOTPATCH_E_BADDESC, "%s: '%s' and '%s' are the same function",
					      pl->path, pl->f[j].d->symbol, f->d->symbol);
		err = plan_entry(p, f);
		if (err)
			return err;
	}
	return 0;
}

/* With the patch loaded: where each replacement lives, and the bytes to write. */
static int plan_jumps(struct proc *p, struct thread *t, struct plan *pl, uint64_t l_addr)
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
			err = island_alloc(p, t, pl, from, 512, &f->island);
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
		f->jump_len = (unsigned)arch_encode_jmp_rel32(from, target, f->jump);
		/*
		 * A WRAP keeps running the old body after the displaced bytes, so
		 * displace as few as possible: 14 bytes of ff25 reach into loops
		 * that branch back near the entry (nginx's ngx_writev), 5 do not;
		 * and the 5-byte form is the one plan_build checked.
		 */
		if (!f->jump_len && f->avail >= ARCH_JMP_ABS_LEN && f->d->kind != HOTPATCH_KIND_WRAP) {
			f->jump_len = (unsigned)arch_encode_jmp_abs(target, f->jump);
		} else if (!f->jump_len) {
			/* Too small for the absolute form: e9 to an island holding it. */
			err = island_alloc(p, t, pl, from, ARCH_JMP_ABS_LEN, &f->island);
			if (err)
				return err;
			size_t n = arch_encode_jmp_abs(target, buf);
			err = proc_write(p, f->island, buf, n);
			if (err)
				return err;
			f->jump_len = (unsigned)arch_encode_jmp_rel32(from, f->island, f->jump);
		}
		if (f->d->kind == HOTPATCH_KIND_WRAP) {
			err = plan_trampoline(p, t, pl, f, l_addr);
			if (err)
				return err;
		}
	}
	return 0;
}

static int write_imports(struct proc *p, struct plan *pl, uint64_t l_addr)
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
static void unwrite_jumps(struct proc *p, struct plan *pl)
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
static int write_jumps(struct proc *p, struct plan *pl)
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
		unwrite_jumps(p, pl);
	free(v);
	free(buf);
	free(old);
	return err;
}

/* Undo a dlopen: pick a safe thread again (the world is held), dlclose, unmap islands. */
static void undo_load_steps(struct proc *p, struct objects *objs, struct plan *pl,
			    uint64_t handle, const struct hotpatch_opts *opts, int cause);

static void undo_load(struct proc *p, struct objects *objs, struct plan *pl, uint64_t handle,
		      const struct hotpatch_opts *opts, int cause)
{
	struct hp_err_saved saved;
	hp_err_save(&saved);
	undo_load_steps(p, objs, pl, handle, opts, cause);
	hp_err_restore(&saved);
}

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
	if (!pl || t->gone)
		return;
	/*
	 * A failed dlopen (a seccomp filter refusing PROT_EXEC, say) can leave
	 * the file's first mapping behind, forgotten by the loader: unmap what
	 * maps our file now when nothing did before.
	 */
	if (!handle && !pl->was_mapped)
		patch_unmap_file(p, t, &pl->st);
	for (size_t i = 0; i < pl->nislands; i++)
		remote_munmap(p, t, pl->islands[i], ISLAND_PAGE);
	/* An empty state region we created: nothing records anything in it. */
	if (pl->new_region)
		remote_munmap(p, t, pl->new_region, STATE_REGION_LEN);
}

void patch_unmap_file(struct proc *p, struct thread *t, const struct stat *st)
{
	if (proc_maps_refresh(p)) {
		hp_err_clear();
		return;
	}
	uint64_t (*leftover)[2] = calloc(p->nmaps + 1, sizeof(*leftover));
	size_t nl = 0;
	for (size_t i = 0; leftover && i < p->nmaps; i++)
		if (p->maps[i].inode == (unsigned long long)st->st_ino &&
		    makedev(p->maps[i].dev_major, p->maps[i].dev_minor) == st->st_dev) {
			leftover[nl][0] = p->maps[i].start;
			leftover[nl++][1] = p->maps[i].end - p->maps[i].start;
		}
	for (size_t i = 0; i < nl; i++)
		remote_munmap(p, t, leftover[i][0], leftover[i][1]);
	free(leftover);
}

bool patch_file_mapped(struct proc *p, const struct stat *st)
{
	if (proc_maps_refresh(p)) {
		hp_err_clear();
		return true;	/* unknown: leave any mapping alone */
	}
	for (size_t i = 0; i < p->nmaps; i++)
		if (p->maps[i].inode == (unsigned long long)st->st_ino &&
		    makedev(p->maps[i].dev_major, p->maps[i].dev_minor) == st->st_dev)
			return true;
	return false;
}

static void timing_fill(struct hotpatch_timing *tm, struct proc *p, uint64_t start)
{
	if (!tm)
		return;
	tm->total_ns = hp_now_ns() - start;
	tm->pause_ns = p ? p->pause_ns : 0;
	tm->threads = p ? (unsigned)proc_nlive(p) : 0;
}

/*
 * Placing the patch object. ld.so maps an object wherever mmap(NULL, ...)
 * puts it: among the libraries, terabytes away from a PIE executable, so
 * every replaced function of the executable would need a 14-byte absolute
 * jump (or an island for a short one) where a 5-byte direct jump would do,
 * and each patched call would land on a far page. So the dlopen is watched
 * and the one mmap that reserves the object's address range gets a hint: a
 * free gap within reach of a direct jump from every replaced function. A
 * hint is only a hint: if the gap has been taken meanwhile the kernel picks
 * as usual, and the jumps adapt to wherever the object landed.
 */
struct placement {
	uint64_t addr, span, align;
	dev_t dev;
	ino_t ino;
	unsigned seen;		/* system calls looked at */
	bool given;
};

/* Room kept free between the object and the mapping above it. */
#define PLACE_GUARD (64ull << 10)
/* rel32 reach from any replaced entry, less room for islands and rounding. */
#define PLACE_REACH ((1ull << 31) - (64ull << 20))
/* Never below this: the first megabyte stays as programs expect it, empty. */
#define PLACE_FLOOR (1ull << 20)

/*
 * Candidates are the gaps directly below an ordinary mapping, the spot the
 * kernel's own top-down allocator would take: never the stack's reserve
 * (below [stack]) or the vsyscall/vdso area, and never the room above the
 * heap that brk grows into. The one within direct reach of the most
 * replaced functions wins (a patch of both executable and library functions
 * cannot be near all of them); on a tie, the nearest. 0 when none reaches
 * any: ld.so decides.
 */
static uint64_t placement_hint(struct proc *p, const struct plan *pl)
{
	uint64_t span = pl->pf.load_span, align = pl->pf.load_align;
	uint64_t best = 0, best_dist = UINT64_MAX, prev_end = 0;
	size_t best_n = 0;

	/* Debug knob: leave the placement to ld.so (benchmarks compare both). */
	const char *off = getenv("HOTPATCH_NO_PLACEMENT");
	if (off && !strcmp(off, "1"))
		return 0;
	if (!span || span >= PLACE_REACH || pl->was_mapped || !pl->nf || proc_maps_refresh(p))
		return 0;
	uint64_t brk = proc_stat_field(p, 47);	/* start_brk */
	for (size_t i = 0; i < p->nmaps; prev_end = p->maps[i].end, i++) {
		const struct map *m = &p->maps[i];
		if (m->path[0] == '[' && strcmp(m->path, "[heap]"))
			continue;
		/* The room brk grows into, whether [heap] exists yet or not. */
		if ((brk && brk >= prev_end && brk < m->end) ||
		    (i && !strcmp(p->maps[i - 1].path, "[heap]")))
			continue;
		/* A hole inside one object (segments aligned to 2 MiB): not ours to fill. */
		const struct map *pm = i ? &p->maps[i - 1] : NULL;
		if (pm && m->inode && pm->inode == m->inode && pm->dev_major == m->dev_major &&
		    pm->dev_minor == m->dev_minor)
			continue;
		/* Above a page, ld.so first reserves span + align anonymously at the hint. */
		uint64_t need = span + (align > 4096 ? align : 0);
		uint64_t floor = prev_end > PLACE_FLOOR ? prev_end : PLACE_FLOOR;
		if (m->start < floor + 2 * PLACE_GUARD + need)
			continue;
		uint64_t h = (m->start - PLACE_GUARD - need) & ~(align - 1);
		if (h < floor + PLACE_GUARD)
			continue;
		size_t n = 0;
		uint64_t dist = UINT64_MAX;
		for (size_t k = 0; k < pl->nf; k++) {
			uint64_t f = pl->f[k].r.addr;
			uint64_t d = f > h ? f - h : h + span - f;
			if (!f || d > PLACE_REACH)
				continue;
			n++;
			dist = d < dist ? d : dist;
		}
		if (n > best_n || (n && n == best_n && dist < best_dist)) {
			best = h;
			best_n = n;
			best_dist = dist;
		}
	}
	return best;
}

/* Does the target's descriptor fd name the patch file? */
static bool fd_is_file(pid_t pid, uint64_t fd, dev_t dev, ino_t ino)
{
	char path[64];
	struct stat st;

	if (fd > INT32_MAX)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)pid, (int)fd);
	return !stat(path, &st) && st.st_dev == dev && st.st_ino == ino;
}

/*
 * ld.so reserves the whole object with its first mmap: of the file itself
 * (offset 0), or, for alignments above a page, an anonymous PROT_NONE
 * range it then maps the segments into. Either one gets the hint.
 */
static int place_at_syscall(void *arg, struct proc *p, struct thread *t, long nr,
			    const uint64_t a[6], struct user_regs_struct *regs, bool *done)
{
	struct placement *pc = arg;
	(void)t;

	if (++pc->seen > 64) {
		*done = true;	/* not a dlopen we understand: leave it alone */
		return 0;
	}
	/* ld.so asks for the exact extent; we counted whole pages. */
	uint64_t len = (a[1] + 4095) & ~4095ull;
	if (nr != SYS_mmap || a[0] || (a[3] & (MAP_FIXED | MAP_FIXED_NOREPLACE)) || len < pc->span)
		return 0;
	bool ours;
	if (a[3] & MAP_ANONYMOUS)
		ours = pc->align > 4096 && a[2] == PROT_NONE && len <= pc->span + 2 * pc->align;
	else
		ours = len <= pc->span + pc->align && fd_is_file(p->pid, a[4], pc->dev, pc->ino);
	if (!ours)
		return 0;
	arch_set_syscall_arg(regs, 0, pc->addr);
	pc->given = true;
	*done = true;
	return 1;
}

/* Check the loaded file is the one we checked: same device and inode in the target's maps. */
int patch_verify_mapping(struct proc *p, const char *path, const struct stat *st, uint64_t l_addr)
{
	int err = proc_maps_refresh(p);
	if (err)
		return err;
	const struct map *m = NULL;
	for (size_t i = 0; i < p->nmaps; i++)
		if (!strcmp(p->maps[i].path, path) && p->maps[i].start >= l_addr) {
			m = &p->maps[i];
			break;
		}
	if (!m)
		return hp_err(HOTPATCH_E_MISMATCH, "pid %d: %s is not mapped after dlopen", p->pid, path);
	if (m->inode != (unsigned long long)st->st_ino ||
	    makedev(m->dev_major, m->dev_minor) != st->st_dev)
		return hp_err(HOTPATCH_E_MISMATCH,
			      "pid %d: %s was replaced between check and load (inode %llu, expected %llu)",
			      p->pid, path, m->inode, (unsigned long long)st->st_ino);
	return 0;
}

static int do_apply(struct proc *p, struct plan *pl, const struct hotpatch_opts *opts,
		    struct hotpatch_result *res, uint64_t start)
{
	struct objects objs;
	struct state st;
	struct thread *t;
	uint64_t handle = 0, l_addr = 0, deadline = patch_deadline(opts, start);
	int err;

	memset(&st, 0, sizeof(st));
	err = objects_load(p, &objs);
	if (!err)
		err = state_read(p, &st);
	if (!err)
		err = plan_build(p, &objs, &st, pl, opts);
	if (err)
		goto out;
	objects_prefetch(&objs);
	/*
	 * --timeout bounds what we wait for in the target (safe points, busy
	 * threads, remote calls), not the reading of symbols before it: a patch
	 * of 2000 functions of libc takes ~2 s to plan, untouched.
	 */
	deadline = patch_deadline(opts, hp_now_ns());

	err = safepoint_borrow(p, &objs, deadline, &t);
	if (err)
		goto out;
	/*
	 * Another invocation may have committed since our read. Not from now
	 * on: it would have to stop the thread we hold.
	 */
	state_release(&st);
	err = state_read(p, &st);
	if (!err && state_by_identity(&st, pl))
		err = hp_err(HOTPATCH_E_APPLIED, "pid %d: %s already applied", p->pid, pl->path);
	if (err)
		goto release;

	/* dlopen phase: one thread busy, the others running. */
	uint64_t t_dl = hp_now_ns();
	/* Create the state region now, while we have a thread to run syscalls in. */
	bool had_region = st.region != 0;
	if (!err)
		err = state_prepare(p, t, &st);
	if (!err && !had_region)
		pl->new_region = st.region;
	if (!err)
		pl->was_mapped = patch_file_mapped(p, &pl->st);
	struct placement place = { .span = pl->pf.load_span, .align = pl->pf.load_align,
				   .dev = pl->st.st_dev, .ino = pl->st.st_ino };
	struct remote_hook hook = { .at_syscall = place_at_syscall, .arg = &place };
	if (!err)
		place.addr = placement_hint(p, pl);
	if (!err)
		err = remote_dlopen(p, &objs, t, pl->path, place.addr ? &hook : NULL, &handle,
				    deadline + 5000000000ull);
	if (!err && place.addr)
		hp_debug("pid %d: %s placed at 0x%" PRIx64 " (hint %s)", p->pid, pl->path, place.addr,
			 place.given ? "given" : "not used");
	if (!err)
		err = proc_read(p, handle, &l_addr, sizeof(l_addr));	/* link_map.l_addr */
	if (!err)
		err = patch_verify_mapping(p, pl->path, &pl->st, l_addr);
	if (!err)
		err = write_imports(p, pl, l_addr);
	if (!err)
		err = plan_ifuncs(p, t, pl, deadline);
	if (!err)
		err = plan_jumps(p, t, pl, l_addr);
	/* The patch is a new module: the unwinder learns of it now, not with everything stopped. */
	if (!err)
		objects_unwinder_refresh(&objs);
	res->timing.dlopen_ns = hp_now_ns() - t_dl;
	if (err)
		goto undo;

	/*
	 * The state record is built and staged while the threads run (for 1000
	 * functions that is a megabyte to write), with the entries' bytes as
	 * they are now. Under the stop write_jumps reads them again: if one
	 * changed meanwhile, the record is staged again there; then one small
	 * write commits it.
	 */
	struct hotpatch_patch rec = { 0 };
	fill_funcs(pl, &rec);
	struct range *ranges = calloc(pl->nf * 5 + 1, sizeof(*ranges));
	struct hotpatch_patch *np = realloc(st.patches, (st.npatches + 1) * sizeof(*np));
	struct island_rec *ni = realloc(st.islands, (st.nislands + pl->nislands + 1) * sizeof(*ni));
	size_t nr = 0;
	if (np)
		st.patches = np;
	if (ni)
		st.islands = ni;
	if (!ranges || !rec.funcs || !np || !ni) {
		free(ranges);
		free(rec.funcs);
		err = -ENOMEM;
		goto undo;
	}
	for (size_t i = 0; i < pl->nf && !err; i++)
		err = proc_read(p, rec.funcs[i].addr + rec.funcs[i].jump_off, rec.funcs[i].orig,
				rec.funcs[i].jump_len);
	rec.id = st.next_id;
	rec.handle = handle;
	rec.applied_at = time(NULL);
	st.patches[st.npatches++] = rec;	/* st owns rec.funcs from here */
	for (size_t i = 0; i < pl->nislands; i++)
		st.islands[st.nislands++] = (struct island_rec){ rec.id, pl->islands[i], ISLAND_PAGE };
	st.next_id++;
	struct hotpatch_patch *mine = &st.patches[st.npatches - 1];
	if (!err)
		err = state_stage(p, NULL, &st);
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

	/* Stop the world, wait until no thread is inside a function we redirect, write. */
	uint64_t paused = p->pause_ns, t_stop, t_write, t_resume, t_end;
	t_stop = hp_now_ns();
	err = consistency_stop(p, &objs, ranges, nr, deadline, NULL, NULL);
	free(ranges);
	t_write = hp_now_ns();
	if (!err)
		err = write_jumps(p, pl);
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
			err = state_stage(p, NULL, &st);
		}
	}
	if (!err)
		err = state_commit(p, &st);
	if (err) {
		unwrite_jumps(p, pl);
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
	fill_funcs(pl, &res->patch);
	res->patch.id = rec.id;
	res->patch.handle = handle;
	res->patch.applied_at = rec.applied_at;
	goto out;
undo:
	undo_load(p, &objs, pl, handle, opts, err);
release:
	proc_release_all(p, NULL);
out:
	state_release(&st);
	objects_release(&objs);
	return err;
}

static void log_result(const char *op, pid_t pid, const char *path, int err)
{
	if (err)
		hp_info("%s pid=%d patch=%s result=error (%s)", op, pid, path, hotpatch_errmsg());
}

int hotpatch_apply(pid_t pid, const char *patch_path, const struct hotpatch_opts *opts,
		   struct hotpatch_result *res)
{
	struct plan pl;
	struct proc *p = NULL;
	uint64_t start = hp_now_ns();
	int err;

	hp_err_clear();
	memset(res, 0, sizeof(*res));
	err = load_patch(patch_path, &pl);
	if (!err)
		err = proc_open_locked(pid, patch_timeout_ms(opts), &p);
	/* --timeout bounds our own work: waiting for another hotpatch does not count. */
	start = hp_now_ns();
	if (!err)
		err = patch_op_result(p, do_apply(p, &pl, opts, res, start), "apply");
	if (!err && pl.ni) {
		res->patch.imports = calloc(pl.ni, sizeof(*res->patch.imports));
		for (size_t i = 0; res->patch.imports && i < pl.ni; i++)
			hp_strlcpy(res->patch.imports[i], pl.im[i].d->symbol, HOTPATCH_NAME_MAX);
		res->patch.nimports = res->patch.imports ? (unsigned)pl.ni : 0;
	}
	timing_fill(&res->timing, p, start);
	log_result("apply", pid, pl.path, err);
	proc_close(p);
	plan_release(&pl);
	return err;
}

int hotpatch_check(pid_t pid, const char *patch_path, const struct hotpatch_opts *opts,
		   struct hotpatch_result *res)
{
	struct plan pl;
	struct proc *p = NULL;
	struct objects objs;
	struct state st;
	uint64_t start = hp_now_ns();

	hp_err_clear();
	memset(res, 0, sizeof(*res));
	memset(&objs, 0, sizeof(objs));
	memset(&st, 0, sizeof(st));
	int err = load_patch(patch_path, &pl);
	if (!err)
		err = proc_open(pid, &p);
	if (!err)
		err = objects_load(p, &objs);
	if (!err)
		err = state_read(p, &st);
	if (!err)
		err = plan_build(p, &objs, &st, &pl, opts);
	if (!err)
		fill_funcs(&pl, &res->patch);
	err = patch_op_result(p, err, "check");
	timing_fill(&res->timing, p, start);
	state_release(&st);
	objects_release(&objs);
	proc_close(p);
	plan_release(&pl);
	return err;
}

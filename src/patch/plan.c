/* SPDX-License-Identifier: MIT */
/* Planning an apply: the patch file read, every symbol resolved, every entry checked, notes. */
#include <string.h>
#include <sys/mman.h>
#include <elf.h>

#include "patch/plan.h"

void plan_release(struct plan *pl)
{
	free(pl->f);
	free(pl->im);
	patch_file_release(&pl->pf);
	memset(pl, 0, sizeof(*pl));
	pl->memfd = -1;
}

int plan_open(const char *arg, struct plan *pl)
{
	memset(pl, 0, sizeof(*pl));
	pl->memfd = -1;
	int err = patch_file_check(arg, pl->path, &pl->st);
	if (!err)
		err = patch_file_read(pl->path, &pl->pf);
	if (!err && !pl->pf.build_id[0])
		patch_content_id(pl->path, pl->pf.build_id, sizeof(pl->pf.build_id));
	return err;
}

struct hotpatch_patch *plan_applied(struct state *st, const struct plan *pl)
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

/* True when the patch itself replaces a function named 'name' of object 'o'. */
static bool plan_replaces(const struct plan *pl, const struct object *o, const char *name)
{
	for (size_t i = 0; i < pl->nf; i++)
		if (pl->f[i].r.obj == o && !strcmp(pl->f[i].r.sym.name, name))
			return true;
	return false;
}

void note_names(char *note, size_t size, const char *what, char (*names)[HOTPATCH_NAME_MAX], int n)
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

	/* Only warnings: what cannot be read (no DWARF, say) is simply not reported. */
	hp_err_quiet_begin();
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
	hp_err_quiet_end();
	free(names);
	free(left);
}

/* Check the entry of f (size, endbr64, padding after it) and find its .cold parts. */
static int plan_entry(struct proc *p, struct plan_func *f)
{
	const struct patch_desc *d = f->d;
	uint8_t head[2 * ARCH_ENDBR_LEN] = { 0 }, pad[ARCH_JUMP_MAX] = { 0 };
	size_t hlen = f->r.sym.size < sizeof(head) ? f->r.sym.size : sizeof(head);
	int err;

	if (!f->r.sym.size)
		return hp_err(HOTPATCH_E_SMALL, "pid %d: '%s' in %s has no size: cannot tell what a jump would overwrite",
			      p->pid, d->symbol, f->r.obj->path);
	err = proc_read(p, f->r.addr, head, hlen);
	if (err)
		return err;
	f->off = arch_is_endbr(head, hlen) ? ARCH_ENDBR_LEN : 0;
	/* What the jump starts over, and a landing pad it must begin with instead (aarch64 PACIASP). */
	memcpy(f->entry, head + f->off, sizeof(f->entry));
	uint8_t padbuf[ARCH_ENDBR_LEN];
	f->pad = (unsigned)arch_entry_pad(f->entry, hlen - f->off, padbuf);
	size_t gap = f->r.sym.gap_after < sizeof(pad) ? f->r.sym.gap_after : sizeof(pad);
	size_t padlen = 0;
	hp_err_quiet_begin();	/* unreadable padding is no padding */
	if (gap && !proc_read(p, f->r.addr + f->r.sym.size, pad, gap))
		padlen = padding_prefix(pad, gap);
	hp_err_quiet_end();
	f->avail = f->r.sym.size - f->off + padlen;
	if (f->avail < f->pad + ARCH_JMP_REL32_LEN)
		return hp_err(HOTPATCH_E_SMALL,
			      "pid %d: '%s' in %s is %llu bytes with %zu bytes of padding after it: too small for a %d-byte jump",
			      p->pid, d->symbol, f->r.obj->path,
			      (unsigned long long)f->r.sym.size, padlen, (int)f->pad + ARCH_JMP_REL32_LEN);
	struct elf_file *ef;
	if (!object_elf(f->r.obj, &ef)) {
		/*
		 * A function the compiler changed in place for its only callers
		 * (a parameter they no longer pass) cannot take a replacement
		 * compiled for the declared signature: it would read whatever the
		 * register holds. Said by DWARF only; without DWARF nothing is known.
		 * A clone named explicitly (scale.constprop.0) is exempt: its
		 * signature is the compiler's by definition, and the author wrote
		 * the replacement for it.
		 */
		char why[256], warn[256] = "";
		if (!strchr(f->r.sym.name, '.') &&
		    elf_file_func_abi(ef, f->r.sym.value, f->r.sym.bind == STB_LOCAL, why, sizeof(why),
				      warn, sizeof(warn)) == 1)
			return hp_err(HOTPATCH_E_ABI, "pid %d: '%s' in %s cannot be replaced: %s; replace its callers instead",
				      p->pid, d->symbol, f->r.obj->path, why);
		if (warn[0])
			hp_warn("pid %d: '%s' in %s: %s", p->pid, d->symbol, f->r.obj->path, warn);
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

	return jumps_relocate(p, f, f->pad + ARCH_JMP_REL32_LEN, f->r.addr, out, sizeof(out), &out_len);
}

int plan_build(struct proc *p, struct objects *objs, struct state *st, struct plan *pl,
		      const struct hotpatch_opts *opts)
{
	const struct patch_file *pf = &pl->pf;
	int err;

	struct hotpatch_patch *dup = plan_applied(st, pl);
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
	if (pf->lib_pin[0]) {
		struct elf_file *ef;
		char id[HOTPATCH_BUILD_ID_MAX] = "";
		struct object *o = objects_find_name(objs, pf->lib_pin_object);
		if (!o)
			return hp_err(HOTPATCH_E_BUILDID,
				      "pid %d: the patch is pinned to %s (build-id %s), which is not loaded",
				      p->pid, pf->lib_pin_object, pf->lib_pin);
		err = object_elf(o, &ef);
		if (err)
			return err;
		if (elf_file_build_id(ef, id) || strcmp(id, pf->lib_pin))
			return hp_err(HOTPATCH_E_BUILDID,
				      "pid %d: build-id mismatch: patch wants %s for %s, %s has %s",
				      p->pid, pf->lib_pin, pf->lib_pin_object, o->path,
				      id[0] ? id : "none");
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
	return ipara_plan(p, pl, opts);
}

/*
 * STT_GNU_IFUNC: the symbol is a resolver, and every caller reaches the
 * implementation it returned (through a GOT slot filled by the dynamic
 * linker). Patching the resolver would change nothing, silently. Ask the
 * resolver itself, in the target (its choice depends on the CPU and on the
 * target's tunables), on the borrowed thread at its safe point: x86_64 glibc
 * calls resolvers with no arguments, and they only read CPU features.
 */
int plan_ifuncs(struct proc *p, struct thread *t, struct plan *pl, uint64_t deadline)
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
		/* Its extent: from its symbol, else from its call-frame entry. */
		hp_err_quiet_begin();
		bool by_sym = !elf_file_symbolize(ef, impl - o->bias, &sym) && sym.value == impl - o->bias;
		bool by_fde = !by_sym && !elf_file_fde_range(ef, impl - o->bias, &s, &e) &&
			      s == impl - o->bias;
		hp_err_quiet_end();
		if (by_sym) {
			f->r.sym = sym;
		} else if (by_fde) {
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

void plan_record(const struct plan *pl, struct hotpatch_patch *out)
{
	out->funcs = calloc(pl->nf + 1, sizeof(*out->funcs));
	if (!out->funcs)
		return;
	out->nfuncs = (unsigned)pl->nf;
	for (size_t i = 0; i < pl->nf; i++) {
		const struct plan_func *f = &pl->f[i];
		struct hotpatch_func *o = &out->funcs[i];
		func_from_desc(o, f->d);
		/* What was found in the target, and what the apply made of it. */
		hp_strlcpy(o->name, f->resolver ? f->d->symbol : f->r.sym.name, sizeof(o->name));
		hp_strlcpy(o->object, f->r.obj->path, sizeof(o->object));
		o->addr = f->r.addr;
		o->size = f->r.sym.size;
		o->new_addr = f->new_addr;
		o->island = f->island;
		o->jump_len = f->jump_len;
		o->jump_off = f->off;
		memcpy(o->orig, f->orig, sizeof(o->orig));
		memcpy(o->jump, f->jump, sizeof(o->jump));
		o->preserved_regs = f->preserved;
		hp_strlcpy(o->note, f->note, sizeof(o->note));
	}
	hp_strlcpy(out->path, pl->path, sizeof(out->path));
	hp_strlcpy(out->build_id, pl->pf.build_id, sizeof(out->build_id));
	hp_strlcpy(out->pin, pl->pf.pin, sizeof(out->pin));
}

void plan_imports(const struct plan *pl, struct hotpatch_patch *out)
{
	out->imports = NULL;
	out->nimports = 0;
	if (!pl->ni)
		return;
	out->imports = calloc(pl->ni, sizeof(*out->imports));
	for (size_t i = 0; out->imports && i < pl->ni; i++)
		hp_strlcpy(out->imports[i], pl->im[i].d->symbol, HOTPATCH_NAME_MAX);
	out->nimports = out->imports ? (unsigned)pl->ni : 0;
}

/* SPDX-License-Identifier: MIT */
/* The loaded objects of a target, in load order, and symbol resolution across them. */
#include <elf.h>
#include <link.h>
#include <string.h>
#include <unistd.h>

#include "arch/arch.h"
#include "patch/patch.h"
#include "unwind/unwind.h"

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

static bool has_prefix(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

/* glibc's own objects: a frame inside one may hold a lock dlopen needs. */
static void classify(struct object *o)
{
	const char *b = base_name(o->path);
	o->is_ld = has_prefix(b, "ld-linux") || has_prefix(b, "ld-2.") || has_prefix(b, "ld64.so");
	o->is_libc = has_prefix(b, "libc.so") || has_prefix(b, "libc-2.");
	o->runtime = o->is_ld || o->is_libc || has_prefix(b, "libpthread.so") ||
		     has_prefix(b, "libpthread-") || has_prefix(b, "libdl.so") || has_prefix(b, "libdl-");
}

static struct object *object_add(struct objects *objs)
{
	struct object *v = realloc(objs->v, (objs->n + 1) * sizeof(*v));
	if (!v)
		return NULL;
	objs->v = v;
	struct object *o = &v[objs->n++];
	memset(o, 0, sizeof(*o));
	return o;
}

/* Runtime extent of the mappings of 'path', and where to open the exact file. */
static void object_place(struct proc *p, struct object *o)
{
	o->lo = UINT64_MAX;
	o->hi = 0;
	for (size_t i = 0; i < p->nmaps; i++) {
		const struct map *m = &p->maps[i];
		if (strcmp(m->path, o->path))
			continue;
		if (m->start < o->lo) {
			o->lo = m->start;
			/* map_files gives the very inode mapped, even if replaced on disk since. */
			snprintf(o->open_path, sizeof(o->open_path), "/proc/%d/map_files/%llx-%llx",
				 p->pid, (unsigned long long)m->start, (unsigned long long)m->end);
		}
		if (m->end > o->hi)
			o->hi = m->end;
	}
	if (o->lo == UINT64_MAX) {
		o->lo = o->hi = 0;
		o->open_path[0] = 0;
		return;
	}
	if (access(o->open_path, R_OK))
		if ((size_t)snprintf(o->open_path, sizeof(o->open_path), "/proc/%d/root%.4000s", p->pid,
				     o->path) >= sizeof(o->open_path))
			hp_strlcpy(o->open_path, o->path, sizeof(o->open_path));
}

static int read_str(struct proc *p, uint64_t addr, char *buf, size_t len)
{
	/* Page-wise: a string near the end of a mapping must not fail the whole read. */
	size_t got = 0;
	while (got < len - 1) {
		size_t chunk = 4096 - ((addr + got) & 4095);
		if (chunk > len - 1 - got)
			chunk = len - 1 - got;
		if (pread(p->memfd, buf + got, chunk, (off_t)(addr + got)) != (ssize_t)chunk)
			break;
		if (memchr(buf + got, 0, chunk))
			return 0;
		got += chunk;
	}
	buf[got] = 0;
	return got ? 0 : -EIO;
}

/* r_debug of the target from the main executable's DT_DEBUG. */
static int find_r_map(struct proc *p, struct object *exe, uint64_t *r_map)
{
	Elf64_Ehdr eh;
	int err = proc_read(p, exe->lo, &eh, sizeof(eh));
	if (err)
		return err;
	if (!memcmp(eh.e_ident, ELFMAG, SELFMAG) &&
	    (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_machine != ARCH_ELF_MACHINE))
		return hp_err(HOTPATCH_E_ARCH, "pid %d: %s is not an %s program (%s): not supported",
			      p->pid, exe->path, ARCH_NAME,
			      eh.e_ident[EI_CLASS] == ELFCLASS32 ? "32-bit" : "other machine");
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) || eh.e_phentsize != sizeof(Elf64_Phdr) ||
	    eh.e_phnum > 256)
		return hp_err(HOTPATCH_E_NOTSUP, "pid %d: main executable header not mapped", p->pid);
	Elf64_Phdr ph[256];
	err = proc_read(p, exe->lo + eh.e_phoff, ph, eh.e_phnum * sizeof(Elf64_Phdr));
	if (err)
		return err;
	uint64_t first_load = UINT64_MAX, dyn = 0;
	for (int i = 0; i < eh.e_phnum; i++) {
		if (ph[i].p_type == PT_LOAD && ph[i].p_vaddr < first_load)
			first_load = ph[i].p_vaddr & ~4095ull;
		if (ph[i].p_type == PT_DYNAMIC)
			dyn = ph[i].p_vaddr;
	}
	exe->bias = eh.e_type == ET_DYN ? exe->lo - first_load : 0;
	if (!dyn)
		return hp_err(HOTPATCH_E_NOTSUP,
			      "pid %d: %s is statically linked: no dynamic linker to load a patch",
			      p->pid, exe->path);
	for (uint64_t a = exe->bias + dyn;; a += sizeof(Elf64_Dyn)) {
		Elf64_Dyn d;
		err = proc_read(p, a, &d, sizeof(d));
		if (err)
			return err;
		if (d.d_tag == DT_NULL)
			break;
		if (d.d_tag == DT_DEBUG && d.d_un.d_ptr) {
			/* struct r_debug { int r_version; struct link_map *r_map; ... } */
			return proc_read(p, d.d_un.d_ptr + offsetof(struct r_debug, r_map), r_map,
					 sizeof(*r_map));
		}
	}
	return hp_err(HOTPATCH_E_NOTSUP, "pid %d: no DT_DEBUG in %s: dynamic linker state not found",
		      p->pid, exe->path);
}

int objects_load(struct proc *p, struct objects *objs)
{
	char exe[4096], path[64];
	int err;

	memset(objs, 0, sizeof(*objs));
	objs->pid = p->pid;
	err = proc_maps_refresh(p);
	if (err)
		return err;
	snprintf(path, sizeof(path), "/proc/%d/exe", p->pid);
	ssize_t n = readlink(path, exe, sizeof(exe) - 1);
	if (n < 0)
		return hp_err(HOTPATCH_E_NOPROC, "pid %d: cannot read its executable: %s", p->pid,
			      strerror(errno));
	exe[n] = 0;
	const char *del = strstr(exe, " (deleted)");
	if (del && !del[10])
		exe[del - exe] = 0;

	struct object *o = object_add(objs);
	if (!o)
		return -ENOMEM;
	hp_strlcpy(o->path, exe, sizeof(o->path));
	o->main = true;
	object_place(p, o);
	snprintf(o->open_path, sizeof(o->open_path), "/proc/%d/exe", p->pid);
	if (!o->hi)
		return hp_err(HOTPATCH_E_NOTSUP, "pid %d: %s is not mapped", p->pid, exe);

	uint64_t lm;
	err = find_r_map(p, &objs->v[0], &lm);
	if (err)
		return err;
	/* Walk link_map: l_addr, l_name, l_ld, l_next, l_prev. The first entry is the executable. */
	for (unsigned guard = 0; lm && guard < 4096; guard++) {
		struct link_map l;
		err = proc_read(p, lm, &l, sizeof(l));
		if (err)
			return err;
		char name[4096] = "";
		if (l.l_name)
			read_str(p, (uint64_t)l.l_name, name, sizeof(name));
		if (guard == 0) {
			objs->v[0].link_map = lm;
			objs->v[0].bias = l.l_addr;
		} else if (name[0] == '/') {
			o = object_add(objs);
			if (!o)
				return -ENOMEM;
			/*
			 * l_name is the path the linker opened (/lib/... through a
			 * symlink); the maps name the file itself (/usr/lib/...). The
			 * mapping holding l_ld (its dynamic section) ties them.
			 */
			const struct map *m = proc_map_find(p, (uint64_t)l.l_ld);
			hp_strlcpy(o->path, m && m->path[0] == '/' ? m->path : name, sizeof(o->path));
			o->bias = l.l_addr;
			o->link_map = lm;
			object_place(p, o);
			classify(o);
			if (!o->hi)
				objs->n--;	/* not mapped (or in another namespace): skip */
		}
		hp_debug("pid %d: link_map 0x%llx: '%s' l_addr 0x%llx", p->pid, (unsigned long long)lm,
			 name, (unsigned long long)l.l_addr);
		lm = (uint64_t)l.l_next;
	}
	return 0;
}

void objects_release(struct objects *objs)
{
	for (size_t i = 0; i < objs->n; i++)
		elf_file_free(objs->v[i].elf);
	unwind_end(objs->uw);
	free(objs->v);
	memset(objs, 0, sizeof(*objs));
}

struct object *objects_find_addr(struct objects *objs, uint64_t addr)
{
	for (size_t i = 0; i < objs->n; i++)
		if (addr >= objs->v[i].lo && addr < objs->v[i].hi)
			return &objs->v[i];
	return NULL;
}

int object_elf(struct object *o, struct elf_file **ef)
{
	if (!o->elf && !o->elf_err) {
		o->elf_err = elf_file_open(o->open_path, o->path, &o->elf);
		if (o->elf_err)
			o->elf = NULL;
	}
	*ef = o->elf;
	return o->elf_err;
}

struct object *objects_find_name(struct objects *objs, const char *name)
{
	for (size_t i = 0; i < objs->n; i++) {
		struct object *o = &objs->v[i];
		if (!strcmp(o->path, name) || !strcmp(base_name(o->path), name))
			return o;
	}
	for (size_t i = 0; i < objs->n; i++) {
		struct elf_file *ef;
		const char *so;
		if (!object_elf(&objs->v[i], &ef) && (so = elf_file_soname(ef)) && !strcmp(so, name))
			return &objs->v[i];
	}
	return NULL;
}

int resolve_symbol(struct proc *p, struct objects *objs, const char *in, const char *srcfile,
		   const char *name, enum elf_sym_kind kind, struct resolved *out)
{
	struct elf_file *ef;
	int err;

	if (in && *in) {
		struct object *o = objects_find_name(objs, in);
		if (!o)
			return hp_err(HOTPATCH_E_NOSYM, "pid %d: no object '%s' is loaded (for '%s')",
				      p->pid, in, name);
		err = object_elf(o, &ef);
		if (err)
			return err;
		err = elf_file_find(ef, name, srcfile, kind, &out->sym);
		if (err)
			return err;
		out->obj = o;
		out->addr = out->sym.value + o->bias;
		return 0;
	}
	/* Main executable first, then load order; the first definition wins, as for the linker. */
	int first_err = 0;
	char first_msg[1024] = "";
	bool main_stripped = false;
	for (size_t i = 0; i < objs->n; i++) {
		struct object *o = &objs->v[i];
		struct hp_err_catch c;
		/* Each object is a probe (unreadable, or without the symbol): only none at all fails. */
		hp_err_catch_begin(&c);
		bool opened = !object_elf(o, &ef);
		err = opened ? elf_file_find(ef, name, srcfile, kind, &out->sym) : 0;
		hp_err_catch_end(&c);
		if (!opened)
			continue;	/* unreadable: it has no answer */
		if (!err) {
			out->obj = o;
			out->addr = out->sym.value + o->bias;
			return 0;
		}
		if (o->main && strstr(c.msg, "stripped"))
			main_stripped = true;
		/* An ambiguity, or clones of it, in the executable is the answer; keep the first. */
		if (!first_err || (first_err == -HOTPATCH_E_NOSYM && err == -HOTPATCH_E_AMBIG)) {
			first_err = err;
			hp_strlcpy(first_msg, c.msg, sizeof(first_msg));
		}
		if (err == -HOTPATCH_E_AMBIG)
			break;
	}
	if (first_err == -HOTPATCH_E_AMBIG || strstr(first_msg, "clone"))
		return hp_err(first_err, "pid %d: %s", p->pid, first_msg);
	return hp_err(HOTPATCH_E_NOSYM, "pid %d: '%s' not found in %s or any of its %zu loaded objects%s",
		      p->pid, name, objs->n ? objs->v[0].path : "?", objs->n ? objs->n - 1 : 0,
		      main_stripped ? "; the executable is stripped and its separate debuginfo was "
				      "not found (install it, or set HOTPATCH_DEBUG_ROOT)"
				    : "");
}

void objects_prefetch(struct objects *objs)
{
	/*
	 * Safe-point checks symbolize libc frames while every thread is
	 * stopped; open glibc's objects (and their debuginfo) before that, and
	 * the unwinder (every module's ELF and CFI), so the stop-the-world
	 * pause does not pay for parsing them.
	 */
	struct unwinder *uw;
	/* Only a warm-up: whatever fails here fails again, with its message, where it is needed. */
	hp_err_quiet_begin();
	for (size_t i = 0; i < objs->n; i++) {
		struct object *o = &objs->v[i];
		struct elf_file *ef;
		struct elf_sym sym;
		if (o->runtime && !object_elf(o, &ef))
			elf_file_symbolize(ef, o->hi - o->lo > 0x1000 ? 0x1000 : 0, &sym);
		/* An allocator interposed on libc's: its frames hold what libc's would. */
		if (!o->runtime && o->path[0] == '/' && !object_elf(o, &ef))
			o->allocator = elf_file_defines(ef, "malloc") || elf_file_defines(ef, "je_malloc");
	}
	objects_unwinder(objs, &uw);
	hp_err_quiet_end();
}

int objects_unwinder(struct objects *objs, struct unwinder **uw)
{
	if (!objs->uw && !objs->uw_err)
		objs->uw_err = unwind_begin(objs->pid, &objs->uw);
	*uw = objs->uw;
	if (objs->uw_err)
		return hp_err(-objs->uw_err, "pid %d: cannot start the unwinder", objs->pid);
	return 0;
}

void objects_unwinder_refresh(struct objects *objs)
{
	/* A failure to start again is met, and reported, by the next objects_unwinder. */
	hp_err_quiet_begin();
	if (objs->uw && unwind_refresh(objs->uw)) {
		/* Start over rather than walk with a stale module list. */
		unwind_end(objs->uw);
		objs->uw = NULL;
		objs->uw_err = 0;
		struct unwinder *uw;
		objects_unwinder(objs, &uw);
	}
	hp_err_quiet_end();
}

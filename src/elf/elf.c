/* SPDX-License-Identifier: MIT */
/*
 * ELF layer: symbol lookup in an object on disk and its separate debuginfo.
 *
 * Symbols of .dynsym and .symtab are read once at open into one array; the
 * separate debuginfo (and its .symtab) is opened lazily, only when the object
 * itself has no .symtab or a lookup fails there, because finding it costs a few
 * path probes and most production binaries ship without it.
 *
 * Separate debuginfo is searched, in this order (the order of gdb and elfutils):
 *   ROOT/.build-id/xx/rest.debug                (GNU build-id note)
 *   DIR/LINK, DIR/.debug/LINK, ROOT/DIR/LINK    (.gnu_debuglink name LINK)
 * where DIR is the directory of the display path and ROOT is the environment
 * variable HOTPATCH_DEBUG_ROOT, default /usr/lib/debug (tests point it at a
 * temporary tree; users with debuginfo elsewhere can do the same).
 */
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>
#include <gelf.h>

#include "arch/arch.h"
#include <libelf.h>

#include "common/common.h"
#include "elf/elf.h"

#define DEBUG_ROOT_DEFAULT "/usr/lib/debug"
#define DEBUG_ROOT_ENV "HOTPATCH_DEBUG_ROOT"
#define MAX_CANDS_SHOWN 8
#define VERSYM_HIDDEN 0x8000 /* .gnu.version: not the default version of the name */

enum sym_table { TAB_DYNSYM, TAB_SYMTAB, TAB_DEBUG };

struct esym {
	const char *name; /* points into the Elf string table */
	const char *file; /* preceding STT_FILE for locals of .symtab, else NULL */
	uint64_t value;
	uint64_t size;
	uint32_t shndx;
	uint8_t type;
	uint8_t bind;
	uint8_t table;
	bool hidden; /* a non-default version (realpath@GLIBC_2.2.5): not 'realpath' */
};

struct esyms {
	struct esym *v;
	size_t n, cap;
};

struct elf_obj {
	int fd;
	Elf *elf;
	Dwarf *dwarf;
	bool dwarf_tried;
};

struct elf_file {
	char *path;
	char *display;
	struct elf_obj main;
	struct elf_obj dbg;
	char *dbg_path; /* NULL if none was found */
	bool dbg_tried;
	bool has_dynsym, has_symtab;
	bool dyn;
	const char *soname;
	uint64_t first_load;
	struct esyms syms;  /* .dynsym + .symtab of the object */
	struct esyms dsyms; /* .symtab of the separate debuginfo */
	/* Every inlined instance (callee, out-of-line caller), sorted by callee; built once. */
	struct inl_pair { const char *callee, *caller; } *inl;
	size_t ninl, inl_cap;
	bool inl_built;
};

static void obj_close(struct elf_obj *o)
{
	if (o->dwarf)
		dwarf_end(o->dwarf);
	if (o->elf)
		elf_end(o->elf);
	if (o->fd >= 0)
		close(o->fd);
	o->dwarf = NULL;
	o->elf = NULL;
	o->fd = -1;
}

/* Open 'path' as an ELF64 object of this build's architecture; 'name' is for messages. */
static int obj_open(struct elf_obj *o, const char *path, const char *name, bool quiet)
{
	GElf_Ehdr eh;

	o->fd = -1;
	o->elf = NULL;
	o->dwarf = NULL;
	o->dwarf_tried = false;
	elf_version(EV_CURRENT);

	o->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (o->fd < 0) {
		int e = errno;
		if (quiet)
			return -e;
		if (e == ENOENT)
			return hp_err(ENOENT, "%s: no such file", path);
		return hp_err(e, "%s: %s", path, strerror(e));
	}
	o->elf = elf_begin(o->fd, ELF_C_READ_MMAP, NULL);
	if (!o->elf || elf_kind(o->elf) != ELF_K_ELF || !gelf_getehdr(o->elf, &eh)) {
		obj_close(o);
		return quiet ? -HOTPATCH_E_NOTELF
			     : hp_err(HOTPATCH_E_NOTELF, "%s: not an ELF file", name);
	}
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB ||
	    eh.e_machine != ARCH_ELF_MACHINE) {
		int cls = eh.e_ident[EI_CLASS] == ELFCLASS32 ? 32 : 64;
		obj_close(o);
		return quiet
			   ? -HOTPATCH_E_ARCH
			   : hp_err(HOTPATCH_E_ARCH, "%s: wrong architecture (ELF%d / machine %u)",
				    name, cls, (unsigned)eh.e_machine);
	}
	return 0;
}

/* Room for n more entries. */
static int esyms_reserve(struct esyms *s, size_t n)
{
	if (s->n + n <= s->cap)
		return 0;
	struct esym *v = realloc(s->v, (s->n + n) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	s->v = v;
	s->cap = s->n + n;
	return 0;
}

static int esyms_push(struct esyms *s, const struct esym *e)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		struct esym *v = realloc(s->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = *e;
	return 0;
}

/* The .gnu.version table of the dynamic symbol table in section 'ndx', or NULL. */
static Elf_Data *versym_of(Elf *elf, size_t ndx)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	while ((scn = elf_nextscn(elf, scn))) {
		if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_GNU_versym && sh.sh_link == ndx) {
			Elf_Data *d = elf_getdata(scn, NULL);
			return d && d->d_buf ? d : NULL;
		}
	}
	return NULL;
}

/*
 * Append the symbols of every section of 'type'. Locals of .symtab get the
 * name of the STT_FILE symbol before them: that is how static functions of
 * one name in two source files are told apart when there is no DWARF.
 */
static int load_symbols(Elf *elf, Elf64_Word type, enum sym_table table, struct esyms *out,
			bool *found)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	while ((scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != type)
			continue;
		Elf_Data *data = elf_getdata(scn, NULL);
		if (!data || !data->d_buf || !sh.sh_entsize)
			continue;
		*found = true;
		size_t n = data->d_size / sizeof(Elf64_Sym);
		const char *file = NULL;
		Elf_Data *versym = type == SHT_DYNSYM ? versym_of(elf, elf_ndxscn(scn)) : NULL;
		/*
		 * Read in place (obj_open admits only native ELF64: d_buf holds
		 * Elf64_Sym as they are), names straight from the string table
		 * when it ends in a NUL, room for every symbol made once: libc's
		 * debuginfo has 10k symbols, read before every apply.
		 */
		const Elf64_Sym *syms = data->d_buf;
		Elf_Scn *strscn = elf_getscn(elf, sh.sh_link);
		Elf_Data *str = strscn ? elf_getdata(strscn, NULL) : NULL;
		const char *strs = str && str->d_buf && str->d_size &&
					   ((const char *)str->d_buf)[str->d_size - 1] == 0
				       ? str->d_buf
				       : NULL;
		if (esyms_reserve(out, n))
			return hp_err(ENOMEM, "out of memory reading symbols");
		for (size_t i = 1; i < n; i++) {
			const Elf64_Sym s = syms[i];
			const char *name = !strs ? elf_strptr(elf, sh.sh_link, s.st_name)
					   : s.st_name < str->d_size ? strs + s.st_name
								     : NULL;
			int st = GELF_ST_TYPE(s.st_info);
			if (st == STT_FILE) {
				file = name && *name ? name : NULL;
				continue;
			}
			if (!name || !*name || st == STT_SECTION || s.st_shndx == SHN_UNDEF)
				continue;
			struct esym e = {
			    .name = name,
			    .file = GELF_ST_BIND(s.st_info) == STB_LOCAL ? file : NULL,
			    .value = s.st_value,
			    .size = s.st_size,
			    .shndx = s.st_shndx,
			    .type = (uint8_t)st,
			    .bind = (uint8_t)GELF_ST_BIND(s.st_info),
			    .table = (uint8_t)table,
			};
			GElf_Versym v;
			if (versym && gelf_getversym(versym, (int)i, &v))
				e.hidden = v & VERSYM_HIDDEN;
			if (esyms_push(out, &e))
				return hp_err(ENOMEM, "out of memory reading symbols");
		}
	}
	return 0;
}

static void read_dynamic(struct elf_file *ef)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	while ((scn = elf_nextscn(ef->main.elf, scn))) {
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNAMIC)
			continue;
		Elf_Data *data = elf_getdata(scn, NULL);
		if (!data || !data->d_buf)
			continue;
		size_t n = data->d_size / sizeof(Elf64_Dyn);
		for (size_t i = 0; i < n; i++) {
			GElf_Dyn d;
			if (!gelf_getdyn(data, (int)i, &d) || d.d_tag == DT_NULL)
				break;
			if (d.d_tag == DT_SONAME)
				ef->soname = elf_strptr(ef->main.elf, sh.sh_link, d.d_un.d_val);
		}
	}
}

int elf_file_open(const char *path, const char *display, struct elf_file **out)
{
	struct elf_file *ef;
	GElf_Ehdr eh;
	size_t nph;
	int err;

	*out = NULL;
	ef = calloc(1, sizeof(*ef));
	if (!ef)
		return hp_err(ENOMEM, "out of memory");
	ef->main.fd = ef->dbg.fd = -1;
	ef->path = strdup(path);
	ef->display = strdup(display ? display : path);
	if (!ef->path || !ef->display) {
		err = hp_err(ENOMEM, "out of memory");
		goto fail;
	}
	err = obj_open(&ef->main, path, ef->display, false);
	if (err)
		goto fail;
	gelf_getehdr(ef->main.elf, &eh);
	ef->dyn = eh.e_type == ET_DYN;

	ef->first_load = UINT64_MAX;
	if (elf_getphdrnum(ef->main.elf, &nph) == 0) {
		for (size_t i = 0; i < nph; i++) {
			GElf_Phdr ph;
			if (gelf_getphdr(ef->main.elf, (int)i, &ph) && ph.p_type == PT_LOAD &&
			    ph.p_vaddr < ef->first_load)
				ef->first_load = ph.p_vaddr;
		}
	}
	ef->first_load = ef->first_load == UINT64_MAX ? 0 : ef->first_load & ~(uint64_t)4095;

	read_dynamic(ef);
	err = load_symbols(ef->main.elf, SHT_DYNSYM, TAB_DYNSYM, &ef->syms, &ef->has_dynsym);
	if (!err)
		err =
		    load_symbols(ef->main.elf, SHT_SYMTAB, TAB_SYMTAB, &ef->syms, &ef->has_symtab);
	if (err)
		goto fail;
	*out = ef;
	return 0;
fail:
	elf_file_free(ef);
	return err;
}

void elf_file_free(struct elf_file *ef)
{
	if (!ef)
		return;
	obj_close(&ef->main);
	obj_close(&ef->dbg);
	free(ef->inl);
	free(ef->syms.v);
	free(ef->dsyms.v);
	free(ef->dbg_path);
	free(ef->path);
	free(ef->display);
	free(ef);
}

const char *elf_file_display(const struct elf_file *ef)
{
	return ef->display;
}

const char *elf_file_soname(const struct elf_file *ef)
{
	return ef->soname;
}

bool elf_file_is_dyn(const struct elf_file *ef)
{
	return ef->dyn;
}

uint64_t elf_file_first_load_vaddr(const struct elf_file *ef)
{
	return ef->first_load;
}

/* Build-id of 'elf' as hex; 0 or -ENOENT. No message: a missing build-id is normal. */
static int build_id_hex(Elf *elf, char *hex)
{
	const void *id;
	ssize_t n = dwelf_elf_gnu_build_id(elf, &id);

	hex[0] = 0;
	if (n <= 0 || (size_t)n * 2 + 1 > HOTPATCH_BUILD_ID_MAX)
		return -ENOENT;
	hp_hex(id, (size_t)n, hex);
	return 0;
}

int elf_file_build_id(struct elf_file *ef, char *hex)
{
	return build_id_hex(ef->main.elf, hex);
}

/* ---- separate debuginfo ---- */

static const char *debug_root(void)
{
	const char *r = getenv(DEBUG_ROOT_ENV);
	return r && *r ? r : DEBUG_ROOT_DEFAULT;
}

/*
 * Try 'cand' as the debuginfo of ef: it must be an ELF of this architecture with a symbol
 * table or DWARF, and carry the same build-id when both have one (a stale
 * debug file from another build would give wrong addresses).
 */
static bool try_debug(struct elf_file *ef, const char *cand, const char *want_id)
{
	struct elf_obj o;
	char id[HOTPATCH_BUILD_ID_MAX];
	struct stat st;

	if (stat(cand, &st) || !S_ISREG(st.st_mode))
		return false;
	if (obj_open(&o, cand, cand, true))
		return false;
	if (*want_id && build_id_hex(o.elf, id) == 0 && strcmp(id, want_id)) {
		hp_debug("%s: ignoring debuginfo %s: build-id %s, want %s", ef->display, cand, id,
			 want_id);
		obj_close(&o);
		return false;
	}
	bool symtab = false;
	if (load_symbols(o.elf, SHT_SYMTAB, TAB_DEBUG, &ef->dsyms, &symtab) || !symtab) {
		ef->dsyms.n = 0;
		obj_close(&o);
		return false;
	}
	ef->dbg = o;
	ef->dbg_path = strdup(cand);
	if (!ef->dbg_path) {
		obj_close(&ef->dbg);
		ef->dsyms.n = 0;
		return false;
	}
	hp_debug("%s: debuginfo %s", ef->display, cand);
	return true;
}

static bool find_debug(struct elf_file *ef)
{
	char id[HOTPATCH_BUILD_ID_MAX], cand[PATH_MAX], dir[PATH_MAX];
	const char *root = debug_root();
	GElf_Word crc;

	if (build_id_hex(ef->main.elf, id) == 0 && strlen(id) > 2) {
		int n =
		    snprintf(cand, sizeof(cand), "%s/.build-id/%.2s/%s.debug", root, id, id + 2);
		if (n < (int)sizeof(cand) && try_debug(ef, cand, id))
			return true;
	}
	const char *link = dwelf_elf_gnu_debuglink(ef->main.elf, &crc);
	if (!link || !*link || strchr(link, '/'))
		return false;
	hp_strlcpy(dir, ef->display, sizeof(dir));
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = 0;
	else
		strcpy(dir, ".");
	const char *subdirs[] = {"", "/.debug"};
	for (size_t i = 0; i < ARRAY_SIZE(subdirs); i++) {
		int n = snprintf(cand, sizeof(cand), "%s%s/%s", dir, subdirs[i], link);
		/* a debuglink naming the file itself must not make it its own debuginfo */
		if (n < (int)sizeof(cand) && strcmp(cand, ef->path) && strcmp(cand, ef->display) &&
		    try_debug(ef, cand, id))
			return true;
	}
	if (dir[0] == '/') {
		int n = snprintf(cand, sizeof(cand), "%s%s/%s", root, dir, link);
		if (n < (int)sizeof(cand) && try_debug(ef, cand, id))
			return true;
	}
	return false;
}

/* Load the separate debuginfo once; true if there is one. */
static bool debug_load(struct elf_file *ef)
{
	if (!ef->dbg_tried) {
		ef->dbg_tried = true;
		find_debug(ef);
	}
	return ef->dbg_path != NULL;
}

/* DWARF of the object itself, else of its separate debuginfo; NULL if none. */
static Dwarf *ef_dwarf(struct elf_file *ef)
{
	if (!ef->main.dwarf_tried) {
		ef->main.dwarf_tried = true;
		ef->main.dwarf = dwarf_begin_elf(ef->main.elf, DWARF_C_READ, NULL);
	}
	if (ef->main.dwarf)
		return ef->main.dwarf;
	if (!debug_load(ef))
		return NULL;
	if (!ef->dbg.dwarf_tried) {
		ef->dbg.dwarf_tried = true;
		ef->dbg.dwarf = dwarf_begin_elf(ef->dbg.elf, DWARF_C_READ, NULL);
	}
	return ef->dbg.dwarf;
}

/* ---- symbol queries ---- */

/* Symbol types whose value is an address in the object (not a TLS offset). */
static bool is_addr_sym(const struct esym *s)
{
	return s->type != STT_TLS && s->shndx != SHN_ABS && s->shndx != SHN_COMMON;
}

static bool is_func(const struct esym *s)
{
	return s->type == STT_FUNC || s->type == STT_GNU_IFUNC;
}

static bool kind_ok(const struct esym *s, enum elf_sym_kind kind)
{
	if (!is_addr_sym(s))
		return false;
	if (kind & ELF_SYM_FUNC && is_func(s))
		return true;
	if (kind & ELF_SYM_OBJECT && s->type == STT_OBJECT)
		return true;
	return kind == ELF_SYM_ANY && s->type == STT_NOTYPE;
}

/*
 * Iterate the object's symbols, then the debuginfo's if it is loaded. The
 * inner loop runs once per symbol: 'continue' works, 'break' does not.
 */
#define for_each_sym(ef, s)                                                                        \
	for (size_t i__ = 0; i__ < (ef)->syms.n + (ef)->dsyms.n; i__++)                            \
		for (const struct esym *s = i__ < (ef)->syms.n                                     \
						? &(ef)->syms.v[i__]                               \
						: &(ef)->dsyms.v[i__ - (ef)->syms.n];              \
		     s; s = NULL)

/* End of the allocated section holding addr, or 0 if none. */
static uint64_t section_end(struct elf_file *ef, uint64_t addr)
{
	Elf *elfs[2] = {ef->main.elf, ef->dbg.elf};

	/* A stripped object keeps its section headers; the debug file mirrors them. */
	for (int k = 0; k < 2; k++) {
		Elf_Scn *scn = NULL;
		GElf_Shdr sh;
		if (!elfs[k])
			continue;
		while ((scn = elf_nextscn(elfs[k], scn))) {
			/* .tbss overlaps the addresses of the sections after it */
			if (!gelf_getshdr(scn, &sh) || !(sh.sh_flags & SHF_ALLOC) ||
			    sh.sh_flags & SHF_TLS)
				continue;
			if (addr >= sh.sh_addr && addr - sh.sh_addr < sh.sh_size)
				return sh.sh_addr + sh.sh_size;
		}
	}
	size_t nph;
	if (elf_getphdrnum(ef->main.elf, &nph))
		return 0;
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;
		if (gelf_getphdr(ef->main.elf, (int)i, &ph) && ph.p_type == PT_LOAD &&
		    addr >= ph.p_vaddr && addr - ph.p_vaddr < ph.p_memsz)
			return ph.p_vaddr + ph.p_memsz;
	}
	return 0;
}

static uint64_t gap_after(struct elf_file *ef, uint64_t value, uint64_t size)
{
	uint64_t end = value + size, next;

	/* Without .symtab the static functions are only in the debuginfo. */
	if (!ef->has_symtab)
		debug_load(ef);
	next = section_end(ef, value);
	if (next < end)
		return 0;
	for_each_sym(ef, s)
	{
		if (is_addr_sym(s) && s->value >= end && s->value < next &&
		    !(s->value == value && s->size == 0))
			next = s->value;
	}
	return next - end;
}

/* Source file of s: STT_FILE before it, else the DWARF compile unit holding its address. */
/*
 * The compile unit whose code holds vaddr. dwarf_addrdie reads
 * .debug_aranges, which clang does not emit: then the units' own ranges.
 */
static bool cu_of_addr(Dwarf *dw, uint64_t vaddr, Dwarf_Die *cu)
{
	Dwarf_CU *u = NULL;
	uint8_t type;

	if (dwarf_addrdie(dw, vaddr, cu))
		return true;
	while (dwarf_get_units(dw, u, &u, NULL, &type, cu, NULL) == 0)
		if ((type == DW_UT_compile || type == DW_UT_partial) && dwarf_haspc(cu, vaddr) > 0)
			return true;
	return false;
}

static const char *sym_file(struct elf_file *ef, const struct esym *s, bool dwarf_only)
{
	if (s->file && !dwarf_only)
		return s->file;
	Dwarf *dw = ef_dwarf(ef);
	Dwarf_Die cu;
	if (!dw || !cu_of_addr(dw, s->value, &cu))
		return NULL;
	return dwarf_diename(&cu);
}

/* 'want' names 'file' when it equals it or is a suffix of it starting after a '/'. */
static bool path_suffix(const char *file, const char *want)
{
	size_t fl, wl;

	if (!file)
		return false;
	while (want[0] == '.' && want[1] == '/')
		want += 2;
	fl = strlen(file);
	wl = strlen(want);
	if (wl > fl || strcmp(file + fl - wl, want))
		return false;
	return wl == fl || file[fl - wl - 1] == '/' || want[0] == '/';
}

static bool file_matches(struct elf_file *ef, const struct esym *s, const char *srcfile)
{
	if (path_suffix(sym_file(ef, s, false), srcfile))
		return true;
	/* STT_FILE holds the name as given to the compiler; DWARF may hold a longer path. */
	return s->file && path_suffix(sym_file(ef, s, true), srcfile);
}

/* with_dwarf: also ask DWARF for the source file (slow on a big object: not for symbolizing). */
static void fill_sym(struct elf_file *ef, const struct esym *s, bool from_debug, bool with_dwarf,
		     struct elf_sym *out)
{
	const char *file = with_dwarf ? sym_file(ef, s, false) : s->file;

	memset(out, 0, sizeof(*out));
	hp_strlcpy(out->name, s->name, sizeof(out->name));
	hp_strlcpy(out->file, file ? file : "", sizeof(out->file));
	out->value = s->value;
	out->size = s->size;
	out->type = s->type;
	out->bind = s->bind;
	out->from_debuginfo = from_debug;
	out->gap_after = gap_after(ef, s->value, s->size);
}

struct cand {
	const struct esym *s;
	bool only_debug; /* every entry at this address came from the debuginfo */
};

struct cands {
	struct cand v[64];
	size_t n;
	size_t dropped; /* distinct addresses beyond v[] */
};

bool elf_file_defines(struct elf_file *ef, const char *name)
{
	for (size_t i = 0; i < ef->syms.n; i++) {
		const struct esym *y = &ef->syms.v[i];
		if (y->type == STT_FUNC && y->shndx != SHN_UNDEF && !y->hidden &&
		    y->bind != STB_LOCAL && !strcmp(y->name, name))
			return true;
	}
	return false;
}

/* Add s unless its address is already there: aliases in .dynsym and .symtab are one symbol. */
static void cands_add(struct cands *c, const struct esym *s)
{
	bool dbg = s->table == TAB_DEBUG;

	for (size_t i = 0; i < c->n; i++) {
		if (c->v[i].s->value != s->value)
			continue;
		if (!dbg)
			c->v[i].only_debug = false;
		/* keep the entry that knows its source file */
		if (!c->v[i].s->file && s->file)
			c->v[i].s = s;
		return;
	}
	if (c->n == ARRAY_SIZE(c->v)) {
		c->dropped++;
		return;
	}
	c->v[c->n++] = (struct cand){.s = s, .only_debug = dbg};
}

static void collect(const struct esyms *t, struct cands *c, const char *name,
		    enum elf_sym_kind kind)
{
	for (size_t i = 0; i < t->n; i++)
		if (kind_ok(&t->v[i], kind) && !t->v[i].hidden && !strcmp(t->v[i].name, name))
			cands_add(c, &t->v[i]);
}

/* Append "name (file) at 0x..., ..." of the candidates to buf. */
static void list_cands(struct elf_file *ef, const struct cands *c, char *buf, size_t size)
{
	size_t len = strlen(buf);

	for (size_t i = 0; i < c->n && i < MAX_CANDS_SHOWN && len < size; i++) {
		const char *f = sym_file(ef, c->v[i].s, false);
		len +=
		    (size_t)snprintf(buf + len, size - len, "%s%s (%s) at 0x%" PRIx64,
				     i ? ", " : "", c->v[i].s->name, f ? f : "?", c->v[i].s->value);
	}
	size_t more = c->n + c->dropped - (c->n < MAX_CANDS_SHOWN ? c->n : MAX_CANDS_SHOWN);
	if (more && len < size)
		snprintf(buf + len, size - len, " and %zu more", more);
}

/* Suffixes GCC gives to specialised copies and split parts of a function. */
static bool is_clone_of(const char *sym, const char *name, bool *cold)
{
	static const char *const tags[] = {"constprop", "isra",	      "part", "cold",
					   "lto_priv",	"localalias", "clone"};
	size_t nl = strlen(name);

	if (strncmp(sym, name, nl) || sym[nl] != '.')
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(tags); i++) {
		size_t tl = strlen(tags[i]);
		if (!strncmp(sym + nl + 1, tags[i], tl) &&
		    (sym[nl + 1 + tl] == '.' || sym[nl + 1 + tl] == 0)) {
			*cold = strstr(sym + nl, ".cold") != NULL;
			return true;
		}
	}
	return false;
}

/* Is 'word' one of the space-separated words of 'list'? */
static bool word_in(const char *list, const char *word)
{
	size_t wl = strlen(word);

	for (const char *p = list; (p = strstr(p, word)); p++)
		if ((p == list || p[-1] == ' ') && (p[wl] == ' ' || !p[wl]))
			return true;
	return false;
}

static int not_found(struct elf_file *ef, const char *name, const char *srcfile,
		     const struct cands *other_files)
{
	char tabs[PATH_MAX + 64] = "", clones[512] = "", colds[256] = "";
	size_t nclones = 0, ncolds = 0;

	if (ef->has_dynsym)
		strcat(tabs, ".dynsym");
	if (ef->has_symtab)
		strcat(tabs, *tabs ? ", .symtab" : ".symtab");
	if (ef->dbg_path)
		snprintf(tabs + strlen(tabs), sizeof(tabs) - strlen(tabs), "%sdebuginfo %s",
			 *tabs ? ", " : "", ef->dbg_path);
	if (!*tabs)
		strcpy(tabs, "no symbol table");
	/* Static functions of a stripped object exist only in its debuginfo: say where we looked. */
	if (!ef->has_symtab && !ef->dbg_path)
		snprintf(tabs + strlen(tabs), sizeof(tabs) - strlen(tabs),
			 "; stripped, and no separate debuginfo by build-id under %s or by .gnu_debuglink",
			 debug_root());

	if (other_files->n) {
		char list[700] = "";
		list_cands(ef, other_files, list, sizeof(list));
		return hp_err(HOTPATCH_E_NOSYM, "'%s' not found in source file '%s' of %s (%s): %s",
			      name, srcfile, ef->display, tabs, list);
	}

	for_each_sym(ef, s)
	{
		bool cold;
		if (!is_func(s) || !is_clone_of(s->name, name, &cold))
			continue;
		char *buf = cold ? colds : clones;
		size_t size = cold ? sizeof(colds) : sizeof(clones), len = strlen(buf);
		/* the same clone in .symtab and .dynsym or debuginfo: list it once */
		if (word_in(buf, s->name) || len + strlen(s->name) + 2 >= size)
			continue;
		snprintf(buf + len, size - len, "%s%s", len ? " " : "", s->name);
		if (cold)
			ncolds++;
		else
			nclones++;
	}
	if (nclones)
		return hp_err(HOTPATCH_E_NOSYM,
			      "'%s' exists only as compiler clone(s) %s in %s; a clone may have "
			      "another signature: name it explicitly",
			      name, clones, ef->display);
	if (ncolds)
		return hp_err(HOTPATCH_E_NOSYM,
			      "'%s' not found in %s (%s); only its cold part(s) %s exist, the "
			      "function itself was inlined into its callers",
			      name, ef->display, tabs, colds);
	return hp_err(HOTPATCH_E_NOSYM, "'%s' not found in %s (%s)", name, ef->display, tabs);
}

int elf_file_find(struct elf_file *ef, const char *name, const char *srcfile,
		  enum elf_sym_kind kind, struct elf_sym *out)
{
	struct cands all = {.n = 0}, c = {.n = 0};

	if (!name || !*name)
		return hp_err(EINVAL, "%s: empty symbol name", ef->display);
	if (srcfile && !*srcfile)
		srcfile = NULL;

	collect(&ef->syms, &all, name, kind);
	if ((!ef->has_symtab || !all.n) && debug_load(ef))
		collect(&ef->dsyms, &all, name, kind);
	if (srcfile) {
		for (size_t i = 0; i < all.n; i++)
			if (file_matches(ef, all.v[i].s, srcfile))
				c.v[c.n++] = all.v[i];
	} else {
		c = all;
	}
	if (!c.n) {
		struct cands none = {.n = 0};
		return not_found(ef, name, srcfile, srcfile ? &all : &none);
	}
	if (c.n > 1) {
		char list[800] = "";
		list_cands(ef, &c, list, sizeof(list));
		return hp_err(HOTPATCH_E_AMBIG,
			      "'%s' is ambiguous in %s: %s; choose one by source file", name,
			      ef->display, list);
	}
	/* DWARF (costly on a big object) only when the caller asked by source file. */
	fill_sym(ef, c.v[0].s, c.v[0].only_debug, srcfile != NULL, out);
	return 0;
}

int elf_file_clones(struct elf_file *ef, const char *name, char (*names)[HOTPATCH_NAME_MAX],
		    int max)
{
	int n = 0;

	if (!ef->has_symtab)
		debug_load(ef);
	for_each_sym(ef, s)
	{
		bool cold, dup = false;
		if (n >= max || !is_func(s) || s->hidden || !is_clone_of(s->name, name, &cold) ||
		    cold)
			continue;
		for (int k = 0; k < n; k++)
			dup |= !strcmp(names[k], s->name);
		if (!dup)
			hp_strlcpy(names[n++], s->name, HOTPATCH_NAME_MAX);
	}
	return n;
}

static bool is_cold_part(const char *sym, const char *name)
{
	size_t nl = strlen(name);

	if (strncmp(sym, name, nl) || strncmp(sym + nl, ".cold", 5))
		return false;
	sym += nl + 5;
	if (!*sym)
		return true;
	if (*sym++ != '.' || !*sym)
		return false;
	for (; *sym; sym++)
		if (*sym < '0' || *sym > '9')
			return false;
	return true;
}

int elf_file_cold_parts(struct elf_file *ef, const char *name, uint64_t (*ranges)[2], int max)
{
	int n = 0;

	if (!ef->has_symtab)
		debug_load(ef);
	for_each_sym(ef, s)
	{
		if (!is_func(s) || !is_addr_sym(s) || !is_cold_part(s->name, name))
			continue;
		bool dup = false;
		for (int k = 0; k < n && k < max; k++)
			dup |= ranges[k][0] == s->value;
		if (dup)
			continue;
		if (n < max) {
			ranges[n][0] = s->value;
			ranges[n][1] = s->value + s->size;
		}
		n++;
	}
	return n;
}

int elf_file_code_ranges(struct elf_file *ef, uint64_t (*ranges)[2], int max)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	int n = 0;

	while ((scn = elf_nextscn(ef->main.elf, scn))) {
		if (!gelf_getshdr(scn, &sh) || !sh.sh_size ||
		    (sh.sh_flags & (SHF_ALLOC | SHF_EXECINSTR)) != (SHF_ALLOC | SHF_EXECINSTR))
			continue;
		if (n < max) {
			ranges[n][0] = sh.sh_addr;
			ranges[n][1] = sh.sh_addr + sh.sh_size;
		}
		n++;
	}
	return n;
}

int elf_file_symbolize(struct elf_file *ef, uint64_t addr, struct elf_sym *out)
{
	const struct esym *best = NULL;

	if (!ef->has_symtab)
		debug_load(ef);
	for_each_sym(ef, s)
	{
		if (!is_func(s) || !is_addr_sym(s) || addr < s->value || addr - s->value >= s->size)
			continue;
		/* prefer the global name of an alias pair */
		if (!best || (best->bind == STB_LOCAL && s->bind != STB_LOCAL))
			best = s;
	}
	if (!best)
		return -ENOENT;
	fill_sym(ef, best, best->table == TAB_DEBUG, false, out);
	return 0;
}

int elf_file_fde_range(struct elf_file *ef, uint64_t addr, uint64_t *start, uint64_t *end)
{
	Dwarf_CFI *cfi = dwarf_getcfi_elf(ef->main.elf);
	Dwarf_Frame *fr = NULL;
	Dwarf_Addr s, e;
	bool sig;
	int rc = -ENOENT;

	if (!cfi)
		return -ENOENT;
	if (!dwarf_cfi_addrframe(cfi, addr, &fr) && dwarf_frame_info(fr, &s, &e, &sig) >= 0 &&
	    s <= addr && addr < e) {
		*start = s;
		*end = e;
		rc = 0;
	}
	free(fr);
	dwarf_cfi_end(cfi);
	return rc;
}

int elf_file_read(struct elf_file *ef, uint64_t vaddr, void *buf, size_t len)
{
	size_t nph, fsize;
	const char *raw = elf_rawfile(ef->main.elf, &fsize);

	if (!raw || elf_getphdrnum(ef->main.elf, &nph))
		return -EIO;
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(ef->main.elf, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (vaddr < ph.p_vaddr || vaddr - ph.p_vaddr > ph.p_filesz ||
		    len > ph.p_filesz - (vaddr - ph.p_vaddr))
			continue;
		uint64_t off = ph.p_offset + (vaddr - ph.p_vaddr);
		if (off > fsize || len > fsize - off)
			return -EFAULT;
		memcpy(buf, raw + off, len);
		return 0;
	}
	return -EFAULT;
}

/* ---- inlined instances ---- */

static void inl_add(struct elf_file *ef, const char *callee, const char *caller)
{
	if (ef->ninl == ef->inl_cap) {
		size_t cap = ef->inl_cap ? ef->inl_cap * 2 : 256;
		struct inl_pair *v = realloc(ef->inl, cap * sizeof(*v));
		if (!v)
			return;
		ef->inl = v;
		ef->inl_cap = cap;
	}
	ef->inl[ef->ninl++] = (struct inl_pair){ callee, caller };
}

/*
 * 'outer' is the out-of-line function whose machine code holds the DIEs
 * below: an instance inlined into an inlined instance still runs inside it.
 */
static void inl_walk_die(struct elf_file *ef, Dwarf_Die *parent, const char *outer, int depth)
{
	Dwarf_Die die;

	if (depth > 64 || dwarf_child(parent, &die) != 0)
		return;
	do {
		int tag = dwarf_tag(&die);
		const char *o = outer;
		switch (tag) {
		case DW_TAG_subprogram:
			o = dwarf_diename(&die);
			if (!o)
				o = "?";
			break;
		case DW_TAG_inlined_subroutine: {
			Dwarf_Attribute a;
			Dwarf_Die origin;
			if (outer && dwarf_attr(&die, DW_AT_abstract_origin, &a) &&
			    dwarf_formref_die(&a, &origin)) {
				const char *n = dwarf_diename(&origin);
				const char *ln = dwarf_formstring(
					dwarf_attr_integrate(&origin, DW_AT_linkage_name, &a));
				if (n)
					inl_add(ef, n, outer);
				if (ln && (!n || strcmp(ln, n)))
					inl_add(ef, ln, outer);
			}
			break;
		}
		case DW_TAG_lexical_block:
		case DW_TAG_namespace:
		case DW_TAG_module:
		case DW_TAG_try_block:
		case DW_TAG_catch_block:
			break;
		default:
			continue;
		}
		inl_walk_die(ef, &die, o, depth + 1);
	} while (dwarf_siblingof(&die, &die) == 0);
}

/* ---- the calling convention a function's callers use ---- */

/* The out-of-line DW_TAG_subprogram whose code starts at vaddr, below die. */
static bool find_subprogram(Dwarf_Die *parent, uint64_t vaddr, Dwarf_Die *out, int depth)
{
	Dwarf_Die die;

	if (depth > 16 || dwarf_child(parent, &die) != 0)
		return false;
	do {
		Dwarf_Addr lo;
		switch (dwarf_tag(&die)) {
		case DW_TAG_subprogram:
			if (dwarf_lowpc(&die, &lo) == 0 && lo == vaddr) {
				*out = die;
				return true;
			}
			break;
		case DW_TAG_namespace:
		case DW_TAG_class_type:
		case DW_TAG_structure_type:
		case DW_TAG_module:
			if (find_subprogram(&die, vaddr, out, depth + 1))
				return true;
			break;
		default:
			break;
		}
	} while (dwarf_siblingof(&die, &die) == 0);
	return false;
}

int elf_file_func_abi(struct elf_file *ef, uint64_t vaddr, bool local, char *why, size_t len,
		      char *warn, size_t wlen)
{
	Dwarf *dw = ef_dwarf(ef);
	Dwarf_Die cu, fn, prm;
	Dwarf_Attribute a;
	Dwarf_Word cc;

	if (len)
		why[0] = 0;
	if (wlen)
		warn[0] = 0;
	if (!dw || !cu_of_addr(dw, vaddr, &cu) || !find_subprogram(&cu, vaddr, &fn, 0))
		return 0;
	if (dwarf_attr_integrate(&fn, DW_AT_calling_convention, &a) && !dwarf_formudata(&a, &cc) &&
	    cc == DW_CC_nocall) {
		snprintf(why, len, "DWARF marks it DW_CC_nocall: the compiler changed how its callers call it");
		return 1;
	}
	const char *producer = dwarf_formstring(dwarf_attr(&cu, DW_AT_producer, &a));
	bool clang = producer && strstr(producer, "clang");
	if (dwarf_child(&fn, &prm) != 0)
		return 0;
	do {
		if (dwarf_tag(&prm) != DW_TAG_formal_parameter)
			continue;
		const char *pn = dwarf_formstring(dwarf_attr_integrate(&prm, DW_AT_name, &a));
		if (dwarf_attr(&prm, DW_AT_const_value, &a)) {
			Dwarf_Sword v = 0;
			if (dwarf_formsdata(&a, &v) == 0)
				snprintf(why, len,
					 "the compiler specialised it for parameter '%s' = %lld (DWARF DW_AT_const_value): its callers need not pass it",
					 pn ? pn : "?", (long long)v);
			else
				snprintf(why, len,
					 "the compiler specialised it for a constant parameter '%s' (DWARF DW_AT_const_value): its callers need not pass it",
					 pn ? pn : "?");
			return 1;
		}
		if (clang && local && wlen && !warn[0] && !dwarf_hasattr(&prm, DW_AT_location))
			snprintf(warn, wlen,
				 "parameter '%s' is unused in the running code and clang may have dropped it from the calls: the replacement must not read it",
				 pn ? pn : "?");
	} while (dwarf_siblingof(&prm, &prm) == 0);
	return 0;
}

static int inl_cmp(const void *a, const void *b)
{
	return strcmp(((const struct inl_pair *)a)->callee, ((const struct inl_pair *)b)->callee);
}

/* One pass over the DWARF for all names: a patch asks for every function it replaces. */
static void inl_build(struct elf_file *ef)
{
	Dwarf *dw = ef_dwarf(ef);
	Dwarf_CU *cu = NULL;
	Dwarf_Die cudie;
	uint8_t unit_type;

	ef->inl_built = true;
	if (!dw)
		return;
	while (dwarf_get_units(dw, cu, &cu, NULL, &unit_type, &cudie, NULL) == 0) {
		if (unit_type == DW_UT_compile || unit_type == DW_UT_partial)
			inl_walk_die(ef, &cudie, NULL, 0);
	}
	if (ef->ninl)
		qsort(ef->inl, ef->ninl, sizeof(*ef->inl), inl_cmp);
}

int elf_file_inlined_callers(struct elf_file *ef, const char *name,
			     char (*callers)[HOTPATCH_NAME_MAX], int max)
{
	int n = 0;

	if (max <= 0)
		return 0;
	if (!ef->inl_built)
		inl_build(ef);
	/* lower bound of name */
	size_t lo = 0, hi = ef->ninl;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (strcmp(ef->inl[mid].callee, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i < ef->ninl && !strcmp(ef->inl[i].callee, name); i++) {
		bool dup = false;
		for (int j = 0; j < n && !dup; j++)
			dup = !strcmp(callers[j], ef->inl[i].caller);
		if (!dup && n < max)
			hp_strlcpy(callers[n++], ef->inl[i].caller, HOTPATCH_NAME_MAX);
	}
	return n;
}

/* SPDX-License-Identifier: MIT */
/*
 * Line numbers for the Creator: which lines of which file the diff touches,
 * where the untouched lines move to, and which lines of a source file a
 * function of the program was compiled from (its DWARF line table, libdw).
 * With them a function whose code differs only by __LINE__ values that the
 * diff shifted (assert(), logging macros) is recognized and left alone.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>

#include "common/common.h"
#include "create/lines.h"

struct hunk {
	long a, b, c, d; /* @@ -a,b +c,d @@ */
};

struct dfile {
	char base[256];
	struct hunk *h;
	size_t n, cap;
};

struct diffmap {
	struct dfile *f;
	size_t n, cap;
};

static const char *base_of(const char *p)
{
	const char *b = strrchr(p, '/');
	return b ? b + 1 : p;
}

bool diffmap_has(const struct diffmap *m, const char *file)
{
	const char *b = base_of(file);
	for (size_t i = 0; i < m->n; i++)
		if (!strcmp(m->f[i].base, b))
			return true;
	return false;
}

/*
 * Can a file of the diff be part of a C compile other than its own? Yes unless
 * it is a .c file (compiled on its own) or a file no compile reads (tests,
 * documentation, scripts). Anything else (headers, .inc, .def, .in templates
 * of generated headers, files without an extension) may be included.
 */
bool diffmap_may_include(const struct diffmap *m)
{
	static const char *const never[] = {".c",   ".tcl",  ".md",  ".txt",  ".py", ".sh", ".json",
					    ".yml", ".yaml", ".rst", ".html", ".1",  ".3",  ".8"};
	for (size_t i = 0; i < m->n; i++) {
		const char *d = strrchr(m->f[i].base, '.');
		bool safe = false;
		for (size_t k = 0; d && k < sizeof(never) / sizeof(never[0]); k++)
			safe = safe || !strcmp(d, never[k]);
		if (!safe)
			return true;
	}
	return false;
}

int diffmap_read(const char *path, struct diffmap **out)
{
	FILE *f = fopen(path, "re");
	struct diffmap *m = calloc(1, sizeof(*m));
	struct dfile *cur = NULL;
	char line[8192];

	*out = NULL;
	if (!f || !m) {
		if (f)
			fclose(f);
		free(m);
		return -ENOMEM;
	}
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "+++ ", 4)) {
			char *e = line + 4 + strcspn(line + 4, "\t\n");
			*e = 0;
			if (m->n == m->cap) {
				size_t nc = m->cap ? m->cap * 2 : 8;
				struct dfile *nv = realloc(m->f, nc * sizeof(*nv));
				if (!nv)
					break;
				m->f = nv;
				m->cap = nc;
			}
			cur = &m->f[m->n++];
			memset(cur, 0, sizeof(*cur));
			hp_strlcpy(cur->base, base_of(line + 4), sizeof(cur->base));
		} else if (!strncmp(line, "@@ -", 4) && cur) {
			struct hunk h = {0, 1, 0, 1};
			if (sscanf(line, "@@ -%ld,%ld +%ld,%ld", &h.a, &h.b, &h.c, &h.d) < 4) {
				h.b = h.d = 1;
				char *p = line + 4;
				h.a = strtol(p, &p, 10);
				if (*p == ',')
					h.b = strtol(p + 1, &p, 10);
				p = strchr(p, '+');
				if (p) {
					h.c = strtol(p + 1, &p, 10);
					if (*p == ',')
						h.d = strtol(p + 1, &p, 10);
				}
			}
			if (cur->n == cur->cap) {
				size_t nc = cur->cap ? cur->cap * 2 : 8;
				struct hunk *nv = realloc(cur->h, nc * sizeof(*nv));
				if (!nv)
					break;
				cur->h = nv;
				cur->cap = nc;
			}
			cur->h[cur->n++] = h;
		}
	}
	fclose(f);
	*out = m;
	return 0;
}

void diffmap_free(struct diffmap *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++)
		free(m->f[i].h);
	free(m->f);
	free(m);
}

static const struct dfile *find(const struct diffmap *m, const char *file)
{
	for (size_t i = 0; m && i < m->n; i++)
		if (!strcmp(m->f[i].base, base_of(file)))
			return &m->f[i];
	return NULL;
}

long diffmap_line(const struct diffmap *m, const char *file, long line)
{
	const struct dfile *f = find(m, file);
	long shift = 0;

	if (!f)
		return line;
	for (size_t i = 0; i < f->n; i++) {
		const struct hunk *h = &f->h[i];
		if (line >= h->a && line < h->a + (h->b ? h->b : 1))
			return -1;
		if (line >= h->a + h->b)
			shift += h->d - h->b;
	}
	return line + shift;
}

bool diffmap_touches(const struct diffmap *m, const char *file, long lo, long hi)
{
	const struct dfile *f = find(m, file);

	for (size_t i = 0; f && i < f->n; i++) {
		const struct hunk *h = &f->h[i];
		if (lo < h->a + (h->b ? h->b : 1) && hi >= h->a)
			return true;
	}
	return false;
}

bool diffmap_touches_bodies(const struct diffmap *m, const char *file, const struct line_bodies *lb)
{
	for (size_t i = 0; i < lb->n; i++)
		if (diffmap_touches(m, file, lb->b[i].lo, lb->b[i].hi))
			return true;
	return false;
}

static const Dwfl_Callbacks cb = {
    .find_debuginfo = dwfl_standard_find_debuginfo,
    .section_address = dwfl_offline_section_address,
};

/* An instance of a function inlined into the one whose lines are read. */
struct inl {
	Dwarf_Die die;
	int depth;
	int parent; /* the instance it is inlined into, -1: the function itself */
	int body;   /* index in line_bodies, -1 before its first line */
	int nr;	    /* its address ranges, read once; -1: more than r holds (ask libdw) */
	Dwarf_Addr r[8][2];
};

/* Instances read per function; beyond, its lines are one body. */
#define INL_MAX 1024

static bool inl_has(struct inl *i, Dwarf_Addr pc)
{
	if (i->nr < 0)
		return dwarf_haspc(&i->die, pc) > 0;
	for (int k = 0; k < i->nr; k++)
		if (pc >= i->r[k][0] && pc < i->r[k][1])
			return true;
	return false;
}

/* The inlined instances under die, at any depth (through lexical blocks too). */
static void inlined_under(Dwarf_Die *die, int depth, int parent, struct inl *v, size_t *n,
			  size_t cap)
{
	Dwarf_Die c;

	if (dwarf_child(die, &c) != 0)
		return;
	do {
		int tag = dwarf_tag(&c), self = parent;
		if (tag == DW_TAG_inlined_subroutine && *n < cap) {
			struct inl *i = &v[*n];
			Dwarf_Addr b, lo, hi;
			ptrdiff_t off = 0;
			*i = (struct inl){.die = c, .depth = depth, .parent = parent, .body = -1};
			while ((off = dwarf_ranges(&c, off, &b, &lo, &hi)) > 0) {
				if (i->nr == 8) {
					i->nr = -1;
					break;
				}
				i->r[i->nr][0] = lo;
				i->r[i->nr++][1] = hi;
			}
			self = (int)(*n)++;
		}
		if (tag == DW_TAG_inlined_subroutine || tag == DW_TAG_lexical_block)
			inlined_under(&c, depth + 1, self, v, n, cap);
	} while (dwarf_siblingof(&c, &c) == 0);
}

/* Is line ln of file the line instance i is called from? (files: its compile unit's) */
static bool call_line(const struct inl *i, long ln, const char *file, Dwarf_Files *files)
{
	Dwarf_Attribute at;
	Dwarf_Word line, idx;
	Dwarf_Die die = i->die;
	const char *cf;

	if (!files || dwarf_formudata(dwarf_attr(&die, DW_AT_call_line, &at), &line) ||
	    (long)line != ln || dwarf_formudata(dwarf_attr(&die, DW_AT_call_file, &at), &idx))
		return false;
	cf = dwarf_filesrc(files, idx, NULL, NULL);
	return cf && !strcmp(base_of(cf), base_of(file));
}

/* Extend body b down to the declaration line of die's function, when it is declared in file. */
static void body_decl(struct line_bodies *lb, size_t b, Dwarf_Die *die, const char *file)
{
	int line;
	const char *df = dwarf_decl_file(die);

	if (df && !strcmp(base_of(df), base_of(file)) && !dwarf_decl_line(die, &line) && line > 0 &&
	    line < lb->b[b].lo)
		lb->b[b].lo = line;
}

int prog_lines(const char *prog, uint64_t addr, uint64_t size, const char *file,
	       struct line_bodies *lb)
{
	Dwfl *d = dwfl_begin(&cb);
	Dwfl_Module *m;
	Dwarf_Die cu, fn;
	Dwarf_Files *files = NULL;
	size_t nfiles;
	Dwarf_Addr bias = 0;
	struct inl *inl = NULL;
	size_t ninl = 0;
	bool have_fn = false, merged = false;
	int own = -1, err = -ENOENT;

	memset(lb, 0, sizeof(*lb));
	if (!d)
		return -ENOMEM;
	m = dwfl_report_offline(d, "", prog, -1);
	dwfl_report_end(d, NULL, NULL);
	if (!m)
		goto out;
	/* offline, an ET_DYN is placed at a base: the link-time address plus that base */
	GElf_Addr base = 0;
	dwfl_module_getelf(m, &base);
	/*
	 * The function's DIE and the instances inlined into it. Without them (no subprogram DIE
	 * holds addr, too many instances or bodies), every line is one body: the lowest to the
	 * highest, which is what a function without inlined code is anyway.
	 */
	Dwarf_Die *cup = dwfl_module_addrdie(m, addr + base, &bias);
	if (cup) {
		/* the concrete subprogram holding addr (dwarf_getscopes would follow an
		 * instance inlined at addr to its abstract definition, not to this caller) */
		Dwarf_Die c;
		cu = *cup;
		if (dwarf_getsrcfiles(&cu, &files, &nfiles))
			files = NULL;
		if (dwarf_child(&cu, &c) == 0)
			do {
				if (dwarf_tag(&c) == DW_TAG_subprogram &&
				    dwarf_haspc(&c, addr + base - bias) > 0) {
					fn = c;
					have_fn = true;
					break;
				}
			} while (dwarf_siblingof(&c, &c) == 0);
	}
	if (have_fn) {
		inl = calloc(INL_MAX, sizeof(*inl));
		if (inl)
			inlined_under(&fn, 1, -1, inl, &ninl, INL_MAX);
		if (!inl || ninl == INL_MAX)
			merged = true;
	} else {
		merged = true;
	}
	for (uint64_t a = addr; a < addr + size; a++) {
		Dwfl_Line *l = dwfl_module_getsrc(m, a + base);
		int ln;
		Dwarf_Addr la;
		if (!l)
			continue;
		const char *src = dwfl_lineinfo(l, &la, &ln, NULL, NULL, NULL);
		if (!src || strcmp(base_of(src), base_of(file)) || ln <= 0)
			continue;
		if (!lb->lo || ln < lb->lo)
			lb->lo = ln;
		if (ln > lb->hi)
			lb->hi = ln;
		err = 0;
		if (merged)
			continue;
		/*
		 * The body: the innermost inlined instance holding a, else the function's own;
		 * the line of a call (the arguments set up inside the instance's range) is the
		 * caller's.
		 */
		int in = -1, depth = 0;
		for (size_t k = 0; k < ninl; k++)
			if (inl[k].depth > depth && inl_has(&inl[k], a + base - bias)) {
				in = (int)k;
				depth = inl[k].depth;
			}
		while (in >= 0 && call_line(&inl[in], ln, file, files))
			in = inl[in].parent;
		int *slot = in < 0 ? &own : &inl[in].body;
		Dwarf_Die *die = in < 0 ? &fn : &inl[in].die;
		if (*slot < 0) {
			if (lb->n == LINE_BODIES_MAX) {
				merged = true;
				continue;
			}
			*slot = (int)lb->n++;
			lb->b[*slot].lo = lb->b[*slot].hi = ln;
			body_decl(lb, (size_t)*slot, die, file);
		}
		if (ln < lb->b[*slot].lo)
			lb->b[*slot].lo = ln;
		if (ln > lb->b[*slot].hi)
			lb->b[*slot].hi = ln;
	}
	if (merged && !err) {
		lb->n = 1;
		lb->b[0].lo = lb->lo;
		lb->b[0].hi = lb->hi;
	}
out:
	free(inl);
	dwfl_end(d);
	return err;
}

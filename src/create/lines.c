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

static const Dwfl_Callbacks cb = {
    .find_debuginfo = dwfl_standard_find_debuginfo,
    .section_address = dwfl_offline_section_address,
};

int prog_lines(const char *prog, uint64_t addr, uint64_t size, const char *file, long *lo, long *hi)
{
	Dwfl *d = dwfl_begin(&cb);
	Dwfl_Module *m;
	int err = -ENOENT;

	*lo = *hi = 0;
	if (!d)
		return -ENOMEM;
	m = dwfl_report_offline(d, "", prog, -1);
	dwfl_report_end(d, NULL, NULL);
	if (!m)
		goto out;
	Dwarf_Addr bias = 0, start;
	dwfl_module_info(m, NULL, &start, NULL, NULL, NULL, NULL, NULL);
	/* offline, an ET_DYN is placed at a base: the link-time address plus that base */
	GElf_Addr base = 0;
	Elf *e = dwfl_module_getelf(m, &base);
	(void)e;
	for (uint64_t a = addr; a < addr + size; a++) {
		Dwfl_Line *l = dwfl_module_getsrc(m, a + base);
		int ln;
		Dwarf_Addr la;
		if (!l)
			continue;
		const char *src = dwfl_lineinfo(l, &la, &ln, NULL, NULL, NULL);
		if (!src || strcmp(base_of(src), base_of(file)) || ln <= 0)
			continue;
		if (!*lo || ln < *lo)
			*lo = ln;
		if (ln > *hi)
			*hi = ln;
		err = 0;
	}
	(void)bias;
out:
	dwfl_end(d);
	return err;
}

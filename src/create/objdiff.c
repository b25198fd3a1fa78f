/* SPDX-License-Identifier: MIT */
/*
 * Relocatable objects of the Creator, read with libelf: sections, symbols,
 * and each function's or variable's relocations with their targets
 * normalized, so the same code built twice compares equal although
 * string literals and sections moved (a reference to ".LC3" or to a section
 * symbol becomes the string it points at, or the named symbol it lands in).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"
#include "create/objdiff.h"

unsigned reloc_size(uint32_t type)
{
	switch (type) {
	case R_X86_64_64:
	case R_X86_64_PC64:
	case R_X86_64_DTPOFF64:
	case R_X86_64_TPOFF64:
	case R_X86_64_GOTOFF64:
		return 8;
	case R_X86_64_PC32:
	case R_X86_64_PLT32:
	case R_X86_64_32:
	case R_X86_64_32S:
	case R_X86_64_GOTPCREL:
	case R_X86_64_GOTPCRELX:
	case R_X86_64_REX_GOTPCRELX:
	case R_X86_64_TLSGD:
	case R_X86_64_TLSLD:
	case R_X86_64_DTPOFF32:
	case R_X86_64_GOTTPOFF:
	case R_X86_64_TPOFF32:
	case R_X86_64_GOTPC32:
	case R_X86_64_GOT32:
		return 4;
	default:
		return 0;
	}
}

bool reloc_pcrel(uint32_t type)
{
	return type == R_X86_64_PC32 || type == R_X86_64_PLT32 || type == R_X86_64_GOTPCREL ||
	       type == R_X86_64_GOTPCRELX || type == R_X86_64_REX_GOTPCRELX ||
	       type == R_X86_64_GOTTPOFF || type == R_X86_64_TLSGD || type == R_X86_64_TLSLD;
}

int obj_open(const char *path, bool rdwr, struct obj *o)
{
	size_t shstrndx;
	Elf_Scn *scn = NULL;
	GElf_Ehdr eh;

	memset(o, 0, sizeof(*o));
	elf_version(EV_CURRENT);
	o->path = strdup(path);
	o->fd = open(path, (rdwr ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (!o->path || o->fd < 0) {
		int err = errno ? errno : ENOMEM;
		free(o->path);
		o->path = NULL;
		return hp_err(err, "%s: %s", path, strerror(err));
	}
	o->elf = elf_begin(o->fd, rdwr ? ELF_C_RDWR : ELF_C_READ, NULL);
	if (!o->elf || elf_kind(o->elf) != ELF_K_ELF || !gelf_getehdr(o->elf, &eh) ||
	    eh.e_type != ET_REL || eh.e_machine != EM_X86_64 || elf_getshdrnum(o->elf, &o->nsec) ||
	    elf_getshdrstrndx(o->elf, &shstrndx)) {
		obj_close(o);
		return hp_err(HOTPATCH_E_NOTELF, "%s: not an x86_64 relocatable object", path);
	}
	o->sec = calloc(o->nsec + 1, sizeof(*o->sec));
	if (!o->sec) {
		obj_close(o);
		return -ENOMEM;
	}
	while ((scn = elf_nextscn(o->elf, scn))) {
		size_t i = elf_ndxscn(scn);
		struct osec *s = &o->sec[i];
		if (i >= o->nsec || !gelf_getshdr(scn, &s->sh))
			continue;
		s->name = elf_strptr(o->elf, shstrndx, s->sh.sh_name);
		if (!s->name)
			s->name = "";
		s->data = elf_getdata(scn, NULL);
		if (!strncmp(s->name, ".gnu.lto_", 9))
			o->lto = true;
		if (s->sh.sh_type == SHT_SYMTAB) {
			o->symscn = i;
			o->symdata = s->data;
		}
	}
	for (size_t i = 1; i < o->nsec; i++) {
		struct osec *s = &o->sec[i];
		if (s->sh.sh_type == SHT_RELA && s->sh.sh_info < o->nsec)
			o->sec[s->sh.sh_info].rela = i;
	}
	if (!o->symdata) {
		obj_close(o);
		return hp_err(HOTPATCH_E_NOTELF, "%s: no symbol table", path);
	}
	o->nsym = o->symdata->d_size / sizeof(Elf64_Sym);
	o->sym = calloc(o->nsym + 1, sizeof(*o->sym));
	if (!o->sym) {
		obj_close(o);
		return -ENOMEM;
	}
	for (size_t i = 0; i < o->nsym; i++) {
		struct osym *y = &o->sym[i];
		gelf_getsym(o->symdata, (int)i, &y->s);
		y->name = elf_strptr(o->elf, o->sec[o->symscn].sh.sh_link, y->s.st_name);
		if (!y->name)
			y->name = "";
		if (GELF_ST_TYPE(y->s.st_info) == STT_FILE && !o->file[0]) {
			const char *b = strrchr(y->name, '/');
			hp_strlcpy(o->file, b ? b + 1 : y->name, sizeof(o->file));
		}
	}
	return 0;
}

void obj_close(struct obj *o)
{
	if (o->elf)
		elf_end(o->elf);
	if (o->fd > 0)
		close(o->fd);
	free(o->sec);
	for (size_t i = 0; o->sym && i < o->nsym; i++)
		free(o->sym[i].why);
	free(o->sym);
	free(o->path);
	memset(o, 0, sizeof(*o));
}

static bool named(const GElf_Sym *s)
{
	int t = GELF_ST_TYPE(s->st_info);
	return (t == STT_FUNC || t == STT_OBJECT || t == STT_TLS || t == STT_GNU_IFUNC) &&
	       s->st_shndx != SHN_UNDEF && s->st_shndx < SHN_LORESERVE;
}

size_t obj_find(const struct obj *o, const char *name)
{
	for (size_t i = 1; i < o->nsym; i++)
		if (named(&o->sym[i].s) && !strcmp(o->sym[i].name, name))
			return i;
	return 0;
}

const uint8_t *obj_bytes(const struct obj *o, size_t i)
{
	const GElf_Sym *s = &o->sym[i].s;
	const struct osec *sec;

	if (s->st_shndx >= o->nsec)
		return NULL;
	sec = &o->sec[s->st_shndx];
	if (sec->sh.sh_type == SHT_NOBITS || !sec->data || !sec->data->d_buf ||
	    s->st_value + s->st_size > sec->data->d_size)
		return NULL;
	return (const uint8_t *)sec->data->d_buf + s->st_value;
}

/* The named symbol of section sec covering offset off (the last one starting at or before it). */
static size_t sym_in_sec(const struct obj *o, size_t sec, int64_t off)
{
	size_t best = 0;

	for (size_t i = 1; i < o->nsym; i++) {
		const GElf_Sym *s = &o->sym[i].s;
		if (!named(s) || s->st_shndx != sec)
			continue;
		if ((int64_t)s->st_value <= (off < 0 ? 0 : off) &&
		    (!best || s->st_value > o->sym[best].s.st_value))
			best = i;
	}
	return best;
}

void obj_target(const struct obj *o, const GElf_Rela *r, struct xrel *x)
{
	size_t si = GELF_R_SYM(r->r_info);
	const struct osym *y = si < o->nsym ? &o->sym[si] : &o->sym[0];
	int t = GELF_ST_TYPE(y->s.st_info);

	x->delta = r->r_addend;
	x->tsym = 0;
	x->tsec = y->s.st_shndx < o->nsec ? y->s.st_shndx : 0;
	x->local = GELF_ST_BIND(y->s.st_info) == STB_LOCAL;
	if (y->s.st_shndx == SHN_UNDEF || named(&y->s) ||
	    (t == STT_NOTYPE && GELF_ST_BIND(y->s.st_info) != STB_LOCAL)) {
		snprintf(x->key, sizeof(x->key), "%s", y->name);
		x->tsym = named(&y->s) ? si : 0;
		return;
	}
	/* a section symbol or a local label (.LC0): what it lands in */
	size_t sec = y->s.st_shndx;
	if (sec >= o->nsec) {
		snprintf(x->key, sizeof(x->key), "abs:%s", y->name);
		return;
	}
	const struct osec *s = &o->sec[sec];
	int64_t base = (int64_t)y->s.st_value + r->r_addend;
	int64_t off = base + (reloc_pcrel(GELF_R_TYPE(r->r_info)) ? 4 : 0);
	if ((s->sh.sh_flags & SHF_MERGE) && s->data && s->data->d_buf && s->data->d_size) {
		const char *d = s->data->d_buf;
		int64_t at = off < 0 ? 0 : off;
		if ((uint64_t)at >= s->data->d_size)
			at = (int64_t)s->data->d_size - 1;
		if (s->sh.sh_flags & SHF_STRINGS) {
			/* the string it points into, and where in it */
			int64_t st = at;
			while (st > 0 && d[st - 1])
				st--;
			snprintf(x->key, sizeof(x->key), "str:%.*s",
				 (int)strnlen(d + st, s->data->d_size - (size_t)st), d + st);
			x->delta = base - st;
		} else {
			size_t es = s->sh.sh_entsize ? s->sh.sh_entsize : 1;
			int64_t st = at - at % (int64_t)es;
			int n = snprintf(x->key, sizeof(x->key), "cst:");
			for (size_t k = 0; k < es && k < 64 && (uint64_t)st + k < s->data->d_size;
			     k++)
				n += snprintf(x->key + n, sizeof(x->key) - (size_t)n, "%02x",
					      (uint8_t)d[st + (int64_t)k]);
			x->delta = base - st;
		}
		return;
	}
	size_t ns = sym_in_sec(o, sec, off);
	if (ns) {
		snprintf(x->key, sizeof(x->key), "%s", o->sym[ns].name);
		x->tsym = ns;
		x->local = GELF_ST_BIND(o->sym[ns].s.st_info) == STB_LOCAL;
		x->delta = base - (int64_t)o->sym[ns].s.st_value;
		return;
	}
	snprintf(x->key, sizeof(x->key), "sec:%s", s->name);
	x->delta = base;
}

int obj_relocs(const struct obj *o, size_t i, struct xrel **out, size_t *n)
{
	const GElf_Sym *s = &o->sym[i].s;
	size_t cap = 0;

	*out = NULL;
	*n = 0;
	if (s->st_shndx >= o->nsec || !o->sec[s->st_shndx].rela)
		return 0;
	size_t ri = o->sec[s->st_shndx].rela;
	const struct osec *rs = &o->sec[ri];
	if (rs->sh.sh_link != o->symscn || !rs->data)
		return 0;
	size_t cnt = rs->data->d_size / sizeof(Elf64_Rela);
	for (size_t k = 0; k < cnt; k++) {
		GElf_Rela r;
		if (!gelf_getrela(rs->data, (int)k, &r))
			break;
		if (r.r_offset < s->st_value || r.r_offset >= s->st_value + s->st_size ||
		    GELF_R_TYPE(r.r_info) == R_X86_64_NONE)
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			struct xrel *nv = realloc(*out, cap * sizeof(**out));
			if (!nv) {
				free(*out);
				*out = NULL;
				return -ENOMEM;
			}
			*out = nv;
		}
		struct xrel *x = &(*out)[(*n)++];
		memset(x, 0, sizeof(*x));
		x->off = r.r_offset - s->st_value;
		x->type = GELF_R_TYPE(r.r_info);
		x->rel_sec = ri;
		x->rel_idx = k;
		x->sec_off = r.r_offset;
		x->addend = r.r_addend;
		obj_target(o, &r, x);
	}
	return 0;
}

void obj_sec_kind(const struct obj *o, size_t i, char *buf, size_t size)
{
	const GElf_Sym *s = &o->sym[i].s;
	const char *n = s->st_shndx < o->nsec ? o->sec[s->st_shndx].name : "?";
	size_t len = strlen(n);

	/* .data.name / .bss.name / .rodata.name: the kind is the part before the variable's name */
	const char *p = strstr(n, o->sym[i].name);
	if (p && p > n && p[-1] == '.')
		len = (size_t)(p - n - 1);
	else if (!strncmp(n, ".data.rel.ro", 12))
		len = 12;
	snprintf(buf, size, "%.*s", (int)len, n);
}

static bool masked(const struct xrel *x, size_t n, uint64_t off)
{
	for (size_t k = 0; k < n; k++) {
		uint64_t lo = x[k].off, hi = x[k].off + reloc_size(x[k].type);
		if (off >= lo && off < hi)
			return true;
	}
	return false;
}

int obj_compare(const struct obj *a, size_t ia, const struct obj *b, size_t ib, char *why,
		size_t whysz)
{
	const GElf_Sym *sa = &a->sym[ia].s, *sb = &b->sym[ib].s;
	struct xrel *ra = NULL, *rb = NULL;
	size_t na = 0, nb = 0;
	int diff = 0;

	if (sa->st_size != sb->st_size) {
		snprintf(why, whysz, "size %" PRIu64 " -> %" PRIu64, (uint64_t)sa->st_size,
			 (uint64_t)sb->st_size);
		return 1;
	}
	if (obj_relocs(a, ia, &ra, &na) || obj_relocs(b, ib, &rb, &nb)) {
		snprintf(why, whysz, "out of memory");
		diff = 1;
		goto out;
	}
	if (na != nb) {
		snprintf(why, whysz, "%zu relocations -> %zu", na, nb);
		diff = 1;
		goto out;
	}
	for (size_t k = 0; k < na; k++) {
		if (ra[k].off != rb[k].off || ra[k].type != rb[k].type ||
		    ra[k].delta != rb[k].delta || strcmp(ra[k].key, rb[k].key)) {
			snprintf(why, whysz,
				 "reference at +0x%" PRIx64 " to '%.100s'%+" PRId64
				 " -> '%.100s'%+" PRId64,
				 ra[k].off, ra[k].key, ra[k].delta, rb[k].key, rb[k].delta);
			diff = 1;
			goto out;
		}
	}
	const uint8_t *pa = obj_bytes(a, ia), *pb = obj_bytes(b, ib);
	if (!pa || !pb) {
		/* NOBITS (zero) against NOBITS is equal; against data, compare with zeros */
		for (uint64_t k = 0; k < sa->st_size; k++) {
			uint8_t x = pa ? pa[k] : 0, y = pb ? pb[k] : 0;
			if (x != y) {
				snprintf(why, whysz, "byte +0x%" PRIx64 " %02x -> %02x", k, x, y);
				diff = 1;
				break;
			}
		}
		goto out;
	}
	for (uint64_t k = 0; k < sa->st_size; k++) {
		if (pa[k] != pb[k] && !masked(ra, na, k)) {
			snprintf(why, whysz, "byte +0x%" PRIx64 " %02x -> %02x", k, pa[k], pb[k]);
			diff = 1;
			break;
		}
	}
out:
	free(ra);
	free(rb);
	return diff;
}

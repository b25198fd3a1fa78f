/* SPDX-License-Identifier: MIT */
/*
 * Reader of a patch file's ".hotpatch" descriptors (include/hotpatch.h).
 *
 * The file is untrusted input (and fuzzed): every offset, count and string is
 * checked against the bytes actually present before use. libelf gives us the
 * headers and tables; the descriptor bytes and strings are read from the raw
 * image with our own bounds checks, since a section or segment header may
 * claim any offset and size.
 *
 * The pointer fields of a descriptor are link-time data: in a shared object
 * they hold 0 in the file and a dynamic relocation (R_X86_64_RELATIVE, or
 * R_X86_64_64 when the pointee is a preemptible global; aarch64: R_AARCH64_RELATIVE,
 * R_AARCH64_ABS64; ARCH_R_*) supplies the value;
 * in a non-PIC executable the field holds the address itself.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include <elfutils/libdwelf.h>
#include <gelf.h>
#include <libelf.h>

#include "arch/arch.h"
#include "common/common.h"
#include "elf/elf.h"
#include "hotpatch.h"

#define DESC_SIZE 48
/* 4+2+2 bytes of header then five 8-byte pointers: the layout is the ABI */
_Static_assert(sizeof(struct hotpatch_desc) == DESC_SIZE, "descriptor ABI is 48 bytes");
_Static_assert(offsetof(struct hotpatch_desc, object) == 8 &&
		   offsetof(struct hotpatch_desc, aux) == 40,
	       "descriptor pointer fields at 8..40");

/* The five pointer fields, at offsets 8, 16, ... 40 of a descriptor. */
enum { F_OBJECT, F_FILE, F_SYMBOL, F_ADDR, F_AUX, F_COUNT };

struct field {
	uint64_t value;
	bool reloc;	 /* a relocation supplies the value */
	bool unresolved; /* relocation against an undefined symbol */
};

struct pf_ctx {
	Elf *elf;
	const char *name;
	const uint8_t *raw;
	size_t rawsize;
	size_t nph;
	uint64_t hp_addr, hp_size;
	struct field *fields; /* ndesc * F_COUNT */
};

static int bad(const struct pf_ctx *c, const char *fmt, ...) HP_PRINTF(2, 3);
static int bad(const struct pf_ctx *c, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return hp_err(HOTPATCH_E_BADDESC, "%s: %s", c->name, msg);
}

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

/* Record the relocations that land in .hotpatch. */
static int collect_relocs(struct pf_ctx *c)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	while ((scn = elf_nextscn(c->elf, scn))) {
		/* only dynamic relocations: static ones (--emit-relocs) are not applied at load */
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_RELA || !(sh.sh_flags & SHF_ALLOC))
			continue;
		Elf_Data *data = elf_getdata(scn, NULL);
		if (!data || !data->d_buf)
			continue;
		Elf_Data *symdata = NULL;
		Elf_Scn *symscn = elf_getscn(c->elf, sh.sh_link);
		GElf_Shdr symsh;
		if (symscn && gelf_getshdr(symscn, &symsh) &&
		    (symsh.sh_type == SHT_DYNSYM || symsh.sh_type == SHT_SYMTAB))
			symdata = elf_getdata(symscn, NULL);
		if (symdata && !symdata->d_buf)
			symdata = NULL;

		size_t n = data->d_size / sizeof(Elf64_Rela);
		for (size_t i = 0; i < n; i++) {
			GElf_Rela r;
			if (!gelf_getrela(data, (int)i, &r))
				break;
			if (r.r_offset < c->hp_addr || r.r_offset - c->hp_addr >= c->hp_size)
				continue;
			uint64_t off = r.r_offset - c->hp_addr;
			size_t d = off / DESC_SIZE, in = off % DESC_SIZE;
			uint32_t type = GELF_R_TYPE(r.r_info);
			if (type == ARCH_R_NONE)
				continue;
			if (in < 8 || in % 8)
				return bad(c, "descriptor %zu: relocation at offset %zu", d, in);
			struct field *f = &c->fields[d * F_COUNT + (in - 8) / 8];
			if (f->reloc)
				return bad(c, "descriptor %zu: two relocations at offset %zu", d,
					   in);
			f->reloc = true;
			if (type == ARCH_R_RELATIVE) {
				f->value = (uint64_t)r.r_addend;
			} else if (type == ARCH_R_ABS64) {
				GElf_Sym s;
				size_t idx = GELF_R_SYM(r.r_info);
				if (!symdata || idx > INT32_MAX ||
				    !gelf_getsym(symdata, (int)idx, &s))
					return bad(
					    c, "descriptor %zu: relocation against bad symbol %zu",
					    d, idx);
				if (s.st_shndx == SHN_UNDEF || GELF_ST_TYPE(s.st_info) == STT_TLS)
					f->unresolved = true;
				f->value = s.st_value + (uint64_t)r.r_addend;
			} else {
				return bad(c, "descriptor %zu: unsupported relocation type %u", d,
					   type);
			}
		}
	}
	return 0;
}

/* The PT_LOAD segment holding vaddr in its file bytes (file_only) or in memory. */
static bool find_load(const struct pf_ctx *c, uint64_t vaddr, bool file_only, GElf_Phdr *out)
{
	for (size_t i = 0; i < c->nph; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(c->elf, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		uint64_t size = file_only ? ph.p_filesz : ph.p_memsz;
		if (vaddr >= ph.p_vaddr && vaddr - ph.p_vaddr < size) {
			*out = ph;
			return true;
		}
	}
	return false;
}

/* Copy the NUL-terminated string at vaddr (within one segment's file bytes) into buf. */
static int read_str(const struct pf_ctx *c, size_t d, const char *what, uint64_t vaddr, char *buf,
		    size_t size)
{
	GElf_Phdr ph;

	if (!find_load(c, vaddr, true, &ph))
		return bad(c, "descriptor %zu: %s string at 0x%" PRIx64 " outside the file", d,
			   what, vaddr);
	if (ph.p_offset > c->rawsize || ph.p_filesz > c->rawsize - ph.p_offset)
		return bad(c, "segment at 0x%" PRIx64 " beyond the end of the file", ph.p_vaddr);
	uint64_t off = ph.p_offset + (vaddr - ph.p_vaddr);
	uint64_t avail = ph.p_offset + ph.p_filesz - off;
	const uint8_t *p = c->raw + off;
	const uint8_t *nul = memchr(p, 0, avail < size ? avail : size);
	if (!nul)
		return bad(c, "descriptor %zu: %s string at 0x%" PRIx64 " %s", d, what, vaddr,
			   avail < size ? "is not terminated" : "is too long");
	memcpy(buf, p, (size_t)(nul - p) + 1);
	return 0;
}

/* Resolved value of field k of descriptor d. */
static int field_value(const struct pf_ctx *c, const uint8_t *desc, size_t d, int k, uint64_t *out)
{
	static const char *const names[] = {"object", "file", "symbol", "addr", "aux"};
	const struct field *f = &c->fields[d * F_COUNT + (size_t)k];

	*out = 0;
	if (f->unresolved)
		return bad(c, "descriptor %zu: %s pointer refers to an undefined symbol", d,
			   names[k]);
	*out = f->reloc ? f->value : rd64(desc + 8 + 8 * k);
	return 0;
}

static int str_field(const struct pf_ctx *c, const uint8_t *desc, size_t d, int k, const char *what,
		     char *buf, size_t size)
{
	uint64_t v = 0;
	int err = field_value(c, desc, d, k, &v);

	buf[0] = 0;
	if (err || !v)
		return err;
	return read_str(c, d, what, v, buf, size);
}

/* addr/aux must point into the patch's own image. */
static int ptr_field(const struct pf_ctx *c, const uint8_t *desc, size_t d, int k, const char *what,
		     uint64_t *out)
{
	GElf_Phdr ph;
	int err = field_value(c, desc, d, k, out);

	if (err)
		return err;
	if (!*out)
		return bad(c, "descriptor %zu: no %s", d, what);
	if (!find_load(c, *out, false, &ph))
		return bad(c, "descriptor %zu: %s 0x%" PRIx64 " outside the patch image", d, what,
			   *out);
	return 0;
}

/* Name of the function or object at vaddr, from .symtab, else .dynsym. */
static void name_at(const struct pf_ctx *c, uint64_t vaddr, char *buf, size_t size)
{
	static const Elf64_Word types[] = {SHT_SYMTAB, SHT_DYNSYM};

	buf[0] = 0;
	for (size_t t = 0; t < ARRAY_SIZE(types); t++) {
		Elf_Scn *scn = NULL;
		GElf_Shdr sh;
		while ((scn = elf_nextscn(c->elf, scn))) {
			if (!gelf_getshdr(scn, &sh) || sh.sh_type != types[t])
				continue;
			Elf_Data *data = elf_getdata(scn, NULL);
			if (!data || !data->d_buf)
				continue;
			size_t n = data->d_size / sizeof(Elf64_Sym);
			for (size_t i = 1; i < n && i <= INT32_MAX; i++) {
				GElf_Sym s;
				if (!gelf_getsym(data, (int)i, &s))
					break;
				int st = GELF_ST_TYPE(s.st_info);
				if (s.st_value != vaddr || s.st_shndx == SHN_UNDEF ||
				    (st != STT_FUNC && st != STT_OBJECT && st != STT_GNU_IFUNC))
					continue;
				const char *name = elf_strptr(c->elf, sh.sh_link, s.st_name);
				if (name && *name) {
					hp_strlcpy(buf, name, size);
					return;
				}
			}
		}
	}
}

/* Validate a HOTPATCH_BUILD_ID value and store it lowercased in pin. */
static int set_pin(const struct pf_ctx *c, size_t d, const char *hex, char *pin)
{
	char v[HOTPATCH_BUILD_ID_MAX];
	size_t len = strlen(hex);

	if (len < 2 || len >= sizeof(v) || len % 2)
		return bad(c, "descriptor %zu: build-id '%.100s' must be 2..80 hex digits, even", d,
			   hex);
	for (size_t i = 0; i <= len; i++) {
		char ch = hex[i];
		if (ch >= 'A' && ch <= 'F')
			ch = (char)(ch - 'A' + 'a');
		if (i < len && !((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
			return bad(c, "descriptor %zu: build-id '%.100s' is not hex", d, hex);
		v[i] = ch;
	}
	if (*pin && strcmp(pin, v))
		return bad(c, "two different build-id pins %s and %s", pin, v);
	memcpy(pin, v, len + 1);
	return 0;
}

bool patch_desc_is_import(int kind)
{
	return kind == HOTPATCH_KIND_IMPORT || kind == HOTPATCH_KIND_PC32 ||
	       kind == HOTPATCH_KIND_ABS64;
}

static bool is_replacement(int kind)
{
	return kind == HOTPATCH_KIND_REPLACE || kind == HOTPATCH_KIND_WRAP;
}

static int parse_desc(struct pf_ctx *c, const uint8_t *p, size_t d, struct patch_file *pf,
		      struct patch_desc *out)
{
	uint32_t magic;
	uint16_t version, kind;
	int err;

	memcpy(&magic, p, 4);
	memcpy(&version, p + 4, 2);
	memcpy(&kind, p + 6, 2);
	if (magic != HOTPATCH_DESC_MAGIC)
		return bad(c, "descriptor %zu: bad magic 0x%08x", d, magic);
	if (version < 1 || version > HOTPATCH_DESC_VERSION)
		return bad(c, "descriptor %zu: version %u, this hotpatch reads versions 1 to %u", d,
			   version, HOTPATCH_DESC_VERSION);
	/* version 1 knew kinds 1..4; version 2 added the fixups */
	if (kind < HOTPATCH_KIND_REPLACE ||
	    kind > (version == 1 ? HOTPATCH_KIND_WRAP : HOTPATCH_KIND_ABS64))
		return bad(c, "descriptor %zu: unknown kind %u (version %u)", d, kind, version);

	memset(out, 0, sizeof(*out));
	out->kind = kind;
	out->desc_vaddr = c->hp_addr + d * DESC_SIZE;
	err = str_field(c, p, d, F_SYMBOL, "symbol", out->symbol, sizeof(out->symbol));
	if (err)
		return err;
	if (!out->symbol[0])
		return bad(c, "descriptor %zu: no symbol name", d);
	if (kind == HOTPATCH_KIND_BUILD_ID) {
		/* 'object' set: the pin is that shared library's build-id, not the program's */
		char obj[HOTPATCH_NAME_MAX];
		err = str_field(c, p, d, F_OBJECT, "object", obj, sizeof(obj));
		if (err)
			return err;
		if (!obj[0])
			return set_pin(c, d, out->symbol, pf->pin);
		if (pf->lib_pin_object[0] && strcmp(pf->lib_pin_object, obj))
			return bad(c, "build-id pins for two libraries %s and %s", pf->lib_pin_object,
				   obj);
		hp_strlcpy(pf->lib_pin_object, obj, sizeof(pf->lib_pin_object));
		return set_pin(c, d, out->symbol, pf->lib_pin);
	}

	err = str_field(c, p, d, F_OBJECT, "object", out->object, sizeof(out->object));
	if (!err)
		err = str_field(c, p, d, F_FILE, "file", out->file, sizeof(out->file));
	if (!err)
		err = ptr_field(c, p, d, F_ADDR,
				kind == HOTPATCH_KIND_IMPORT	 ? "import pointer"
				: patch_desc_is_import(kind) ? "fixup place"
							     : "new function",
				&out->addr_vaddr);
	if (!err && kind == HOTPATCH_KIND_WRAP)
		err = ptr_field(c, p, d, F_AUX, "pointer to the original", &out->aux_vaddr);
	if (err)
		return err;
	if (kind == HOTPATCH_KIND_PC32 || kind == HOTPATCH_KIND_ABS64) {
		/* the addend is a plain number: a relocation there means a pointer was put in it */
		if (c->fields[d * F_COUNT + F_AUX].reloc)
			return bad(c, "descriptor %zu: fixup addend is relocated", d);
		out->addend = (int64_t)rd64(p + 8 + 8 * F_AUX);
		if (kind == HOTPATCH_KIND_PC32 && (out->addend > INT32_MAX || out->addend < INT32_MIN))
			return bad(c, "descriptor %zu: PC32 addend %" PRId64 " out of range", d,
				   out->addend);
	}
	name_at(c, out->addr_vaddr, out->addr_name, sizeof(out->addr_name));
	if (out->aux_vaddr)
		name_at(c, out->aux_vaddr, out->aux_name, sizeof(out->aux_name));
	return 0;
}

static int check_dups(const struct pf_ctx *c, const struct patch_file *pf)
{
	for (unsigned i = 0; i < pf->ndesc; i++) {
		const struct patch_desc *a = &pf->desc[i];
		if (!is_replacement(a->kind))
			continue;
		for (unsigned j = 0; j < i; j++) {
			const struct patch_desc *b = &pf->desc[j];
			if (is_replacement(b->kind) && !strcmp(a->symbol, b->symbol) &&
			    !strcmp(a->object, b->object) && !strcmp(a->file, b->file))
				return bad(c, "'%s' is replaced twice", a->symbol);
		}
	}
	return 0;
}

/* How much address space ld.so reserves for the object, so it can be placed. */
static void load_extent(const struct pf_ctx *c, struct patch_file *pf)
{
	uint64_t lo = UINT64_MAX, hi = 0, align = 4096;
	GElf_Phdr ph;

	for (size_t i = 0; i < c->nph; i++) {
		if (!gelf_getphdr(c->elf, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (ph.p_vaddr > UINT64_MAX - ph.p_memsz || ph.p_align > (1ull << 30))
			return;		/* nonsense: leave the placement to ld.so */
		if (ph.p_vaddr < lo)
			lo = ph.p_vaddr;
		if (ph.p_vaddr + ph.p_memsz > hi)
			hi = ph.p_vaddr + ph.p_memsz;
		if (ph.p_align > align)
			align = ph.p_align;
	}
	if (hi <= lo || hi - lo > (1ull << 30))
		return;
	pf->load_span = ((hi + 4095) & ~4095ull) - (lo & ~4095ull);
	pf->load_align = align;
}

static int parse(Elf *elf, const char *name, struct patch_file *pf)
{
	struct pf_ctx c = {.elf = elf, .name = name};
	GElf_Ehdr eh;
	size_t shstrndx;
	Elf_Scn *scn = NULL, *hp = NULL;
	GElf_Shdr sh;
	int err;

	if (!elf || elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh))
		return hp_err(HOTPATCH_E_NOTELF, "%s: not an ELF file", name);
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB ||
	    eh.e_machine != ARCH_ELF_MACHINE)
		return hp_err(HOTPATCH_E_ARCH, "%s: wrong architecture (ELF%d / machine %u)", name,
			      eh.e_ident[EI_CLASS] == ELFCLASS32 ? 32 : 64, (unsigned)eh.e_machine);
	if (eh.e_type != ET_DYN && eh.e_type != ET_EXEC)
		return hp_err(HOTPATCH_E_BADDESC,
			      "%s: not a shared object (ELF type %u): link it with -shared", name,
			      (unsigned)eh.e_type);
	c.raw = (const uint8_t *)elf_rawfile(elf, &c.rawsize);
	if (!c.raw || elf_getphdrnum(elf, &c.nph))
		return hp_err(HOTPATCH_E_NOTELF, "%s: not an ELF file", name);

	if (elf_getshdrstrndx(elf, &shstrndx) == 0) {
		while ((scn = elf_nextscn(elf, scn))) {
			const char *sn;
			if (gelf_getshdr(scn, &sh) &&
			    (sn = elf_strptr(elf, shstrndx, sh.sh_name)) &&
			    !strcmp(sn, HOTPATCH_SECTION)) {
				hp = scn;
				break;
			}
		}
	}
	if (!hp || !sh.sh_size)
		return hp_err(HOTPATCH_E_NODESC,
			      "%s: no hotpatch descriptors (.hotpatch section); to inject a plain "
			      "shared object use 'hotpatch load'",
			      name);
	if (sh.sh_type == SHT_NOBITS || !(sh.sh_flags & SHF_ALLOC))
		return bad(&c, "section .hotpatch is not loaded data");
	if (sh.sh_size % DESC_SIZE)
		return bad(&c, "section .hotpatch size %" PRIu64 " is not a multiple of %d",
			   (uint64_t)sh.sh_size, DESC_SIZE);
	if (sh.sh_offset > c.rawsize || sh.sh_size > c.rawsize - sh.sh_offset)
		return bad(&c, "section .hotpatch lies beyond the end of the file");
	if (sh.sh_addr > UINT64_MAX - sh.sh_size)
		return bad(&c, "section .hotpatch has a bad address");
	c.hp_addr = sh.sh_addr;
	c.hp_size = sh.sh_size;
	size_t ndesc = sh.sh_size / DESC_SIZE;
	const uint8_t *descs = c.raw + sh.sh_offset;

	c.fields = calloc(ndesc * F_COUNT, sizeof(*c.fields));
	pf->desc = calloc(ndesc, sizeof(*pf->desc));
	if (!c.fields || !pf->desc) {
		err = hp_err(ENOMEM, "%s: out of memory", name);
		goto out;
	}
	err = collect_relocs(&c);
	for (size_t d = 0; !err && d < ndesc; d++) {
		struct patch_desc *pd = &pf->desc[pf->ndesc];
		err = parse_desc(&c, descs + d * DESC_SIZE, d, pf, pd);
		if (!err && pd->kind != HOTPATCH_KIND_BUILD_ID)
			pf->ndesc++;
	}
	if (!err && !pf->ndesc)
		err =
		    hp_err(HOTPATCH_E_NODESC,
			   "%s: no replacement or import in .hotpatch, only a build-id pin", name);
	if (!err)
		err = check_dups(&c, pf);
	if (!err)
		load_extent(&c, pf);
	if (!err) {
		const void *id;
		ssize_t n = dwelf_elf_gnu_build_id(elf, &id);
		if (n > 0 && (size_t)n * 2 < sizeof(pf->build_id))
			hp_hex(id, (size_t)n, pf->build_id);
	}
out:
	free(c.fields);
	return err;
}

static int read_elf(Elf *elf, const char *name, struct patch_file *out)
{
	int err;

	memset(out, 0, sizeof(*out));
	err = parse(elf, name, out);
	if (err)
		patch_file_release(out);
	return err;
}

int patch_file_read(const char *path, struct patch_file *out)
{
	int fd, err;
	Elf *elf;

	memset(out, 0, sizeof(*out));
	elf_version(EV_CURRENT);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = errno;
		if (err == ENOENT)
			return hp_err(ENOENT, "%s: no such file", path);
		return hp_err(err, "%s: %s", path, strerror(err));
	}
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	err = read_elf(elf, path, out);
	elf_end(elf);
	close(fd);
	return err;
}

int patch_file_read_mem(const void *buf, size_t len, const char *name, struct patch_file *out)
{
	char *copy;
	Elf *elf;
	int err;

	memset(out, 0, sizeof(*out));
	elf_version(EV_CURRENT);
	/* elf_memory() takes a writable image; a private copy is also 8-byte aligned */
	copy = malloc(len ? len : 1);
	if (!copy)
		return hp_err(ENOMEM, "%s: out of memory", name);
	if (len)
		memcpy(copy, buf, len);
	elf = elf_memory(copy, len);
	err = read_elf(elf, name, out);
	elf_end(elf);
	free(copy);
	return err;
}

void patch_file_release(struct patch_file *pf)
{
	if (!pf)
		return;
	free(pf->desc);
	memset(pf, 0, sizeof(*pf));
}

/* SPDX-License-Identifier: MIT */
/* Relocatable objects of the Creator (libelf): reading, relocation targets, comparison. */
#ifndef HP_CREATE_OBJDIFF_H
#define HP_CREATE_OBJDIFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <gelf.h>
#include <libelf.h>

struct osec {
	const char *name;
	GElf_Shdr sh;
	Elf_Data *data;
	size_t rela; /* index of the SHT_RELA section applying to it, 0 if none */
	bool keep;   /* generation: goes into the patch */
	bool anchor; /* generation: needs a symbol the descriptors can name */
};

struct osym {
	const char *name;
	GElf_Sym s;
	int verdict;	       /* generation: one of enum fn_state */
	const char *orig_name; /* existing variable: its name in the original object */
	char *why;	       /* changed function: the first difference (malloc'd) */
};

struct obj {
	char *path;
	int fd;
	Elf *elf;
	size_t nsec;
	struct osec *sec;
	size_t nsym;
	struct osym *sym;
	size_t symscn;
	Elf_Data *symdata;
	char file[256]; /* the STT_FILE name: the source file */
	bool lto;
};

/* One relocation, its target normalized so two builds compare. */
struct xrel {
	uint64_t off; /* from the start of the function / variable */
	uint32_t type;
	char key[320];		 /* target: symbol name, "str:...", "sec:NAME" */
	int64_t delta;		 /* addend relative to the named target */
	size_t tsym;		 /* the named target symbol in the object, 0 if none */
	size_t tsec;		 /* the target's section */
	bool local;		 /* the target is a local symbol */
	size_t rel_sec, rel_idx; /* where the relocation lives */
	uint64_t sec_off;	 /* r_offset */
	int64_t addend;		 /* r_addend */
};

/* What the Creator makes of a function or variable of the patched object. */
enum fn_state { FS_NONE, FS_SAME, FS_CHANGED, FS_NEW, FS_NEWVAR, FS_OLDVAR };

/* One compile, in both builds. */
struct unit {
	struct obj o; /* original build; o.elf NULL if the file is new */
	struct obj p; /* patched build */
	bool is_asm;
	bool gen; /* has functions the patch carries */
};

int obj_open(const char *path, bool rdwr, struct obj *o);
void obj_close(struct obj *o);
/* Symbol index of a defined FUNC/OBJECT/TLS symbol called name, 0 if none. */
size_t obj_find(const struct obj *o, const char *name);
/* The relocations within [sym value, value+size) of symbol i, normalized. */
int obj_relocs(const struct obj *o, size_t i, struct xrel **out, size_t *n);
/* The target of relocation r, normalized (key, delta, tsym, tsec). */
void obj_target(const struct obj *o, const GElf_Rela *r, struct xrel *x);
/* Bytes covered by a relocation of this type (4 or 8), 0 if unknown. */
unsigned reloc_size(uint32_t type);
bool reloc_pcrel(uint32_t type);
/* Symbol bytes (NULL for NOBITS), into *p; returns size or -1. */
const uint8_t *obj_bytes(const struct obj *o, size_t i);
/*
 * Compare symbol ia of a with symbol ib of b: bytes with relocated fields
 * masked, and the relocations' targets. 0 = equal, else 1 with a reason.
 */
int obj_compare(const struct obj *a, size_t ia, const struct obj *b, size_t ib, char *why,
		size_t whysz);
/* "section kind" of a variable: ".data", ".bss", ".rodata", ".tbss"... */
void obj_sec_kind(const struct obj *o, size_t i, char *buf, size_t size);

#endif

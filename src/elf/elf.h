/* SPDX-License-Identifier: MIT */
/*
 * ELF layer: symbols and identity of objects on disk, via libelf/libdw.
 * Nothing here touches a process. Addresses are link-time virtual addresses
 * (st_value); the caller adds the load bias of the mapping.
 */
#ifndef HP_ELF_H
#define HP_ELF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libhotpatch.h"

struct elf_file;

/*
 * Open an ELF object. 'path' is read; 'display' (may be NULL = path) is the
 * name used in messages and for separate-debuginfo lookup (.gnu_debuglink is
 * searched beside 'display', in its .debug/ subdir and under /usr/lib/debug;
 * the build-id path /usr/lib/debug/.build-id/xx/rest.debug too). The root
 * /usr/lib/debug can be changed with the environment variable
 * HOTPATCH_DEBUG_ROOT. A debug file whose build-id differs is ignored.
 * Errors: -HOTPATCH_E_NOTELF, -HOTPATCH_E_ARCH (not an ELF64 of this architecture), -errno.
 */
int elf_file_open(const char *path, const char *display, struct elf_file **out);
void elf_file_free(struct elf_file *ef);

const char *elf_file_display(const struct elf_file *ef);
/* DT_SONAME or NULL. */
const char *elf_file_soname(const struct elf_file *ef);
/* e_type == ET_DYN */
bool elf_file_is_dyn(const struct elf_file *ef);
/* Lowest PT_LOAD p_vaddr rounded down to its page, and that segment's p_offset rounded down. */
uint64_t elf_file_first_load_vaddr(const struct elf_file *ef);
/* GNU build-id as lowercase hex into hex[HOTPATCH_BUILD_ID_MAX]; -ENOENT if none (no message). */
int elf_file_build_id(struct elf_file *ef, char *hex);

enum elf_sym_kind { ELF_SYM_FUNC = 1, ELF_SYM_OBJECT = 2, ELF_SYM_ANY = 3 };

struct elf_sym {
	char name[HOTPATCH_NAME_MAX];
	char file[HOTPATCH_NAME_MAX];	/* source file: STT_FILE before it in .symtab; the DWARF CU
					   only when looked up by srcfile (DWARF is costly); "" if unknown */
	uint64_t value;			/* st_value (link-time address) */
	uint64_t size;			/* st_size */
	int type;			/* STT_* */
	int bind;			/* STB_* */
	bool from_debuginfo;		/* found only in separate debuginfo */
	/*
	 * Bytes after value+size that belong to no symbol and lie in the same
	 * section: the gap up to the next symbol (any type, any table) or the
	 * section end. Whether they are padding bytes is for the caller to check.
	 */
	uint64_t gap_after;
};

/*
 * Find the symbol 'name' of 'kind' in .dynsym, .symtab, then separate
 * debuginfo. 'srcfile' (NULL = any) restricts to symbols of that source file
 * (basename or path suffix match). Duplicate entries for one address (alias in
 * .dynsym and .symtab) are one symbol.
 * Errors, each with an hp_err message naming the symbol and display path:
 *  -HOTPATCH_E_NOSYM: not found; when only compiler clones exist
 *   (name.constprop.N, name.isra.N, name.part.N, name.cold) the message lists
 *   them and says a clone may have another signature and must be named explicitly;
 *  -HOTPATCH_E_AMBIG: several distinct addresses; the message lists the candidates
 *   with their source files and addresses.
 */
int elf_file_find(struct elf_file *ef, const char *name, const char *srcfile,
		  enum elf_sym_kind kind, struct elf_sym *out);

/*
 * Address range of "name.cold" (and "name.cold.N") parts of a function, if any:
 * fills up to max ranges as [start, end) pairs, returns the count found (>= 0).
 */
int elf_file_cold_parts(struct elf_file *ef, const char *name, uint64_t (*ranges)[2], int max);
/*
 * Link-time ranges of the code sections (SHF_ALLOC | SHF_EXECINSTR, non-empty): fills up to max
 * [start, end) pairs, returns the count found (>= 0). An executable segment may hold more than
 * code (aarch64's linker puts the ELF header, .dynsym and .gnu.hash in the one R E segment).
 */
int elf_file_code_ranges(struct elf_file *ef, uint64_t (*ranges)[2], int max);

/*
 * Compiler clones of 'name' (name.constprop.N, name.isra.N, name.part.N, ...,
 * not the name.cold parts): writes up to max symbol names, returns the count
 * written. Callers inside the object may call a clone instead of 'name', so a
 * replacement of 'name' does not reach them.
 */
int elf_file_clones(struct elf_file *ef, const char *name, char (*names)[HOTPATCH_NAME_MAX],
		    int max);

/* The object itself (its .dynsym/.symtab, not debuginfo) defines function 'name'. */
bool elf_file_defines(struct elf_file *ef, const char *name);

/* The function containing addr (st_value <= addr < st_value+st_size), or -ENOENT (no message). */
int elf_file_symbolize(struct elf_file *ef, uint64_t addr, struct elf_sym *out);

/*
 * Bounds [*start, *end) of the call-frame description (.eh_frame/.debug_frame
 * FDE) covering addr: the extent of a function that has no symbol (stripped
 * objects). -ENOENT if none covers it (no message).
 */
int elf_file_fde_range(struct elf_file *ef, uint64_t addr, uint64_t *start, uint64_t *end);

/*
 * Copy len bytes of file content at link-time address vaddr (must lie in one
 * PT_LOAD with file bytes), else -EFAULT (no message).
 */
int elf_file_read(struct elf_file *ef, uint64_t vaddr, void *buf, size_t len);

/*
 * Callers into which 'name' was inlined according to DWARF
 * (DW_TAG_inlined_subroutine whose abstract origin is 'name'): writes up to
 * max caller function names, returns the count (0 if no DWARF or none).
 */
int elf_file_inlined_callers(struct elf_file *ef, const char *name,
			     char (*callers)[HOTPATCH_NAME_MAX], int max);

/*
 * What the compiler says of the out-of-line function at link-time address
 * vaddr, from DWARF, about how its callers call it:
 *  - 1, *why set: they do not follow the standard calling convention: the
 *    subprogram has DW_AT_calling_convention DW_CC_nocall, or a formal
 *    parameter has a DW_AT_const_value (specialised for a value its callers
 *    then stop passing: clang's IPSCCP and dead-argument elimination change
 *    a static function in place, name kept). A replacement would read
 *    whatever the register holds.
 *  - 0, *warn set when non-empty: clang built it, it is local, and a
 *    parameter has no location (unused: clang may have dropped it from the
 *    calls; a replacement must not read it).
 *  - 0 with nothing set: no such sign, or no DWARF.
 */
int elf_file_func_abi(struct elf_file *ef, uint64_t vaddr, bool local, char *why, size_t len,
		      char *warn, size_t wlen);

/* ---- patch files ---- */

/* One descriptor of a patch file's .hotpatch section (see include/hotpatch.h). */
struct patch_desc {
	int kind;				/* HOTPATCH_KIND_* */
	char object[HOTPATCH_NAME_MAX];		/* "" = any */
	char file[HOTPATCH_NAME_MAX];		/* "" = any */
	char symbol[HOTPATCH_NAME_MAX];		/* target symbol, or build-id hex for BUILD_ID */
	uint64_t desc_vaddr;			/* link-time address of the descriptor itself */
	uint64_t addr_vaddr;			/* link-time address of new fn / import pointer var (0 if unresolved) */
	uint64_t aux_vaddr;			/* link-time address of the WRAP orig pointer var */
	int64_t addend;				/* PC32/ABS64 fixups: the addend */
	char addr_name[HOTPATCH_NAME_MAX];	/* symbol name at addr_vaddr in the patch, "" if none */
	char aux_name[HOTPATCH_NAME_MAX];	/* symbol name at aux_vaddr (WRAP's orig pointer), "" if none */
};

struct patch_file {
	char build_id[HOTPATCH_BUILD_ID_MAX];	/* of the patch itself, "" if none */
	char pin[HOTPATCH_BUILD_ID_MAX];	/* HOTPATCH_BUILD_ID value, "" if none */
	char lib_pin[HOTPATCH_BUILD_ID_MAX];	/* HOTPATCH_BUILD_ID with an object: that library's */
	char lib_pin_object[HOTPATCH_NAME_MAX];	/* ... file name or DT_SONAME, "" if none */
	unsigned ndesc;
	struct patch_desc *desc;		/* REPLACE, WRAP, IMPORT, PC32, ABS64 (BUILD_ID folded into pin) */
	uint64_t load_span;			/* lowest to highest PT_LOAD byte, in pages */
	uint64_t load_align;			/* largest PT_LOAD p_align */
};

/*
 * Read and validate the descriptors of a patch file. Pointers in descriptors
 * are resolved through the file's dynamic relocations (R_X86_64_RELATIVE,
 * R_X86_64_64 against a defined symbol). Errors: -HOTPATCH_E_NOTELF,
 * -HOTPATCH_E_ARCH, -HOTPATCH_E_NODESC (no .hotpatch section or it is empty:
 * the message suggests `hotpatch load`), -HOTPATCH_E_BADDESC (bad magic,
 * version, size, kind, missing name, unresolvable pointer, duplicate
 * replacement of one symbol, two different pins), -errno.
 * Never trusts the file: every offset and string is bounds-checked (fuzzed).
 */
int patch_file_read(const char *path, struct patch_file *out);
/* Same, from a buffer (fuzzing). 'name' is for messages. */
int patch_file_read_mem(const void *buf, size_t len, const char *name, struct patch_file *out);
void patch_file_release(struct patch_file *pf);
/* IMPORT, PC32 or ABS64: the descriptor makes the Loader write a target symbol's address. */
bool patch_desc_is_import(int kind);

#endif

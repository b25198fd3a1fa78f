/* SPDX-License-Identifier: MIT */
/*
 * hotpatch.h - authoring API for hotpatch patch objects (header-only).
 *
 * A patch is a shared object built with
 *
 *	cc -shared -fPIC -O2 -Iinclude patch.c -o patch.so
 *
 * that links nothing of ours. Each macro below emits one descriptor into the
 * ".hotpatch" section of the patch. The Loader (`hotpatch apply`) reads the
 * descriptors from the file before touching the target, dlopen()s the patch
 * inside the target, fills the HOTPATCH_IMPORT pointers, then redirects every
 * replaced function with a jump while every thread of the target is stopped.
 * The patch needs no constructor and must not rely on one running before its
 * imports are set.
 *
 *	#include <hotpatch.h>
 *	HOTPATCH_IMPORT(hits, int);
 *	static int func_v2(int x) { (*hits)++; return x * 100; }
 *	HOTPATCH_REPLACE(func, func_v2);
 *
 * The descriptor layout is an ABI shared with the Loader: never reorder it;
 * extend it only by bumping HOTPATCH_DESC_VERSION.
 */
#ifndef HOTPATCH_H
#define HOTPATCH_H

#include <stdint.h>

#define HOTPATCH_DESC_MAGIC	0x31445048u	/* "HPD1" little-endian */
/*
 * Version 2 added the fixup kinds (PC32, ABS64). The Loader reads version 1
 * and version 2 descriptors; a version-1 descriptor cannot hold a fixup.
 */
#define HOTPATCH_DESC_VERSION	2
#define HOTPATCH_SECTION	".hotpatch"

enum hotpatch_desc_kind {
	HOTPATCH_KIND_REPLACE	= 1,	/* symbol [in object|file] -> addr */
	HOTPATCH_KIND_IMPORT	= 2,	/* *(void **)addr = &symbol */
	HOTPATCH_KIND_BUILD_ID	= 3,	/* symbol = hex build-id of the main executable, or of 'object' */
	HOTPATCH_KIND_WRAP	= 4,	/* REPLACE, and *(void **)aux = original entry */
	/*
	 * Fixups (version 2), written by `hotpatch create` into the patch's own
	 * code and data, resolved by the Loader after dlopen(), before any
	 * replacement is live. 'aux' is not a pointer but the signed addend.
	 * A PC32 fixup fails the apply when the symbol is out of +-2 GiB reach.
	 */
	HOTPATCH_KIND_PC32	= 5,	/* *(int32_t *)addr = &symbol + aux - addr */
	HOTPATCH_KIND_ABS64	= 6,	/* *(uint64_t *)addr = &symbol + aux */
};

/*
 * One descriptor. 'object' is a mapped object's file name or DT_SONAME
 * (HOTPATCH_REPLACE_IN) and 'file' a source file name matched against the
 * STT_FILE symbols / DWARF compile units of the target (HOTPATCH_REPLACE_FILE).
 * Pointers are ordinary relocated data: the Loader resolves them from the
 * patch file's dynamic relocations, and again from the target's memory after
 * dlopen().
 */
struct hotpatch_desc {
	uint32_t magic;
	uint16_t version;
	uint16_t kind;
	const char *object;
	const char *file;
	const char *symbol;
	void *addr;
	void *aux;
};

#define HOTPATCH__CAT2(a, b)	a##b
#define HOTPATCH__CAT(a, b)	HOTPATCH__CAT2(a, b)
#define HOTPATCH__UNIQ(p)	HOTPATCH__CAT(p, __COUNTER__)

/* Writable ("aw") like every other section holding relocated pointers. */
#define HOTPATCH__DESC(kind_, object_, file_, symbol_, addr_, aux_)                        \
	static struct hotpatch_desc HOTPATCH__UNIQ(hotpatch__desc_)                        \
		__attribute__((used, section(HOTPATCH_SECTION), aligned(8))) = {           \
			HOTPATCH_DESC_MAGIC, HOTPATCH_DESC_VERSION, (kind_), (object_),    \
			(file_), (symbol_), (void *)(addr_), (void *)(aux_)                \
		}

/* Replace function 'old' (main executable first, then every object in load order). */
#define HOTPATCH_REPLACE(old, new_fn)                                                      \
	HOTPATCH__DESC(HOTPATCH_KIND_REPLACE, 0, 0, #old, &(new_fn), 0)

/* Replace function 'old' of the mapped object whose file name or soname is 'obj'. */
#define HOTPATCH_REPLACE_IN(obj, old, new_fn)                                              \
	HOTPATCH__DESC(HOTPATCH_KIND_REPLACE, obj, 0, #old, &(new_fn), 0)

/* Replace the static function 'old' defined in source file 'src' ("parser.c"). */
#define HOTPATCH_REPLACE_FILE(src, old, new_fn)                                            \
	HOTPATCH__DESC(HOTPATCH_KIND_REPLACE, 0, src, #old, &(new_fn), 0)

/*
 * Replace 'old' by 'new_fn' and make 'orig' (declared here as a pointer of
 * new_fn's type) call the original implementation through a trampoline.
 */
#define HOTPATCH_WRAP(old, new_fn, orig)                                                   \
	static __typeof__(new_fn) *volatile orig __attribute__((used));                    \
	HOTPATCH__DESC(HOTPATCH_KIND_WRAP, 0, 0, #old, &(new_fn), &(orig))

#define HOTPATCH_WRAP_IN(obj, old, new_fn, orig)                                           \
	static __typeof__(new_fn) *volatile orig __attribute__((used));                    \
	HOTPATCH__DESC(HOTPATCH_KIND_WRAP, obj, 0, #old, &(new_fn), &(orig))

/*
 * 'static type *name;' set by the Loader to the address of the target's symbol
 * 'name' (data or function, static or global) before any replacement is live.
 * volatile: the compiler must not fold the never-written-here pointer to NULL.
 */
#define HOTPATCH_IMPORT(name, type)                                                        \
	static __typeof__(type) *volatile name __attribute__((used));                      \
	HOTPATCH__DESC(HOTPATCH_KIND_IMPORT, 0, 0, #name, &(name), 0)

#define HOTPATCH_IMPORT_IN(obj, name, type)                                                \
	static __typeof__(type) *volatile name __attribute__((used));                      \
	HOTPATCH__DESC(HOTPATCH_KIND_IMPORT, obj, 0, #name, &(name), 0)

/*
 * A PC-relative reference from the patch's code at 'place' (an address
 * inside the patch) to the target's 'name' of source file 'src' (0 = any):
 * what `hotpatch create` emits for `mov var+8(%rip), %eax` into the
 * program's own data. Rarely useful by hand.
 */
#define HOTPATCH_FIXUP_PC32(src, name, place, addend)                                      \
	HOTPATCH__DESC(HOTPATCH_KIND_PC32, 0, src, #name, (place), (addend))

/* Refuse to apply to a main executable whose GNU build-id is not 'hex'. */
#define HOTPATCH_BUILD_ID(hex) HOTPATCH__DESC(HOTPATCH_KIND_BUILD_ID, 0, 0, hex, 0, 0)
/* Pin to the build-id of the shared library 'obj' (file name or soname); older Loaders refuse it. */
#define HOTPATCH_BUILD_ID_IN(obj, hex) HOTPATCH__DESC(HOTPATCH_KIND_BUILD_ID, obj, 0, hex, 0, 0)

#endif /* HOTPATCH_H */

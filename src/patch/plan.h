/* SPDX-License-Identifier: MIT */
/* The plan of one apply: built by plan.c and ipara.c, placed by jumps.c, carried out by apply.c. */
#ifndef HP_PATCH_PLAN_H
#define HP_PATCH_PLAN_H

#include <sys/stat.h>

#include "arch/arch.h"
#include "patch/patch.h"

#define ISLAND_PAGE 4096
#define ISLAND_SLOT 16
#define ISLAND_PAGES_MAX 64

/* The island pages one apply mapped, and how much of each is taken (jumps.c). */
struct islands {
	uint64_t page[ISLAND_PAGES_MAX];
	size_t used[ISLAND_PAGES_MAX];
	size_t n;
};

struct plan_func {
	const struct patch_desc *d;
	struct resolved r;
	unsigned off;		/* 4 when the entry is endbr64: keep it, IBT needs it */
	uint64_t avail;		/* bytes we may overwrite from addr + off */
	uint8_t entry[ARCH_ENDBR_LEN];	/* the first bytes at addr + off (what the jump starts over) */
	unsigned pad;		/* a landing pad of ours the jump starts with (arch_entry_pad: PACIASP -> BTI c) */
	uint64_t cold[4][2];
	int ncold;
	uint64_t new_addr;
	uint64_t island;	/* slot holding the absolute jump, 0 if direct */
	uint8_t jump[ARCH_JUMP_MAX];
	unsigned jump_len;
	uint8_t orig[ARCH_JUMP_MAX];
	uint32_t preserved;	/* caller-saved registers kept for IPA-RA callers */
	bool written;
	uint64_t resolver;	/* STT_GNU_IFUNC: its resolver (r then becomes the implementation) */
	char note[256];		/* inlined copies, clones, ifunc: what the jump does not reach */
};

struct plan_import {
	const struct patch_desc *d;
	struct resolved r;
};

struct plan {
	char path[4096];
	struct stat st;		/* identity of the file we checked */
	struct patch_file pf;
	struct plan_func *f;
	size_t nf;
	struct plan_import *im;
	size_t ni;
	struct islands isl;	/* pages mapped by this apply */
	uint64_t new_region;	/* state region created by this apply, 0 if it existed */
	bool was_mapped;	/* the file was mapped in the target before our dlopen */
	long memfd;		/* the target's descriptor of the copy loaded, -1: none (inject.c) */
};

/* ---- plan.c: resolution, checks, notes ---- */
/* Check and read the patch file (and give it an identity); touches no target. */
int plan_open(const char *arg, struct plan *pl);
void plan_release(struct plan *pl);
/* Resolve and check everything against the target; touches nothing. */
int plan_build(struct proc *p, struct objects *objs, struct state *st, struct plan *pl,
	       const struct hotpatch_opts *opts);
/* The applied patch with the same path or identity (build-id or content), NULL if none. */
struct hotpatch_patch *plan_applied(struct state *st, const struct plan *pl);
/* With a borrowed thread: ask each ifunc's resolver which implementation to patch. */
int plan_ifuncs(struct proc *p, struct thread *t, struct plan *pl, uint64_t deadline);
/* The record of the patch as planned (funcs calloc'd; id, handle and time left to the caller). */
void plan_record(const struct plan *pl, struct hotpatch_patch *out);
/* The patch's HOTPATCH_IMPORT names into out->imports (as apply and check report them). */
void plan_imports(const struct plan *pl, struct hotpatch_patch *out);
/* Append "what: a, b, c" to note (size bytes), as many names as fit ("and N more" for the rest). */
void note_names(char *note, size_t size, const char *what, char (*names)[HOTPATCH_NAME_MAX], int n);

/* ---- ipara.c: registers callers keep across a call (gcc -fipa-ra) ---- */
/* Which replacements need a preserving island; refuses what cannot be preserved. */
int ipara_plan(struct proc *p, struct plan *pl, const struct hotpatch_opts *opts);
/*
 * Caller-saved registers the function at 'value' of ef (and what it calls
 * directly) may write, into *written (all of them when it cannot tell);
 * *stack_args when the function takes arguments on the stack.
 */
void ipara_clobbers(struct elf_file *ef, uint64_t value, uint32_t *written, bool *stack_args);

/* ---- jumps.c: islands, trampolines and the writes ---- */
/* 'size' bytes of a page already mapped within rel32 reach of 'from': 0, or -ENOSPC (map one). */
int island_take(struct islands *is, uint64_t from, size_t size, uint64_t *slot);
/* A new page, its first 'size' bytes taken: 0, or -ENOSPC when the table is full. */
int island_add(struct islands *is, uint64_t page, size_t size);
/* Give back the unused tail of the space last taken at 'slot' (reserved bytes, used). */
void island_trim(struct islands *is, uint64_t slot, size_t reserved, size_t used);
/*
 * The trampoline of a WRAP: the instructions a min_len-byte jump displaces
 * from f's entry, relocated to run at 'tramp', then a jump back, into out.
 */
int jumps_relocate(struct proc *p, struct plan_func *f, size_t min_len, uint64_t tramp,
		   uint8_t *out, size_t out_max, size_t *out_len);
/* The patch is loaded at l_addr: the imports it asked for. */
int jumps_write_imports(struct proc *p, struct plan *pl, uint64_t l_addr);
/* The patch is loaded at l_addr: each jump's bytes, its islands and trampolines (written). */
int jumps_plan(struct proc *p, struct thread *t, struct plan *pl, uint64_t l_addr);
/* Under stop-the-world: the jumps, the bytes they replace read first. */
int jumps_write(struct proc *p, struct plan *pl);
/* Restore the entries jumps_write wrote; used on failure. */
void jumps_unwrite(struct proc *p, struct plan *pl);

#endif

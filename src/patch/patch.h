/* SPDX-License-Identifier: MIT */
/* Internal interfaces of the patch layer: objects, state, the operation frame, injection, safe points. */
#ifndef HP_PATCH_H
#define HP_PATCH_H

#include "common/common.h"
#include "hotpatch.h"
#include "elf/elf.h"
#include "proc/proc.h"

#define HOTPATCH_DEFAULT_TIMEOUT_MS 5000

/* When an operation that started at 'start' must give up (--timeout, default 5 s). */
static inline uint64_t patch_deadline(const struct hotpatch_opts *o, uint64_t start)
{
	unsigned ms = o && o->timeout_ms ? o->timeout_ms : HOTPATCH_DEFAULT_TIMEOUT_MS;
	return start + (uint64_t)ms * 1000000ull;
}

/* One loaded object of the target (from the dynamic linker's link_map chain). */
struct object {
	char path[4096];	/* as the target sees it */
	char open_path[4096];	/* what we open: /proc/PID/root/... or map_files */
	uint64_t bias;		/* l_addr: runtime = link-time + bias */
	uint64_t lo, hi;	/* runtime range of its mappings */
	bool main;		/* the main executable */
	bool runtime;		/* libc, libpthread, libdl or the dynamic linker: safe-point relevant */
	bool is_ld;		/* the dynamic linker */
	bool is_libc;		/* glibc's libc.so */
	/*
	 * An allocator other than libc's that defines malloc (objects_prefetch):
	 * a library (jemalloc, tcmalloc, mimalloc, libc_malloc_debug) holds
	 * locks and half-updated caches in any of its frames; a main executable
	 * with its allocator linked in, only in the frames of its allocator
	 * functions (safepoint.c: allocator_frame).
	 */
	bool allocator;
	uint64_t link_map;	/* address of its struct link_map in the target */
	struct elf_file *elf;	/* opened lazily */
	int elf_err;
};

struct unwinder;

struct objects {
	struct object *v;
	size_t n;
	pid_t pid;
	/*
	 * One unwinder per operation, opened before the first stop: reporting
	 * the modules and parsing their CFI must not happen while every thread
	 * is stopped, and not once per phase either.
	 */
	struct unwinder *uw;
	int uw_err;
};

/* Walk the target's link_map chain (main executable first, load order). */
int objects_load(struct proc *p, struct objects *objs);
void objects_release(struct objects *objs);
/* Object containing runtime address addr, or NULL. */
struct object *objects_find_addr(struct objects *objs, uint64_t addr);
/* Object whose file name (basename, or full path) or DT_SONAME is 'name'. */
struct object *objects_find_name(struct objects *objs, const char *name);
int object_elf(struct object *o, struct elf_file **ef);
/* Open glibc's objects and their symbols, and the unwinder, now, before any thread is stopped. */
void objects_prefetch(struct objects *objs);
/* The operation's unwinder (opened on first use; objects_prefetch opens it early). */
int objects_unwinder(struct objects *objs, struct unwinder **uw);
/* Objects mapped since (a patch just dlopen'ed) join the unwinder: call while threads run. */
void objects_unwinder_refresh(struct objects *objs);

/* A resolved target symbol. */
struct resolved {
	struct object *obj;
	struct elf_sym sym;
	uint64_t addr;		/* runtime */
};
/*
 * Resolve 'name' of 'kind': in object 'in' (NULL = main executable first, then
 * every object in load order), optionally restricted to source file 'srcfile'.
 */
int resolve_symbol(struct proc *p, struct objects *objs, const char *in, const char *srcfile,
		   const char *name, enum elf_sym_kind kind, struct resolved *out);

/*
 * Write the PC32 or ABS64 fixup d (fixup.c) into the patch loaded at l_addr,
 * the target symbol being at runtime address sym. Fails, writing nothing,
 * when a PC32 value does not fit in 32 bits.
 */
int patch_write_fixup(struct proc *p, const struct patch_desc *d, uint64_t sym, uint64_t l_addr);

/* ---- state kept in the target ---- */
struct state {
	unsigned next_id;
	unsigned npatches;
	struct hotpatch_patch *patches;	/* funcs owned by each */
	unsigned nretained;
	struct hotpatch_patch *retained;	/* reverted, code kept mapped (no funcs): see revert.c */
	unsigned nislands;
	struct island_rec { unsigned patch_id; uint64_t addr, len; } *islands;
	uint64_t region;		/* runtime address of the state mapping, 0 = none yet */
	uint64_t region_len;
	unsigned slot;			/* the slot the root names */
	unsigned staged;		/* 1 + slot written by state_stage, not committed; 0 = none */
	uint64_t legacy_end;		/* bytes of an older single-image state at the start, 0 = none */
};
#define STATE_NAME "hotpatch-state"
/* Virtual size: only the pages written are backed (two slots of ~8 MB: ~7000 functions). */
#define STATE_REGION_LEN (16u << 20)
/* Read the state of p (no need to stop it). Absent state = empty. */
int state_read(struct proc *p, struct state *st);
/* Create the region if absent (remote syscalls in borrowed thread t). */
int state_prepare(struct proc *p, struct thread *t, struct state *st);
/*
 * Write st into the slot not in use (creating the region first if needed,
 * remote syscalls in t): nothing reads it until state_commit names it. A
 * second stage before the commit rewrites the same slot.
 */
int state_stage(struct proc *p, struct thread *t, struct state *st);
/* Make the staged state the valid one: one small write (inside the pause). */
int state_commit(struct proc *p, struct state *st);
/* state_stage, then state_commit. */
int state_write(struct proc *p, struct thread *t, struct state *st);
void state_release(struct state *st);
/* st's patches and islands as one slot image, malloc'd into *buf (no target needed). */
int state_encode(const struct state *st, uint8_t **buf, size_t *len);
/* A slot image of len bytes into st's patches, islands and next_id (pid: for messages). */
int state_decode(pid_t pid, const uint8_t *buf, size_t len, struct state *st);
/* Patch by id or canonical path; NULL if none. */
struct hotpatch_patch *state_find(struct state *st, const char *what);
struct hotpatch_patch *state_find_id(struct state *st, unsigned id);
/* The first patch applied after hp that replaces one of its functions (*fn: which), or NULL. */
const struct hotpatch_patch *stacked_over(const struct state *st, const struct hotpatch_patch *hp,
					  const char **fn);

/*
 * The caller's options as this library's struct: the fields its opts->sz
 * covers, the defaults (zero) for the others. -EINVAL if sz is too small or
 * a field this library does not know is set. NULL in, defaults out.
 */
int patch_opts_get(const struct hotpatch_opts *in, struct hotpatch_opts *out);

/* --timeout of opts in ms (default 5000). */
static inline unsigned patch_timeout_ms(const struct hotpatch_opts *o)
{
	return o && o->timeout_ms ? o->timeout_ms : 5000;
}

/* err (from an undo step) only says the target is exiting: not worth a warning. */
static inline bool patch_target_gone(struct proc *p, int err)
{
	return err == -ESRCH || err == -HOTPATCH_E_EXITED || proc_vanished(p);
}

/* ---- the frame of every operation on a target (ops.c) ---- */
#define OP_LOCK		1u	/* changes the target: take the per-target lock */
#define OP_OBJECTS	2u	/* load the objects (link_map walk) */
#define OP_STATE	4u	/* read the state kept in the target */
#define OP_READER	8u	/* only reads: open it even if another tracer holds it */
struct op {
	const char *name;	/* "apply", for messages */
	const struct hotpatch_opts *opts;	/* &o */
	struct hotpatch_opts o;	/* the caller's options as this library's struct (patch_opts_get) */
	struct proc *p;
	struct objects objs;
	struct state st;
	uint64_t start;		/* when the target became ours: waiting for the lock does not count */
	uint64_t deadline;	/* start + --timeout */
	struct hotpatch_timing *timing;	/* total, pause and threads filled by op_end (may be NULL) */
	bool count_threads;	/* only a borrowed thread was stopped: count them all for timing */
};
/*
 * Open pid (locked with OP_LOCK) and load what flags ask for. Whatever it
 * returns, op_end must follow.
 */
int op_begin(struct op *op, const char *name, pid_t pid, unsigned flags,
	     const struct hotpatch_opts *opts, struct hotpatch_timing *timing);
/*
 * Release every thread, the state, the objects and the target; the result
 * of the operation (patch_op_result), with its timing filled.
 */
int op_end(struct op *op, int err);
/* End of an operation on p: a failure of a target that has gone away becomes HOTPATCH_E_EXITED. */
int patch_op_result(struct proc *p, int err, const char *op);

/* ---- records of the public API (ops.c) ---- */
/* What descriptor d says of its function: name, object, replacement, orig variable, file, wrap. */
void func_from_desc(struct hotpatch_func *f, const struct patch_desc *d);
/* Deep copy of a patch record; imports are not kept in the state, so none are copied. */
int patch_record_copy(const struct hotpatch_patch *src, struct hotpatch_patch *dst);
/*
 * The imports of an applied patch: the state does not keep them, the patch
 * file does (the one the target has mapped, else the path if its build-id
 * still matches). None when unreadable; never records an error.
 */
void patch_imports(struct proc *p, struct hotpatch_patch *dst);

/* ---- the object we inject (inject.c) ---- */
struct stat;
/*
 * Resolve arg into canon (PATH_MAX) and check it may be loaded: a regular
 * file owned by root or by us, writable by nobody else. *st identifies it.
 */
int patch_file_check(const char *arg, char *canon, struct stat *st);
/* "content:HEX", a hash of the file's bytes, into out (unchanged if unreadable). */
void patch_content_id(const char *path, char *out, size_t len);
/* The mapping shows the file identified by st (same device and inode). */
bool map_is_file(const struct map *m, const struct stat *st);
/* After dlopen: the object mapped at l_addr is the very file checked (same device and inode). */
int patch_verify_mapping(struct proc *p, const char *path, const struct stat *st, uint64_t l_addr);
/* Some mapping of the target shows the file identified by st (true when unknown). */
bool patch_file_mapped(struct proc *p, const struct stat *st);
/*
 * After a failed dlopen of a file that was not mapped before: unmap what the
 * loader left of it (its first mapping, which it forgets on some errors).
 */
void patch_unmap_file(struct proc *p, struct thread *t, const struct stat *st);

/*
 * Where an object of 'span' bytes aligned to 'align' should be mapped so
 * that the most of entries[] reach it with a direct jump (ties: the
 * nearest); 0 if none reaches any. maps are the target's, in address order;
 * start_brk is where its heap grows from (0 if unknown).
 */
uint64_t placement_pick(const struct map *maps, size_t nmaps, uint64_t start_brk, uint64_t span,
			uint64_t align, const uint64_t *entries, size_t nentries);
/* The free address nearest 'near' for len bytes within rel32 reach of it; 0 if none. */
uint64_t gap_near(const struct map *maps, size_t nmaps, uint64_t near, size_t len);

/* One dlopen of a checked file, for apply and load. */
struct inject {
	const char *path;		/* canonical, checked by patch_file_check */
	const struct stat *st;		/* its identity */
	uint64_t span, align;		/* its load extent and alignment, for placement (0: none) */
	const uint64_t *near;		/* entries it should be within direct reach of */
	size_t nnear;
	/*
	 * Name of the memfd the file is copied into when the target's mount
	 * namespace does not show it at 'path' (NULL: never copy). Unique per
	 * load: revert finds the object's mappings by it (patch_map_path).
	 */
	const char *memfd_name;
	bool was_mapped;		/* out: some mapping showed the file before */
	uint64_t handle, l_addr;	/* out: dlopen's handle, the object's l_addr */
	long memfd;			/* out: the target's descriptor of that copy, -1 if none */
};
/*
 * In borrowed thread t: dlopen in->path, its first mmap hinted near the
 * entries, and check the object mapped is the file checked. On failure
 * nothing of it stays loaded: a mismatched object is dlclosed at once and
 * what a failed dlopen left of a file not mapped before is unmapped.
 */
int inject_dlopen(struct proc *p, struct objects *objs, struct thread *t, struct inject *in,
		  uint64_t deadline);

/*
 * The memfd name of patch 'id' loaded as a copy: "hotpatch-patch-ID-BUILDID"
 * (the build-id too: a failed apply whose copy could not be unloaded leaves
 * it inert under an id the next apply reuses).
 */
void patch_memfd_name(unsigned id, const char *build_id, char *buf, size_t len);
/*
 * The path the target's maps show the code of 'hp' under: its own path, or
 * "/memfd:hotpatch-patch-ID-BUILDID" when it was loaded as a copy. buf: PATH_MAX.
 */
const char *patch_map_path(const struct proc *p, const struct hotpatch_patch *hp, char *buf,
			   size_t len);
/*
 * After the copy of patch hp (or the copy 'fd', when >= 0) is unloaded:
 * close the target's descriptor that kept its name unique. Best effort.
 */
void patch_memfd_close(struct proc *p, struct thread *t, const struct hotpatch_patch *hp, long fd);

/* Remote helpers on a borrowed (stopped) thread. */
/* dlopen(path, RTLD_NOW) in t; 'hook' (may be NULL) watches its system calls. */
int remote_dlopen(struct proc *p, struct objects *objs, struct thread *t, const char *path,
		  const struct remote_hook *hook, uint64_t *handle, uint64_t deadline);
int remote_dlclose(struct proc *p, struct objects *objs, struct thread *t, uint64_t handle,
		   uint64_t deadline);
int remote_mmap_near(struct proc *p, struct thread *t, uint64_t near, size_t len, uint64_t *addr);
int remote_munmap(struct proc *p, struct thread *t, uint64_t addr, size_t len);
/* close(fd) in t; best effort (a descriptor we opened there). */
void remote_close(struct proc *p, struct thread *t, long fd);

/* ---- safe points and consistency ---- */
struct range {
	uint64_t start, end;
	const char *what;	/* function name for messages */
};
/*
 * Stop-the-world is held. Pick a thread at a safe point for dlopen/dlclose
 * (no frame in libc/ld.so except a blocking syscall wrapper innermost),
 * running threads to one if needed. Returns the chosen thread, still held.
 */
int safepoint_choose(struct proc *p, struct objects *objs, uint64_t deadline, struct thread **out);
/*
 * Nothing is held. Borrow a thread at a safe point and leave the others
 * running: first a thread blocked in a system call (stopped alone: no
 * stop-the-world at all), else stop the world and safepoint_choose().
 * Returns the borrowed thread, the only one held.
 */
int safepoint_borrow(struct proc *p, struct objects *objs, uint64_t deadline, struct thread **out);
/*
 * Stop the world (proc_hold_all) and make sure no thread's pc or return
 * address lies in any of ranges[], running blockers out (alone first, then
 * with the others), bounded by deadline. Each thread is unwound as soon as
 * it is stopped, while the others are still stopping. 'between' (may be
 * NULL) runs once everything is stopped, before any thread is run out:
 * revert restores the entries there. On failure the world may still be held.
 */
int consistency_stop(struct proc *p, struct objects *objs, const struct range *ranges, size_t n,
		     uint64_t deadline, int (*between)(void *arg), void *arg);

/*
 * The world is held. Before bytes that threads have been running are
 * overwritten again (a revert rolled back): no thread's pc nor return
 * address may lie strictly inside a window (start < x < end). A pc there is
 * single-stepped out (its own instructions, at most 64); a return address
 * there, or a stuck step, is -HOTPATCH_E_BUSY.
 */
int leave_windows(struct proc *p, const struct range *win, size_t n, uint64_t deadline);

/* ---- contexts.c: execution contexts that are not threads, references into code ---- */

/* Bytes of writable memory read per search, smallest mappings first (stacks and heaps before guest RAM). */
#define CONTEXT_SCAN_BUDGET (256ull << 20)
#define REFERENCE_SCAN_BUDGET (256ull << 20)		/* inside the pause */
#define REFERENCE_SCAN_BUDGET_RUNNING (4096ull << 20)	/* while the threads run */

/* A context parked by glibc's sigsetjmp (jmp_buf) or getcontext/swapcontext (ucontext_t). */
struct pctx {
	uint64_t at;			/* where its saved registers are */
	bool uc;			/* a ucontext_t, else a jmp_buf */
	struct user_regs_struct regs;	/* as found (pc, sp, callee-saved) */
};
struct pctxset {
	struct pctx *v;
	size_t n, cap;
	uint64_t scanned;	/* bytes read */
	bool partial;		/* writable memory left unread (budget, a read failing) */
	uint64_t guard;		/* the pointer-mangling guard */
	bool guard_known;
};
/* Search the writable memory for parked contexts (the target may run; re-checked later). */
int contexts_find(struct proc *p, struct objects *objs, struct pctxset *cs);
void contexts_release(struct pctxset *cs);
/*
 * World held: re-read each context found and unwind it. -HOTPATCH_E_BUSY
 * when one has a frame inside 'inside' (functions replaced) or resumes
 * inside 'win' (the bytes a jump overwrites).
 */
int contexts_check(struct proc *p, struct objects *objs, const struct pctxset *cs,
		   const struct range *inside, size_t ninside, const struct range *win, size_t nwin);
/* Where a reference into code was found. */
struct ref {
	uint64_t at;		/* address of the word, 0 for a register */
	uint64_t value;
	bool mangled;		/* a saved pc, found demangled */
	char where[96];
};
/*
 * World held: 1 when a register or a word of writable memory (but the
 * mappings of own_path, the patch itself: its descriptors) refers to
 * ranges (a return address, an entry, a mangled saved pc; *hit says where),
 * 0 when none does, -errno on failure. *unproven: memory was left unread, so
 * 0 is not a proof.
 */
int contexts_references(struct proc *p, struct objects *objs, const char *own_path, const struct range *r, size_t nr,
			uint64_t budget, struct ref *hit, bool *unproven);

#endif

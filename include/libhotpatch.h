/* SPDX-License-Identifier: MIT */
/*
 * libhotpatch.h - the Loader library behind the `hotpatch` command.
 *
 * Conventions (libbpf style):
 *  - every int function returns 0 on success or a negative code: -errno, or
 *    -HOTPATCH_E_* (>= HOTPATCH_E_BASE) for conditions errno cannot name;
 *  - hotpatch_strerror(code) names the code; hotpatch_errmsg() returns the
 *    full one-line message of the last failure of the calling thread, naming
 *    the pid, symbol, file and reason ("pid 123: 'func' not found in /bin/app");
 *  - diagnostics go through one log callback (hotpatch_set_log).
 *
 * Who releases what (every pointer argument is the caller's; the library keeps
 * none of them after a call returns):
 *  - struct hotpatch_result (apply, check, revert): zeroed on entry; call
 *    hotpatch_result_release(res) after success AND after failure (a failure
 *    may leave the patch's path, build-id or functions filled in, for the
 *    report). Releasing a zeroed or already released result is harmless.
 *  - struct hotpatch_patch of hotpatch_info: the same, with
 *    hotpatch_patch_release.
 *  - hotpatch_list: on success the caller owns *patches and frees it with
 *    hotpatch_list_free(*patches, *n); on failure *patches is NULL and *n 0
 *    (hotpatch_list_free(NULL, 0) is harmless).
 *  - hotpatch_load allocates nothing for the caller.
 *  - Strings returned by the library are never freed by the caller:
 *    hotpatch_strerror and hotpatch_version return static strings,
 *    hotpatch_errmsg a per-thread buffer valid until the thread's next call.
 *
 * Audit: the library writes no audit record itself (it has no say in where a
 * caller's records go). The hotpatch command writes one syslog line per
 * apply, revert and load; a program using the library keeps its own audit
 * trail (see README.md, "Audit").
 *
 * Hazards a caller must know:
 *  - A call stops every thread of the target for the stop-the-world phases
 *    (microseconds to milliseconds) and hijacks one thread to run dlopen().
 *  - The library uses ptrace: the calling thread becomes the tracer, so all
 *    calls for one target must come from one thread, and SIGCHLD-based child
 *    handling in the caller must not reap the target's stops. Only one tracer
 *    may exist per target: a second concurrent invocation fails with
 *    HOTPATCH_E_TRACED naming the tracer.
 *  - On every failure the target is left as it was found: threads running
 *    (or stopped, if they were stopped), registers, signal masks, memory.
 */
#ifndef LIBHOTPATCH_H
#define LIBHOTPATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Version of this header. hotpatch_version() returns the version of the
 * library actually loaded, which may be newer than the header a program was
 * built with (same major number: the soname is libhotpatch.so.MAJOR).
 */
#define HOTPATCH_VERSION_MAJOR 0
#define HOTPATCH_VERSION_MINOR 3
#define HOTPATCH_VERSION_PATCH 0
#define HOTPATCH__STR(x) #x
#define HOTPATCH__XSTR(x) HOTPATCH__STR(x)
#define HOTPATCH_VERSION                                                                   \
	HOTPATCH__XSTR(HOTPATCH_VERSION_MAJOR)                                             \
	"." HOTPATCH__XSTR(HOTPATCH_VERSION_MINOR) "." HOTPATCH__XSTR(HOTPATCH_VERSION_PATCH)
/* One number that compares: (major << 16) | (minor << 8) | patch. */
#define HOTPATCH_VERSION_NUMBER                                                            \
	((HOTPATCH_VERSION_MAJOR << 16) | (HOTPATCH_VERSION_MINOR << 8) | HOTPATCH_VERSION_PATCH)

/* "0.1.0": the library's version; *number (if not NULL) gets its HOTPATCH_VERSION_NUMBER. */
const char *hotpatch_version(unsigned *number);

#define HOTPATCH_E_BASE 1000

/* X-macro: code, enum name, message. One table for the enum and the strings. */
#define HOTPATCH_ERRORS(X)                                                                 \
	X(1000, NOPROC, "no such process")                                                 \
	X(1001, KTHREAD, "kernel thread")                                                  \
	X(1002, PERM, "not permitted")                                                     \
	X(1003, TRACED, "already traced")                                                  \
	X(1004, NOTELF, "not an ELF file")                                                 \
	X(1005, ARCH, "wrong architecture")                                                \
	X(1006, NODESC, "no hotpatch descriptors")                                         \
	X(1007, BADDESC, "malformed descriptor")                                           \
	X(1008, NOSYM, "symbol not found")                                                 \
	X(1009, AMBIG, "ambiguous symbol")                                                 \
	X(1010, BUILDID, "build-id mismatch")                                              \
	X(1011, DLOPEN, "dlopen failed in target")                                         \
	X(1012, SMALL, "function too small")                                               \
	X(1013, BUSY, "target busy: thread inside function")                               \
	X(1014, TIMEOUT, "timed out")                                                      \
	X(1015, APPLIED, "already applied")                                                \
	X(1016, NOTAPPLIED, "not applied")                                                 \
	X(1017, STACKED, "stacked under a later patch")                                    \
	X(1018, EXITED, "target exited")                                                   \
	X(1019, FAULT, "fault in target")                                                  \
	X(1020, UNSAFE, "no safe point")                                                   \
	X(1021, FILEPERM, "unsafe file permissions")                                       \
	X(1022, STATE, "corrupt state in target")                                          \
	X(1023, NORELOC, "cannot relocate instruction")                                    \
	X(1024, CLOBBER, "callers rely on preserved registers")                            \
	X(1025, NOTSUP, "not supported")                                                   \
	X(1026, INTR, "interrupted")                                                       \
	X(1027, MISMATCH, "loaded file differs from checked file")                         \
	X(1028, ABI, "callers do not follow the calling convention")

enum hotpatch_error {
#define HOTPATCH__ENUM(code, name, msg) HOTPATCH_E_##name = code,
	HOTPATCH_ERRORS(HOTPATCH__ENUM)
#undef HOTPATCH__ENUM
	HOTPATCH_E_END
};

const char *hotpatch_strerror(int err);
const char *hotpatch_errmsg(void);

/*
 * Async-signal-safe: make the operation in progress stop waiting (for a safe
 * point, or for threads to leave a function), undo what it did and fail with
 * HOTPATCH_E_INTR. Steps that must finish to leave the target intact (a remote
 * call under way, the undo itself) still finish; their waits are bounded.
 * Sticky: later operations are interrupted at their first wait too.
 */
void hotpatch_interrupt(void);

enum hotpatch_log_level { HOTPATCH_LOG_ERROR, HOTPATCH_LOG_WARN, HOTPATCH_LOG_INFO, HOTPATCH_LOG_DEBUG };
typedef void (*hotpatch_log_fn)(enum hotpatch_log_level level, const char *msg, void *ctx);
void hotpatch_set_log(hotpatch_log_fn fn, void *ctx, enum hotpatch_log_level max_level);

/*
 * Progress of a long wait inside apply, revert or load: a thread is inside a
 * function being replaced, or no thread is at a safe point yet. Once a wait
 * has lasted 250 ms, fn is called about every 100 ms (from the thread that
 * called the library, between two ptrace calls: it must be quick), and once
 * more with done = true when that wait ends. The hotpatch command draws it on
 * stderr when that is a terminal. NULL fn: no reports (the default).
 */
struct hotpatch_progress {
	size_t sz;		/* sizeof(struct hotpatch_progress) of the library */
	pid_t pid;
	pid_t tid;		/* the thread waited for, 0 if none in particular */
	const char *function;	/* the function it must leave; NULL: waiting for a safe point */
	unsigned elapsed_ms;	/* since the wait began */
	unsigned limit_ms;	/* when it gives up (the --timeout bound) */
	bool done;		/* the wait is over (either way) */
};
typedef void (*hotpatch_progress_fn)(const struct hotpatch_progress *pr, void *ctx);
void hotpatch_set_progress(hotpatch_progress_fn fn, void *ctx);

/*
 * Options of apply/revert/load/check (libbpf style). The struct only ever
 * grows at its end; sz says how much of it the caller knows. Declare it with
 * HOTPATCH_OPTS, which sets sz and zeroes the rest:
 *
 *	HOTPATCH_OPTS(opts, .timeout_ms = 2000);
 *	err = hotpatch_apply(pid, path, &opts, &res);
 *
 * The library reads only the fields that sz covers; a field past sz takes its
 * default, so a program built against an older header keeps working with a
 * newer library. A program built against a newer header, run with an older
 * library, is refused with -EINVAL if it sets a field the library does not
 * know (a non-zero byte past the library's struct), and works otherwise.
 * sz smaller than the sz field itself (0: forgotten) is -EINVAL too.
 * opts == NULL means every default. The library does not keep opts after the
 * call returns.
 */
struct hotpatch_opts {
	size_t sz;		/* sizeof(struct hotpatch_opts) as the caller was built */
	unsigned timeout_ms;	/* consistency/safe-point bound; 0 = 5000 */
	bool force_clobber;	/* apply despite stack arguments + preserved registers (--force-regs) */
	/* new fields go here, at the end, and zero must mean their default */
};
/* The initializer alone, for strict C99 (no empty variadic arguments) and C++20:
 *	struct hotpatch_opts opts = { HOTPATCH_OPTS_INIT, .timeout_ms = 2000 };
 */
#define HOTPATCH_OPTS_INIT .sz = sizeof(struct hotpatch_opts)
#define HOTPATCH_OPTS(name, ...) struct hotpatch_opts name = { HOTPATCH_OPTS_INIT, __VA_ARGS__ }

#define HOTPATCH_NAME_MAX 256
#define HOTPATCH_BUILD_ID_MAX 81 /* hex + NUL */

/* One replaced function, as planned (check/apply) or as recorded in the target (list). */
struct hotpatch_func {
	char name[HOTPATCH_NAME_MAX];		/* target symbol */
	char object[512];		/* object that holds it */
	char new_name[HOTPATCH_NAME_MAX];	/* replacement symbol in the patch ("" if unknown) */
	uint64_t addr;				/* runtime entry of the old function */
	uint64_t size;				/* st_size of the old function */
	uint64_t new_addr;			/* runtime address of the replacement (0 before dlopen) */
	uint64_t island;			/* jump island / trampoline used, 0 if none */
	unsigned jump_len;			/* bytes overwritten at addr (after endbr64) */
	unsigned jump_off;			/* 4 when endbr64 is kept, else 0 */
	uint8_t orig[16];			/* original bytes at addr + jump_off */
	uint8_t jump[16];			/* bytes written */
	uint32_t preserved_regs;		/* caller-saved registers routed through a preserving island */
	bool wrap;				/* HOTPATCH_WRAP */
	char note[256];				/* warnings: inlined callers, clones ... */
	char file[HOTPATCH_NAME_MAX];		/* HOTPATCH_REPLACE_FILE source file, "" if any */
	char orig_var[HOTPATCH_NAME_MAX];	/* HOTPATCH_WRAP: the patch's pointer to the original */
};

struct hotpatch_patch {
	unsigned id;				/* per-process, increasing */
	char path[4096];			/* canonical path of the patch file */
	char build_id[HOTPATCH_BUILD_ID_MAX];	/* of the patch file */
	char pin[HOTPATCH_BUILD_ID_MAX];	/* HOTPATCH_BUILD_ID pin, "" if none */
	int64_t applied_at;			/* unix time */
	uint64_t handle;			/* dlopen handle in the target */
	unsigned nfuncs;
	struct hotpatch_func *funcs;
	unsigned nimports;
	char (*imports)[HOTPATCH_NAME_MAX];
};

/* Timing of one operation, in nanoseconds (reported by apply --json). */
struct hotpatch_timing {
	uint64_t total_ns;		/* whole call */
	uint64_t pause_ns;		/* first thread stopped .. last thread resumed, all phases */
	uint64_t dlopen_ns;		/* remote dlopen: one thread busy, the others running */
	uint64_t stw_ns;		/* final stop-the-world: consistency check + jump writes */
	unsigned threads;
};

struct hotpatch_result {
	struct hotpatch_patch patch;	/* what was applied/reverted/checked */
	struct hotpatch_timing timing;
};

void hotpatch_result_release(struct hotpatch_result *res);

/* Read a patch file: descriptors, build-id, pin. No process involved. */
int hotpatch_info(const char *patch_path, struct hotpatch_patch *out);

/*
 * Queries that touch no process (since 0.2.0, symbol version HOTPATCH_0.2).
 *
 * hotpatch_build_id: the GNU build-id of the ELF file at path, as lowercase
 * hex, into hex (len >= HOTPATCH_BUILD_ID_MAX); "" when the file has none.
 * -HOTPATCH_E_NOTELF, -HOTPATCH_E_ARCH, -errno (unreadable), -EINVAL (len).
 */
int hotpatch_build_id(const char *path, char *hex, size_t len);
/*
 * Bit 'bit' of hotpatch_func.preserved_regs named for this build's architecture ("xmm3",
 * "x9"), NULL if it names none.
 */
const char *hotpatch_reg_name(unsigned bit);
/*
 * What fn->jump is, for people ("e9 rel32", "b imm26", "ldr/br x16 abs64"), written to buf;
 * NULL when its bytes are none of this architecture's forms.
 */
const char *hotpatch_jump_desc(const struct hotpatch_func *fn, char *buf, size_t size);

/*
 * One descriptor of a patch file, as hotpatch_check_symbols saw it. The
 * strings live until fn returns. Fields are only ever added at the end: read
 * one only if sz covers it.
 */
struct hotpatch_symbol {
	size_t sz;		/* sizeof(struct hotpatch_symbol) of the library */
	const char *symbol;	/* the target symbol the descriptor names */
	const char *object;	/* the object it is looked up in, "" = the main executable */
	const char *file;	/* the source file it must come from, "" = any */
	bool import;		/* IMPORT (or a fixup): any symbol; else a function replaced */
	bool checked;		/* looked up in the binary (false: it names another object) */
	int err;		/* 0: found; else why not (-HOTPATCH_E_NOSYM, -HOTPATCH_E_AMBIG...) */
	const char *message;	/* err's one-line message, "" when found */
};
typedef void (*hotpatch_symbol_fn)(const struct hotpatch_symbol *sym, void *ctx);

/*
 * Offline check of a patch file against the main executable it is written
 * for (`hotpatch build --target`): every symbol a descriptor looks up in the
 * main executable is looked up in binary_path, as apply would. fn (may be
 * NULL) is called for each descriptor, in file order, found or not. Returns
 * 0 when every symbol checked is found, else the first lookup's error (its
 * message in hotpatch_errmsg()), or the error reading either file.
 */
int hotpatch_check_symbols(const char *patch_path, const char *binary_path,
			   hotpatch_symbol_fn fn, void *ctx);

/*
 * A vfork child runs in its parent's memory until it execs: it is no target
 * of its own (apply refuses it). *parent = the parent whose memory pid
 * shares, or 0 when pid has its own (or its status cannot be read: it is
 * gone, or not ours to see). -EINVAL for pid <= 0.
 */
int hotpatch_mm_parent(pid_t pid, pid_t *parent);

/*
 * What this machine gives hotpatch. The first call probes (a child of the
 * caller is traced for about a millisecond); later calls return the same.
 * The strings are static.
 */
struct hotpatch_probe {
	bool hw_breakpoints;		/* an execute breakpoint in a debug register fires */
	const char *hw_reason;		/* what the probe saw */
	const char *breakpoints;	/* what runs threads to an address: "hardware" or "software" */
	const char *breakpoints_reason;	/* probed, or forced by HOTPATCH_BREAKPOINTS=hw|sw */
};
int hotpatch_probe(struct hotpatch_probe *out);

/* Everything apply verifies, without stopping the target. */
int hotpatch_check(pid_t pid, const char *patch_path, const struct hotpatch_opts *opts,
		   struct hotpatch_result *res);

/* Inject patch_path and activate every replacement, all or nothing. */
int hotpatch_apply(pid_t pid, const char *patch_path, const struct hotpatch_opts *opts,
		   struct hotpatch_result *res);

/* dlopen() any shared object in the target; *handle = the target's handle. */
int hotpatch_load(pid_t pid, const char *so_path, const struct hotpatch_opts *opts,
		  uint64_t *handle, struct hotpatch_timing *timing);

/* Applied patches of pid, oldest first. Free with hotpatch_list_free. */
int hotpatch_list(pid_t pid, struct hotpatch_patch **patches, unsigned *n);
void hotpatch_list_free(struct hotpatch_patch *patches, unsigned n);
void hotpatch_patch_release(struct hotpatch_patch *p);

/*
 * Revert one patch: 'what' is a numeric id or a patch path. Refused with
 * HOTPATCH_E_STACKED when a later patch replaces one of its functions.
 * (--all in the CLI is hotpatch_list + hotpatch_revert newest first.)
 */
int hotpatch_revert(pid_t pid, const char *what, const struct hotpatch_opts *opts,
		    struct hotpatch_result *res);

/*
 * Retained patches: reverted (their jumps are gone, nothing new enters
 * them), but their code stays loaded because something in the target may
 * still return into it or call it: a coroutine parked through the patch, a
 * stored pointer. Listed like hotpatch_list (funcs empty); free the same way.
 */
int hotpatch_list_retained(pid_t pid, struct hotpatch_patch **patches, unsigned *n);
/*
 * Unload every retained patch that nothing refers to any more (one stop to
 * prove it, then dlclose from a safe point). *freed: unloaded, *left: still
 * retained (either may be NULL).
 */
int hotpatch_reclaim(pid_t pid, const struct hotpatch_opts *opts, unsigned *freed, unsigned *left);

#ifdef __cplusplus
}
#endif
#endif /* LIBHOTPATCH_H */

/* SPDX-License-Identifier: MIT */
/*
 * Process control: the only layer that talks to ptrace (through ptrace.c, the
 * one gateway file; raw ptrace() is poisoned everywhere else).
 *
 * Model: struct proc is one target process. Its threads are either all
 * "held" (seized and stopped: stop-the-world) or "released" (detached, running).
 * One thread at a time may be "borrowed": kept seized while the others are
 * released, to run code in it (remote call) or to run it to an address.
 */
#ifndef HP_PROC_H
#define HP_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <signal.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

#include "arch/arch.h"
#include "common/common.h"

struct xstate {
	size_t len;		/* as the kernel reported it (11008 with AVX-512 + AMX) */
	uint8_t *buf;
};

struct thread {
	pid_t tid;
	bool attached;		/* seized by us */
	bool stopped;		/* in a ptrace-stop we caused or observed */
	bool gone;		/* exited while we looked at it */
	bool interrupt_sent;	/* PTRACE_INTERRUPT sent by the current proc_hold_all */
	bool was_stopped;	/* was in group-stop (T state) when we found it: keep it so */
	int pending_sig;	/* signal taken from a signal-delivery-stop, re-inject on resume */
	struct user_regs_struct regs;	/* valid while stopped (read at stop time) */
	bool regs_valid;
	bool dr_armed;		/* a debug register breakpoint is set */
	bool parked;		/* left the code we wait on: stays stopped in proc_run_until */
	bool interrupted;	/* in the event-stop of our PTRACE_INTERRUPT */
	bool seen_by_hold;	/* proc_hold_all_cb called its function for it */
	bool seccomp_checked;	/* proc_seccomp_check passed (or could not read its filters) */
	bool at_bp;		/* stopped on one of our int3s (pc rewound): waits to be stepped over */
	/*
	 * The call it was blocked in just before our interrupt, as /proc showed it, where the
	 * registers cannot say after (ARCH_SYSCALL_NEEDS_SNAPSHOT): for the EINTR repair. Valid
	 * only while the interrupt stop proves it the same call (stop.c).
	 */
	struct arch_syscall_snap snap;
	bool snap_valid;
	long snap_switches;	/* its voluntary context switches when snapped */
};

struct map {
	uint64_t start, end, offset;
	unsigned prot;		/* PROT_READ/WRITE/EXEC */
	bool shared;
	unsigned long long inode;
	unsigned dev_major, dev_minor;
	const char *path;	/* "" for anonymous; "[stack]" etc. kept as is; " (deleted)" stripped, see deleted;
				   in the block maps_parse returned */
	bool deleted;
};

struct proc {
	pid_t pid;
	int memfd;		/* /proc/PID/mem, O_RDWR */
	/*
	 * Every thread seen during this operation, gone ones included: entries
	 * are allocated one by one and never moved or freed before proc_close,
	 * so a struct thread * stays valid across rescans.
	 */
	struct thread **threads;
	size_t nthreads, cap;
	bool held;		/* all threads stopped */
	bool exited;
	bool was_group_stopped;	/* process was SIGSTOPped when we came */
	bool execed;		/* a thread called execve(): the image we worked on is gone */
	uint64_t startstack;	/* /proc/PID/stat field 28 at open: changes on exec */
	int lockfd;		/* proc_open_locked: held while p is open, -1 if none */
	int statfd;		/* /proc/PID/stat, open while p is (-1 if it could not be) */
	int pagemap_fd;		/* /proc/PID/pagemap, opened on first use (-1 until then) */
	bool pagemap_scan_absent;	/* the kernel has no PAGEMAP_SCAN (before 6.7) */
	uint64_t first_stop_ns, pause_ns;	/* accounting for timing.pause_ns */
	/* Called every slice while proc_run_until waits (progress reports), NULL if none. */
	void (*on_wait)(struct proc *p);
	void *wait_arg;
	/*
	 * Bits of a code address found in the target's stacks or registers that are not the
	 * address (aarch64 pac-ret: the PAC field of a signed return address; 0 on x86_64):
	 * proc_code_addr. Read once, from the first stopped thread (proc_code_mask).
	 */
	uint64_t code_mask;
	bool code_mask_read;
	uint64_t syscall_insn;	/* address of a 'syscall' instruction in the target, 0 = not found yet */
	struct map *maps;
	size_t nmaps;
	sigset_t old_sigmask;	/* ours, before SIGCHLD was blocked for bounded waits */
};

/* Check pid (exists, not a kernel thread, not traced by someone else, ptrace allowed) and open it. */
int proc_open(pid_t pid, struct proc **out);
/* proc_open for reading only (list, check): memory opened read-only, another tracer allowed. */
int proc_open_reader(pid_t pid, struct proc **out);
/*
 * proc_open for operations that change the target: first take the per-target
 * lock, waiting up to wait_ms for another hotpatch to finish (then
 * HOTPATCH_E_TRACED naming it). Held until proc_close.
 */
int proc_open_locked(pid_t pid, unsigned wait_ms, struct proc **out);
/* The parent pid whose memory pid shares (a vfork child before its exec), else 0. */
pid_t proc_mm_parent(pid_t pid);
/* Release everything; the process must already be released (proc_release_all). */
void proc_close(struct proc *p);

/*
 * Numeric field 'field' (1-based, as in proc(5)) of /proc/PID/stat, read
 * through a descriptor kept open (the file follows the task across exec:
 * one pread, even inside the pause); 0 if unreadable.
 */
uint64_t proc_stat_field(struct proc *p, int field);
/* Stop every thread (seize + interrupt), rescanning /proc/PID/task until stable. */
int proc_hold_all(struct proc *p);
/*
 * The same, calling fn(arg, p, t) once for each thread as soon as it is
 * stopped, while the threads after it are still on their way to their
 * stops: work on a stopped thread overlaps the stopping of the others.
 * A thread fn saw stays stopped until proc_hold_all_cb returns (on failure
 * everything is released and what fn learned is stale).
 */
typedef void (*proc_stop_fn)(void *arg, struct proc *p, struct thread *t);
int proc_hold_all_cb(struct proc *p, proc_stop_fn fn, void *arg);
/* Resume (detach) every thread except 'keep' (may be NULL) and parked ones: pending signals re-injected. */
int proc_release_all(struct proc *p, struct thread *keep);
/* Resume (detach) one thread, re-injecting its pending signal. */
int proc_release_thread(struct proc *p, struct thread *t);
/*
 * Resume one stopped thread but stay attached (PTRACE_CONT): its pending
 * signal re-injected, an EINTR our stop caused repaired as at release.
 */
int proc_resume_thread(struct proc *p, struct thread *t);
/*
 * A new thread of p that the kernel attached to us (PTRACE_O_TRACECLONE)
 * and that is in its first stop: record it as attached and stopped.
 */
struct thread *proc_adopt_thread(struct proc *p, pid_t tid);
/*
 * The process exited (or is a zombie) or exec'd (p->execed), so whatever
 * failed, failed because of that: callers report HOTPATCH_E_EXITED instead of
 * the symptom (ESRCH, ENOENT, EPERM from seizing a dying thread).
 */
bool proc_vanished(struct proc *p);
/* The process runs under a seccomp filter (mode 2): our remote syscalls may be refused. */
bool proc_seccomp_filtered(struct proc *p);
/* proc_vanished, waiting up to ms for an exit or exec in progress when err is -ESRCH/EXITED. */
bool proc_wait_vanished(struct proc *p, int err, unsigned ms);
/*
 * Borrow one thread (seize and stop it), leaving the others alone: nothing
 * needs the world stopped to run dlopen in a thread found at a safe point.
 * Release it with proc_release_all. *out points into p->threads.
 */
int proc_hold_one(struct proc *p, pid_t tid, struct thread **out);
/* Thread ids of p now (/proc/PID/task), malloc'd. */
int proc_tasks(struct proc *p, pid_t **tids, size_t *n);
/* The system call thread tid is blocked in, -1 if running or not in one (no stop needed). */
long proc_blocked_syscall(struct proc *p, pid_t tid);
/* Detach everything; used on error paths, never fails silently: logs. */
void proc_abandon(struct proc *p);

/*
 * The PAC bits of p's return addresses (arch_code_mask_regset), read from a stopped thread the
 * first time (0 when there are none or no thread is stopped yet).
 */
uint64_t proc_code_mask(struct proc *p);
/*
 * Before injected code runs in stopped thread t: its seccomp filters (if any) are run on every
 * system call that code makes; HOTPATCH_E_PERM when one would kill the thread or the process,
 * raise SIGSYS or wait for a supervisor. Unreadable filters: a warning, 0. Checked once per thread.
 */
int proc_seccomp_check(struct proc *p, struct thread *t);
/*
 * The CPU state of stopped thread t that injected code must not run under and that is not
 * saved around it (arch_live_state: aarch64's SME streaming mode or ZA storage), or NULL.
 */
const char *proc_thread_live_state(struct proc *p, struct thread *t);
/* v as a code address: a signed return address with its signature stripped. */
static inline uint64_t proc_code_addr(uint64_t mask, uint64_t v)
{
	return v & ~mask;
}

/* Memory through /proc/PID/mem: writes reach read-only text without mprotect. */
int proc_read(struct proc *p, uint64_t addr, void *buf, size_t len);
/*
 * backed[i] = 1 when page i of [start, start + npages * 4096) holds data
 * (present or swapped), 0 when untouched (reads as zeros). -errno on failure.
 */
int proc_pages_backed(struct proc *p, uint64_t start, size_t npages, uint8_t *backed);
/*
 * The runs of backed (present or swapped) pages in [start, end), found by the kernel
 * (PAGEMAP_SCAN, Linux 6.7) without a word per page: a 14 TiB sparse mapping (a sanitizer's
 * shadow) takes milliseconds. Up to max runs in out (start, end), *next where the walk stopped
 * (end when it is done). Returns the count, or -EOPNOTSUPP on a kernel without it.
 */
int proc_backed_runs(struct proc *p, uint64_t start, uint64_t end, uint64_t (*out)[2], size_t max,
		     uint64_t *next);
int proc_write(struct proc *p, uint64_t addr, const void *buf, size_t len);

/* /proc/PID/maps into p->maps (re-read on each call). */
int proc_maps_refresh(struct proc *p);
const struct map *proc_map_find(const struct proc *p, uint64_t addr);
/* Parse maps text (fuzzed). *out is malloc'd. */
int maps_parse(const char *text, size_t len, struct map **out, size_t *n);

/* Registers of a stopped thread. */
int thread_get_regs(struct proc *p, struct thread *t);
int thread_set_regs(struct proc *p, struct thread *t, const struct user_regs_struct *regs);
int thread_get_xstate(struct thread *t, struct xstate *xs);
int thread_set_xstate(struct thread *t, const struct xstate *xs);
void xstate_release(struct xstate *xs);

/*
 * Run fn(args) in stopped thread t and restore t exactly (general registers,
 * full xstate, signal mask), whatever happens; an interrupted syscall
 * restarts transparently afterwards. Signals arriving meanwhile stay pending
 * (all blocked during the call) and are delivered after the restore.
 * 'data' (len bytes) is copied below the red zone; its address replaces any
 * argument equal to REMOTE_DATA. Bounded by deadline_ns (CLOCK_MONOTONIC).
 */
#define REMOTE_DATA ((uint64_t)-0x4844)
int proc_remote_call(struct proc *p, struct thread *t, uint64_t fn, const uint64_t *args,
		     int nargs, const void *data, size_t len, uint64_t *ret, uint64_t deadline_ns);
/*
 * A remote call can watch the system calls its code makes: at each entry
 * at_syscall(arg, ...) gets the number and arguments and may change the
 * arguments in *regs (return 1 to have them written back). It sets *done
 * when it wants no more calls; tracing also ends if a stop cannot be read.
 * Each traced call costs two extra stops, so hooks end as soon as they can.
 */
struct remote_hook {
	int (*at_syscall)(void *arg, struct proc *p, struct thread *t, long nr,
			  const uint64_t args[6], struct user_regs_struct *regs, bool *done);
	void *arg;
};
int proc_remote_call_hooked(struct proc *p, struct thread *t, uint64_t fn, const uint64_t *args,
			    int nargs, const void *data, size_t len, uint64_t *ret,
			    uint64_t deadline_ns, const struct remote_hook *hook);
/*
 * Execute one instruction of stopped thread t's own code, all signals held
 * back meanwhile; t->regs are its registers afterwards.
 */
int proc_step(struct proc *p, struct thread *t, uint64_t deadline_ns);
/* Run a system call in stopped thread t (restored afterwards). *ret = raw result (-errno). */
int proc_remote_syscall(struct proc *p, struct thread *t, long nr, const uint64_t *args, int nargs,
			const void *data, size_t len, long *ret);

/*
 * Let the threads in ts[] run (the others of p: released) until one reaches
 * its own address addrs[i] (hardware breakpoint in that thread only). On
 * success *hit = index, that thread is stopped at the address, every other
 * thread is stopped again, breakpoints cleared. Parked threads stay stopped
 * (they already left the code being waited on and must not re-enter it).
 * With 'alone' the other threads
 * stay stopped (nobody else can enter the code meanwhile, but a candidate
 * waiting on a stopped thread cannot finish). -HOTPATCH_E_TIMEOUT at deadline
 * (everything stopped again, breakpoints cleared).
 */
int proc_run_until(struct proc *p, struct thread **ts, const uint64_t *addrs, size_t n, bool alone,
		   uint64_t deadline_ns, size_t *hit);

/*
 * The breakpoint proc_run_until uses. Hardware (a debug register of the
 * thread: nothing written into the code) where a probe on a child of ours
 * has seen one fire, else software (an int3 written into the code through
 * /proc/PID/mem; every other thread and child that meets it is handled).
 * HOTPATCH_BREAKPOINTS=hw|sw forces one, =auto (default) probes, once per
 * process. *why (may be NULL) says how it was chosen.
 */
enum proc_bp { PROC_BP_HW = 1, PROC_BP_SW = 2 };
enum proc_bp proc_bp_mechanism(const char **why);
/* The probe alone (cached): does a debug-register breakpoint fire on this machine? */
bool proc_hw_breakpoints_fire(const char **why);

struct thread *proc_thread(struct proc *p, pid_t tid);
/* Threads not gone. */
size_t proc_nlive(const struct proc *p);

#endif

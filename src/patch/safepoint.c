/* SPDX-License-Identifier: MIT */
/*
 * Safe points (which thread may run dlopen without deadlocking on a lock it
 * holds itself) and the consistency check (no thread inside code we are about
 * to redirect or unmap). Both look at every stopped thread's stack.
 */
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>

#include "arch/arch.h"
#include "patch/patch.h"
#include "unwind/unwind.h"

#define MAX_FRAMES 128

struct stack {
	uint64_t pcs[MAX_FRAMES];
	bool act[MAX_FRAMES];	/* an activation: pcs[0], or the context a signal interrupted */
	size_t n;
	int complete;
};

static int thread_stack(struct proc *p, struct unwinder *uw, struct thread *t, struct stack *s)
{
	int err = thread_get_regs(p, t);
	if (err)
		return err;
	s->n = 0;
	s->complete = 0;
	unwind_set_code_mask(uw, proc_code_mask(p));
	err = unwind_thread_act(uw, t->tid, &t->regs, s->pcs, s->act, MAX_FRAMES, &s->n,
				&s->complete);
	if (err || !s->n) {
		/* Whatever happened, the pc itself is known. */
		s->pcs[0] = arch_pc(&t->regs);
		s->act[0] = true;
		s->n = 1;
		s->complete = 0;
	}
	return 0;
}

/* A return address points after the call: look up the byte before it. An activation's pc is exact. */
static uint64_t frame_addr(const struct stack *s, size_t i)
{
	return s->act[i] ? s->pcs[i] : s->pcs[i] - 1;
}

/*
 * libc functions that block in a system call while holding no lock dlopen or
 * malloc need; a thread parked in one of them (several libc frames deep) is as
 * good as one in a bare syscall wrapper.
 */
static const char *const blocking_fns[] = {
	"__futex_abstimed_wait", "__GI___futex_abstimed_wait", "futex_wait", "__futex_wait",
	"__pthread_cond_wait", "___pthread_cond_wait", "pthread_cond_wait", "___pthread_cond_timedwait",
	"pthread_cond_timedwait", "__pthread_cond_timedwait", "pthread_cond_clockwait",
	"__pthread_clockjoin_ex", "pthread_join", "__pthread_join", "sem_wait", "__new_sem_wait",
	"sem_timedwait", "sem_clockwait", "do_futex_wait", "__new_sem_wait_slow",
	"__clock_nanosleep", "clock_nanosleep", "__nanosleep", "nanosleep", "sleep", "usleep",
	"__sleep", "pause", "__libc_pause", "sigsuspend", "__sigsuspend", "sigwait", "__sigwait",
	"sigwaitinfo", "sigtimedwait", "__sigtimedwait", "do_sigwait", "__select", "select",
	"__poll", "poll", "ppoll", "__ppoll", "epoll_wait", "epoll_pwait", "__libc_read", "read",
	"__read", "__libc_recv", "recv", "recvfrom", "recvmsg", "__libc_recvfrom", "accept",
	"accept4", "__libc_accept", "waitpid", "__waitpid", "wait4", "__wait4", "wait", "msgrcv",
	"__libc_msgrcv", "pselect", "__pselect", "__pselect64", "__select64", "__GI___clock_nanosleep",
	"__GI___nanosleep", "__GI___libc_read", "__GI___poll", "__GI_epoll_wait", "__GI___sigtimedwait",
	"__GI___pthread_cond_wait", "__pthread_cond_wait_common", "__libc_wait",
};

static bool blocking_name(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(blocking_fns); i++)
		if (!strcmp(name, blocking_fns[i]))
			return true;
	return false;
}

static bool frame_is_blocking(struct objects *objs, struct object *o, uint64_t addr)
{
	struct elf_file *ef;
	struct elf_sym sym;
	(void)objs;
	if (object_elf(o, &ef) || elf_file_symbolize(ef, addr - o->bias, &sym))
		return false;
	return blocking_name(sym.name);
}

/*
 * Entry points of an allocator linked into the executable (upstream redis
 * links jemalloc in, with the je_ prefix): a thread inside one may hold the
 * allocator's lock or be halfway through its thread cache, and the dlopen
 * run in it calls malloc. Inside, the allocator's own functions have no
 * names we know; its entry point is still on the stack below them.
 */
static bool allocator_name(const char *n)
{
	static const char *const fns[] = {
		"malloc", "free", "calloc", "realloc", "reallocarray", "posix_memalign",
		"aligned_alloc", "memalign", "valloc", "pvalloc", "cfree", "malloc_usable_size",
		"mallocx", "rallocx", "xallocx", "sallocx", "dallocx", "sdallocx", "nallocx",
		"mallctl", "malloc_trim", "mallinfo", "mallinfo2",
	};
	for (size_t i = 0; i < ARRAY_SIZE(fns); i++)
		if (!strcmp(n, fns[i]))
			return true;
	return !strncmp(n, "je_", 3) || !strncmp(n, "tc_", 3) || !strncmp(n, "mi_", 3);
}

/* Frame i may hold an allocator's lock or cache: see struct object's allocator. */
static bool allocator_frame(struct object *o, uint64_t addr)
{
	struct elf_file *ef;
	struct elf_sym sym;

	if (!o || !o->allocator)
		return false;
	if (!o->main)
		return true;
	if (object_elf(o, &ef) || elf_file_symbolize(ef, addr - o->bias, &sym))
		return false;
	return allocator_name(sym.name);
}

enum verdict { UNSAFE, SAFE, SAFE_IDLE };

/* pc stands on a system call instruction, or just after one (the call in progress or ended). */
static bool at_syscall(struct proc *p, uint64_t pc)
{
	uint8_t b[2 * ARCH_SYSCALL_INSN_LEN];
	if (proc_read(p, pc - ARCH_SYSCALL_INSN_LEN, b, sizeof(b))) {
		hp_err_clear();
		return false;
	}
	return !memcmp(b, ARCH_SYSCALL_INSN, ARCH_SYSCALL_INSN_LEN) ||
	       !memcmp(b + ARCH_SYSCALL_INSN_LEN, ARCH_SYSCALL_INSN, ARCH_SYSCALL_INSN_LEN);
}

/*
 * Signal frames. A handler may run for a long time, or for good: the
 * PostgreSQL postmaster forks its children from inside its SIGCHLD handler
 * while blocked in select(), so each child lives its whole life above a
 * signal frame over libc's select. What such a frame interrupted holds no
 * lock when it is a blocking system call wrapper stopped at its system
 * call (the same rule as for a thread's innermost frames), and the
 * trampoline that returns from the handler (libc's __restore_rt) holds
 * none either: those frames are cleared in held[].
 */
static void signal_frames_free(struct proc *p, struct objects *objs, const struct stack *s,
			       struct object **obj, size_t m, bool *held)
{
	for (size_t i = 1; i < m; i++) {
		if (!s->act[i])
			continue;
		if (obj[i - 1] && obj[i - 1]->runtime && !obj[i - 1]->is_ld)
			held[i - 1] = false;	/* the trampoline */
		size_t j = i;
		while (j < m && obj[j] && obj[j]->runtime && !obj[j]->is_ld)
			j++;
		if (j == i || (j < m && (!obj[j] || obj[j]->runtime)))
			continue;	/* no libc frame interrupted, or ld.so / unknown code */
		if (!at_syscall(p, s->pcs[i]))
			continue;	/* interrupted while computing: it may hold anything */
		bool ok = j - i == 1;
		for (size_t f = i; !ok && f < j; f++)
			ok = frame_is_blocking(objs, obj[f], frame_addr(s, f));
		if (!ok)
			continue;
		for (size_t f = i; f < j; f++)
			held[f] = false;
		hp_debug("pid %d: signal frame over a blocking call (frame %zu): holds no lock",
			 p->pid, i);
	}
}

/*
 * Is this thread at a safe point? When it is not, *bp is where it will be:
 * the return address of its outermost libc/ld.so frame, 0 if unknown.
 */
static enum verdict classify(struct proc *p, struct objects *objs, struct thread *t,
			     const struct stack *s, uint64_t *bp)
{
	struct object *obj[MAX_FRAMES];
	size_t n = s->n;

	*bp = 0;
	/*
	 * A thread in group-stop (SIGSTOP) may host dlopen like any other: its
	 * stack tells whether it holds a lock. It only must not be run to a safe
	 * point: that would run its own code while its user wants it stopped.
	 */
	if (!s->complete)
		return UNSAFE;
	/* CPU state injected code would not preserve (aarch64 SME): never a host. */
	const char *live = proc_thread_live_state(p, t);
	if (live) {
		hp_debug("pid %d: thread %d is in %s", p->pid, t->tid, live);
		return UNSAFE;
	}
	for (size_t i = 0; i < n; i++)
		obj[i] = objects_find_addr(objs, frame_addr(s, i));
	/*
	 * Drop the thread's entry frames (outermost: _start, __libc_start_main,
	 * start_thread, clone3): libc frames there hold no lock.
	 */
	size_t m = n;
	while (m > 0 && (m == n || !obj[m - 1] || obj[m - 1]->runtime)) {
		if (m == n || !obj[m - 1] || obj[m - 1]->runtime)
			m--;
		if (m < n && m > 0 && obj[m - 1] && !obj[m - 1]->runtime)
			break;
	}
	if (m == 0)
		return UNSAFE;	/* nothing but runtime code: a libc-internal thread */
	size_t k = 0;
	while (k < m && obj[k] && obj[k]->runtime)
		k++;
	bool held[MAX_FRAMES];	/* a runtime frame that may hold a lock */
	for (size_t i = 0; i < m; i++)
		held[i] = !obj[i] || obj[i]->runtime;
	signal_frames_free(p, objs, s, obj, m, held);
	/* An interposed allocator's frames are as libc's malloc (not cleared by a signal frame). */
	for (size_t i = 0; i < m; i++)
		held[i] |= allocator_frame(obj[i], frame_addr(s, i));
	ssize_t last_rt = -1;
	for (size_t i = 0; i < m; i++)
		if (held[i])
			last_rt = (ssize_t)i;
	if (last_rt >= (ssize_t)k) {
		/* A libc/ld.so frame between user frames (a callback): run past the outermost. */
		*bp = s->pcs[last_rt + 1];
		return UNSAFE;
	}
	if (k == 0)
		return SAFE;
	/* aarch64's registers do not say (ARCH_SYSCALL_NR_IN_REGS): its pc is on the svc then. */
	bool in_syscall = ARCH_SYSCALL_NR_IN_REGS ? arch_syscall_nr(&t->regs) >= 0
						  : at_syscall(p, arch_pc(&t->regs));
	if (in_syscall) {
		bool ok = k == 1;
		for (size_t i = 0; !ok && i < k; i++)
			ok = frame_is_blocking(objs, obj[i], frame_addr(s, i));
		if (ok && !obj[0]->is_ld)
			return SAFE_IDLE;
	}
	*bp = s->pcs[k];
	(void)p;
	return UNSAFE;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { 0, (long)ms * 1000000 };
	nanosleep(&ts, NULL);
}

/* What a wait is for, for progress reports (p->wait_arg while proc_run_until waits). */
struct wait_info {
	pid_t tid;
	const char *what;	/* function to leave, NULL: a safe point */
	uint64_t start, deadline;
};

static void wait_tick(struct proc *p)
{
	const struct wait_info *w = p->wait_arg;

	hp_progress(p->pid, w->tid, w->what, w->start, w->deadline);
}

/* proc_run_until, reporting progress while it waits. */
static int run_until_reporting(struct proc *p, struct thread **ts, const uint64_t *addrs, size_t n,
			       bool alone, uint64_t until, size_t *hit, struct wait_info *w)
{
	p->on_wait = wait_tick;
	p->wait_arg = w;
	int err = proc_run_until(p, ts, addrs, n, alone, until, hit);
	p->on_wait = NULL;
	p->wait_arg = NULL;
	return err;
}

int safepoint_choose(struct proc *p, struct objects *objs, uint64_t deadline, struct thread **out)
{
	struct wait_info wi = { .start = hp_now_ns(), .deadline = deadline };
	struct unwinder *uw;
	int err = objects_unwinder(objs, &uw);
	if (err)
		return err;
	struct stack *s = malloc(sizeof(*s));
	struct thread **cand = NULL;
	uint64_t *addrs = NULL;
	unsigned rounds = 0;

	if (!s)
		return -ENOMEM;
	for (;; rounds++) {
		struct thread *best = NULL;
		enum verdict best_v = UNSAFE;
		size_t nc = 0;
		free(cand);
		free(addrs);
		cand = calloc(p->nthreads + 1, sizeof(*cand));
		addrs = calloc(p->nthreads + 1, sizeof(*addrs));
		if (!cand || !addrs) {
			err = -ENOMEM;
			break;
		}
		for (size_t i = 0; i < p->nthreads; i++) {
			struct thread *t = p->threads[i];
			uint64_t bp;
			if (!t->attached || !t->stopped)
				continue;
			err = thread_stack(p, uw, t, s);
			if (err)
				break;
			enum verdict v = classify(p, objs, t, s, &bp);
			hp_debug("pid %d: thread %d: %s (%zu frames%s)", p->pid, t->tid,
				 v == SAFE_IDLE ? "safe, idle" : v == SAFE ? "safe" : "unsafe", s->n,
				 s->complete ? "" : ", incomplete");
			if (v > best_v) {
				best = t;
				best_v = v;
			}
			/* Nothing beats an idle thread: unwinding the rest would only lengthen the pause. */
			if (v == SAFE_IDLE)
				break;
			if (v == UNSAFE && bp && !t->was_stopped) {
				cand[nc] = t;
				addrs[nc++] = bp;
			}
		}
		if (err)
			break;
		if (best) {
			*out = best;
			break;
		}
		if (hp_interrupt_pending()) {
			err = hp_err(HOTPATCH_E_INTR, "pid %d: interrupted while waiting for a safe point",
				     p->pid);
			break;
		}
		if (hp_now_ns() >= deadline) {
			err = hp_err(HOTPATCH_E_UNSAFE,
				     "pid %d: no thread reached a safe point (outside libc and ld.so) in time",
				     p->pid);
			break;
		}
		if (nc) {
			/* Let them run, the others too so lock holders can release, until one leaves libc. */
			size_t hit;
			uint64_t dl = hp_now_ns() + 100000000ull;
			wi.tid = nc == 1 ? cand[0]->tid : 0;
			err = run_until_reporting(p, cand, addrs, nc, false,
						  dl < deadline ? dl : deadline, &hit, &wi);
			if (err == -HOTPATCH_E_TIMEOUT) {
				hp_err_clear();
				err = 0;
			}
			if (err == -HOTPATCH_E_INTR)
				err = hp_err_force(HOTPATCH_E_INTR,
						   "pid %d: interrupted while waiting for a safe point",
						   p->pid);
			if (err)
				break;
		} else {
			/* Nothing to aim at: give the process a moment and look again. */
			hp_progress(p->pid, 0, NULL, wi.start, deadline);
			err = proc_release_all(p, NULL);
			if (!err) {
				sleep_ms(rounds < 10 ? 1 : 10);
				err = proc_hold_all(p);
			}
			if (err)
				break;
		}
	}
	hp_progress_done();
	free(cand);
	free(addrs);
	free(s);
	return err;
}

/*
 * System calls that restart transparently after a ptrace stop (the kernel
 * rewinds them, or resumes them through restart_syscall), so a thread
 * blocked in one can be borrowed for dlopen without the program noticing.
 * Not epoll_wait, sigtimedwait, semop...: a stop makes those return EINTR
 * (man 7 signal, "interrupted by a stop signal"); such threads come second.
 * poll, select and pause exist only on the older syscall tables (x86_64, not aarch64, whose
 * libc uses ppoll and pselect6 for them).
 */
static const long quiet_syscalls[] = {
	SYS_read, SYS_nanosleep, SYS_accept, SYS_recvfrom,
	SYS_recvmsg, SYS_wait4, SYS_rt_sigsuspend, SYS_futex, SYS_clock_nanosleep, SYS_waitid,
	SYS_pselect6, SYS_ppoll, SYS_accept4, SYS_recvmmsg,
#ifdef SYS_poll
	SYS_poll,
#endif
#ifdef SYS_select
	SYS_select,
#endif
#ifdef SYS_pause
	SYS_pause,
#endif
};

#define BORROW_TRIES 8

static bool quiet_syscall(long nr)
{
	for (size_t i = 0; i < ARRAY_SIZE(quiet_syscalls); i++)
		if (nr == quiet_syscalls[i])
			return true;
	return false;
}

/* Borrow tid if it is at a safe point; 1 = borrowed, 0 = not safe (released again). */
static int try_borrow(struct proc *p, struct objects *objs, struct unwinder *uw, pid_t tid,
		      struct stack *s, struct thread **out)
{
	struct thread *t;
	uint64_t bp;
	int err = proc_hold_one(p, tid, &t);
	if (err)
		return err;
	err = thread_stack(p, uw, t, s);
	enum verdict v = err ? UNSAFE : classify(p, objs, t, s, &bp);
	hp_debug("pid %d: thread %d: %s (%zu frames%s), alone", p->pid, t->tid,
		 v == SAFE_IDLE ? "safe, idle" : v == SAFE ? "safe" : "unsafe", s->n,
		 s->complete ? "" : ", incomplete");
	if (v != UNSAFE) {
		*out = t;
		return 1;
	}
	proc_release_all(p, NULL);
	return err;
}

int safepoint_borrow(struct proc *p, struct objects *objs, uint64_t deadline, struct thread **out)
{
	struct unwinder *uw;
	pid_t *tids = NULL, quiet[BORROW_TRIES], other[BORROW_TRIES];
	size_t n = 0, nq = 0, no = 0;
	int err = objects_unwinder(objs, &uw);
	if (err)
		return err;
	struct stack *s = malloc(sizeof(*s));
	if (!s)
		return -ENOMEM;
	/* Candidates: threads blocked in a system call, which need not run to get to a safe point. */
	err = proc_tasks(p, &tids, &n);
	for (size_t i = 0; !err && i < n && nq < BORROW_TRIES; i++) {
		long nr = proc_blocked_syscall(p, tids[i]);
		if (nr >= 0 && quiet_syscall(nr))
			quiet[nq++] = tids[i];
		else if (nr >= 0 && no < BORROW_TRIES)
			other[no++] = tids[i];
	}
	free(tids);
	int r = 0;
	for (size_t i = 0; !err && r != 1 && i < nq + no; i++) {
		r = try_borrow(p, objs, uw, i < nq ? quiet[i] : other[i - nq], s, out);
		/*
		 * Exited, exiting, did not stop: try the next. Not permitted
		 * or traced by someone else: stopping all says so below.
		 */
		if (r == -ENOMEM)
			err = r;
		else if (r < 0)
			hp_err_clear();
	}
	free(s);
	if (err || r == 1)
		return err;
	/* Nobody idles at a safe point: stop the world, and run threads to one if need be. */
	err = proc_hold_all(p);
	if (err)
		return err;
	err = safepoint_choose(p, objs, deadline, out);
	if (!err)
		err = proc_release_all(p, *out);
	if (err)
		proc_release_all(p, NULL);
	return err;
}

/*
 * The ranges sorted by start, with the largest end so far: a lookup is a
 * binary search, not a walk of 1000 ranges per frame and per stack word.
 */
struct rset {
	struct range *v;
	uint64_t *maxend;	/* maxend[i] = max(v[0..i].end) */
	size_t n;
};

static int cmp_range(const void *a, const void *b)
{
	const struct range *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

static int rset_init(struct rset *rs, const struct range *r, size_t n)
{
	rs->n = n;
	rs->v = malloc((n + 1) * sizeof(*rs->v));
	rs->maxend = malloc((n + 1) * sizeof(*rs->maxend));
	if (!rs->v || !rs->maxend) {
		free(rs->v);
		free(rs->maxend);
		return -ENOMEM;
	}
	memcpy(rs->v, r, n * sizeof(*r));
	qsort(rs->v, n, sizeof(*rs->v), cmp_range);
	for (size_t i = 0; i < n; i++)
		rs->maxend[i] = i && rs->maxend[i - 1] > rs->v[i].end ? rs->maxend[i - 1] : rs->v[i].end;
	return 0;
}

static void rset_release(struct rset *rs)
{
	free(rs->v);
	free(rs->maxend);
}

static const struct range *in_ranges(const struct rset *rs, uint64_t a)
{
	size_t lo = 0, hi = rs->n;

	while (lo < hi) {	/* first range starting after a */
		size_t mid = lo + (hi - lo) / 2;
		if (rs->v[mid].start <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i-- > 0 && rs->maxend[i] > a;)
		if (a < rs->v[i].end)
			return &rs->v[i];
	return NULL;
}

/* A word that may be a return address (look up the byte before it) or a pc into a range. */
static const struct range *code_word_hit(const struct rset *r, uint64_t c)
{
	const struct range *hit = in_ranges(r, c - 1);
	return hit ? hit : in_ranges(r, c);
}

/*
 * Where a call leaves its return address in a register (aarch64's x30), a leaf function keeps
 * it there and not on the stack: the register counts as a stack word.
 */
static const struct range *ra_register_hit(struct proc *p, const struct thread *t,
					   const struct rset *r)
{
	uint64_t dw[ARCH_DWARF_NREGS];
	int ra = arch_dwarf_ra_reg();
	if (ra < 0 || ra >= arch_dwarf_regs(&t->regs, dw))
		return NULL;
	return code_word_hit(r, proc_code_addr(proc_code_mask(p), dw[ra]));
}

/* Without a complete unwind, look at every word of the stack: a false alarm only costs a retry. */
static const struct range *stack_scan(struct proc *p, struct thread *t, const struct rset *r,
				      bool *maps_fresh)
{
	const struct range *lr = ra_register_hit(p, t, r);
	if (lr)
		return lr;
	uint64_t sp = arch_sp(&t->regs), buf[512], mask = proc_code_mask(p);
	/* Thread stacks mapped since the last read: refresh once per check, and only if needed. */
	if (!*maps_fresh && !proc_maps_refresh(p))
		*maps_fresh = true;
	const struct map *m = proc_map_find(p, sp);
	uint64_t end = m ? m->end : sp;
	if (end - sp > (256u << 10))
		end = sp + (256u << 10);
	for (uint64_t a = sp & ~7ull; a < end; a += sizeof(buf)) {
		size_t len = end - a < sizeof(buf) ? end - a : sizeof(buf);
		if (proc_read(p, a, buf, len))
			break;
		for (size_t i = 0; i < len / 8; i++) {
			const struct range *hit = in_ranges(r, proc_code_addr(mask, buf[i]) - 1);
			if (hit)
				return hit;
		}
	}
	hp_err_clear();
	return NULL;
}

/*
 * A cheaper proof that a thread is outside every range, tried before the
 * unwinder (5 us a thread, most of the pause with many threads): neither its
 * pc nor any word of its stack, from sp to the top (the main thread: the end
 * of [stack]; the others: their thread pointer, glibc's thread block sitting
 * above the frames), points into a range, as a return address or as a pc.
 * A return address is always on the stack it returns to, so that covers
 * every frame on that stack. It does not cover frames on another stack: a
 * signal handler running on sigaltstack, whose interrupted context is
 * elsewhere. A signal frame starts with the address of the sa_restorer
 * trampoline and holds the alternate stack's bounds (uc_stack): a word
 * equal to a libc's restorer, or a (base, flags, size) triple whose range
 * holds sp, means the unwinder decides (it follows signal frames). Only
 * used when every libc of the process has its restorer found; any doubt (a
 * stack beyond 64 KiB, a read failing, an odd thread pointer), and the
 * unwinder decides.
 */
#define QUICK_MAX (64u << 10)
#define QUICK_RESTORERS 4

struct quick {
	bool on;
	size_t nrestorer;
	uint64_t restorer[QUICK_RESTORERS];
	uint64_t main_stack_end;
	uint64_t *buf;
	unsigned cleared, unwound;	/* threads decided each way (debug log) */
};

static void quick_setup(struct proc *p, struct objects *objs, struct quick *q)
{
	static const char *const names[] = { "__libc_sigaction", "__sigaction", "sigaction", NULL };
	uint8_t win[4096];
	size_t defs = 0, libcs = 0;

	memset(q, 0, sizeof(*q));
	for (size_t i = 0; i < objs->n; i++)
		libcs += objs->v[i].is_libc;
	for (size_t i = 0; i < objs->n; i++) {
		struct object *o = &objs->v[i];
		struct elf_file *ef;
		struct elf_sym sym;
		/* The executable only when no libc is loaded: a static one carries its own. */
		if (!(libcs ? o->is_libc : o->main) || object_elf(o, &ef))
			continue;
		const char *const *n;
		for (n = names; *n && elf_file_find(ef, *n, NULL, ELF_SYM_FUNC, &sym); n++)
			;
		if (!*n)
			continue;
		/* glibc emits __restore_rt in the file of __libc_sigaction, next to it. */
		defs++;
		uint64_t a = sym.value + o->bias - sizeof(win) / 2;
		const uint8_t *hit = proc_read(p, a, win, sizeof(win)) ? NULL :
			memmem(win, sizeof(win), ARCH_SIGRETURN_STUB, ARCH_SIGRETURN_STUB_LEN);
		if (!hit || q->nrestorer == QUICK_RESTORERS)
			break;
		q->restorer[q->nrestorer++] = a + (uint64_t)(hit - win);
	}
	hp_err_clear();
	if (!defs || q->nrestorer != defs)
		return;
	for (size_t i = 0; i < p->nmaps; i++)
		if (!strcmp(p->maps[i].path, "[stack]"))
			q->main_stack_end = p->maps[i].end;
	q->buf = malloc(QUICK_MAX);
	q->on = q->main_stack_end && q->buf;
}

static bool quick_clear(struct proc *p, struct thread *t, const struct rset *r,
			struct quick *q)
{
	if (!q || !q->on)
		return false;
	/* An odd sp (hand-written code) may hold return addresses between our words. */
	if (arch_sp(&t->regs) & 7)
		return false;
	uint64_t pc = arch_pc(&t->regs), sp = arch_sp(&t->regs), mask = proc_code_mask(p);
	uint64_t top = (t->tid == p->pid ? q->main_stack_end : arch_tls_base(&t->regs)) & ~7ull;
	if (in_ranges(r, pc) || sp >= top || top - sp > QUICK_MAX)
		return false;
	if (ra_register_hit(p, t, r))
		return false;
	size_t n = (top - sp) / 8;
	if (proc_read(p, sp, q->buf, n * 8)) {
		hp_err_clear();
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		uint64_t w = q->buf[i];
		if (code_word_hit(r, proc_code_addr(mask, w)))
			return false;
		for (size_t k = 0; k < q->nrestorer; k++)
			if (w == q->restorer[k])
				return false;
		/*
		 * The uc_stack of a signal frame (ss_sp, ss_flags, ss_size) whose
		 * alternate stack holds sp: caught whatever the restorer.
		 */
		if (i + 2 < n && w <= sp && q->buf[i + 2] <= (1ull << 30) && sp - w < q->buf[i + 2])
			return false;
	}
	q->cleared++;
	return true;
}

int leave_windows(struct proc *p, const struct range *win, size_t n, uint64_t deadline)
{
	struct range *r = calloc(n + 1, sizeof(*r));
	struct rset rs;
	bool maps_fresh = false;
	int err = 0;

	if (!r)
		return -ENOMEM;
	/* A return address strictly inside a window w: ret - 1 in [w.start, w.end - 1). */
	for (size_t i = 0; i < n; i++)
		r[i] = (struct range){ win[i].start, win[i].end - 1, win[i].what };
	err = rset_init(&rs, r, n);
	free(r);
	if (err)
		return err;
	for (size_t i = 0; !err && i < p->nthreads; i++) {
		struct thread *t = p->threads[i];
		if (!t->attached || !t->stopped || t->gone)
			continue;
		err = thread_get_regs(p, t);
		for (int steps = 0; !err; steps++) {
			uint64_t pc = arch_pc(&t->regs);
			const struct range *w = NULL;
			for (size_t k = 0; k < n && !w; k++)
				if (pc > win[k].start && pc < win[k].end)
					w = &win[k];
			if (!w) {
				if (steps)
					hp_debug("pid %d: thread %d stepped out of the first bytes of a function (%d steps)",
						 p->pid, t->tid, steps);
				break;
			}
			if (steps == 64 || t->was_stopped)
				err = hp_err(HOTPATCH_E_BUSY,
					     "pid %d: thread %d stays inside the first bytes of '%s'",
					     p->pid, t->tid, w->what);
			else
				err = proc_step(p, t, deadline);
		}
		const struct range *hit = err ? NULL : stack_scan(p, t, &rs, &maps_fresh);
		if (hit)
			err = hp_err(HOTPATCH_E_BUSY,
				     "pid %d: thread %d will return into the first bytes of '%s'", p->pid,
				     t->tid, hit->what);
	}
	rset_release(&rs);
	return err;
}

/* What the consistency check needs of one thread. */
struct inspection {
	struct thread *t;
	const struct range *hit;	/* the outermost frame inside a range, NULL if none */
	uint64_t ret;			/* the return address out of that frame, 0 if unknown */
};

static int inspect(struct proc *p, struct unwinder *uw, struct thread *t,
		   const struct rset *ranges, struct quick *q, struct stack *s,
		   bool *maps_fresh, struct inspection *out)
{
	out->t = t;
	out->hit = NULL;
	out->ret = 0;
	int err = thread_get_regs(p, t);
	if (err)
		return err;
	if (quick_clear(p, t, ranges, q))
		return 0;
	if (q)
		q->unwound++;
	err = thread_stack(p, uw, t, s);
	if (err)
		return err;
	ssize_t j = -1;
	for (size_t f = 0; f < s->n; f++) {
		const struct range *r = in_ranges(ranges, frame_addr(s, f));
		if (r) {
			j = (ssize_t)f;
			out->hit = r;
		}
	}
	if (!out->hit && !s->complete)
		out->hit = stack_scan(p, t, ranges, maps_fresh);
	if (out->hit && j >= 0 && (size_t)(j + 1) < s->n)
		out->ret = s->pcs[j + 1];
	return 0;
}

/* Threads inspected while the world was stopping (consistency_stop). */
struct precheck {
	struct unwinder *uw;
	const struct rset *ranges;
	struct quick *q;
	struct stack *s;
	bool maps_fresh;
	struct inspection *v;
	size_t n, cap, cursor;
};

static void precheck_one(void *arg, struct proc *p, struct thread *t)
{
	struct precheck *c = arg;
	struct inspection in;

	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 64;
		struct inspection *v = realloc(c->v, cap * sizeof(*v));
		if (!v)
			return;		/* inspected again by the check itself */
		c->v = v;
		c->cap = cap;
	}
	if (inspect(p, c->uw, t, c->ranges, c->q, c->s, &c->maps_fresh, &in)) {
		hp_err_clear();	/* the check itself will meet it and report it */
		return;
	}
	c->v[c->n++] = in;
}

/* The threads come in the order they were inspected: start where the last one was found. */
static bool precheck_find(struct precheck *c, struct thread *t, struct inspection *out)
{
	for (size_t k = 0; c && k < c->n; k++) {
		size_t i = (c->cursor + k) % c->n;
		if (c->v[i].t == t) {
			*out = c->v[i];
			c->cursor = i + 1;
			return true;
		}
	}
	return false;
}

static int consistency_run(struct proc *p, struct objects *objs, const struct rset *ranges,
			   struct quick *q, uint64_t deadline, struct precheck *pre);

int consistency_stop(struct proc *p, struct objects *objs, const struct range *ranges, size_t nr,
		     uint64_t deadline, int (*between)(void *arg), void *arg)
{
	struct unwinder *uw;
	int err = objects_unwinder(objs, &uw);
	if (err)
		return err;
	struct rset rs;
	struct quick q;
	if (rset_init(&rs, ranges, nr))
		return -ENOMEM;
	quick_setup(p, objs, &q);
	struct precheck c = { .uw = uw, .ranges = &rs, .q = &q, .s = malloc(sizeof(*c.s)) };
	if (!c.s) {
		rset_release(&rs);
		free(q.buf);
		return -ENOMEM;
	}
	err = proc_hold_all_cb(p, precheck_one, &c);
	/* The threads have not moved since they were inspected: those results still hold. */
	if (!err && between)
		err = between(arg);
	if (!err)
		err = consistency_run(p, objs, &rs, &q, deadline, &c);
	hp_debug("pid %d: consistency: %u threads cleared by their stack words, %u unwound%s", p->pid,
		 q.cleared, q.unwound, q.on ? "" : " (no signal trampoline known: unwinding all)");
	free(c.v);
	free(c.s);
	free(q.buf);
	rset_release(&rs);
	return err;
}

static int consistency_run(struct proc *p, struct objects *objs, const struct rset *ranges,
			   struct quick *q, uint64_t deadline, struct precheck *pre)
{
	struct unwinder *uw;
	bool maps_fresh = false;
	int err = objects_unwinder(objs, &uw);
	if (err)
		return err;
	struct stack *s = malloc(sizeof(*s));
	struct thread **ts = NULL;
	uint64_t *addrs = NULL;
	const char **what = NULL;
	uint64_t start = hp_now_ns();
	/*
	 * First let blockers finish alone (nobody else can enter meanwhile), but
	 * only briefly: the others are frozen for that long, and a blocker may be
	 * waiting for one of them. Then run it with everyone.
	 */
	uint64_t alone_ns = (deadline - start) / 4;
	if (alone_ns > 20000000ull)
		alone_ns = 20000000ull;
	uint64_t alone_until = start + alone_ns;
	if (!s)
		return -ENOMEM;
	for (unsigned round = 0; !err; round++) {
		size_t nb = 0, nt = 0;
		free(ts);
		free(addrs);
		free(what);
		ts = calloc(p->nthreads + 1, sizeof(*ts));
		addrs = calloc(p->nthreads + 1, sizeof(*addrs));
		what = calloc(p->nthreads + 1, sizeof(*what));
		if (!ts || !addrs || !what) {
			err = -ENOMEM;
			break;
		}
		pid_t first_tid = 0;
		const char *first_what = NULL;
		for (size_t i = 0; i < p->nthreads; i++) {
			struct thread *t = p->threads[i];
			if (!t->attached || !t->stopped)
				continue;
			struct inspection in;
			/* Round 0: the stop is the one the threads were inspected in. */
			if (!(round == 0 && precheck_find(pre, t, &in))) {
				err = inspect(p, uw, t, ranges, q, s, &maps_fresh, &in);
				if (err)
					break;
			}
			if (!in.hit)
				continue;
			if (t->was_stopped) {
				/* Running it out would run its code while its user keeps it stopped. */
				err = hp_err(HOTPATCH_E_BUSY,
					     "pid %d: thread %d is stopped (SIGSTOP) inside '%s': send SIGCONT and retry",
					     p->pid, t->tid, in.hit->what);
				break;
			}
			nb++;
			if (!first_tid) {
				first_tid = t->tid;
				first_what = in.hit->what;
			}
			if (in.ret) {
				ts[nt] = t;
				what[nt] = in.hit->what;
				addrs[nt++] = in.ret;
			}
		}
		if (err || !nb)
			break;
		if (hp_interrupt_pending()) {
			err = hp_err(HOTPATCH_E_INTR,
				     "pid %d: interrupted while waiting for thread %d to leave '%s'",
				     p->pid, first_tid, first_what);
			break;
		}
		uint64_t now = hp_now_ns();
		if (now >= deadline) {
			err = hp_err(HOTPATCH_E_BUSY,
				     "pid %d: thread %d is still inside '%s' after %llu ms%s", p->pid,
				     first_tid, first_what,
				     (unsigned long long)((now - start) / 1000000),
				     nb > 1 ? " (and other threads)" : "");
			break;
		}
		struct wait_info wi = { first_tid, first_what, start, deadline };
		hp_progress(p->pid, first_tid, first_what, start, deadline);
		if (!nt) {
			err = proc_release_all(p, NULL);
			if (!err) {
				sleep_ms(1);
				err = proc_hold_all(p);
			}
			continue;
		}
		bool alone = now < alone_until;
		size_t hit;
		err = run_until_reporting(p, ts, addrs, nt, alone, alone ? alone_until : deadline, &hit,
					  &wi);
		if (!err) {
			/*
			 * It left: keep it stopped from now on, or a thread calling
			 * the function back to back re-enters it while we wait for
			 * the others.
			 */
			ts[hit]->parked = true;
		} else if (err == -HOTPATCH_E_TIMEOUT || err == -HOTPATCH_E_INTR) {
			/* An interrupt is reported by the next round, with the thread's name. */
			hp_err_clear();
			err = 0;
		}
		hp_debug("pid %d: consistency round %u: %zu blockers", p->pid, round, nb);
	}
	hp_progress_done();
	for (size_t i = 0; i < p->nthreads; i++)
		p->threads[i]->parked = false;
	free(ts);
	free(addrs);
	free(what);
	free(s);
	return err;
}

/* SPDX-License-Identifier: MIT */
/*
 * Running threads to an address (proc_run_until), and the breakpoints behind
 * it: debug registers where a probe has seen them fire, an int3 written into
 * the code everywhere else, with all that an int3 asks of us (other threads
 * and forked children that run into it, never leaving one behind).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/kcmp.h>

#include "arch/arch.h"
#include "proc/proc.h"
#include "proc/procfs.h"
#include "proc/ptrace.h"

/* Options while an int3 is in the code: every new task is ours to look after. */
#define SW_OPTIONS (PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACECLONE | PTRACE_O_TRACEFORK | \
		    PTRACE_O_TRACEVFORK)
#define BASE_OPTIONS PTRACE_O_TRACESYSGOOD
/*
 * How long a thread that ran into someone else's int3 waits before we step
 * it over. Stepping over stops the candidates, so it is batched: threads
 * hitting a hot return site pile up for a moment and are stepped together.
 */
#define SW_GRACE_NS 3000000ull
/* A single step that does not complete in this long is inside a system call. */
#define SW_STEP_NS 100000000ull

/* ---- hardware breakpoints (debug registers, as the port encodes them: arch_hwbp_*) ---- */

static int hwbp_write(pid_t tid, const struct arch_hwbp_write *w, bool stop_at_error)
{
	int err = 0;
	if (w->regset) {
		struct iovec iov = { (void *)w->buf, w->len };
		return pt_setregset(tid, w->regset, &iov);
	}
	for (int i = 0; i < w->nwords && !(err && stop_at_error); i++) {
		int r = pt_pokeuser(tid, w->word[i].off, w->word[i].val);
		if (!err)
			err = r;
	}
	return err;
}

static int dr_arm(pid_t tid, uint64_t addr)
{
	struct arch_hwbp_write w;
	arch_hwbp_arm(addr, &w);
	return hwbp_write(tid, &w, true);
}

/* Did slot 0 raise the SIGTRAP tid is stopped with (its status word, or the siginfo)? */
static bool dr_hit(pid_t tid)
{
	siginfo_t si;
	uint64_t status = 0;
	size_t off;

	memset(&si, 0, sizeof(si));
	if (arch_hwbp_status_word(&off))
		return pt_peekuser(tid, off, &status) == 0 && arch_hwbp_hit(status, &si);
	return pt_getsiginfo(tid, &si) == 0 && arch_hwbp_hit(status, &si);
}

/* Has slot 0 fired with its SIGTRAP still queued for tid (stopped by something else)? */
static bool dr_hit_pending(pid_t tid)
{
	siginfo_t si[8];
	size_t off;

	if (arch_hwbp_status_word(&off))
		return dr_hit(tid);
	int n = pt_peeksiginfo(tid, false, si, (int)ARRAY_SIZE(si));
	for (int i = 0; i < n; i++)
		if (arch_hwbp_hit(0, &si[i]))
			return true;
	return false;
}

static int dr_set(struct thread *t, uint64_t addr)
{
	int err = dr_arm(t->tid, addr);
	t->dr_armed = true;	/* cleared whatever half of it was set */
	return err;
}

static void dr_clear(struct thread *t)
{
	struct arch_hwbp_write w;
	if (!t->dr_armed || t->gone)
		return;
	arch_hwbp_disarm(&w);
	hwbp_write(t->tid, &w, false);
	t->dr_armed = false;
}

/* What the probe runs into: a function of ours, at the same address in the forked child. */
__attribute__((noinline)) static void probe_target(void)
{
	__asm__ volatile("" ::: "memory");
}

/*
 * Does an execute breakpoint in a debug register fire on this machine? Some
 * hypervisors accept the PTRACE_POKEUSER and never raise the trap (measured
 * on an AMD EPYC guest), so only seeing it fire counts: a child of ours
 * blocks on a pipe, is armed on probe_target, released, and calls it a few
 * times. A trap there says yes; a clean exit says no. About a millisecond.
 */
static bool hw_breakpoints_fire(const char **why)
{
	static char reason[160];
	int pfd[2], st, err;
	bool fired = false;
	sigset_t old;

	if (pipe2(pfd, O_CLOEXEC)) {
		*why = "probe failed: pipe";
		return false;
	}
	pid_t c = fork();
	if (c < 0) {
		close(pfd[0]);
		close(pfd[1]);
		*why = "probe failed: fork";
		return false;
	}
	if (c == 0) {
		char b;
		close(pfd[1]);
		if (read(pfd[0], &b, 1) == 1)
			for (int i = 0; i < 4; i++)
				probe_target();
		_exit(0);
	}
	close(pfd[0]);
	pt_wait_init(&old);
	uint64_t dl = hp_now_ns() + 1000000000ull, target = (uint64_t)(uintptr_t)probe_target;
	snprintf(reason, sizeof(reason), "probe: no answer from the probe child");
	err = pt_seize(c, 0);
	if (err)
		snprintf(reason, sizeof(reason), "probe: cannot trace a child: %s", strerror(-err));
	if (!err)
		err = pt_interrupt(c);
	while (!err) {
		pid_t r = pt_wait(c, &st, dl);
		if (r <= 0 || !WIFSTOPPED(st))
			err = -ESRCH;
		else if ((st >> 16) == PTRACE_EVENT_STOP)
			break;
		else
			err = pt_cont(c, 0);
	}
	if (!err) {
		err = dr_arm(c, target);
		if (err)
			snprintf(reason, sizeof(reason), "debug registers refused: %s", strerror(-err));
	}
	if (!err)
		err = pt_cont(c, 0);
	if (!err && write(pfd[1], "g", 1) != 1)
		err = -EIO;
	while (!err) {
		pid_t r = pt_wait(c, &st, dl);
		if (r <= 0)
			break;
		if (!WIFSTOPPED(st)) {
			snprintf(reason, sizeof(reason),
				 "debug registers accept a breakpoint but it never fires");
			break;
		}
		if ((st >> 16) == 0 && WSTOPSIG(st) == SIGTRAP) {
			struct user_regs_struct regs;
			fired = dr_hit(c) && pt_getregs(c, &regs) == 0 && arch_pc(&regs) == target;
			snprintf(reason, sizeof(reason), fired ? "debug registers fire (probed)"
							       : "probe: a trap, but not the breakpoint's");
			break;
		}
		err = pt_cont(c, (st >> 16) == 0 ? WSTOPSIG(st) : 0);
	}
	close(pfd[1]);
	kill(c, SIGKILL);
	for (uint64_t end = hp_now_ns() + 1000000000ull;;) {
		pid_t r = pt_wait(c, &st, end);
		if (r <= 0 || WIFEXITED(st) || WIFSIGNALED(st))
			break;
	}
	pt_wait_fini(&old);
	*why = reason;
	return fired;
}

bool proc_hw_breakpoints_fire(const char **why)
{
	static int fired = -1;
	static const char *reason;

	if (fired < 0)
		fired = hw_breakpoints_fire(&reason);
	if (why)
		*why = reason;
	return fired;
}

enum proc_bp proc_bp_mechanism(const char **why)
{
	static int mode = -1;
	static const char *reason;

	if (mode < 0) {
		const char *env = getenv("HOTPATCH_BREAKPOINTS");
		if (env && (!strcmp(env, "hw") || !strcmp(env, "hardware"))) {
			mode = PROC_BP_HW;
			reason = "forced by HOTPATCH_BREAKPOINTS";
		} else if (env && (!strcmp(env, "sw") || !strcmp(env, "software") ||
				   !strcmp(env, "int3"))) {
			mode = PROC_BP_SW;
			reason = "forced by HOTPATCH_BREAKPOINTS";
		} else {
			if (env && *env && strcmp(env, "auto"))
				hp_warn("HOTPATCH_BREAKPOINTS=%s is not hw, sw or auto: probing", env);
			mode = proc_hw_breakpoints_fire(&reason) ? PROC_BP_HW : PROC_BP_SW;
		}
		hp_debug("breakpoints: %s (%s)",
			 mode == PROC_BP_HW ? "hardware (debug registers)" : "software (int3)",
			 reason);
	}
	if (why)
		*why = reason;
	return (enum proc_bp)mode;
}

/*
 * Our interrupt stopped t, but its breakpoint may have fired just before: the
 * SIGTRAP then waits in its queue and would kill the target at detach. Let
 * the thread dequeue it (it stops again before running any user code) and
 * swallow it.
 */
static void drain_bp_trap(struct proc *p, struct thread *t)
{
	int st;

	if (!t->dr_armed || !dr_hit_pending(t->tid) || pt_cont(t->tid, 0))
		return;
	t->stopped = false;
	uint64_t dl = hp_now_ns() + 2000000000ull;
	while (!t->stopped && pt_wait(t->tid, &st, dl) > 0) {
		if (!WIFSTOPPED(st)) {
			t->gone = true;
			t->attached = false;
			return;
		}
		t->stopped = true;
		int sig = WSTOPSIG(st);
		if ((st >> 16) == 0 && sig != SIGTRAP)
			t->pending_sig = sig;
		if ((st >> 16) != 0 || sig != SIGTRAP) {
			/* Not the trap yet: keep going until it is dequeued. */
			if (pt_cont(t->tid, 0))
				return;
			t->stopped = false;
			continue;
		}
		/* The breakpoint's SIGTRAP, dequeued and suppressed. */
		hp_debug("pid %d: thread %d: swallowed a late breakpoint trap", p->pid, t->tid);
	}
}

static bool is_candidate(struct thread *const *ts, size_t n, const struct thread *t, size_t *idx)
{
	for (size_t j = 0; j < n; j++)
		if (ts[j] == t) {
			if (idx)
				*idx = j;
			return true;
		}
	return false;
}

/* The others run free (detached) meanwhile: debug registers are per thread. */
static int run_until_hw(struct proc *p, struct thread **ts, const uint64_t *addrs, size_t n,
			bool alone, uint64_t deadline_ns, size_t *hit)
{
	int err = 0;
	size_t running = 0;
	bool found = false;

	for (size_t i = 0; i < p->nthreads && !err; i++) {
		struct thread *t = p->threads[i];
		if (!is_candidate(ts, n, t, NULL) && !alone && !t->parked)
			proc_release_thread(p, t);
	}
	if (!alone && p->first_stop_ns) {
		p->pause_ns += hp_now_ns() - p->first_stop_ns;
		p->first_stop_ns = 0;
	}
	if (!alone)
		p->held = false;
	for (size_t i = 0; i < n && !err; i++) {
		struct thread *t = ts[i];
		int sig = t->pending_sig;
		t->pending_sig = 0;
		int cr = pt_cont(t->tid, sig);
		hp_debug("pid %d: run thread %d to 0x%llx (sig %d, alone %d): %d", p->pid, t->tid,
			 (unsigned long long)addrs[i], sig, alone, cr);
		if (cr == 0) {
			t->stopped = false;
			t->interrupted = false;
			t->snap_valid = false;	/* it leaves its call as it is */
			t->regs_valid = false;
			running++;
		}
	}
	while (!err && running && !found) {
		int status;
		if (hp_interrupt_pending()) {
			err = hp_err(HOTPATCH_E_INTR, "pid %d: interrupted", p->pid);
			break;
		}
		if (p->on_wait)
			p->on_wait(p);
		/* Slices, so an interrupt is noticed within 20 ms. */
		uint64_t slice = hp_now_ns() + 20000000ull;
		pid_t r = pt_wait(-1, &status, slice < deadline_ns ? slice : deadline_ns);
		if (r == 0 && hp_now_ns() < deadline_ns)
			continue;
		if (r == 0) {
			err = hp_err(HOTPATCH_E_TIMEOUT, "pid %d: timed out", p->pid);
			break;
		}
		if (r < 0)
			break;
		struct thread *t = proc_thread(p, r);
		hp_debug("pid %d: run: thread %d status 0x%x", p->pid, r, status);
		if (!t)
			continue;
		if (WIFEXITED(status) || WIFSIGNALED(status)) {
			t->gone = true;
			t->attached = t->stopped = false;
			if (t->tid == p->pid)
				p->exited = true;
			running--;
			continue;
		}
		if (!WIFSTOPPED(status))
			continue;
		int sig = WSTOPSIG(status), event = status >> 16;
		t->stopped = true;
		t->regs_valid = false;
		if (event == 0 && sig == SIGTRAP) {
			size_t idx = n;
			is_candidate(ts, n, t, &idx);
			if (idx < n && dr_hit(t->tid) && thread_get_regs(p, t) == 0 &&
			    arch_pc(&t->regs) == addrs[idx]) {
				*hit = idx;
				found = true;
				break;	/* the SIGTRAP is ours: not re-injected */
			}
		}
		if (event == 0 && sig != SIGKILL) {
			/* Someone else's signal: deliver it now, the thread runs its own code. */
			pt_cont(t->tid, sig);
		} else {
			if (event == PTRACE_EVENT_STOP &&
			    (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU)) {
				/* A job-control stop while we run it: stop with it (LISTEN keeps it stopped). */
				t->was_stopped = true;
				pt_listen(t->tid);
			} else {
				pt_cont(t->tid, 0);
			}
		}
		t->stopped = false;
	}
	if (!found && !err)
		err = hp_err(HOTPATCH_E_EXITED, "pid %d: threads exited while waiting", p->pid);
	/* Stop the candidates that are still running, disarm everything, stop the world again. */
	for (size_t i = 0; i < n; i++) {
		struct thread *t = ts[i];
		if (t->attached && !t->stopped && !t->gone) {
			if (pt_interrupt(t->tid) == 0) {
				uint64_t dl = hp_now_ns() + 2000000000ull;
				while (!t->stopped && !t->gone) {
					int st;
					pid_t r = pt_wait(t->tid, &st, dl);
					if (r <= 0)
						break;
					if (WIFSTOPPED(st)) {
						t->stopped = true;
						if ((st >> 16) == 0 && WSTOPSIG(st) != SIGTRAP)
							t->pending_sig = WSTOPSIG(st);
						if ((st >> 16) != 0)
							drain_bp_trap(p, t);
					} else {
						t->gone = true;
						t->attached = false;
					}
				}
			}
		}
		dr_clear(t);
	}
	return err;
}

/* ---- software breakpoints (int3) ---- */

struct swbp {
	uint64_t addr;
	uint8_t orig[ARCH_BREAKPOINT_LEN];	/* the code bytes the breakpoint stands on */
	bool in;		/* the int3 is in the code now */
};

/* One software run: the breakpoints, and the tasks it traces beyond p's threads. */
struct sw {
	struct proc *p;
	struct thread **ts;
	const uint64_t *addrs;
	size_t n;
	bool alone;
	struct swbp *bp;
	size_t nbp;
	/* Processes sharing p's memory (vfork children): they run into our int3s as threads do. */
	struct thread **extra;
	size_t nextra;
	/* Children announced by a fork/clone event whose first stop is still to come. */
	pid_t *expect;
	size_t nexpect;
	/* Children whose first stop was seen (an event may come after it). */
	pid_t *born;
	size_t nborn;
	uint64_t held_since;	/* when the oldest thread waiting at a breakpoint stopped, 0 = none */
	bool finishing;		/* the int3s are out for good: new children are let go at once */
	bool found;
	size_t hit;
	unsigned traps, stepovers;
};

static struct swbp *sw_bp_at(struct sw *w, uint64_t addr)
{
	for (size_t i = 0; i < w->nbp; i++)
		if (w->bp[i].addr == addr)
			return &w->bp[i];
	return NULL;
}

/*
 * Put every int3 in (in = true) or take every one out, through /proc/PID/mem
 * (no writable mapping). A byte that is not what we left there was changed
 * by the target itself: it is left alone, and so is that breakpoint.
 */
static int sw_bp_write(struct sw *w, bool in)
{
	int err = 0;
	for (size_t i = 0; i < w->nbp; i++) {
		struct swbp *b = &w->bp[i];
		uint8_t cur[ARCH_BREAKPOINT_LEN];
		const uint8_t *want = in ? (const uint8_t *)ARCH_BREAKPOINT_BYTES : b->orig;
		const uint8_t *expect = in ? b->orig : (const uint8_t *)ARCH_BREAKPOINT_BYTES;
		if (b->in == in)
			continue;
		int r = proc_read(w->p, b->addr, cur, sizeof(cur));
		if (!r && memcmp(cur, expect, sizeof(cur))) {
			hp_debug("pid %d: code at 0x%llx changed under a breakpoint: left alone",
				 w->p->pid, (unsigned long long)b->addr);
			b->in = false;
			continue;
		}
		if (!r)
			r = proc_write(w->p, b->addr, want, sizeof(cur));
		if (!r)
			b->in = in;
		else if (!err)
			err = r;
	}
	return err;
}

/* A process with memory of its own that was forked with our int3s in it: take them out of its copy. */
static void sw_clean_copy(struct sw *w, pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return;
	for (size_t i = 0; i < w->nbp; i++) {
		uint8_t cur[ARCH_BREAKPOINT_LEN];
		if (pread(fd, cur, sizeof(cur), (off_t)w->bp[i].addr) == (ssize_t)sizeof(cur) &&
		    !memcmp(cur, ARCH_BREAKPOINT_BYTES, sizeof(cur)) &&
		    pwrite(fd, w->bp[i].orig, sizeof(cur), (off_t)w->bp[i].addr) == (ssize_t)sizeof(cur))
			hp_debug("pid %d: child %d: breakpoint at 0x%llx taken out of its copy",
				 w->p->pid, pid, (unsigned long long)w->bp[i].addr);
	}
	close(fd);
}

static struct thread *sw_task(struct sw *w, pid_t tid)
{
	struct thread *t = proc_thread(w->p, tid);
	if (t && t->attached)
		return t;
	for (size_t i = 0; i < w->nextra; i++)
		if (w->extra[i]->tid == tid && w->extra[i]->attached)
			return w->extra[i];
	return NULL;
}

static bool sw_is_extra(struct sw *w, const struct thread *t)
{
	for (size_t i = 0; i < w->nextra; i++)
		if (w->extra[i] == t)
			return true;
	return false;
}

/* Does t run while we wait (as opposed to staying stopped)? */
static bool sw_runs(struct sw *w, struct thread *t)
{
	if (is_candidate(w->ts, w->n, t, NULL) || sw_is_extra(w, t))
		return true;
	return !w->alone && !t->parked && !t->was_stopped;
}

static void sw_resume(struct sw *w, struct thread *t)
{
	if (!t->attached || !t->stopped || t->at_bp)
		return;
	/*
	 * A candidate blocked in epoll_wait & co. that our interrupt woke is
	 * not put back into its call (as the others are): returning EINTR is
	 * how it leaves the function we wait on, as with debug registers.
	 */
	if (sw_is_extra(w, t) || is_candidate(w->ts, w->n, t, NULL)) {
		t->interrupted = false;
		t->snap_valid = false;
		t->regs_valid = false;
		int sig = t->pending_sig;
		t->pending_sig = 0;
		if (pt_cont(t->tid, sig) == 0)
			t->stopped = false;
		return;
	}
	proc_resume_thread(w->p, t);
}

/*
 * t stopped with SIGTRAP: is it our int3 (raised by the instruction itself:
 * ARCH_BREAKPOINT_SI_CODE, pc ARCH_BREAKPOINT_PC_ADJUST past one of our
 * breakpoints)? Then its pc goes back onto the breakpoint, as if it had not
 * yet run the instruction there.
 */
static struct swbp *sw_our_trap(struct sw *w, struct thread *t)
{
	siginfo_t si;
	if (pt_getsiginfo(t->tid, &si) || si.si_code != ARCH_BREAKPOINT_SI_CODE || thread_get_regs(w->p, t))
		return NULL;
	struct swbp *b = sw_bp_at(w, arch_pc(&t->regs) - ARCH_BREAKPOINT_PC_ADJUST);
	if (!b)
		return NULL;
	struct user_regs_struct regs = t->regs;
	arch_set_pc(&regs, b->addr);
	if (thread_set_regs(w->p, t, &regs))
		return NULL;
	w->traps++;
	return b;
}

static void sw_at_bp(struct sw *w, struct thread *t, struct swbp *b)
{
	size_t idx;
	if (is_candidate(w->ts, w->n, t, &idx) && w->addrs[idx] == b->addr) {
		if (!w->found) {
			w->found = true;
			w->hit = idx;
		}
		return;
	}
	/* Someone else's breakpoint, or a return site it passes too: it waits to be stepped over. */
	t->at_bp = true;
	if (!w->held_since)
		w->held_since = hp_now_ns();
}

static bool pid_in(const pid_t *v, size_t n, pid_t pid)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == pid)
			return true;
	return false;
}

static void pid_add(pid_t **v, size_t *n, pid_t pid)
{
	pid_t *nv = realloc(*v, (*n + 1) * sizeof(*nv));
	if (nv) {
		*v = nv;
		nv[(*n)++] = pid;
	}
}

/* A fork/clone event names child: its first stop is still to come, unless it came first. */
static void sw_expect(struct sw *w, pid_t child)
{
	if (!pid_in(w->born, w->nborn, child) && !pid_in(w->expect, w->nexpect, child))
		pid_add(&w->expect, &w->nexpect, child);
}

static void sw_event(struct sw *w, struct thread *t, int st, bool stopping);

/*
 * t is in the stop our interrupt caused. If it ran into an int3 just before,
 * the SIGTRAP waits in its own queue and would kill the target at detach:
 * let it dequeue the signal (it stops again before running any code of its
 * own), take the trap, and rewind its pc.
 */
static void sw_drain(struct sw *w, struct thread *t)
{
	siginfo_t si[8];
	bool trap = false;
	int n = pt_peeksiginfo(t->tid, false, si, (int)ARRAY_SIZE(si));
	for (int i = 0; i < n; i++)
		trap |= si[i].si_signo == SIGTRAP && si[i].si_code == ARCH_BREAKPOINT_SI_CODE;
	if (!trap || thread_get_regs(w->p, t) ||
	    !sw_bp_at(w, arch_pc(&t->regs) - ARCH_BREAKPOINT_PC_ADJUST) || pt_cont(t->tid, 0))
		return;
	t->stopped = false;
	for (uint64_t dl = hp_now_ns() + 2000000000ull; t->attached && !t->stopped;) {
		int st;
		pid_t r = pt_wait(t->tid, &st, dl);
		if (r <= 0) {
			hp_warn("pid %d: thread %d: breakpoint trap not dequeued", w->p->pid, t->tid);
			pt_interrupt(t->tid);
			dl = hp_now_ns() + 1000000000ull;
			continue;
		}
		if (WIFSTOPPED(st) && (st >> 16) == 0 && WSTOPSIG(st) != SIGTRAP) {
			/* Dequeued first: kept for delivery at resume. */
			t->pending_sig = WSTOPSIG(st);
			if (pt_cont(t->tid, 0) == 0)
				continue;
		}
		sw_event(w, t, st, true);
	}
}

/*
 * One wait status of a task we trace. While 'stopping' (we interrupted it)
 * any stop ends its run: it stays stopped, its signal kept for later;
 * otherwise it goes on running after whatever the stop asked of us.
 */
static void sw_event(struct sw *w, struct thread *t, int st, bool stopping)
{
	if (WIFEXITED(st) || WIFSIGNALED(st)) {
		t->gone = true;
		t->attached = t->stopped = false;
		if (t->tid == w->p->pid)
			w->p->exited = true;
		return;
	}
	if (!WIFSTOPPED(st))
		return;
	int sig = WSTOPSIG(st), event = st >> 16;
	t->stopped = true;
	t->regs_valid = false;
	if (event == PTRACE_EVENT_FORK || event == PTRACE_EVENT_VFORK ||
	    event == PTRACE_EVENT_CLONE) {
		unsigned long child = 0;
		if (!pt_geteventmsg(t->tid, &child) && child)
			sw_expect(w, (pid_t)child);
	} else if (event == PTRACE_EVENT_STOP) {
		if (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU) {
			t->was_stopped = true;
			if (stopping)
				return;
			/* A job-control stop while it runs: stop with it (LISTEN keeps it stopped). */
			pt_listen(t->tid);
			t->stopped = false;
			return;
		}
		if (stopping) {
			t->interrupted = true;
			sw_drain(w, t);
			return;
		}
		/* A leftover interrupt: on it goes. */
	} else if (event == 0) {
		if (sig == SIGTRAP) {
			struct swbp *b = sw_our_trap(w, t);
			if (b) {
				sw_at_bp(w, t, b);
				return;
			}
		}
		if (stopping) {
			t->pending_sig = sig;
			return;
		}
		/* Someone else's signal: delivered now, the thread runs its own code. */
		if (pt_cont(t->tid, sig) == 0)
			t->stopped = false;
		return;
	}
	if (stopping)
		return;
	if (pt_cont(t->tid, 0) == 0)
		t->stopped = false;
}

/* Stop one running task (interrupt, wait), taking any trap of ours it had in flight. */
static void sw_stop(struct sw *w, struct thread *t)
{
	if (!t->attached || t->stopped || t->gone)
		return;
	if (pt_interrupt(t->tid)) {
		t->gone = true;
		t->attached = false;
		return;
	}
	for (uint64_t dl = hp_now_ns() + 2000000000ull; t->attached && !t->stopped;) {
		int st;
		pid_t r = pt_wait(t->tid, &st, dl);
		if (r == 0) {
			hp_warn("pid %d: thread %d did not stop for a breakpoint's removal", w->p->pid,
				t->tid);
			return;
		}
		if (r < 0) {
			t->gone = true;
			t->attached = false;
			return;
		}
		sw_event(w, t, st, true);
	}
}

static int sw_add_extra(struct sw *w, pid_t pid)
{
	struct thread **v = realloc(w->extra, (w->nextra + 1) * sizeof(*v));
	struct thread *t = calloc(1, sizeof(*t));
	if (!v || !t) {
		free(t);
		if (v)
			w->extra = v;
		return -ENOMEM;
	}
	w->extra = v;
	t->tid = pid;
	t->attached = t->stopped = true;
	w->extra[w->nextra++] = t;
	return 0;
}

/*
 * The first stop of a task the kernel attached to us (it was cloned or forked
 * by one we trace). A new thread of p becomes one of p's threads. A process
 * sharing p's memory (vfork) is traced like a thread until the end. A process
 * with a copy of its own gets our int3s taken out of its copy and is let go.
 */
static void sw_newborn(struct sw *w, pid_t pid, int st, bool stopping)
{
	char path[64];

	for (size_t i = 0; i < w->nexpect; i++)
		if (w->expect[i] == pid)
			w->expect[i] = w->expect[--w->nexpect];
	pid_add(&w->born, &w->nborn, pid);
	if (!WIFSTOPPED(st))
		return;
	snprintf(path, sizeof(path), "/proc/%d/task/%d", w->p->pid, pid);
	if (access(path, F_OK) == 0) {
		struct thread *t = proc_adopt_thread(w->p, pid);
		if (!t) {
			pt_detach(pid, 0);
			return;
		}
		hp_debug("pid %d: new thread %d while breakpoints are in", w->p->pid, pid);
		if (!stopping && sw_runs(w, t))
			sw_resume(w, t);
		return;
	}
	long same = syscall(SYS_kcmp, w->p->pid, pid, KCMP_VM, 0, 0);
	if (w->finishing || (same != 0 && same != -1)) {
		sw_clean_copy(w, pid);
		pt_detach(pid, 0);
		hp_debug("pid %d: forked child %d cleaned and let go", w->p->pid, pid);
		return;
	}
	/* Shares our memory, or cannot tell (kcmp missing): traced to the end, cleaned then. */
	if (sw_add_extra(w, pid)) {
		sw_clean_copy(w, pid);
		pt_detach(pid, 0);
		return;
	}
	struct thread *t = w->extra[w->nextra - 1];
	hp_debug("pid %d: child %d shares its memory: traced while breakpoints are in", w->p->pid,
		 pid);
	if (!stopping)
		sw_resume(w, t);
}

static void sw_status(struct sw *w, pid_t r, int st, bool stopping)
{
	struct thread *t = sw_task(w, r);
	if (t)
		sw_event(w, t, st, stopping);
	else
		sw_newborn(w, r, st, stopping);
}

/* Every task we trace, p's threads first. */
#define SW_FOR_EACH(w, i, t)                                                              \
	for (size_t i = 0; i < (w)->p->nthreads + (w)->nextra; i++)                        \
		if (((t) = i < (w)->p->nthreads ? (w)->p->threads[i]                       \
						: (w)->extra[i - (w)->p->nthreads]), 1)

static size_t sw_waiting(struct sw *w)
{
	struct thread *t;
	size_t k = 0;
	SW_FOR_EACH(w, i, t)
		k += t->attached && t->at_bp;
	return k;
}

static bool sw_candidates_run(struct sw *w)
{
	for (size_t i = 0; i < w->n; i++)
		if (w->ts[i]->attached && !w->ts[i]->stopped)
			return true;
	return false;
}

/*
 * Step the tasks waiting at a breakpoint over it. The candidates are stopped
 * first: with the int3s out for a moment, one of them could pass its own
 * breakpoint unseen. The others may pass freely.
 */
static int sw_step_over(struct sw *w, uint64_t deadline)
{
	struct thread *t;

	for (size_t i = 0; i < w->n; i++)
		sw_stop(w, w->ts[i]);
	if (w->found)
		return 0;
	int err = sw_bp_write(w, false);
	SW_FOR_EACH(w, i, t) {
		if (!t->attached || !t->at_bp)
			continue;
		uint64_t dl = hp_now_ns() + SW_STEP_NS;
		bool exited = w->p->exited;
		int r = proc_step(w->p, t, dl < deadline ? dl : deadline);
		t->at_bp = false;
		/* A vfork child stepping into its _exit is not the process exiting. */
		if (sw_is_extra(w, t))
			w->p->exited = exited;
		if (r == -HOTPATCH_E_TIMEOUT)
			hp_debug("pid %d: thread %d: step over a breakpoint blocked (a system call)",
				 w->p->pid, t->tid);
		if (r && !t->gone)
			hp_err_clear();
	}
	int r = sw_bp_write(w, true);
	if (r && !err)
		err = r;
	w->held_since = 0;
	w->stepovers++;
	SW_FOR_EACH(w, i, t)
		if (t->attached && t->stopped && sw_runs(w, t))
			sw_resume(w, t);
	return err;
}

/*
 * Done waiting: take every int3 out (of p and of any copy a fork made), stop
 * everything we run, put p's threads back to the ptrace options of a stop,
 * let the foreign tasks go. After it, every thread of p we trace is stopped.
 *
 * The int3s go first, while everything still runs: nobody needs to meet one
 * any more, and a vfork child must be able to finish, or its parent cannot
 * stop. A trap already in flight is still taken: every task stays traced
 * until we have seen it stopped.
 */
static void sw_finish(struct sw *w)
{
	struct thread *t;
	int st;

	w->finishing = true;
	int err = sw_bp_write(w, false);
	/* A memory that cannot be written any more (EIO) belongs to a process exiting or exec'ing. */
	if (err && !proc_wait_vanished(w->p, -ESRCH, 500))
		hp_warn("pid %d: could not take a breakpoint out: %s", w->p->pid, strerror(-err));
	/* Children sharing our memory first: their parents wait for them. */
	for (size_t i = 0; i < w->nextra; i++) {
		t = w->extra[i];
		sw_stop(w, t);
		sw_clean_copy(w, t->tid);
		if (t->attached)
			pt_detach(t->tid, t->pending_sig);
		t->attached = false;
	}
	for (size_t i = 0; i < w->p->nthreads; i++)
		sw_stop(w, w->p->threads[i]);
	/* Children announced but not yet seen, and any other stop still queued. */
	for (size_t i = 0; i < w->nexpect;) {
		pid_t c = w->expect[i];
		pid_t r = pt_wait(c, &st, hp_now_ns() + 1000000000ull);
		if (r == c) {
			sw_status(w, c, st, true);
		} else {
			/* Gone before its first stop (killed with its parent, say): nothing of it runs. */
			hp_debug("pid %d: child %d never stopped", w->p->pid, c);
			w->expect[i] = w->expect[--w->nexpect];
		}
	}
	for (int k = 0; k < 4096; k++) {
		pid_t r = pt_wait(-1, &st, 0);
		if (r <= 0)
			break;
		sw_status(w, r, st, true);
	}
	for (size_t i = 0; i < w->p->nthreads; i++) {
		t = w->p->threads[i];
		t->at_bp = false;
		if (t->attached && t->stopped)
			pt_setoptions(t->tid, BASE_OPTIONS);
	}
	for (size_t i = 0; i < w->nextra; i++)
		free(w->extra[i]);
	hp_debug("pid %d: software breakpoints: %zu set, %u traps, %u step-over rounds",
		 w->p->pid, w->nbp, w->traps, w->stepovers);
	free(w->extra);
	free(w->expect);
	free(w->born);
	free(w->bp);
}

/* Children of p's threads that share p's memory: seized, stopped, made extra tasks. */
static int sw_trace_sharers(struct sw *w)
{
	struct proc *p = w->p;
	for (size_t i = 0; i < p->nthreads; i++) {
		char buf[4096];
		if (!p->threads[i]->attached)
			continue;
		if (procfs_read(p->pid, p->threads[i]->tid, "children", buf, sizeof(buf)) <= 0)
			continue;
		for (char *s = buf, *e; *s; s = e) {
			long c = strtol(s, &e, 10);
			if (e == s)
				break;
			if (c <= 0 || syscall(SYS_kcmp, p->pid, (pid_t)c, KCMP_VM, 0, 0) != 0)
				continue;
			int err = pt_seize((pid_t)c, SW_OPTIONS);
			if (err == -ESRCH)
				continue;
			if (err)
				return hp_err(err, "pid %d: child %ld runs in its memory and cannot be traced: %s",
					      p->pid, c, strerror(-err));
			struct thread *t;
			err = sw_add_extra(w, (pid_t)c);
			if (err) {
				pt_detach((pid_t)c, 0);
				return err;
			}
			t = w->extra[w->nextra - 1];
			t->stopped = false;
			sw_stop(w, t);
			pid_add(&w->born, &w->nborn, (pid_t)c);
			hp_debug("pid %d: child %ld runs in its memory: traced while breakpoints are in",
				 p->pid, c);
		}
	}
	return 0;
}

static int sw_setup(struct sw *w)
{
	struct proc *p = w->p;
	w->bp = calloc(w->n, sizeof(*w->bp));
	if (!w->bp)
		return -ENOMEM;
	for (size_t i = 0; i < w->n; i++) {
		if (sw_bp_at(w, w->addrs[i]))
			continue;	/* two threads, one address: one int3 */
		struct swbp *b = &w->bp[w->nbp];
		b->addr = w->addrs[i];
		int err = proc_read(p, b->addr, b->orig, ARCH_BREAKPOINT_LEN);
		if (err)
			return err;
		if (!memcmp(b->orig, ARCH_BREAKPOINT_BYTES, ARCH_BREAKPOINT_LEN))
			return hp_err(HOTPATCH_E_NOTSUP,
				      "pid %d: 0x%llx already holds a breakpoint instruction (a debugger's?)",
				      p->pid, (unsigned long long)b->addr);
		w->nbp++;
	}
	/*
	 * Processes already running in p's memory (vfork children before their
	 * exec) would meet the int3 untraced: they are traced like the new ones.
	 */
	int err = sw_trace_sharers(w);
	if (err)
		return err;
	/* New tasks must be ours before any of them can meet an int3. */
	for (size_t i = 0; i < p->nthreads; i++) {
		struct thread *t = p->threads[i];
		if (!t->attached || !t->stopped)
			continue;
		err = pt_setoptions(t->tid, SW_OPTIONS);
		if (err && err != -ESRCH)
			return hp_err(err, "pid %d: thread %d: cannot trace its clones: %s", p->pid,
				      t->tid, strerror(-err));
	}
	return 0;
}

/*
 * The others run too (when not 'alone'), but stay traced: any of them may
 * run into an int3, and so may a thread or child created meanwhile.
 */
static int run_until_sw(struct proc *p, struct thread **ts, const uint64_t *addrs, size_t n,
			bool alone, uint64_t deadline_ns, size_t *hit)
{
	struct sw w = { .p = p, .ts = ts, .addrs = addrs, .n = n, .alone = alone };
	struct thread *t;
	int err = 0;

	/* A thread we do not trace would die of the first int3 it meets. */
	if (!p->held)
		err = proc_hold_all(p);
	if (!err)
		err = sw_setup(&w);
	if (!err)
		err = sw_bp_write(&w, true);
	if (!err) {
		if (!alone && p->first_stop_ns) {
			p->pause_ns += hp_now_ns() - p->first_stop_ns;
			p->first_stop_ns = 0;
		}
		if (!alone)
			p->held = false;
		for (size_t i = 0; i < n; i++)
			hp_debug("pid %d: run thread %d to 0x%llx (int3, alone %d)", p->pid,
				 ts[i]->tid, (unsigned long long)addrs[i], alone);
		SW_FOR_EACH(&w, i, t)
			if (t->attached && t->stopped && sw_runs(&w, t))
				sw_resume(&w, t);
	}
	while (!err && !w.found) {
		int st;
		if (hp_interrupt_pending()) {
			err = hp_err(HOTPATCH_E_INTR, "pid %d: interrupted", p->pid);
			break;
		}
		uint64_t now = hp_now_ns();
		if (now >= deadline_ns) {
			err = hp_err(HOTPATCH_E_TIMEOUT, "pid %d: timed out", p->pid);
			break;
		}
		if (w.held_since && sw_waiting(&w) &&
		    (!sw_candidates_run(&w) || now - w.held_since >= SW_GRACE_NS)) {
			err = sw_step_over(&w, deadline_ns);
			continue;
		}
		if (p->on_wait)
			p->on_wait(p);
		uint64_t until = now + 20000000ull;
		if (w.held_since && w.held_since + SW_GRACE_NS < until)
			until = w.held_since + SW_GRACE_NS;
		pid_t r = pt_wait(-1, &st, until < deadline_ns ? until : deadline_ns);
		if (r == 0)
			continue;
		if (r < 0) {
			err = hp_err(HOTPATCH_E_EXITED, "pid %d: threads exited while waiting", p->pid);
			break;
		}
		sw_status(&w, r, st, false);
		if (!w.found && !sw_candidates_run(&w) && !sw_waiting(&w)) {
			bool left = false;
			for (size_t i = 0; i < n; i++)
				left |= ts[i]->attached && !ts[i]->gone;
			if (!left)
				err = hp_err(HOTPATCH_E_EXITED, "pid %d: threads exited while waiting",
					     p->pid);
		}
	}
	if (!alone)
		p->first_stop_ns = hp_now_ns();
	sw_finish(&w);
	if (w.found && !err)
		*hit = w.hit;
	else if (w.found && (err == -HOTPATCH_E_TIMEOUT || err == -HOTPATCH_E_INTR)) {
		/* It arrived while we were stopping everything: that is a success. */
		hp_err_clear();
		*hit = w.hit;
		err = 0;
	}
	return err;
}

int proc_run_until(struct proc *p, struct thread **ts, const uint64_t *addrs, size_t n, bool alone,
		   uint64_t deadline_ns, size_t *hit)
{
	int err = 0;
	bool hw = proc_bp_mechanism(NULL) == PROC_BP_HW;

	/* Arm every candidate while the world is still stopped. */
	for (size_t i = 0; i < n && hw; i++) {
		err = dr_set(ts[i], addrs[i]);
		if (err) {
			/* Taken by someone else (perf, a debugger): int3 for this run. */
			hp_debug("pid %d: thread %d: no debug register (%s): software breakpoints",
				 p->pid, ts[i]->tid, strerror(-err));
			for (size_t j = 0; j <= i; j++)
				dr_clear(ts[j]);
			hw = false;
			err = 0;
		}
	}
	err = hw ? run_until_hw(p, ts, addrs, n, alone, deadline_ns, hit)
		 : run_until_sw(p, ts, addrs, n, alone, deadline_ns, hit);
	int r = proc_hold_all(p);
	if (r && !err)
		err = r;
	return err;
}

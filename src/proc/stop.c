/* SPDX-License-Identifier: MIT */
/*
 * Stop-the-world and its end: seize and interrupt every thread (hold),
 * borrow one, resume and detach (release), the scheduling boost around the
 * loops that wake threads, and the repair of an EINTR our stop caused.
 */
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "arch/arch.h"
#include "proc/internal.h"
#include "proc/procfs.h"
#include "proc/ptrace.h"

static bool eintr_syscall(long nr);
static bool eintr_repairable(pid_t pid, long nr, uint64_t arg0);
static void snap_check(struct proc *p, struct thread *t);

static bool is_stop_signal(int sig)
{
	return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

/*
 * Digest one wait status of an attached thread. Returns 1 when t is now in a
 * ptrace-stop, 0 when it went away.
 */
static int thread_note_status(struct proc *p, struct thread *t, int status)
{
	if (WIFEXITED(status) || WIFSIGNALED(status)) {
		t->gone = true;
		t->attached = false;
		t->stopped = false;
		if (t->tid == p->pid)
			p->exited = true;
		return 0;
	}
	if (!WIFSTOPPED(status))
		return 1;
	int sig = WSTOPSIG(status), event = status >> 16;
	t->stopped = true;
	t->regs_valid = false;
	if (event == PTRACE_EVENT_STOP) {
		/* Group-stop of a seized tracee reports the stop signal; our INTERRUPT reports SIGTRAP. */
		if (is_stop_signal(sig))
			t->was_stopped = true;
		else
			t->interrupted = true;
		snap_check(p, t);
	} else if (event == 0) {
		/* Signal-delivery-stop: the signal is ours to re-inject on resume. */
		if (t->pending_sig && t->pending_sig != sig)
			hp_warn("pid %d: thread %d: second signal %d while holding %d", p->pid, t->tid,
				sig, t->pending_sig);
		t->pending_sig = sig;
	}
	return 1;
}

/* Wait until attached thread t is in a ptrace-stop. */
static int thread_wait_stop(struct proc *p, struct thread *t, uint64_t deadline)
{
	while (t->attached && !t->stopped) {
		int status;
		pid_t r = pt_wait(t->tid, &status, deadline);
		if (r == 0) {
			/* A zombie (a leader that called pthread_exit) never stops: it is no thread. */
			struct procfs_stat st;
			bool known = procfs_stat(p->pid, t->tid, &st) == 0;
			if (known && (st.state == 'Z' || st.state == 'X')) {
				t->gone = true;
				t->attached = false;
				return 0;
			}
			return hp_err(HOTPATCH_E_TIMEOUT, "pid %d: thread %d did not stop (state %c)",
				      p->pid, t->tid, known ? st.state : '?');
		}
		if (r < 0) {
			/* ECHILD: it exited and was reaped by the kernel (non-leader threads). */
			t->gone = true;
			t->attached = false;
			return 0;
		}
		thread_note_status(p, t, status);
	}
	return 0;
}

/*
 * Every thread of the process is one we hold: the kernel's count of them
 * (the task directory's link count is 2 + threads) equals the number of
 * ours that are stopped. A stopped thread cannot exit nor be replaced by
 * a new one, so this proves what a second readdir would, in one stat; any
 * doubt (a zombie leader, a thread that left) means a rescan.
 */
static bool all_held(struct proc *p)
{
	size_t held = 0;

	for (size_t i = 0; i < p->nthreads; i++) {
		const struct thread *t = p->threads[i];
		if (t->attached && t->stopped)
			held++;
		else if (!t->gone)
			return false;
	}
	return procfs_task_count(p->pid) == (long)held;
}

/*
 * Each PTRACE_INTERRUPT or detach wakes a thread of the target, and on a
 * machine with few CPUs the scheduler hands the CPU to it at once: two
 * context switches per thread, inside the pause. For the loops that only
 * issue those requests we run as SCHED_FIFO (priority 1), so the woken
 * threads wait for a free CPU instead of preempting us: measured on 2 CPUs,
 * 257 threads resume in 0.7 ms instead of 2.1 ms, 9 threads ~20 us sooner. Only when we are
 * SCHED_OTHER and allowed to (root, CAP_SYS_NICE); our own policy and nice
 * value come back right after.
 */
#define BOOST_MIN_THREADS 128

static bool boost(void)
{
	struct sched_param sp = { .sched_priority = 1 };

	if (sched_getscheduler(0) != SCHED_OTHER)
		return false;
	return sched_setscheduler(0, SCHED_FIFO | SCHED_RESET_ON_FORK, &sp) == 0;
}

static void unboost(bool boosted)
{
	struct sched_param sp = { .sched_priority = 0 };

	if (boosted)
		sched_setscheduler(0, SCHED_OTHER, &sp);
}

/*
 * Where the registers lose an argument when a call returns (aarch64's x0:
 * ARCH_SYSCALL_NEEDS_SNAPSHOT), the EINTR repair takes the call from
 * /proc/PID/task/TID/syscall, read while the thread is still blocked in it, right
 * before its interrupt (the kernel reads it under wait_task_inactive: a
 * consistent picture of a thread off the CPU). Only for the calls that return
 * EINTR to our stop. A thread that was not in such a call when read, and enters
 * one before the interrupt reaches it, sees EINTR (as under gdb): the window is
 * the few microseconds between the read and the interrupt. Reading every thread
 * first and interrupting them after would keep those reads out of the pause but
 * widen that window to the whole loop (seen: 1 EINTR in 3 operations on a
 * 9-thread target in the emulated guest). A snapshot counts only if it is the
 * call our interrupt ended:
 *  - the voluntary context switch count, read before the second read of the
 *    call (equal to the first), dates the picture: the thread has been blocked
 *    in that call since its count last moved;
 *  - at the interrupt stop the count is exactly one more (the stop itself): it
 *    did not leave that call and block again (snap_check);
 *  - number, x1..x5, sp and pc are compared with the registers by the port.
 * What this cannot see: the call returned by itself in the microseconds
 * between the picture and the interrupt, and the thread called the same
 * system call again from the same instruction with the same sp and other
 * arguments but another first one, and our interrupt caught that call before
 * it slept. Then the repair would run it with the first call's first
 * argument; docs/aarch64.md says so.
 */
static void snap_syscall(struct proc *p, struct thread *t)
{
	char a[256], b[256];
	struct arch_syscall_snap s2;

	t->snap_valid = false;
	if (procfs_read(p->pid, t->tid, "syscall", a, sizeof(a)) < 0 ||
	    procfs_syscall_parse(a, &t->snap.nr, t->snap.args, &t->snap.sp, &t->snap.pc) ||
	    !eintr_repairable(p->pid, t->snap.nr, t->snap.args[0]))
		return;
	t->snap_switches = procfs_status(p->pid, t->tid, "voluntary_ctxt_switches:");
	if (t->snap_switches < 0 || procfs_read(p->pid, t->tid, "syscall", b, sizeof(b)) < 0 ||
	    strcmp(a, b) || procfs_syscall_parse(b, &s2.nr, s2.args, &s2.sp, &s2.pc))
		return;
	t->snap_valid = true;
	hp_debug("pid %d: thread %d: blocked in syscall %ld (%ld switches): %s", p->pid, t->tid,
		 t->snap.nr, t->snap_switches, "snapped for the EINTR repair");
}

/* At the interrupt stop: the snapshot stands only if the thread blocked nowhere since. */
static void snap_check(struct proc *p, struct thread *t)
{
	if (!t->snap_valid)
		return;
	long now = procfs_status(p->pid, t->tid, "voluntary_ctxt_switches:");
	if (now != t->snap_switches + 1) {
		hp_debug("pid %d: thread %d: blocked again since its syscall was read (%ld -> %ld switches): no EINTR repair",
			 p->pid, t->tid, t->snap_switches, now);
		t->snap_valid = false;
	}
}

int proc_hold_all(struct proc *p)
{
	return proc_hold_all_cb(p, NULL, NULL);
}

int proc_hold_all_cb(struct proc *p, proc_stop_fn fn, void *arg)
{
	uint64_t deadline = hp_now_ns() + STOP_TIMEOUT_NS;
	bool first = true;
	int err = 0;

	for (size_t i = 0; i < p->nthreads; i++)
		p->threads[i]->seen_by_hold = false;
	for (;;) {
		pid_t *tids = NULL;
		size_t n = 0, added = 0;
		err = proc_tasks(p, &tids, &n);
		if (err)
			break;
		for (size_t i = 0; i < n; i++) {
			struct thread *t = proc_thread(p, tids[i]);
			if (t && t->attached)
				continue;
			if (!t) {
				t = proc_thread_add(p, tids[i]);
				if (!t) {
					err = -ENOMEM;
					break;
				}
			} else {
				/* A gone thread's id, reused by a new thread: start afresh. */
				pid_t tid = t->tid;
				memset(t, 0, sizeof(*t));
				t->tid = tid;
			}
			int r = pt_seize(t->tid, PTRACE_O_TRACESYSGOOD);
			if (r == -ESRCH || (r == -EPERM && procfs_thread_dead(p->pid, t->tid))) {
				/* Exited between readdir and seize, or exiting: the kernel refuses those. */
				t->gone = true;
				continue;
			}
			if (r) {
				if (r == -EPERM)
					hp_debug("pid %d: seize of thread %d: EPERM", p->pid, t->tid);
				err = (r == -EPERM) ? proc_perm_error(p->pid, EPERM)
						    : hp_err(r, "pid %d: cannot attach thread %d: %s",
							     p->pid, t->tid, strerror(-r));
				break;
			}
			t->attached = true;
			t->stopped = false;
			t->interrupt_sent = false;
			added++;
		}
		free(tids);
		/*
		 * Seizing does not stop a thread: seize them all first, then
		 * interrupt them all, so the threads stopped first do not wait
		 * for the seize of the others (one syscall less per thread in
		 * the pause).
		 */
		/*
		 * Interrupt them all (boosted only for many: the two extra system
		 * calls cost more than they save below ~100 threads, measured),
		 * then let them use every CPU to reach their stops.
		 */
		/*
		 * Also where each interrupt follows a /proc read of the thread's call: preempted
		 * between the two, we would let a blocked call time out and be entered again
		 * (seen in the emulated guest: the check then refuses the repair, EINTR).
		 */
		bool boosted = (ARCH_SYSCALL_NEEDS_SNAPSHOT || added >= BOOST_MIN_THREADS) && boost();
		for (size_t i = 0; !err && i < p->nthreads; i++) {
			struct thread *t = p->threads[i];
			if (!t->attached || t->stopped || t->interrupt_sent)
				continue;
			if (first && !p->first_stop_ns) {
				p->first_stop_ns = hp_now_ns();
				first = false;
			}
			/* Right before its interrupt: the window for a call entered unseen is microseconds. */
			if (ARCH_SYSCALL_NEEDS_SNAPSHOT)
				snap_syscall(p, t);
			int r = pt_interrupt(t->tid);
			if (r && r != -ESRCH)
				err = hp_err(r, "pid %d: cannot interrupt thread %d", p->pid, t->tid);
			t->interrupt_sent = true;
		}
		unboost(boosted);
		if (first && !p->first_stop_ns) {
			/*
			 * Nobody to interrupt: every thread was stopped already (the
			 * one thread of a one-thread target, borrowed for dlopen).
			 * The stop-the-world still starts here, for timing.pause_ns.
			 */
			p->first_stop_ns = hp_now_ns();
			first = false;
		}
		if (err)
			break;
		for (size_t i = 0; i < p->nthreads && !err; i++) {
			struct thread *t = p->threads[i];
			err = thread_wait_stop(p, t, deadline);
			/* Work on it now, while the threads after it are still on their way. */
			if (!err && fn && !t->seen_by_hold && t->attached && t->stopped) {
				t->seen_by_hold = true;
				fn(arg, p, t);
			}
		}
		if (err)
			break;
		if (p->exited) {
			err = hp_err(HOTPATCH_E_EXITED, "pid %d: process exited", p->pid);
			break;
		}
		/* Stable: every thread we know is stopped and a rescan found nobody new. */
		if (!added || all_held(p))
			break;
	}
	if (!err) {
		/* Everything is stopped: if the image changed meanwhile, all we know is stale. */
		uint64_t ss = proc_stat_field(p, 28);
		if (ss && p->startstack && ss != p->startstack) {
			p->execed = true;
			err = hp_err(HOTPATCH_E_EXITED, "pid %d: process called exec", p->pid);
		}
	}
	if (err) {
		proc_release_all(p, NULL);
		return err;
	}
	p->held = true;
	for (size_t i = 0; i < p->nthreads; i++)
		if (p->threads[i]->was_stopped)
			p->was_group_stopped = true;
	return 0;
}

int proc_hold_one(struct proc *p, pid_t tid, struct thread **out)
{
	struct thread *t = proc_thread(p, tid);
	*out = NULL;
	if (p->held || (t && t->attached))
		BUG("proc_hold_one(%d) with threads held", tid);
	if (!t && !(t = proc_thread_add(p, tid)))
		return -ENOMEM;
	t->gone = false;
	int err = pt_seize(tid, PTRACE_O_TRACESYSGOOD);
	if (!err) {
		t->attached = true;
		t->stopped = false;
		bool boosted = ARCH_SYSCALL_NEEDS_SNAPSHOT && boost();
		if (ARCH_SYSCALL_NEEDS_SNAPSHOT)
			snap_syscall(p, t);
		err = pt_interrupt(tid);
		unboost(boosted);
		if (!err)
			err = thread_wait_stop(p, t, hp_now_ns() + STOP_TIMEOUT_NS);
		if (!err && !t->attached)
			err = -ESRCH;	/* exited meanwhile */
	}
	if (err) {
		proc_release_thread(p, t);
		t->gone = true;
		return err == -EPERM ? proc_perm_error(p->pid, EPERM) : err;
	}
	*out = t;
	return 0;
}

/*
 * System calls that return -EINTR, instead of a -ERESTART* code, when merely
 * woken by our PTRACE_INTERRUPT: without help the target would see EINTR from
 * a stop that was never a signal (gdb leaves exactly this behind). Each of
 * them has done nothing when it returns EINTR, so running it again is exact.
 */
/*
 * Socket calls return EINTR instead of a restart code when the socket has a timeout
 * (SO_RCVTIMEO/SO_SNDTIMEO: sock_intr_errno), and only when nothing was transferred (else the
 * count): run again, they wait again, the full timeout. connect is not among them (a second
 * connect finds the first one in progress). read/readv/write/writev count only on a socket.
 */
enum { EINTR_NO, EINTR_YES, EINTR_IF_SOCKET };

static int eintr_socket_syscall(long nr)
{
	switch (nr) {
	case SYS_recvfrom:
	case SYS_recvmsg:
	case SYS_recvmmsg:
	case SYS_sendto:
	case SYS_sendmsg:
	case SYS_sendmmsg:
	case SYS_accept4:
#ifdef SYS_accept
	case SYS_accept:
#endif
		return EINTR_YES;
#ifdef SYS_read
	case SYS_read:
#endif
	case SYS_readv:
#ifdef SYS_write
	case SYS_write:
#endif
	case SYS_writev:
		return EINTR_IF_SOCKET;
	default:
		return EINTR_NO;
	}
}

static bool fd_is_socket(pid_t pid, uint64_t fd)
{
	char path[64], target[32];
	snprintf(path, sizeof(path), "/proc/%d/fd/%llu", (int)pid, (unsigned long long)fd);
	ssize_t n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return false;
	target[n] = 0;
	return !strncmp(target, "socket:", 7);
}

/* A call whose EINTR at our stop would be repaired (fd: its first argument). */
static bool eintr_repairable(pid_t pid, long nr, uint64_t arg0)
{
	int sock = eintr_socket_syscall(nr);
	return eintr_syscall(nr) || sock == EINTR_YES ||
	       (sock == EINTR_IF_SOCKET && fd_is_socket(pid, arg0));
}

static bool eintr_syscall(long nr)
{
	switch (nr) {
#ifdef SYS_epoll_wait
	case SYS_epoll_wait:
#endif
	case SYS_epoll_pwait:
#ifdef SYS_epoll_pwait2
	case SYS_epoll_pwait2:
#endif
	case SYS_io_getevents:
	case SYS_semop:
	case SYS_semtimedop:
	case SYS_rt_sigtimedwait:
	case SYS_mq_timedreceive:
	case SYS_mq_timedsend:
#ifdef SYS_io_uring_enter
	/*
	 * It returns EINTR only when it submitted nothing (else the count submitted): run again,
	 * it submits what is still queued and waits again (with EXT_ARG, its full timeout).
	 */
	case SYS_io_uring_enter:
#endif
		return true;
	default:
		return false;
	}
}

/*
 * A signal is pending for the thread and not blocked by it: then EINTR is
 * real. Asked through ptrace (its mask, its queue and the process's), not
 * /proc/PID/task/TID/status: inside the pause, three small calls (~4 us)
 * cost less than formatting that file (~13 us, per epoll thread). Any doubt
 * counts as pending. Blind spot: a standard signal the kernel could not
 * queue (RLIMIT_SIGPENDING exhausted) is pending without a queue entry;
 * then the call restarts after the handler has run, as if the signal had
 * come just before it, instead of returning EINTR.
 */
static bool signal_pending_for(struct proc *p, pid_t tid)
{
	siginfo_t si[64];	/* a queue of blocked real-time signals is often longer than 8 */
	uint64_t blocked;

	(void)p;
	if (pt_getsigmask(tid, &blocked))
		return true;
	for (int shared = 0; shared < 2; shared++) {
		int n = pt_peeksiginfo(tid, shared, si, (int)ARRAY_SIZE(si));
		if (n < 0 || n == (int)ARRAY_SIZE(si))
			return true;
		for (int i = 0; i < n; i++)
			if (si[i].si_signo < 1 || si[i].si_signo > 64 ||
			    !(blocked & (1ull << (si[i].si_signo - 1))))
				return true;
	}
	return false;
}

static void restart_interrupted_syscall(struct proc *p, struct thread *t)
{
	struct user_regs_struct regs;
	uint8_t insn[ARCH_SYSCALL_INSN_LEN];
	const struct arch_syscall_snap *snap = t->snap_valid ? &t->snap : NULL;

	/* Used once: the thread leaves this stop now. */
	t->snap_valid = false;
	if (!t->interrupted || t->pending_sig)
		return;
	if (ARCH_SYSCALL_NEEDS_SNAPSHOT && !snap)
		return;
	/* The registers read for unwinding are current unless something set others since. */
	if (t->regs_valid)
		regs = t->regs;
	else if (pt_getregs(t->tid, &regs))
		return;
	long nr = snap ? snap->nr : arch_syscall_nr(&regs);
	int sock = nr < 0 ? EINTR_NO : eintr_socket_syscall(nr);
	if (nr < 0 || arch_syscall_result(&regs) != -EINTR || (!eintr_syscall(nr) && !sock))
		return;
	hp_debug("pid %d: thread %d: syscall %ld returned EINTR at our stop", p->pid, t->tid, nr);
	/* Only where the thread really executed the instruction (not a vsyscall, not a jump). */
	if (pread(p->memfd, insn, sizeof(insn), (off_t)(arch_pc(&regs) - ARCH_SYSCALL_INSN_LEN)) !=
		    (ssize_t)sizeof(insn) ||
	    !arch_is_syscall_insn(insn, sizeof(insn)))
		return;
	if (signal_pending_for(p, t->tid)) {
		hp_debug("pid %d: thread %d: a signal may be pending: its EINTR stands", p->pid, t->tid);
		return;
	}
	if (!arch_rewind_syscall(&regs, snap)) {
		hp_debug("pid %d: thread %d: its registers are not the call read before the stop: EINTR stands",
			 p->pid, t->tid);
		return;
	}
	/* The fd as the call will read it again: rewound, argument 0 is back in its register. */
	if (sock == EINTR_IF_SOCKET && !fd_is_socket(p->pid, arch_syscall_arg(&regs, 0))) {
		hp_debug("pid %d: thread %d: syscall %ld on fd %llu, not a socket: EINTR stands",
			 p->pid, t->tid, nr, (unsigned long long)arch_syscall_arg(&regs, 0));
		return;
	}
	if (pt_setregs(t->tid, &regs) == 0)
		hp_debug("pid %d: thread %d: syscall %ld restarted (it would have seen EINTR)", p->pid,
			 t->tid, nr);
}

int proc_release_thread(struct proc *p, struct thread *t)
{
	int err = 0;
	if (!t->attached)
		return 0;
	if (!t->stopped) {
		/* Must be in a ptrace-stop to detach: interrupt it first. */
		if (pt_interrupt(t->tid) == 0)
			thread_wait_stop(p, t, hp_now_ns() + STOP_TIMEOUT_NS);
	}
	if (t->attached) {
		restart_interrupted_syscall(p, t);
		err = pt_detach(t->tid, t->pending_sig);
		if (err && err != -ESRCH)
			hp_warn("pid %d: thread %d: detach: %s", p->pid, t->tid, strerror(-err));
	}
	t->attached = false;
	t->stopped = false;
	t->interrupted = false;
	t->pending_sig = 0;
	t->regs_valid = false;
	return err == -ESRCH ? 0 : err;
}

int proc_resume_thread(struct proc *p, struct thread *t)
{
	if (!t->attached || !t->stopped)
		return 0;
	restart_interrupted_syscall(p, t);
	int err = pt_cont(t->tid, t->pending_sig);
	if (err == -ESRCH) {
		/* SIGKILLed in its stop: it is on its way out. */
		t->gone = true;
		t->attached = false;
		err = 0;
	}
	t->stopped = false;
	t->interrupted = false;
	t->interrupt_sent = false;
	t->pending_sig = 0;
	t->regs_valid = false;
	return err;
}

int proc_release_all(struct proc *p, struct thread *keep)
{
	int err = 0;
	bool boosted = boost();
	for (size_t i = 0; i < p->nthreads; i++) {
		struct thread *t = p->threads[i];
		if (t == keep || t->parked)
			continue;
		int r = proc_release_thread(p, t);
		if (r && !err)
			err = r;
	}
	/* The pause ends with the last resume, not when the scheduler gives us the CPU back. */
	if (p->held && p->first_stop_ns) {
		p->pause_ns += hp_now_ns() - p->first_stop_ns;
		p->first_stop_ns = 0;
	}
	unboost(boosted);
	p->held = false;
	return err;
}

void proc_abandon(struct proc *p)
{
	if (p)
		proc_release_all(p, NULL);
}


/* SPDX-License-Identifier: MIT */
/* Running code inside a stopped thread: calls, system calls, run-to-address. */
#include <signal.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include "arch/arch.h"
#include "proc/proc.h"
#include "proc/ptrace.h"

/* Everything the call may change, to put back whatever happens. */
struct saved_thread {
	struct user_regs_struct regs;
	struct xstate xs;
	uint64_t sigmask;
};

static int thread_save(struct proc *p, struct thread *t, struct saved_thread *s)
{
	/* Callers release *s on failure too: nothing in it may be stack garbage. */
	memset(s, 0, sizeof(*s));
	int err = thread_get_regs(p, t);
	if (err)
		return err;
	const char *live = proc_thread_live_state(p, t);
	if (live)
		return hp_err(HOTPATCH_E_BUSY,
			      "pid %d: thread %d is in %s, which injected code would not preserve",
			      p->pid, t->tid, live);
	err = proc_seccomp_check(p, t);
	if (err)
		return err;
	s->regs = t->regs;
	err = pt_getsigmask(t->tid, &s->sigmask);
	if (err)
		return hp_err(err, "pid %d: thread %d: cannot read signal mask", p->pid, t->tid);
	err = thread_get_xstate(t, &s->xs);
	if (err)
		return hp_err(err, "pid %d: thread %d: cannot read xstate: %s", p->pid, t->tid,
			      strerror(-err));
	return 0;
}

/* Put the thread back exactly. Every step is attempted even if one fails. */
static int thread_restore(struct proc *p, struct thread *t, struct saved_thread *s)
{
	int err = 0, r;

	if (t->gone)
		return 0;
	r = thread_set_xstate(t, &s->xs);
	if (r)
		err = hp_err(r, "pid %d: thread %d: cannot restore xstate: %s", p->pid, t->tid,
			     strerror(-r));
	r = thread_set_regs(p, t, &s->regs);
	if (r && !err)
		err = r;
	r = pt_setsigmask(t->tid, s->sigmask);
	if (r && !err)
		err = hp_err(r, "pid %d: thread %d: cannot restore signal mask", p->pid, t->tid);
	return err;
}

static void saved_release(struct saved_thread *s)
{
	xstate_release(&s->xs);
}

/*
 * Resume t and wait for the stop that ends injected code: a signal-delivery
 * stop of 'end_sig' with rip == end_pc (or, for single-steps, any SIGTRAP).
 * Stops that are not ours are handled without losing anything: a pending
 * INTERRUPT trap is resumed over, a SIGSTOP is kept for re-injection at
 * release. A synchronous fault inside the injected code ends with
 * -HOTPATCH_E_FAULT naming the signal and address.
 */
static int resume_injected(struct thread *t, bool step, bool tracing)
{
	return step ? pt_singlestep(t->tid, 0) : tracing ? pt_syscall(t->tid, 0) : pt_cont(t->tid, 0);
}

/*
 * A system-call stop of a hooked call. At an entry the hook sees the call and
 * may rewrite its arguments; *tracing turns false once it is done or if
 * anything about the stop cannot be read (the call then runs untraced).
 */
static void syscall_stop(struct proc *p, struct thread *t, const struct remote_hook *hook,
			 bool *tracing)
{
	struct __ptrace_syscall_info si;
	bool done = false;

	if (!hook || !t->regs_valid || pt_syscall_info(t->tid, &si)) {
		*tracing = false;
		return;
	}
	if (si.op != PTRACE_SYSCALL_INFO_ENTRY)
		return;		/* an exit: on to the next entry */
	struct user_regs_struct regs = t->regs;
	if (hook->at_syscall(hook->arg, p, t, (long)si.entry.nr, si.entry.args, &regs, &done) > 0 &&
	    pt_setregs(t->tid, &regs) == 0)
		t->regs = regs;
	if (done)
		*tracing = false;
}

/*
 * Registers written at a syscall-entry stop are the arguments of a system
 * call the kernel then runs: restoring the borrowed thread's own there would
 * run its interrupted call (a read, say) once more. So a thread taken back
 * at an entry stop has that call skipped and is resumed to
 * the exit stop, where writing registers is safe. True when it was resumed.
 */
static bool skip_syscall_entry(struct thread *t)
{
	struct __ptrace_syscall_info si;
	struct user_regs_struct regs;

	if (pt_syscall_info(t->tid, &si) || si.op != PTRACE_SYSCALL_INFO_ENTRY ||
	    pt_getregs(t->tid, &regs))
		return false;
	arch_cancel_syscall(&regs);
	return pt_setregs(t->tid, &regs) == 0 && pt_syscall(t->tid, 0) == 0;
}

static int run_injected(struct proc *p, struct thread *t, bool step, uint64_t end_pc,
			uint64_t deadline, const char *what, const struct remote_hook *hook)
{
	bool tracing = hook != NULL;
	int err = resume_injected(t, step, tracing);
	if (err)
		return hp_err(err, "pid %d: thread %d: cannot resume for %s", p->pid, t->tid, what);
	t->stopped = false;
	t->interrupted = false;
	t->regs_valid = false;
	for (;;) {
		int status;
		pid_t r = pt_wait(t->tid, &status, deadline);
		if (r == 0) {
			/* Take the thread back; the caller restores its registers. */
			pt_interrupt(t->tid);
			int st;
			while (!t->stopped && pt_wait(t->tid, &st, hp_now_ns() + 2000000000ull) > 0) {
				if (WIFSTOPPED(st)) {
					int sig = WSTOPSIG(st);
					if ((st >> 16) == 0 && sig == (SIGTRAP | 0x80) &&
					    skip_syscall_entry(t))
						continue;	/* on to its exit stop */
					t->stopped = true;
					/* not a syscall stop of a hooked call either: no signal */
					if ((st >> 16) == 0 && sig != SIGTRAP && sig != SIGSEGV &&
					    sig != (SIGTRAP | 0x80))
						t->pending_sig = sig;
				} else {
					t->gone = true;
					t->attached = false;
					if (t->tid == p->pid)
						p->exited = true;
					break;
				}
			}
			return hp_err(HOTPATCH_E_TIMEOUT, "pid %d: thread %d: %s did not return in time",
				      p->pid, t->tid, what);
		}
		if (r < 0 || WIFEXITED(status) || WIFSIGNALED(status)) {
			t->gone = true;
			t->attached = false;
			t->stopped = false;
			p->exited = true;
			return hp_err(HOTPATCH_E_EXITED, "pid %d: process exited during %s", p->pid,
				      what);
		}
		if (!WIFSTOPPED(status))
			continue;
		t->stopped = true;
		t->regs_valid = false;
		int sig = WSTOPSIG(status), event = status >> 16;
		if (event == PTRACE_EVENT_STOP) {
			/* A leftover INTERRUPT or a group-stop: the injected code is not done. */
			if (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU)
				t->was_stopped = true;
		} else if (event == 0) {
			struct user_regs_struct regs;
			int gr = pt_getregs(t->tid, &regs);
			if (gr == 0) {
				t->regs = regs;
				t->regs_valid = true;
			} else if (gr == -ESRCH) {
				/* SIGKILLed in its stop (exit_group of another thread): it is gone. */
				t->gone = true;
				t->attached = false;
				t->stopped = false;
				return hp_err(HOTPATCH_E_EXITED, "pid %d: thread %d exited during %s",
					      p->pid, t->tid, what);
			}
			if (sig == (SIGTRAP | 0x80)) {
				syscall_stop(p, t, hook, &tracing);
				goto resume;
			}
			if (step && sig == SIGTRAP)
				return 0;
			if (!step && sig == SIGSEGV && t->regs_valid && arch_pc(&t->regs) == end_pc)
				return 0;
			if (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE ||
			    sig == SIGTRAP || sig == SIGABRT || sig == SIGSYS) {
				siginfo_t si;
				memset(&si, 0, sizeof(si));
				pt_getsiginfo(t->tid, &si);
				return hp_err(HOTPATCH_E_FAULT,
					      "pid %d: thread %d: %s crashed: signal %d (%s) at pc 0x%llx, address %p",
					      p->pid, t->tid, what, sig, strsignal(sig),
					      (unsigned long long)(t->regs_valid ? arch_pc(&t->regs) : 0),
					      si.si_addr);
			}
			/* Blocked signals cannot get here; SIGSTOP can: keep it for later. */
			if (sig != SIGKILL)
				t->pending_sig = sig;
		}
resume:
		err = resume_injected(t, step, tracing);
		if (err)
			return hp_err(err, "pid %d: thread %d: cannot resume for %s", p->pid, t->tid,
				      what);
		t->stopped = false;
	}
}

int proc_remote_call(struct proc *p, struct thread *t, uint64_t fn, const uint64_t *args,
		     int nargs, const void *data, size_t len, uint64_t *ret, uint64_t deadline_ns)
{
	return proc_remote_call_hooked(p, t, fn, args, nargs, data, len, ret, deadline_ns, NULL);
}

int proc_remote_call_hooked(struct proc *p, struct thread *t, uint64_t fn, const uint64_t *args,
			    int nargs, const void *data, size_t len, uint64_t *ret,
			    uint64_t deadline_ns, const struct remote_hook *hook)
{
	struct saved_thread saved;
	struct user_regs_struct call;
	uint64_t a[6] = { 0 }, data_addr = 0, fake_ret = 0;
	int err;

	bool was_interrupted = t->interrupted;
	if (nargs > 6)
		BUG("remote call with %d args", nargs);
	err = thread_save(p, t, &saved);
	if (err) {
		saved_release(&saved);
		return err;
	}
	call = saved.regs;
	arch_setup_call(&call, fn, a, 0, fake_ret, len, &data_addr);
	for (int i = 0; i < nargs; i++)
		a[i] = args[i] == REMOTE_DATA ? data_addr : args[i];
	call = saved.regs;
	arch_setup_call(&call, fn, a, nargs, fake_ret, len, &data_addr);

	/* Nothing but our own fault may interrupt the call: every signal stays pending. */
	err = pt_setsigmask(t->tid, ~0ull);
	if (!err && len)
		err = proc_write(p, data_addr, data, len);
	if (!err)
		err = proc_write(p, arch_sp(&call), &fake_ret, sizeof(fake_ret));
	if (!err)
		err = thread_set_regs(p, t, &call);
	if (!err)
		err = run_injected(p, t, false, fake_ret, deadline_ns, "remote call", hook);
	if (!err && ret)
		*ret = arch_call_result(&t->regs);
	int r = thread_restore(p, t, &saved);
	saved_release(&saved);
	/* Back in the stop we found it in, EINTR fix-up included (see stop.c). */
	t->interrupted = was_interrupted;
	return err ? err : r;
}

int proc_step(struct proc *p, struct thread *t, uint64_t deadline_ns)
{
	uint64_t mask;
	int err = pt_getsigmask(t->tid, &mask);
	if (err)
		return hp_err(err, "pid %d: thread %d: cannot read signal mask", p->pid, t->tid);
	/* Its own instruction, nothing else: no handler may run in between. */
	err = pt_setsigmask(t->tid, ~0ull);
	if (!err)
		err = run_injected(p, t, true, 0, deadline_ns, "single step", NULL);
	int r = t->gone ? 0 : pt_setsigmask(t->tid, mask);
	if (!err && r)
		err = hp_err(r, "pid %d: thread %d: cannot restore signal mask", p->pid, t->tid);
	if (!err && !t->regs_valid)
		err = thread_get_regs(p, t);
	return err;
}

/* Find a syscall instruction: where the thread sits if it is in a syscall, else in libc or vdso text. */
static int find_syscall_insn(struct proc *p, struct thread *t, uint64_t *addr)
{
	uint8_t insn[ARCH_SYSCALL_INSN_LEN];

	if (p->syscall_insn) {
		*addr = p->syscall_insn;
		return 0;
	}
	int err = thread_get_regs(p, t);
	if (err)
		return err;
	uint64_t pc = arch_pc(&t->regs);
	if (proc_read(p, pc - ARCH_SYSCALL_INSN_LEN, insn, sizeof(insn)) == 0 &&
	    !memcmp(insn, ARCH_SYSCALL_INSN, ARCH_SYSCALL_INSN_LEN)) {
		*addr = p->syscall_insn = pc - ARCH_SYSCALL_INSN_LEN;
		return 0;
	}
	hp_err_clear();
	err = proc_maps_refresh(p);
	if (err)
		return err;
	static uint8_t chunk[65536];
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < p->nmaps; i++) {
			const struct map *m = &p->maps[i];
			if (!(m->prot & 4))
				continue;
			bool libc = strstr(m->path, "/libc.so") || strstr(m->path, "/libc-");
			bool vdso = !strcmp(m->path, "[vdso]");
			if (pass == 0 ? !libc : (libc || m->path[0] == '['  ? !vdso : false))
				continue;
			for (uint64_t a = m->start; a < m->end; a += sizeof(chunk) - 1) {
				size_t n = m->end - a < sizeof(chunk) ? m->end - a : sizeof(chunk);
				if (pread(p->memfd, chunk, n, (off_t)a) != (ssize_t)n)
					break;
				uint8_t *hit = memmem(chunk, n, ARCH_SYSCALL_INSN, ARCH_SYSCALL_INSN_LEN);
				if (hit) {
					*addr = p->syscall_insn = a + (uint64_t)(hit - chunk);
					return 0;
				}
			}
		}
	}
	return hp_err(HOTPATCH_E_NOTSUP, "pid %d: no syscall instruction found in the target",
		      p->pid);
}

int proc_remote_syscall(struct proc *p, struct thread *t, long nr, const uint64_t *args, int nargs,
			const void *data, size_t len, long *ret)
{
	struct saved_thread saved;
	struct user_regs_struct call;
	uint64_t insn = 0, a[6] = { 0 };

	bool was_interrupted = t->interrupted;
	int err = find_syscall_insn(p, t, &insn);
	if (err)
		return err;
	err = thread_save(p, t, &saved);
	if (err) {
		saved_release(&saved);
		return err;
	}
	/* Data for the syscall (a name, a path) goes below the red zone, like a call's. */
	uint64_t data_addr = ((arch_sp(&saved.regs) - ARCH_RED_ZONE - len) & ~15ull) - 16;
	for (int i = 0; i < nargs && i < 6; i++)
		a[i] = args[i] == REMOTE_DATA ? data_addr : args[i];
	call = saved.regs;
	arch_setup_syscall(&call, insn, nr, a, nargs);
	err = pt_setsigmask(t->tid, ~0ull);
	if (!err && len)
		err = proc_write(p, data_addr, data, len);
	if (!err)
		err = thread_set_regs(p, t, &call);
	if (!err)
		err = run_injected(p, t, true, 0, hp_now_ns() + 5000000000ull, "remote syscall", NULL);
	if (!err)
		*ret = arch_syscall_result(&t->regs);
	int r = thread_restore(p, t, &saved);
	saved_release(&saved);
	/* Back in the stop we found it in, EINTR fix-up included (see stop.c). */
	t->interrupted = was_interrupted;
	return err ? err : r;
}

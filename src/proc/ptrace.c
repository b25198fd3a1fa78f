/* SPDX-License-Identifier: MIT */
#define HP_PTRACE_GATEWAY
#include <errno.h>
#include <elf.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>

#include "common/common.h"
#include "proc/ptrace.h"

static int pt(enum __ptrace_request req, pid_t tid, void *addr, void *data)
{
	errno = 0;
	long r = ptrace(req, tid, addr, data);
	if (r == -1 && errno)
		return -errno;
	return 0;
}

int pt_seize(pid_t tid, unsigned long options)
{
	return pt(PTRACE_SEIZE, tid, NULL, (void *)options);
}

int pt_setoptions(pid_t tid, unsigned long options)
{
	return pt(PTRACE_SETOPTIONS, tid, NULL, (void *)options);
}

int pt_interrupt(pid_t tid)
{
	return pt(PTRACE_INTERRUPT, tid, NULL, NULL);
}

int pt_detach(pid_t tid, int sig)
{
	return pt(PTRACE_DETACH, tid, NULL, (void *)(long)sig);
}

int pt_cont(pid_t tid, int sig)
{
	return pt(PTRACE_CONT, tid, NULL, (void *)(long)sig);
}

int pt_syscall(pid_t tid, int sig)
{
	return pt(PTRACE_SYSCALL, tid, NULL, (void *)(long)sig);
}

int pt_syscall_info(pid_t tid, struct __ptrace_syscall_info *info)
{
	long r = ptrace(PTRACE_GET_SYSCALL_INFO, tid, (void *)sizeof(*info), info);
	return r < 0 ? -errno : 0;
}

int pt_singlestep(pid_t tid, int sig)
{
	return pt(PTRACE_SINGLESTEP, tid, NULL, (void *)(long)sig);
}

int pt_seccomp_filter(pid_t tid, unsigned long index, void *insns)
{
	errno = 0;
	long r = ptrace((enum __ptrace_request)0x420c /* PTRACE_SECCOMP_GET_FILTER */, tid,
			(void *)index, insns);
	return r < 0 ? -errno : (int)r;
}

int pt_listen(pid_t tid)
{
	return pt(PTRACE_LISTEN, tid, NULL, NULL);
}

/* The general registers as the NT_PRSTATUS regset: every architecture has it (aarch64 has no GETREGS). */
int pt_getregs(pid_t tid, struct user_regs_struct *regs)
{
	struct iovec iov = { regs, sizeof(*regs) };
	return pt(PTRACE_GETREGSET, tid, (void *)(long)NT_PRSTATUS, &iov);
}

int pt_setregs(pid_t tid, const struct user_regs_struct *regs)
{
	struct iovec iov = { (void *)regs, sizeof(*regs) };
	return pt(PTRACE_SETREGSET, tid, (void *)(long)NT_PRSTATUS, &iov);
}

int pt_getregset(pid_t tid, int type, struct iovec *iov)
{
	return pt(PTRACE_GETREGSET, tid, (void *)(long)type, iov);
}

int pt_setregset(pid_t tid, int type, struct iovec *iov)
{
	return pt(PTRACE_SETREGSET, tid, (void *)(long)type, iov);
}

/* The kernel's sigset is 8 bytes; glibc's sigset_t is 128: pass the kernel size. */
int pt_getsigmask(pid_t tid, uint64_t *mask)
{
	return pt(PTRACE_GETSIGMASK, tid, (void *)sizeof(*mask), mask);
}

int pt_setsigmask(pid_t tid, uint64_t mask)
{
	return pt(PTRACE_SETSIGMASK, tid, (void *)sizeof(mask), &mask);
}

int pt_peekuser(pid_t tid, size_t off, uint64_t *val)
{
	errno = 0;
	long r = ptrace(PTRACE_PEEKUSER, tid, (void *)off, NULL);
	if (r == -1 && errno)
		return -errno;
	*val = (uint64_t)r;
	return 0;
}

int pt_pokeuser(pid_t tid, size_t off, uint64_t val)
{
	return pt(PTRACE_POKEUSER, tid, (void *)off, (void *)val);
}

int pt_getsiginfo(pid_t tid, siginfo_t *si)
{
	return pt(PTRACE_GETSIGINFO, tid, NULL, si);
}

int pt_peeksiginfo(pid_t tid, bool shared, siginfo_t *si, int n)
{
	struct __ptrace_peeksiginfo_args a = {
		.off = 0, .flags = shared ? PTRACE_PEEKSIGINFO_SHARED : 0, .nr = n };
	long r = ptrace(PTRACE_PEEKSIGINFO, tid, &a, si);
	return r < 0 ? -errno : (int)r;
}

int pt_geteventmsg(pid_t tid, unsigned long *msg)
{
	return pt(PTRACE_GETEVENTMSG, tid, NULL, msg);
}

void pt_wait_init(sigset_t *old)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	pthread_sigmask(SIG_BLOCK, &set, old);
}

void pt_wait_fini(const sigset_t *old)
{
	sigset_t set;
	struct timespec zero = { 0, 0 };

	/* Drop the SIGCHLDs our tracees' stops queued, so the caller never sees them. */
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	while (sigtimedwait(&set, NULL, &zero) > 0)
		;
	pthread_sigmask(SIG_SETMASK, old, NULL);
}

pid_t pt_wait(pid_t tid, int *status, uint64_t deadline_ns)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);

	for (;;) {
		pid_t r = waitpid(tid, status, __WALL | WNOHANG);
		if (r != 0) {
			if (r < 0 && errno == EINTR)
				continue;
			return r < 0 ? -errno : r;
		}
		uint64_t now = hp_now_ns();
		if (now >= deadline_ns)
			return 0;
		/*
		 * A tracee's ptrace-stop sends us SIGCHLD. Sleep on it, but never
		 * longer than 5 ms: a SIGCHLD consumed by an earlier wait for another
		 * tid must not turn into a full timeout.
		 */
		uint64_t left = deadline_ns - now;
		if (left > 5000000)
			left = 5000000;
		struct timespec ts = { (time_t)(left / 1000000000), (long)(left % 1000000000) };
		sigtimedwait(&set, NULL, &ts);
	}
}

/* SPDX-License-Identifier: MIT */
/*
 * The ptrace gateway: the only functions allowed to call ptrace(2). Every
 * wrapper returns 0 or -errno. Raw ptrace() is poisoned for the files of
 * src/proc that include this header (after their <sys/ptrace.h>), and for
 * every file outside src/proc by src/common/noptrace.h (the Makefile's
 * -include), so a stray call cannot skip the bookkeeping here.
 */
#ifndef HP_PTRACE_H
#define HP_PTRACE_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/user.h>

int pt_seize(pid_t tid, unsigned long options);
int pt_setoptions(pid_t tid, unsigned long options);
int pt_interrupt(pid_t tid);
int pt_detach(pid_t tid, int sig);
int pt_cont(pid_t tid, int sig);
int pt_singlestep(pid_t tid, int sig);
/* Resume to the next system-call entry or exit (seen as SIGTRAP | 0x80: PTRACE_O_TRACESYSGOOD). */
int pt_syscall(pid_t tid, int sig);
struct __ptrace_syscall_info;
int pt_syscall_info(pid_t tid, struct __ptrace_syscall_info *info);
int pt_listen(pid_t tid);
/*
 * Filter 'index' of tid's seccomp filters, most recent first (CAP_SYS_ADMIN): its number of
 * struct sock_filter instructions, copied to insns if not NULL; -ENOENT past the last one.
 */
int pt_seccomp_filter(pid_t tid, unsigned long index, void *insns);
int pt_getregs(pid_t tid, struct user_regs_struct *regs);
int pt_setregs(pid_t tid, const struct user_regs_struct *regs);
int pt_getregset(pid_t tid, int type, struct iovec *iov);
int pt_setregset(pid_t tid, int type, struct iovec *iov);
int pt_getsigmask(pid_t tid, uint64_t *mask);
int pt_setsigmask(pid_t tid, uint64_t mask);
int pt_peekuser(pid_t tid, size_t off, uint64_t *val);
int pt_pokeuser(pid_t tid, size_t off, uint64_t val);
int pt_getsiginfo(pid_t tid, siginfo_t *si);
int pt_geteventmsg(pid_t tid, unsigned long *msg);
/* Up to n signals queued for tid (its own queue, or the process's): count, or -errno. */
int pt_peeksiginfo(pid_t tid, bool shared, siginfo_t *si, int n);

/*
 * Wait for a state change of tid (-1: any tracee) until deadline_ns
 * (CLOCK_MONOTONIC; 0 = don't block). Returns the pid that changed (> 0),
 * 0 on timeout, or -errno (-ECHILD: nothing to wait for). The calling thread
 * must have SIGCHLD blocked (pt_wait_init) so the wait can be bounded.
 */
pid_t pt_wait(pid_t tid, int *status, uint64_t deadline_ns);
/* Block SIGCHLD in the calling thread; returns the previous mask in *old. */
void pt_wait_init(sigset_t *old);
void pt_wait_fini(const sigset_t *old);

#endif

#ifndef HP_PTRACE_GATEWAY
#pragma GCC poison ptrace
#endif

/* SPDX-License-Identifier: MIT */
/* What the files of src/proc share and nothing outside it sees. */
#ifndef HP_PROC_INTERNAL_H
#define HP_PROC_INTERNAL_H

#include "proc/proc.h"

/* How long a thread may take to reach a ptrace-stop once interrupted. */
#define STOP_TIMEOUT_NS (2000ull * 1000000)

/* A new entry of p->threads (proc.c): NULL when out of memory. */
struct thread *proc_thread_add(struct proc *p, pid_t tid);
/* Record why ptrace is refused for pid (tracer, owner, Yama) and return the code (proc.c). */
int proc_perm_error(pid_t pid, int err);

/*
 * Classic BPF as seccomp runs it (seccomp.c): filter f of n instructions on d; its return
 * value, or SECCOMP_RET_KILL_PROCESS for anything the kernel would not accept.
 */
struct sock_filter;
struct seccomp_data;
uint32_t proc_seccomp_eval(const struct sock_filter *f, int n, const struct seccomp_data *d);

#endif

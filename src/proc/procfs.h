/* SPDX-License-Identifier: MIT */
/*
 * Reading /proc for src/proc (procfs.c): one reader, one /proc/PID/stat
 * parser, one status-field lookup. The parsers are pure (unit-tested in
 * tests/unit/test_procfs.c); the readers return -errno and record no message.
 */
#ifndef HP_PROC_PROCFS_H
#define HP_PROC_PROCFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The fields of /proc/PID[/task/TID]/stat that hotpatch uses (numbers as in proc(5)). */
struct procfs_stat {
	char state;			/* 3: R, S, D, T, t, Z, X, ... */
	unsigned long flags;		/* 9: PF_* (PF_KTHREAD = 0x00200000) */
	unsigned long long starttime;	/* 22: with the pid, names the process for good */
	unsigned long long startstack;	/* 28: a new, randomized stack after each exec */
};
#define PROCFS_PF_KTHREAD 0x00200000ul

/*
 * Numeric field 'field' (1-based, >= 3) of stat text; 0 when absent. comm
 * (field 2) may hold spaces and ')': the fields start after the last ')'.
 */
uint64_t procfs_stat_num(const char *text, int field);
/* Parse stat text into *st: 0, or -EINVAL when it is no stat line. */
int procfs_stat_parse(const char *text, struct procfs_stat *st);
/* The number after "key" (e.g. "TracerPid:") in status text, -1 when absent. */
long procfs_status_num(const char *text, const char *key);
/* The syscall number of /proc/PID/task/TID/syscall text, -1 when running or not in one. */
long procfs_syscall_nr(const char *text);
/*
 * The whole line while blocked in a system call: number, six arguments, sp, pc. 0, or
 * -EINVAL when the text says "running", "-1 sp pc" (in none) or is no such line.
 */
int procfs_syscall_parse(const char *text, long *nr, uint64_t args[6], uint64_t *sp, uint64_t *pc);

/*
 * Read /proc/PID/name (tid 0) or /proc/PID/task/TID/name into buf, NUL
 * terminated; returns the length or -errno.
 */
int procfs_read(pid_t pid, pid_t tid, const char *name, char *buf, size_t len);
/* The same for files of any length: *out malloc'd, NUL terminated. */
int procfs_read_all(pid_t pid, const char *name, char **out, size_t *len);
/* Read and parse stat of pid (tid 0) or of one of its threads: 0 or -errno/-EINVAL. */
int procfs_stat(pid_t pid, pid_t tid, struct procfs_stat *st);
/* A status field of pid (tid 0) or its thread tid: -1 when unreadable or absent. */
long procfs_status(pid_t pid, pid_t tid, const char *key);
/* comm of pid, "?" when unreadable. */
void procfs_comm(pid_t pid, char *buf, size_t len);
/* The thread exited and waits to be reaped (Z/X), or is gone. */
bool procfs_thread_dead(pid_t pid, pid_t tid);
/* The kernel's count of pid's threads, from the link count of /proc/PID/task; -1 if unknown. */
long procfs_task_count(pid_t pid);
/* Thread ids of pid now (/proc/PID/task), malloc'd: 0 or -errno. */
int procfs_tasks(pid_t pid, pid_t **tids, size_t *n);
/* pid of whoever traces a thread of pid (0: nobody). */
long procfs_tracer_of(pid_t pid);
/*
 * pid is frozen by a cgroup freezer (v1 freezer.state FROZEN/FREEZING, v2
 * cgroup.events "frozen 1"): nothing of it runs, not even into a ptrace
 * stop. *where names the cgroup and its state.
 */
bool procfs_frozen(pid_t pid, char *where, size_t len);
/* kernel.yama.ptrace_scope, 0 when absent. */
int procfs_ptrace_scope(void);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * Would a thread's seccomp filters let injected code's system calls through?
 *
 * A service may run under a filter (systemd's SystemCallFilter=, a container runtime's
 * profile, QEMU's -sandbox) whose action for a call it never makes itself is to kill the
 * process or to raise SIGSYS. The code hotpatch runs in a borrowed thread (dlopen, the remote
 * mmap/memfd_create/... of src/patch) makes calls the service may never make. Before a thread
 * runs any of it, its filters are read (PTRACE_SECCOMP_GET_FILTER, CAP_SYS_ADMIN) and run here,
 * a classic BPF interpreter over struct seccomp_data, for every call of that set with the
 * arguments hotpatch and glibc's loader pass. An action that kills, traps or defers to a
 * supervisor (USER_NOTIF) for any of them refuses the operation before anything ran. ERRNO is
 * fine: the call fails and hotpatch reports it. A filter that cannot be read (no
 * CAP_SYS_ADMIN, a kernel without CONFIG_CHECKPOINT_RESTORE) leaves the answer unknown: a
 * warning, and the operation goes on as before this check existed (README, Limitations).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/futex.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "arch/arch.h"
#include "proc/internal.h"
#include "proc/procfs.h"
#include "proc/ptrace.h"

#ifndef MAP_DENYWRITE
#define MAP_DENYWRITE 0x0800
#endif
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef AT_EMPTY_PATH
#define AT_EMPTY_PATH 0x1000
#endif
#ifndef F_ADD_SEALS
#define F_ADD_SEALS 1033
#endif

struct sc_call {
	long nr;
	uint64_t a[6];
	const char *what;
};

#define FD 3ull
#define ADDR 0x7f0000000000ull
#define LEN 0x10000ull
#define NEG(v) ((uint64_t)(int64_t)(v))

/* The calls of injected code, with the arguments it passes (glibc 2.36's loader and src/patch). */
static const struct sc_call calls[] = {
	{ SYS_openat, { NEG(AT_FDCWD), ADDR, O_RDONLY | O_CLOEXEC }, "openat" },
#ifdef SYS_open
	{ SYS_open, { ADDR, O_RDONLY | O_CLOEXEC }, "open" },
#endif
	{ SYS_read, { FD, ADDR, 832 }, "read" },
	{ SYS_pread64, { FD, ADDR, 832, 64 }, "pread64" },
#ifdef SYS_newfstatat
	{ SYS_newfstatat, { FD, ADDR, ADDR, AT_EMPTY_PATH }, "newfstatat" },
#endif
#ifdef SYS_fstat
	{ SYS_fstat, { FD, ADDR }, "fstat" },
#endif
	{ SYS_mmap, { 0, LEN, PROT_READ, MAP_PRIVATE | MAP_DENYWRITE, FD, 0 }, "mmap of a library" },
	{ SYS_mmap, { ADDR, LEN, PROT_READ, MAP_PRIVATE | MAP_DENYWRITE, FD, 0 }, "mmap of a library (with an address hint)" },
	{ SYS_mmap, { ADDR, LEN, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_FIXED | MAP_DENYWRITE, FD, 0 }, "mmap of a library's code" },
	{ SYS_mmap, { ADDR, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED | MAP_DENYWRITE, FD, 0 }, "mmap of a library's data" },
	{ SYS_mmap, { ADDR, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS, NEG(-1), 0 }, "mmap of a library's bss" },
	{ SYS_mmap, { ADDR, LEN, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, NEG(-1), 0 }, "mmap of a jump island" },
	{ SYS_mmap, { 0, LEN, PROT_READ, MAP_PRIVATE, FD, 0 }, "mmap of the state region" },
	{ SYS_mprotect, { ADDR, LEN, PROT_READ }, "mprotect" },
	{ SYS_mprotect, { ADDR, LEN, PROT_NONE }, "mprotect (PROT_NONE)" },
	{ SYS_munmap, { ADDR, LEN }, "munmap" },
	{ SYS_close, { FD }, "close" },
	{ SYS_brk, { 0 }, "brk" },
	{ SYS_futex, { ADDR, FUTEX_WAIT_PRIVATE, 2 }, "futex" },
	{ SYS_futex, { ADDR, FUTEX_WAKE_PRIVATE, 1 }, "futex" },
	{ SYS_memfd_create, { ADDR, 1 /* MFD_CLOEXEC */ }, "memfd_create" },
	{ SYS_memfd_create, { ADDR, 3 /* MFD_CLOEXEC | MFD_ALLOW_SEALING */ }, "memfd_create" },
	{ SYS_ftruncate, { FD, LEN }, "ftruncate" },
	{ SYS_fcntl, { FD, F_ADD_SEALS, 15 }, "fcntl" },
};

#define MAX_INSNS 4096	/* BPF_MAXINSNS */

/* One filter run on one call: its return value, or SECCOMP_RET_KILL_PROCESS on anything odd. */
uint32_t proc_seccomp_eval(const struct sock_filter *f, int n, const struct seccomp_data *d)
{
	uint32_t a = 0, x = 0, m[BPF_MEMWORDS] = { 0 };
	const uint8_t *data = (const uint8_t *)d;

	for (int pc = 0; pc >= 0 && pc < n; pc++) {
		const struct sock_filter *i = &f[pc];
		uint32_t src = BPF_SRC(i->code) == BPF_X ? x : i->k;
		switch (BPF_CLASS(i->code)) {
		case BPF_LD:
		case BPF_LDX: {
			uint32_t v;
			switch (BPF_MODE(i->code)) {
			case BPF_ABS:
				if (BPF_SIZE(i->code) != BPF_W || i->k > sizeof(*d) - 4 || (i->k & 3))
					return SECCOMP_RET_KILL_PROCESS;
				memcpy(&v, data + i->k, 4);
				break;
			case BPF_IMM:
				v = i->k;
				break;
			case BPF_MEM:
				if (i->k >= BPF_MEMWORDS)
					return SECCOMP_RET_KILL_PROCESS;
				v = m[i->k];
				break;
			case BPF_LEN:
				v = sizeof(*d);
				break;
			default:
				return SECCOMP_RET_KILL_PROCESS;
			}
			if (BPF_CLASS(i->code) == BPF_LD)
				a = v;
			else
				x = v;
			break;
		}
		case BPF_ST:
		case BPF_STX:
			if (i->k >= BPF_MEMWORDS)
				return SECCOMP_RET_KILL_PROCESS;
			m[i->k] = BPF_CLASS(i->code) == BPF_ST ? a : x;
			break;
		case BPF_ALU:
			switch (BPF_OP(i->code)) {
			case BPF_ADD: a += src; break;
			case BPF_SUB: a -= src; break;
			case BPF_MUL: a *= src; break;
			case BPF_DIV: if (!src) return 0; a /= src; break;	/* the kernel: 0, KILL_THREAD */
			case BPF_OR: a |= src; break;
			case BPF_AND: a &= src; break;
			case BPF_XOR: a ^= src; break;
			case BPF_LSH: a = src < 32 ? a << src : 0; break;
			case BPF_RSH: a = src < 32 ? a >> src : 0; break;
			case BPF_NEG: a = -a; break;
			default: return SECCOMP_RET_KILL_PROCESS;
			}
			break;
		case BPF_JMP: {
			bool t;
			switch (BPF_OP(i->code)) {
			case BPF_JA:
				pc += (int)i->k;
				continue;
			case BPF_JEQ: t = a == src; break;
			case BPF_JGT: t = a > src; break;
			case BPF_JGE: t = a >= src; break;
			case BPF_JSET: t = (a & src) != 0; break;
			default: return SECCOMP_RET_KILL_PROCESS;
			}
			pc += t ? i->jt : i->jf;
			break;
		}
		case BPF_RET:
			return BPF_RVAL(i->code) == BPF_A ? a : i->k;
		case BPF_MISC:
			if (BPF_MISCOP(i->code) == BPF_TAX)
				x = a;
			else if (BPF_MISCOP(i->code) == BPF_TXA)
				a = x;
			else
				return SECCOMP_RET_KILL_PROCESS;
			break;
		default:
			return SECCOMP_RET_KILL_PROCESS;
		}
	}
	return SECCOMP_RET_KILL_PROCESS;	/* fell off the end: the kernel never accepts that */
}

/* Precedence of an action when several filters answer (the kernel's order): higher wins. */
static int rank(uint32_t ret)
{
	switch (ret & SECCOMP_RET_ACTION_FULL) {
	case SECCOMP_RET_KILL_PROCESS: return 8;
	case SECCOMP_RET_KILL_THREAD: return 7;
	case SECCOMP_RET_TRAP: return 6;
	case SECCOMP_RET_ERRNO: return 5;
	case SECCOMP_RET_USER_NOTIF: return 4;
	case SECCOMP_RET_TRACE: return 3;
	case SECCOMP_RET_LOG: return 2;
	case SECCOMP_RET_ALLOW: return 1;
	default: return 8;	/* unknown: as KILL_PROCESS, which is what the kernel does */
	}
}

static const char *fatal(uint32_t ret)
{
	switch (ret & SECCOMP_RET_ACTION_FULL) {
	case SECCOMP_RET_KILL_THREAD: return "kill the thread";
	case SECCOMP_RET_TRAP: return "raise SIGSYS";
	case SECCOMP_RET_USER_NOTIF: return "stop it for its supervisor";
	case SECCOMP_RET_ERRNO:
	case SECCOMP_RET_TRACE:	/* we are the tracer, without PTRACE_O_TRACESECCOMP: ENOSYS */
	case SECCOMP_RET_LOG:
	case SECCOMP_RET_ALLOW:
		return NULL;
	default: return "kill the process";
	}
}

int proc_seccomp_check(struct proc *p, struct thread *t)
{
	struct sock_filter *f[16] = { 0 };
	int nf[16], nfilters = 0, err = 0;

	if (t->seccomp_checked)
		return 0;
	if (procfs_status(p->pid, t->tid, "Seccomp:") != 2) {
		t->seccomp_checked = true;
		return 0;
	}
	for (;;) {
		if (nfilters == (int)ARRAY_SIZE(f)) {
			err = hp_err(HOTPATCH_E_PERM,
				     "pid %d: thread %d has more than %zu seccomp filters: hotpatch cannot tell what they allow",
				     p->pid, t->tid, ARRAY_SIZE(f));
			goto out;
		}
		int n = pt_seccomp_filter(t->tid, (unsigned long)nfilters, NULL);
		if (n == -ENOENT)
			break;
		if (n < 0 || n > MAX_INSNS) {
			hp_warn("pid %d: thread %d runs under a seccomp filter that cannot be read (%s): if it kills on a call of injected code (mmap, mprotect, openat, memfd_create...), the target dies",
				p->pid, t->tid, n < 0 ? strerror(-n) : "too long");
			t->seccomp_checked = true;
			goto out;
		}
		f[nfilters] = calloc((size_t)n + 1, sizeof(struct sock_filter));
		if (!f[nfilters]) {
			err = -ENOMEM;
			goto out;
		}
		int got = pt_seccomp_filter(t->tid, (unsigned long)nfilters, f[nfilters]);
		if (got != n) {
			err = hp_err(HOTPATCH_E_PERM, "pid %d: thread %d: its seccomp filter %d changed while read",
				     p->pid, t->tid, nfilters);
			free(f[nfilters]);
			goto out;
		}
		nf[nfilters++] = n;
	}
	for (size_t c = 0; c < ARRAY_SIZE(calls); c++) {
		struct seccomp_data d = { .nr = (int)calls[c].nr, .arch = ARCH_AUDIT };
		uint32_t ret = SECCOMP_RET_ALLOW;
		memcpy(d.args, calls[c].a, sizeof(d.args));
		for (int i = 0; i < nfilters; i++) {
			uint32_t r = proc_seccomp_eval(f[i], nf[i], &d);
			if (rank(r) > rank(ret))
				ret = r;
		}
		const char *what = fatal(ret);
		if (what) {
			err = hp_err(HOTPATCH_E_PERM,
				     "pid %d: thread %d: its seccomp filter would %s on %s (syscall %ld), which hotpatch runs in the target: nothing done",
				     p->pid, t->tid, what, calls[c].what, calls[c].nr);
			goto out;
		}
	}
	hp_debug("pid %d: thread %d: %d seccomp filters allow the calls of injected code", p->pid,
		 t->tid, nfilters);
	t->seccomp_checked = true;
out:
	for (int i = 0; i < nfilters; i++)
		free(f[i]);
	return err;
}

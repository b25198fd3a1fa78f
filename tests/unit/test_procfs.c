/* SPDX-License-Identifier: MIT */
/*
 * The pure functions of src/proc: the one /proc/PID/stat parser, status and
 * syscall fields (procfs.c), maps lines and lookup (maps.c), and the arch
 * seam's view of a thread stopped in a system call (arch/x86_64/call.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cmocka.h>

#include "arch/arch.h"
#include "proc/proc.h"
#include "proc/procfs.h"

/* A stat line whose numeric field N (N >= 4) reads N * 10, comm as given, state S. */
static const char *stat_line(const char *comm, char state)
{
	static char buf[2048];
	int n = snprintf(buf, sizeof(buf), "4242 (%s) %c", comm, state);
	for (int f = 4; f <= 52; f++)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, " %d", f * 10);
	snprintf(buf + n, sizeof(buf) - (size_t)n, "\n");
	return buf;
}

static void stat_fields(void **state)
{
	(void)state;
	struct procfs_stat st;
	const char *l = stat_line("cat", 'S');
	assert_int_equal(procfs_stat_parse(l, &st), 0);
	assert_int_equal(st.state, 'S');
	assert_int_equal(st.flags, 90);
	assert_int_equal(st.starttime, 220);
	assert_int_equal(st.startstack, 280);
	assert_int_equal(procfs_stat_num(l, 4), 40);
	assert_int_equal(procfs_stat_num(l, 52), 520);
	assert_int_equal(procfs_stat_num(l, 53), 0);	/* past the end */
}

/* comm is whatever the program set (prctl PR_SET_NAME): spaces, ')' and digits. */
static void stat_hostile_comm(void **state)
{
	(void)state;
	struct procfs_stat st;
	static const char *comms[] = { "a b", "x) R 1 2", ") 7 7 7", "((", "9 9)" };
	for (size_t i = 0; i < sizeof(comms) / sizeof(comms[0]); i++) {
		const char *l = stat_line(comms[i], 'Z');
		assert_int_equal(procfs_stat_parse(l, &st), 0);
		assert_int_equal(st.state, 'Z');
		assert_int_equal(st.flags, 90);
		assert_int_equal(st.starttime, 220);
		assert_int_equal(st.startstack, 280);
	}
}

static void stat_kthread_flag(void **state)
{
	(void)state;
	struct procfs_stat st;
	const char *l = "2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 7 0 0 "
			"18446744073709551615 0 0 0 0 0 0 0 2147483647 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n";
	assert_int_equal(procfs_stat_parse(l, &st), 0);
	assert_true(st.flags & PROCFS_PF_KTHREAD);
	assert_int_equal(st.starttime, 7);
	assert_int_equal(st.startstack, 0);
}

static void stat_malformed(void **state)
{
	(void)state;
	struct procfs_stat st;
	assert_int_equal(procfs_stat_parse("", &st), -EINVAL);
	assert_int_equal(procfs_stat_parse("1 (no close S 1", &st), -EINVAL);
	assert_int_equal(procfs_stat_parse("1 (x)", &st), -EINVAL);
	assert_int_equal(procfs_stat_parse("1 (x)S 1", &st), -EINVAL);
	assert_int_equal(st.state, 0);
	/* Truncated after the state: the state is known, the rest reads 0. */
	assert_int_equal(procfs_stat_parse("1 (x) T", &st), 0);
	assert_int_equal(st.state, 'T');
	assert_int_equal(st.startstack, 0);
	assert_int_equal(procfs_stat_num("garbage", 5), 0);
}

/* The parser against the kernel: our own stat, read the way the library reads a target's. */
static void stat_self(void **state)
{
	(void)state;
	struct procfs_stat st;
	assert_int_equal(procfs_stat(getpid(), 0, &st), 0);
	assert_int_equal(st.state, 'R');
	assert_false(st.flags & PROCFS_PF_KTHREAD);
	assert_true(st.starttime > 0);
	assert_true(st.startstack > 0);
	assert_int_equal(procfs_stat(getpid(), (pid_t)syscall(SYS_gettid), &st), 0);
	assert_int_equal(st.state, 'R');
	assert_int_equal(procfs_stat(0x7ffffff0, 0, &st), -ENOENT);
	assert_int_equal(procfs_task_count(getpid()), 1);
	assert_int_equal(procfs_status(getpid(), 0, "Tgid:"), getpid());
	assert_int_equal(procfs_status(getpid(), 0, "NoSuchKey:"), -1);
}

static void status_fields(void **state)
{
	(void)state;
	const char *s = "Name:\tcat\nTgid:\t77\nPid:\t78\nPPid:\t1\nTracerPid:\t0\n"
			"Uid:\t1000\t1000\t1000\t1000\nThreads:\t3\nSeccomp:\t2\n";
	assert_int_equal(procfs_status_num(s, "Tgid:"), 77);
	assert_int_equal(procfs_status_num(s, "PPid:"), 1);
	assert_int_equal(procfs_status_num(s, "TracerPid:"), 0);
	assert_int_equal(procfs_status_num(s, "Uid:"), 1000);
	assert_int_equal(procfs_status_num(s, "Threads:"), 3);
	assert_int_equal(procfs_status_num(s, "Seccomp:"), 2);
	assert_int_equal(procfs_status_num(s, "NSpid:"), -1);
}

static void syscall_line(void **state)
{
	(void)state;
	assert_int_equal(procfs_syscall_nr("232 0x3 0x7ffd 0x10 0xffffffff 0x0 0x0 0x7ffc 0x7f12\n"), 232);
	assert_int_equal(procfs_syscall_nr("0 0x0 0x1 0x2 0x3 0x4 0x5 0x7ffc 0x7f12\n"), 0);
	assert_int_equal(procfs_syscall_nr("-1 0x7ffc 0x7f12\n"), -1);
	assert_int_equal(procfs_syscall_nr("running\n"), -1);
	assert_int_equal(procfs_syscall_nr(""), -1);

	long nr;
	uint64_t args[6], sp, pc;
	assert_int_equal(procfs_syscall_parse("22 0x3 0xffffd0a8 0x1 0x32 0x0 0x8 0xffffd070 0xffff8a1c\n",
					      &nr, args, &sp, &pc), 0);
	assert_int_equal(nr, 22);
	assert_int_equal(args[0], 3);
	assert_int_equal(args[1], 0xffffd0a8);
	assert_int_equal(args[3], 0x32);
	assert_int_equal(args[5], 8);
	assert_int_equal(sp, 0xffffd070);
	assert_int_equal(pc, 0xffff8a1c);
	assert_int_equal(procfs_syscall_parse("-1 0x7ffc 0x7f12\n", &nr, args, &sp, &pc), -EINVAL);
	assert_int_equal(procfs_syscall_parse("running\n", &nr, args, &sp, &pc), -EINVAL);
	assert_int_equal(procfs_syscall_parse("22 0x3 0x1\n", &nr, args, &sp, &pc), -EINVAL);
}

static void maps_lines(void **state)
{
	(void)state;
	const char *t =
		"555555554000-555555556000 r--p 00000000 fd:01 1234567                    /usr/bin/cat\n"
		"555555556000-55555555a000 r-xp 00002000 fd:01 1234567                    /usr/bin/cat\n"
		"7ffff7fc1000-7ffff7fc5000 rw-s 00000000 00:05 99 /dev/shm/x (deleted)\n"
		"7ffff7fd0000-7ffff7fd1000 ---p 00000000 00:00 0 \n"
		"bogus line\n"
		"7ffffffde000-7ffffffff000 rw-p 00000000 00:00 0                          [stack]";
	struct map *m;
	size_t n;
	assert_int_equal(maps_parse(t, strlen(t), &m, &n), 0);
	assert_int_equal(n, 5);
	assert_int_equal(m[0].start, 0x555555554000ull);
	assert_int_equal(m[0].prot, PROT_READ);
	assert_string_equal(m[0].path, "/usr/bin/cat");
	assert_int_equal(m[0].inode, 1234567);
	assert_int_equal(m[0].dev_major, 0xfd);
	assert_int_equal(m[0].dev_minor, 1);
	assert_int_equal(m[1].prot, PROT_READ | PROT_EXEC);
	assert_int_equal(m[1].offset, 0x2000);
	assert_true(m[2].shared);
	assert_true(m[2].deleted);
	assert_string_equal(m[2].path, "/dev/shm/x");
	assert_int_equal(m[3].prot, 0);
	assert_string_equal(m[3].path, "");
	assert_string_equal(m[4].path, "[stack]");

	struct proc p = { .maps = m, .nmaps = n };
	assert_ptr_equal(proc_map_find(&p, 0x555555556000ull), &m[1]);
	assert_ptr_equal(proc_map_find(&p, 0x555555555fffull), &m[0]);
	assert_null(proc_map_find(&p, 0x55555555a000ull));
	assert_ptr_equal(proc_map_find(&p, 0x7fffffffeff8ull), &m[4]);
	assert_null(proc_map_find(&p, 0));
	free(m);
}

/* A target with 257 threads has 500+ mappings: every entry and its path from one block. */
static void maps_many(void **state)
{
	(void)state;
	size_t cap = 600 * 120, len = 0, n;
	char *t = malloc(cap);
	assert_non_null(t);
	for (int i = 0; i < 600; i++)
		len += (size_t)snprintf(t + len, cap - len, "%llx-%llx rw-p 00000000 00:00 0 %s\n",
					0x10000ull * (unsigned)(i + 1), 0x10000ull * (unsigned)(i + 1) + 0x8000,
					i % 2 ? "" : "[anon:thread stack]");
	struct map *m;
	assert_int_equal(maps_parse(t, len, &m, &n), 0);
	assert_int_equal(n, 600);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(m[i].start, 0x10000ull * (i + 1));
		assert_string_equal(m[i].path, i % 2 ? "" : "[anon:thread stack]");
	}
	struct proc p = { .maps = m, .nmaps = n };
	assert_ptr_equal(proc_map_find(&p, 0x10000ull * 377 + 5), &m[376]);
	assert_null(proc_map_find(&p, 0x10000ull * 377 + 0x8000));
	free(m);
	free(t);
}

/* What stop.c's EINTR repair asks the arch seam, on a thread stopped after epoll_wait returned -EINTR. */
static void arch_syscall_seam(void **state)
{
	(void)state;
	struct user_regs_struct r;
	memset(&r, 0, sizeof(r));
	arch_cancel_syscall(&r);
	assert_int_equal(arch_syscall_nr(&r), -1);

	r = (struct user_regs_struct){ 0 };
	arch_set_pc(&r, 0x401002);
	r.orig_rax = SYS_epoll_wait;
	r.rax = (unsigned long long)-4;	/* -EINTR */
	assert_int_equal(arch_syscall_nr(&r), SYS_epoll_wait);
	assert_int_equal(arch_syscall_result(&r), -4);
	assert_true(arch_rewind_syscall(&r, NULL));
	assert_int_equal(arch_pc(&r), 0x401002 - ARCH_SYSCALL_INSN_LEN);
	assert_int_equal(arch_syscall_nr(&r), SYS_epoll_wait);
	assert_int_equal(arch_syscall_result(&r), SYS_epoll_wait);	/* the number, for the instruction */

	static const uint8_t sc[] = { 0x0f, 0x05 }, sysenter[] = { 0x0f, 0x34 }, nops[] = { 0x90, 0x90 };
	assert_true(arch_is_syscall_insn(sc, sizeof(sc)));
	assert_false(arch_is_syscall_insn(sc, 1));
	assert_false(arch_is_syscall_insn(sysenter, sizeof(sysenter)));
	assert_false(arch_is_syscall_insn(nops, sizeof(nops)));
	int nsets;
	assert_true(arch_ext_regsets(&nsets) != NULL && nsets > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(stat_fields),       cmocka_unit_test(stat_hostile_comm),
		cmocka_unit_test(stat_kthread_flag), cmocka_unit_test(stat_malformed),
		cmocka_unit_test(stat_self),	     cmocka_unit_test(status_fields),
		cmocka_unit_test(syscall_line),	     cmocka_unit_test(maps_lines),
		cmocka_unit_test(maps_many),
		cmocka_unit_test(arch_syscall_seam),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

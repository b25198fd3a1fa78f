/* SPDX-License-Identifier: MIT */
/*
 * The classic-BPF interpreter of src/proc/seccomp.c against the kernel's: a filter using
 * every instruction class seccomp accepts (loads of nr, arch, both halves of the arguments, the
 * length, immediates and scratch memory; the ALU operations seccomp accepts, with K and X; every jump; RET K and
 * RET A; TAX/TXA) answers the fake system calls 1000-1004 with SECCOMP_RET_ERRNO | a value it
 * computes from their arguments. A child installs it and makes 400 such calls with random
 * arguments, reporting each errno; the interpreter must find the same value for each. And the
 * precedence helpers: allow, errno, kill.
 */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "arch/arch.h"
#include "proc/internal.h"

#define N 400
#define ARG_LO(i) (offsetof(struct seccomp_data, args) + 8 * (i))
#define ARG_HI(i) (ARG_LO(i) + 4)

static const struct sock_filter prog[] = {
	/* 0 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	/* 1 */ BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 1000, 1, 0),
	/* 2 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	/* 3 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
	/* 4 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ARCH_AUDIT, 1, 0),
	/* 5 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 1),
	/* 6 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LO(0)),
	/* 7 */ BPF_STMT(BPF_ST, 0),
	/* 8 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LO(1)),
	/* 9 */ BPF_STMT(BPF_MISC | BPF_TAX, 0),
	/* 10 */ BPF_STMT(BPF_LD | BPF_MEM, 0),
	/* 11 */ BPF_STMT(BPF_ALU | BPF_ADD | BPF_X, 0),
	/* 12 */ BPF_STMT(BPF_ALU | BPF_MUL | BPF_K, 3),
	/* 13 */ BPF_STMT(BPF_ALU | BPF_XOR | BPF_K, 0x55),
	/* 14 */ BPF_STMT(BPF_ST, 1),
	/* 15 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_HI(0)),
	/* 16 */ BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 1, 0, 3),
	/* 17 */ BPF_STMT(BPF_LD | BPF_MEM, 1),
	/* 18 */ BPF_STMT(BPF_ALU | BPF_RSH | BPF_K, 2),
	/* 19 */ BPF_STMT(BPF_JMP | BPF_JA, 2),
	/* 20 */ BPF_STMT(BPF_LD | BPF_MEM, 1),
	/* 21 */ BPF_STMT(BPF_ALU | BPF_LSH | BPF_K, 1),
	/* 22 */ BPF_STMT(BPF_ST, 2),
	/* 23 */ BPF_STMT(BPF_LDX | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)) /* not valid: replaced below */,
	/* 24 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	/* 25 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 1000, 0, 4),
	/* 26 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LO(2)),
	/* 27 */ BPF_STMT(BPF_ALU | BPF_OR | BPF_K, 1),	/* never 0: a divisor */
	/* 28 */ BPF_STMT(BPF_MISC | BPF_TAX, 0),
	/* 29 */ BPF_STMT(BPF_JMP | BPF_JA, 14),		/* to 44: M[2] / X */
	/* 30 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 1001, 0, 3),
	/* 31 */ BPF_STMT(BPF_LD | BPF_MEM, 2),
	/* 32 */ BPF_STMT(BPF_ALU | BPF_RSH | BPF_X, 0),	/* X = 5 (23) */
	/* 33 */ BPF_STMT(BPF_JMP | BPF_JA, 16),		/* to 50 */
	/* 34 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 1002, 0, 4),
	/* 35 */ BPF_STMT(BPF_LD | BPF_MEM, 2),
	/* 36 */ BPF_STMT(BPF_ALU | BPF_NEG, 0),
	/* 37 */ BPF_STMT(BPF_ALU | BPF_SUB | BPF_K, 7),
	/* 38 */ BPF_STMT(BPF_JMP | BPF_JA, 11),		/* to 50 */
	/* 39 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 1003, 0, 1),
	/* 40 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 42),
	/* 41 */ BPF_STMT(BPF_LD | BPF_W | BPF_LEN, 0),
	/* 42 */ BPF_STMT(BPF_LDX | BPF_W | BPF_LEN, 0),
	/* 43 */ BPF_STMT(BPF_JMP | BPF_JA, 4),		/* to 48: A + X = 128 */
	/* 44 */ BPF_STMT(BPF_LD | BPF_MEM, 2),
	/* 45 */ BPF_STMT(BPF_ALU | BPF_DIV | BPF_X, 0),
	/* 46 */ BPF_STMT(BPF_STX, 3),
	/* 47 */ BPF_STMT(BPF_JMP | BPF_JA, 2),		/* to 50 */
	/* 48 */ BPF_STMT(BPF_ALU | BPF_ADD | BPF_X, 0),
	/* 49 */ BPF_STMT(BPF_MISC | BPF_TXA, 0),		/* A = X = 64 */
	/* 50 */ BPF_STMT(BPF_LDX | BPF_MEM, 1),
	/* 51 */ BPF_JUMP(BPF_JMP | BPF_JGT | BPF_X, 0, 0, 1),	/* A > M[1]? */
	/* 52 */ BPF_STMT(BPF_ALU | BPF_ADD | BPF_K, 100),
	/* 53 */ BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0x7ff),
	/* 54 */ BPF_STMT(BPF_ALU | BPF_ADD | BPF_K, 1),
	/* 55 */ BPF_STMT(BPF_ALU | BPF_OR | BPF_K, SECCOMP_RET_ERRNO),
	/* 56 */ BPF_STMT(BPF_RET | BPF_A, 0),
};

struct call {
	long nr;
	uint64_t a[6];
};

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void test_against_kernel(void **state)
{
	(void)state;
	struct sock_filter f[sizeof(prog) / sizeof(prog[0])];
	memcpy(f, prog, sizeof(f));
	/* LDX ABS is not classic BPF seccomp accepts: instruction 23 becomes a harmless LDX IMM. */
	f[23] = (struct sock_filter)BPF_STMT(BPF_LDX | BPF_IMM, 5);
	static struct call c[N];
	uint64_t s = 0x9e3779b97f4a7c15ull;
	for (int i = 0; i < N; i++) {
		c[i].nr = 1000 + (long)(rnd(&s) % 5);
		for (int k = 0; k < 6; k++)
			c[i].a[k] = rnd(&s) >> (rnd(&s) % 64);
	}
	/* Boundaries random arguments never hit: A == X at the JGT of 51 (M[1] = 64 = A). */
	c[0] = (struct call){ 1004, { 3, 4 } };
	c[1] = (struct call){ 1004, { 2, 4 } };
	c[2] = (struct call){ 1004, { 3, 5 } };
	int fd[2];
	assert_int_equal(pipe(fd), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		struct sock_fprog fp = { (unsigned short)(sizeof(f) / sizeof(f[0])), f };
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
		    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fp))
			_exit(2);
		for (int i = 0; i < N; i++) {
			errno = 0;
			long r = syscall(c[i].nr, c[i].a[0], c[i].a[1], c[i].a[2], c[i].a[3], c[i].a[4],
					 c[i].a[5]);
			int e = r < 0 ? errno : -1;
			if (write(fd[1], &e, sizeof(e)) != sizeof(e))
				_exit(3);
		}
		_exit(0);
	}
	close(fd[1]);
	int st, same = 0;
	for (int i = 0; i < N; i++) {
		int e;
		assert_int_equal(read(fd[0], &e, sizeof(e)), sizeof(e));
		struct seccomp_data d = { .nr = (int)c[i].nr, .arch = ARCH_AUDIT };
		memcpy(d.args, c[i].a, sizeof(d.args));
		uint32_t r = proc_seccomp_eval(f, (int)(sizeof(f) / sizeof(f[0])), &d);
		assert_int_equal(r & SECCOMP_RET_ACTION_FULL, SECCOMP_RET_ERRNO);
		if ((int)(r & SECCOMP_RET_DATA) != e)
			fail_msg("call %d (nr %ld): the kernel answered errno %d, the interpreter %u", i,
				 c[i].nr, e, r & SECCOMP_RET_DATA);
		same++;
	}
	close(fd[0]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_int_equal(same, N);
}

/* What the kernel refuses to load is refused here too: a jump out of the program, a bad load. */
static void test_odd_programs(void **state)
{
	(void)state;
	struct seccomp_data d = { .nr = 1, .arch = ARCH_AUDIT };
	const struct sock_filter off_end[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 1, 5, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW) };
	assert_int_equal(proc_seccomp_eval(off_end, 3, &d), SECCOMP_RET_KILL_PROCESS);
	/* MOD is classic BPF, but seccomp refuses a filter using it. */
	const struct sock_filter mod[] = { BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, 3),
					   BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW) };
	assert_int_equal(proc_seccomp_eval(mod, 2, &d), SECCOMP_RET_KILL_PROCESS);
	const struct sock_filter misaligned[] = { BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 2),
						  BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW) };
	assert_int_equal(proc_seccomp_eval(misaligned, 2, &d), SECCOMP_RET_KILL_PROCESS);
	const struct sock_filter beyond[] = { BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 64),
					      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW) };
	assert_int_equal(proc_seccomp_eval(beyond, 2, &d), SECCOMP_RET_KILL_PROCESS);
	const struct sock_filter allow[] = { BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW) };
	assert_int_equal(proc_seccomp_eval(allow, 1, &d), SECCOMP_RET_ALLOW);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_against_kernel),
		cmocka_unit_test(test_odd_programs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: MIT */
/*
 * Target of the fault and security tests (tests/integration/fault_*.sh,
 * sec_*.sh). Every mode prints "ready PID" once set up, then works:
 *
 *   tick [PERIOD_US]       print "tick N a=A b=B" every PERIOD_US (10 ms); the patch
 *                          fault_v2.so turns a=1 b=1 into a=2 b=2 (both or neither)
 *   exit DELAY_US          tick, and a second thread calls exit(0) DELAY_US after "ready"
 *                          (the main thread is the one hotpatch borrows for dlopen)
 *   exec DELAY_US          tick, and a second thread execs this program in tick mode
 *                          DELAY_US after "ready" (a new image under the same pid)
 *   stuck [EXIT_US]        tick, and a second thread sits inside fault_stuck() forever;
 *                          with EXIT_US > 0, a third thread calls exit(0) that long after "ready"
 *   seccomp-mmap           tick, under a filter failing mmap/mprotect with PROT_EXEC (EPERM)
 *   seccomp-memfd          tick, under a filter failing memfd_create (EPERM)
 *   seccomp-kill-memfd     tick, under a filter killing the process on memfd_create
 *   seccomp-trap-exec      tick, under a filter raising SIGSYS on mmap/mprotect with PROT_EXEC
 *
 * The functions are noipa: callers must not keep values in registers the old
 * code leaves alone, so replacing them needs no preserving island.
 */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

volatile unsigned long fault_calls;

__attribute__((noipa, noinline)) int fault_a(int x)
{
	fault_calls++;
	return x + 1;
}

__attribute__((noipa, noinline)) int fault_b(int x)
{
	fault_calls += 2;
	return x + 1;
}

/* Never returns while the test runs: a thread inside a function the patch replaces. */
__attribute__((noipa, noinline)) int fault_stuck(int x)
{
	for (;;) {
		fault_calls++;
		usleep(1000);
	}
	return x;
}

static void *stuck_thread(void *arg)
{
	(void)arg;
	fault_stuck(0);
	return NULL;
}

static void sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static void *exit_thread(void *arg)
{
	sleep_us((long)arg);
	exit(0);
}

static void *exec_thread(void *arg)
{
	sleep_us((long)arg);
	execl("/proc/self/exe", "fault_target", "tick", (char *)NULL);
	perror("exec");
	exit(2);
}

/*
 * Answer 'nr' with 'action' (SECCOMP_RET_ERRNO | EPERM: fail it); for mmap/mprotect only when
 * the protection asks for PROT_EXEC.
 */
static void seccomp_act(int nr, int exec_arg, unsigned action)
{
	struct sock_filter exec_only[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nr, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 (unsigned)offsetof(struct seccomp_data, args[0]) + 8 * (unsigned)exec_arg),
		BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, PROT_EXEC, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, action),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_filter always[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nr, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, action),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { ARRAY_LEN(always), always };
	if (exec_arg >= 0)
		prog = (struct sock_fprog){ ARRAY_LEN(exec_only), exec_only };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog)) {
		perror("seccomp");
		exit(2);
	}
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "tick";
	long arg = argc > 2 ? atol(argv[2]) : 0;
	long period = 10000;
	pthread_t th;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(mode, "tick") && arg > 0) {
		period = arg;
	} else if (!strcmp(mode, "stuck")) {
		pthread_create(&th, NULL, stuck_thread, NULL);
	} else if (!strcmp(mode, "seccomp-mmap")) {
		seccomp_act(SYS_mmap, 2, SECCOMP_RET_ERRNO | EPERM);
		seccomp_act(SYS_mprotect, 2, SECCOMP_RET_ERRNO | EPERM);
	} else if (!strcmp(mode, "seccomp-memfd")) {
		seccomp_act(SYS_memfd_create, -1, SECCOMP_RET_ERRNO | EPERM);
	} else if (!strcmp(mode, "seccomp-kill-memfd")) {
		seccomp_act(SYS_memfd_create, -1, SECCOMP_RET_KILL_PROCESS);
	} else if (!strcmp(mode, "seccomp-trap-exec")) {
		seccomp_act(SYS_mmap, 2, SECCOMP_RET_TRAP);
		seccomp_act(SYS_mprotect, 2, SECCOMP_RET_TRAP);
	} else if (strcmp(mode, "tick") && strcmp(mode, "exit") && strcmp(mode, "exec")) {
		fprintf(stderr, "unknown mode '%s'\n", mode);
		return 2;
	}
	printf("ready %d\n", (int)getpid());
	if (!strcmp(mode, "exit") || (!strcmp(mode, "stuck") && arg > 0))
		pthread_create(&th, NULL, exit_thread, (void *)arg);
	if (!strcmp(mode, "exec"))
		pthread_create(&th, NULL, exec_thread, (void *)arg);
	for (unsigned long i = 0;; i++) {
		printf("tick %lu a=%d b=%d\n", i, fault_a(0), fault_b(0));
		sleep_us(period);
	}
}

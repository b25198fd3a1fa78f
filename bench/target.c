/* SPDX-License-Identifier: MIT */
/*
 * Benchmark target. Two modes:
 *
 *   bench_target threads N NFUNCS   N worker threads calling fn_0..fn_{NFUNCS-1}
 *   bench_target calls              per-call cost loops (no worker threads)
 *
 * Threads mode: the main thread reads commands on stdin. Worker 0 spins
 * (call, read the clock, keep the largest gap between two iterations: what a
 * busy thread sees of a pause); it has CPU 0 to itself and every other
 * thread of the process avoids CPU 0, so the gaps it sees are stops, not
 * time slices lost to its siblings. Workers 1..N-1 tick every period (sleep
 * to an absolute deadline, keep the largest lateness, then 64 calls): most
 * threads of a real server are idle. Worker 1 waits in epoll_pwait2, the
 * others in clock_nanosleep; every error return is counted (a correct tracer
 * lets restartable system calls restart; epoll_wait is never restarted by
 * the kernel after a stop and returns EINTR). The measurement in the loops is
 * one vDSO clock read and a compare.
 *
 * Commands (one per line on stdin, one line of answer on stdout):
 *   g        "gap spin_us=X tick_us=Y calls=C": largest gaps since the last g, reset
 *   e        "errors nanosleep=N last=R epoll=M errno=E read=K"
 *   c ITERS  (calls mode) "calls NAME=ns ...": per-call cost of every variant (best of 3 loops)
 *   q        exit
 * At end of input the main thread waits in pause() until killed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "bench_funcs.h"

#define NOIPA __attribute__((noipa))

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- threads mode ---- */

/* Called by every fn_i: an indirect call, so fn_i clobbers every caller-saved register. */
long (*volatile bench_cb)(long);
NOIPA long bench_cb_impl(long x) { return x ^ 1; }

static int nworkers, nfuncs;
static long period_ns;
static _Atomic uint64_t spin_gap, tick_gap, ncalls;
static _Atomic long sleep_errs, sleep_last, epoll_errs, epoll_errno, read_errs;
static volatile long sink;

static void gap_note(_Atomic uint64_t *max, uint64_t d)
{
	if (d > atomic_load_explicit(max, memory_order_relaxed))
		atomic_store_explicit(max, d, memory_order_relaxed);
}

static int ncpus;

/* This thread on CPU 'cpu' only, or on every CPU but 0 when cpu < 0. */
static void pin(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	if (ncpus < 2)
		return;
	for (int c = 0; c < ncpus && c < CPU_SETSIZE; c++)
		if (cpu < 0 ? c != 0 : c == cpu)
			CPU_SET(c, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

static void *spinner(void *arg)
{
	uint64_t prev, k = 0;
	long s = 0;
	(void)arg;
	pin(0);
	prev = now_ns();
	for (;;) {
		s += bench_fns[k % (unsigned)nfuncs](s);
		uint64_t t = now_ns();
		gap_note(&spin_gap, t - prev);
		prev = t;
		if (!(++k & 1023)) {
			atomic_fetch_add_explicit(&ncalls, 1024, memory_order_relaxed);
			sink = s;
		}
	}
	return NULL;
}

/* Wait until 'next' (CLOCK_MONOTONIC ns): clock_nanosleep, or epoll_pwait2 on a silent fd. */
static void wait_until(int ep, uint64_t next)
{
	struct timespec ts;
	if (ep < 0) {
		ts.tv_sec = (time_t)(next / 1000000000ull);
		ts.tv_nsec = (long)(next % 1000000000ull);
		int r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
		if (r) {
			atomic_fetch_add(&sleep_errs, 1);
			atomic_store(&sleep_last, r);
		}
		return;
	}
	uint64_t t = now_ns();
	uint64_t left = next > t ? next - t : 0;
	struct epoll_event out;
	ts.tv_sec = (time_t)(left / 1000000000ull);
	ts.tv_nsec = (long)(left % 1000000000ull);
	/* Nothing ever arrives: every return but 0 is an error. */
	if (epoll_pwait2(ep, &out, 1, &ts, NULL) != 0) {
		atomic_fetch_add(&epoll_errs, 1);
		atomic_store(&epoll_errno, errno);
	}
}

static void *ticker(void *arg)
{
	long i = (long)arg, s = 0;
	int ep = -1, fds[2];
	if (i == 1) {
		struct epoll_event ev = { .events = EPOLLIN };
		ep = epoll_create1(EPOLL_CLOEXEC);
		if (ep < 0 || pipe(fds) || epoll_ctl(ep, EPOLL_CTL_ADD, fds[0], &ev)) {
			perror("epoll");
			exit(1);
		}
	}
	/* Spread the ticks over the period so wakeups do not all coincide. */
	uint64_t next = now_ns() + (uint64_t)(period_ns * i / nworkers);
	for (;;) {
		wait_until(ep, next);
		uint64_t t = now_ns();
		if (t > next)
			gap_note(&tick_gap, t - next);
		for (int j = 0; j < 64; j++)
			s += bench_fns[(unsigned)(i + j) % (unsigned)nfuncs](s);
		sink = s;
		atomic_fetch_add_explicit(&ncalls, 64, memory_order_relaxed);
		next += (uint64_t)period_ns;
		if (next < t)
			next = t + (uint64_t)period_ns;
	}
	return NULL;
}

/* ---- calls mode: per-call cost of each way of redirecting a call ---- */

/* Never patched references (identical code), the patched copies, the seed form. */
NOIPA long pc_small(long x) { return x + 1; }
NOIPA long pc_small_ref(long x) { return x + 1; }
/* Same code as pc_small; their replacements write more registers (see callpatch.c). */
NOIPA long pc_keep1(long x) { return x + 1; }
NOIPA long pc_keepall(long x) { return x + 1; }
NOIPA long pc_clob(long x) { return bench_cb(x) + 1; }
NOIPA long pc_clob_ref(long x) { return bench_cb(x) + 1; }
NOIPA long pc_clob_seed(long x) { return bench_cb(x) + 1; }
NOIPA long pc_clob_seed_new(long x) { return bench_cb(x) + 1; }
/* Diagnostics: the absolute jump with its address inline (as hotpatch writes it) or elsewhere. */
NOIPA long pc_clob_ff25(long x) { return bench_cb(x) + 1; }
NOIPA long pc_clob_ff25far(long x) { return bench_cb(x) + 1; }
/* The literal of the "far" form: in data, on a line of its own. */
static uint64_t ff25_lit __attribute__((aligned(64)));
/*
 * A 6-byte tail call with no padding after it (the next symbol follows at
 * once): too short for ff25 abs64, so hotpatch jumps through an island.
 */
long pc_tiny(long x);
long pc_tiny_ref(long x);
__asm__(".text\n.p2align 4\n"
	".globl pc_tiny\n.type pc_tiny,@function\npc_tiny:\n\tjmp *bench_cb(%rip)\n"
	".size pc_tiny,.-pc_tiny\n"
	".globl pc_tiny_ref\n.type pc_tiny_ref,@function\npc_tiny_ref:\n\tjmp *bench_cb(%rip)\n"
	".size pc_tiny_ref,.-pc_tiny_ref\n");

/* One loop per callee, so every call is a direct call to a fixed address. */
#define LOOP(f)                                                                            \
	static NOIPA double loop_##f(long iters)                                           \
	{                                                                                  \
		long s = 0;                                                                \
		uint64_t t0 = now_ns();                                                    \
		for (long i = 0; i < iters; i++)                                           \
			s += f(i);                                                         \
		uint64_t t1 = now_ns();                                                    \
		sink = s;                                                                  \
		return (double)(t1 - t0) / (double)iters;                                  \
	}
LOOP(pc_small) LOOP(pc_small_ref) LOOP(pc_keep1) LOOP(pc_keepall) LOOP(pc_clob) LOOP(pc_clob_ref) LOOP(pc_clob_seed) LOOP(pc_clob_ff25) LOOP(pc_clob_ff25far)
LOOP(pc_tiny) LOOP(pc_tiny_ref) LOOP(lib_clob) LOOP(lib_clob_ref)

static const struct {
	const char *name;
	double (*loop)(long);
} loops[] = {
	{ "small_ref", loop_pc_small_ref }, { "small", loop_pc_small },
	{ "keep1", loop_pc_keep1 },	    { "keepall", loop_pc_keepall },
	{ "clob_ref", loop_pc_clob_ref },   { "clob", loop_pc_clob },
	{ "seed", loop_pc_clob_seed },	    { "ff25", loop_pc_clob_ff25 },
	{ "ff25far", loop_pc_clob_ff25far },	    { "tiny_ref", loop_pc_tiny_ref },
	{ "tiny", loop_pc_tiny },	    { "lib_ref", loop_lib_clob_ref },
	{ "lib", loop_lib_clob },
};

/* Write code over the entry of 'fn' (after an endbr64), the page made writable meanwhile. */
static void poke(void *fn, const uint8_t *code, size_t len)
{
	uintptr_t at = (uintptr_t)fn;
	long pg = sysconf(_SC_PAGESIZE);
	uintptr_t page = at & ~(uintptr_t)(pg - 1);
	size_t span = (at + len + 4 > page + (uintptr_t)pg) ? 2 * (size_t)pg : (size_t)pg;
	/* endbr64 stays first, as in every other variant */
	if (!memcmp((void *)at, "\xf3\x0f\x1e\xfa", 4))
		at += 4;
	if (mprotect((void *)page, span, PROT_READ | PROT_WRITE | PROT_EXEC)) {
		perror("mprotect");
		exit(1);
	}
	memcpy((void *)at, code, len);
	if (mprotect((void *)page, span, PROT_READ | PROT_EXEC)) {
		perror("mprotect");
		exit(1);
	}
}

/*
 * The seed's redirection, mov $new,%rax; jmp *%rax, over the entry of a copy
 * of pc_clob; and the two forms of jmp *addr(%rip) to the same place.
 */
static void seed_install(void)
{
	uint64_t to = (uint64_t)(uintptr_t)pc_clob_seed_new;
	uint8_t mov[12] = { 0x48, 0xb8 }, ff25[14] = { 0xff, 0x25 }, far[6] = { 0xff, 0x25 };
	memcpy(mov + 2, &to, 8);
	mov[10] = 0xff;
	mov[11] = 0xe0;
	poke(pc_clob_seed, mov, sizeof(mov));
	memcpy(ff25 + 6, &to, 8);
	poke(pc_clob_ff25, ff25, sizeof(ff25));
	ff25_lit = to;
	uintptr_t at = (uintptr_t)pc_clob_ff25far;
	if (!memcmp((void *)at, "\xf3\x0f\x1e\xfa", 4))
		at += 4;
	int32_t rel = (int32_t)((intptr_t)&ff25_lit - (intptr_t)(at + 6));
	memcpy(far + 2, &rel, 4);
	poke(pc_clob_ff25far, far, sizeof(far));
}

/* ---- control ---- */

static void command(char *line, int calls_mode)
{
	if (line[0] == 'g') {
		uint64_t s = atomic_exchange(&spin_gap, 0), t = atomic_exchange(&tick_gap, 0);
		printf("gap spin_us=%.1f tick_us=%.1f calls=%llu\n", s / 1e3, t / 1e3,
		       (unsigned long long)atomic_load(&ncalls));
	} else if (line[0] == 'e') {
		printf("errors nanosleep=%ld last=%ld epoll=%ld errno=%ld read=%ld\n",
		       atomic_load(&sleep_errs), atomic_load(&sleep_last), atomic_load(&epoll_errs),
		       atomic_load(&epoll_errno), atomic_load(&read_errs));
	} else if (line[0] == 'c' && calls_mode) {
		long iters = atol(line + 1);
		printf("calls");
		/* Best of 3 per variant: the least disturbed run (the machine may be shared). */
		for (size_t i = 0; i < sizeof(loops) / sizeof(loops[0]); i++) {
			double best = 1e9;
			for (int r = 0; r < 3; r++) {
				double v = loops[i].loop(iters > 0 ? iters : 1000000);
				best = v < best ? v : best;
			}
			printf(" %s=%.4f", loops[i].name, best);
		}
		printf("\n");
	} else if (line[0] == 'q') {
		exit(0);
	} else {
		printf("? %s", line);
	}
	fflush(stdout);
}

static int calls_mode;

static void spawn(void *(*fn)(void *), void *arg)
{
	pthread_t th;
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setstacksize(&a, 256 << 10);
	if (pthread_create(&th, &a, fn, arg)) {
		perror("pthread_create");
		exit(1);
	}
	pthread_attr_destroy(&a);
}

int main(int argc, char **argv)
{
	char line[256];

	bench_cb = bench_cb_impl;
	ncpus = (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (argc >= 2 && !strcmp(argv[1], "calls")) {
		calls_mode = 1;
		seed_install();
	} else if (argc >= 4 && !strcmp(argv[1], "threads")) {
		nworkers = atoi(argv[2]);
		nfuncs = atoi(argv[3]);
		if (nworkers < 0 || nfuncs < 1 || nfuncs > BENCH_NFUNCS) {
			fprintf(stderr, "bad arguments\n");
			return 2;
		}
		/* About 8000 ticks per second in all, at least 1 ms apart per thread. */
		period_ns = nworkers * 125000L;
		if (period_ns < 1000000)
			period_ns = 1000000;
		/* Inherited by every thread but the spinner, which moves to CPU 0. */
		pin(-1);
		if (nworkers > 0)
			spawn(spinner, NULL);
		for (long i = 1; i < nworkers; i++)
			spawn(ticker, (void *)i);
	} else {
		fprintf(stderr, "usage: %s threads N NFUNCS | calls\n", argv[0]);
		return 2;
	}
	printf("ready pid=%d\n", (int)getpid());
	fflush(stdout);
	for (;;) {
		errno = 0;
		if (fgets(line, sizeof(line), stdin)) {
			command(line, calls_mode);
			continue;
		}
		if (errno == EINTR) {
			/* read() restarts after a ptrace stop: an EINTR here is a tracer's doing */
			atomic_fetch_add(&read_errs, 1);
			clearerr(stdin);
			continue;
		}
		break;
	}
	/* End of input: idle until killed, as a daemon would. */
	for (;;)
		pause();
}

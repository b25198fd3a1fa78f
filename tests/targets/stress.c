/* SPDX-License-Identifier: MIT */
/*
 * stress.c - everything a careless Loader breaks, checked all the time:
 *
 *  - 4 workers call func(3) back to back; only 4 (old) or 300 (new) is valid;
 *  - threads blocked in clock_nanosleep (relative 50 ms), read() on a pipe fed
 *    every 20 ms by a writer thread, epoll_wait(timeout 50), epoll_pwait and
 *    ppoll with a signal mask, sigtimedwait (50 ms each) and
 *    pthread_cond_timedwait (50 ms), io_uring_enter waiting for a completion
 *    (50 ms, where the kernel has IORING_ENTER_EXT_ARG), recv, read, send and
 *    accept on sockets with a 50 ms timeout: every return value is checked, so a
 *    syscall that is not restarted transparently (EINTR, 516 =
 *    ERESTART_RESTARTBLOCK leaking out, a short sleep) is reported;
 *  - a thread keeps a pattern in all vector registers and checks them after a
 *    long loop (x86_64: the 16 ymm if the CPU has AVX, else xmm, and a
 *    non-default MXCSR; aarch64: z0-z31 at the full SVE vector length where
 *    the CPU has SVE, else v0-v31, and a non-default FPCR): injected code
 *    that clobbers them without restoring is reported;
 *  - the main thread sigqueue()s SIGRTMIN to the process about every 1 ms
 *    with an increasing value; one thread receives them and the handler
 *    checks each value arrives exactly once and in order.
 *
 * Any problem prints a line starting with "ERROR". The main thread prints
 * "tick N func(3)=V sent=S recv=R" every 50 signals. When the file named by
 * argv[1] exists it stops sending, waits (up to 5 s) for the receiver to catch
 * up and prints "final sent=S recv=R sigerrors=E", then idles.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <netinet/in.h>
#include <linux/io_uring.h>
#include <stdbool.h>
#include <stdint.h>
#ifdef __aarch64__
#include <sys/auxv.h>
#endif

#include "tgt.h"

#define NWORKERS 4
#define OLD 4
#define NEW 300

HP_FN int func(int x)
{
	return x + 1 + hp_zero;
}

static long long now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void check_value(const char *who, int v)
{
	if (v != OLD && v != NEW)
		say("ERROR %s: func(3)=%d", who, v);
}

static void *worker(void *arg)
{
	char who[32];

	snprintf(who, sizeof(who), "worker %d", (int)(long)arg);
	for (;;)
		check_value(who, func(3));
	return NULL;
}

static void *sleeper(void *arg)
{
	(void)arg;
	for (;;) {
		struct timespec ts = { 0, 50 * 1000000L }, rem;
		long long t0 = now_ns(CLOCK_MONOTONIC), dt;
		int rc = clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &rem);

		dt = now_ns(CLOCK_MONOTONIC) - t0;
		if (rc != 0)
			say("ERROR sleeper: clock_nanosleep returned %d (%s)", rc, strerror(rc));
		else if (dt < 50 * 1000000LL)
			say("ERROR sleeper: clock_nanosleep returned after %lld ns < 50 ms", dt);
	}
	return NULL;
}

static int pipefd[2];
/*
 * The timeout of the epoll, ppoll and sigtimedwait waits (STRESS_WAIT_MS, default 50). The
 * aarch64 guest sets 1000: there, host stalls of the emulated CPUs let a 50 ms wait time out
 * between hotpatch's read of the call and its interrupt, which the EINTR repair then (rightly)
 * refuses (docs/aarch64.md).
 */
static int wait_ms = 50;

static void *writer(void *arg)
{
	unsigned char c = 0;

	(void)arg;
	for (;;) {
		struct timespec ts = { 0, 20 * 1000000L };
		int rc = clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);
		ssize_t w;

		if (rc != 0)
			say("ERROR writer: clock_nanosleep returned %d", rc);
		w = write(pipefd[1], &c, 1);
		if (w != 1)
			say("ERROR writer: write returned %zd errno %d", w, errno);
		else
			c++;
	}
	return NULL;
}

static void *reader(void *arg)
{
	unsigned char want = 0;

	(void)arg;
	for (;;) {
		unsigned char c;
		ssize_t r = read(pipefd[0], &c, 1);

		if (r != 1) {
			say("ERROR reader: read returned %zd errno %d (%s)", r, errno, strerror(errno));
			continue;
		}
		if (c != want)
			say("ERROR reader: byte %u, expected %u", c, want);
		want = c + 1;
	}
	return NULL;
}

static void *epoller(void *arg)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int ep = epoll_create1(EPOLL_CLOEXEC);
	int efd = eventfd(0, EFD_CLOEXEC);	/* never written: never ready */

	(void)arg;
	if (ep < 0 || efd < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev)) {
		say("ERROR epoller: setup errno %d", errno);
		return NULL;
	}
	for (;;) {
		int n = epoll_wait(ep, &ev, 1, wait_ms);

		if (n != 0)
			say("ERROR epoller: epoll_wait returned %d errno %d (%s)", n, errno,
			    n < 0 ? strerror(errno) : "ready?");
	}
	return NULL;
}

/* The calls that take a signal mask, and sigtimedwait: 50 ms on something that never comes. */
static void *pwaiter(void *arg)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int ep = epoll_create1(EPOLL_CLOEXEC);
	int efd = eventfd(0, EFD_CLOEXEC);
	sigset_t mask, never;

	(void)arg;
	pthread_sigmask(SIG_BLOCK, NULL, &mask);
	sigemptyset(&never);
	sigaddset(&never, SIGUSR2);	/* blocked (main), never sent */
	if (ep < 0 || efd < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev)) {
		say("ERROR pwaiter: setup errno %d", errno);
		return NULL;
	}
	for (unsigned k = 0;; k++) {
		struct pollfd pfd = { .fd = efd, .events = POLLIN };
		struct timespec ts = { wait_ms / 1000, wait_ms % 1000 * 1000000L };
		long long t0 = now_ns(CLOCK_MONOTONIC), dt;
		int n;
		const char *what;

		switch (k % 3) {
		case 0:
			what = "epoll_pwait";
			n = epoll_pwait(ep, &ev, 1, wait_ms, &mask);
			break;
		case 1:
			what = "ppoll";
			n = ppoll(&pfd, 1, &ts, &mask);
			break;
		default:
			what = "sigtimedwait";
			n = sigtimedwait(&never, NULL, &ts);
			if (n < 0 && errno == EAGAIN)
				n = 0;	/* the timeout */
			break;
		}
		dt = now_ns(CLOCK_MONOTONIC) - t0;
		if (n != 0)
			say("ERROR pwaiter: %s returned %d errno %d (%s)", what, n, errno,
			    n < 0 ? strerror(errno) : "ready?");
		else if (dt < (wait_ms - 1) * 1000000LL)
			say("ERROR pwaiter: %s returned after %lld ns < %d ms", what, dt, wait_ms);
	}
	return NULL;
}

static void *condwaiter(void *arg)
{
	static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
	static pthread_cond_t c = PTHREAD_COND_INITIALIZER;	/* never signalled */

	(void)arg;
	for (;;) {
		long long t = now_ns(CLOCK_REALTIME) + 50 * 1000000LL;
		struct timespec abst = { t / 1000000000LL, t % 1000000000LL };
		int rc;

		pthread_mutex_lock(&m);
		rc = pthread_cond_timedwait(&c, &m, &abst);
		pthread_mutex_unlock(&m);
		if (rc != ETIMEDOUT)
			say("ERROR condwaiter: pthread_cond_timedwait returned %d (%s)", rc,
			    strerror(rc));
	}
	return NULL;
}

/*
 * io_uring_enter waiting for a completion that never comes (nothing is submitted): with
 * IORING_ENTER_EXT_ARG, wait_ms at a time, each wait must end in -ETIME; on an older kernel, for
 * ever. Anything else (EINTR above all: the kernel returns it, not a restart code, when merely
 * woken) is an error. Where io_uring is unavailable (ENOSYS, or disabled: EPERM), a line says
 * so and the thread ends.
 */
static void *uringer(void *arg)
{
	struct io_uring_params p;
	(void)arg;
	memset(&p, 0, sizeof(p));
	int fd = (int)syscall(SYS_io_uring_setup, 4, &p);
	if (fd < 0) {
		say("uring: unavailable (errno %d): not checked", errno);
		return NULL;
	}
	/*
	 * STRESS_URING_FOREVER: wait for ever even where a timeout could be given (the aarch64
	 * guest: its EINTR repair needs the call read from /proc right before the interrupt, and a
	 * wait that ends and starts again inside that window, which host stalls of the emulated
	 * CPUs widen, cannot be repaired: docs/aarch64.md, "Syscall restart" rule 4).
	 */
	const char *forever = getenv("STRESS_URING_FOREVER");
	bool ext = (p.features & IORING_FEAT_EXT_ARG) && !(forever && *forever == '1');
	say("uring: io_uring_enter waits %s", ext ? "with a timeout" : "for ever");
	for (;;) {
		struct __kernel_timespec ts = { wait_ms / 1000, wait_ms % 1000 * 1000000L };
		struct io_uring_getevents_arg ga = { .ts = (uint64_t)(uintptr_t)&ts };
		long n = ext ? syscall(SYS_io_uring_enter, fd, 0, 1,
				       IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG, &ga, sizeof(ga))
			     : syscall(SYS_io_uring_enter, fd, 0, 1, IORING_ENTER_GETEVENTS, NULL, 0);
		if (!(n < 0 && errno == ETIME && ext))
			say("ERROR uring: io_uring_enter returned %ld errno %d (%s)", n, errno,
			    n < 0 ? strerror(errno) : "a completion?");
	}
	return NULL;
}

/*
 * Blocking socket calls under a timeout (SO_RCVTIMEO/SO_SNDTIMEO): the kernel returns EINTR,
 * not a restart code, when they are merely woken. In turn: recv and read on a socket nobody
 * writes to, send on one whose buffer is full, accept on a loopback listener nobody connects
 * to; each must end in EAGAIN after wait_ms.
 */
static void *sockets(void *arg)
{
	int rx[2], tx[2];
	struct timeval tv = { wait_ms / 1000, wait_ms % 1000 * 1000 };
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	char buf[4096] = { 0 };

	(void)arg;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, rx) ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, tx) || l < 0 ||
	    bind(l, (struct sockaddr *)&sin, sizeof(sin)) || listen(l, 1) ||
	    setsockopt(rx[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    setsockopt(tx[1], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) ||
	    setsockopt(l, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv))) {
		say("ERROR sockets: setup errno %d", errno);
		return NULL;
	}
	while (send(tx[1], buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;	/* tx[1]'s buffer full: the next send blocks */
	for (unsigned k = 0;; k++) {
		static const char *const what[] = { "recv", "read", "send", "accept" };
		long long t0 = now_ns(CLOCK_MONOTONIC);
		long r;
		switch (k % 4) {
		case 0: r = recv(rx[0], buf, 1, 0); break;
		case 1: r = read(rx[0], buf, 1); break;
		case 2: r = send(tx[1], buf, 1, 0); break;
		default: r = accept(l, NULL, NULL); break;
		}
		long long dt = now_ns(CLOCK_MONOTONIC) - t0;
		if (!(r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)))
			say("ERROR sockets: %s returned %ld errno %d (%s)", what[k % 4], r, errno,
			    r < 0 ? strerror(errno) : "data?");
		else if (dt < (long long)wait_ms * 1000000 * 9 / 10)
			say("ERROR sockets: %s timed out after %lld ns < %d ms", what[k % 4], dt, wait_ms);
	}
	return NULL;
}

/* ---- vector registers ---- */

#if defined(__x86_64__)

#define VREG_LIST                                                                          \
	"xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",    \
		"xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15"

#define VLOAD(insn, r, off) insn " " #off "(%[in]), %%" r "\n"
#define VSTORE(insn, r, off) insn " %%" r ", " #off "(%[out])\n"

/* Load 16 registers, spin 'n' iterations touching none of them, store them back. */
static void vec_spin_avx(const unsigned char *in, unsigned char *out, unsigned mx, unsigned *mxo,
			 unsigned long n)
{
	unsigned mxdef = 0x1f80;

	__asm__ volatile(
		VLOAD("vmovdqu", "ymm0", 0) VLOAD("vmovdqu", "ymm1", 32)
		VLOAD("vmovdqu", "ymm2", 64) VLOAD("vmovdqu", "ymm3", 96)
		VLOAD("vmovdqu", "ymm4", 128) VLOAD("vmovdqu", "ymm5", 160)
		VLOAD("vmovdqu", "ymm6", 192) VLOAD("vmovdqu", "ymm7", 224)
		VLOAD("vmovdqu", "ymm8", 256) VLOAD("vmovdqu", "ymm9", 288)
		VLOAD("vmovdqu", "ymm10", 320) VLOAD("vmovdqu", "ymm11", 352)
		VLOAD("vmovdqu", "ymm12", 384) VLOAD("vmovdqu", "ymm13", 416)
		VLOAD("vmovdqu", "ymm14", 448) VLOAD("vmovdqu", "ymm15", 480)
		"ldmxcsr %[mx]\n"
		"1:	dec %[n]\n"
		"	jnz 1b\n"
		"stmxcsr %[mxo]\n"
		"ldmxcsr %[mxdef]\n"
		VSTORE("vmovdqu", "ymm0", 0) VSTORE("vmovdqu", "ymm1", 32)
		VSTORE("vmovdqu", "ymm2", 64) VSTORE("vmovdqu", "ymm3", 96)
		VSTORE("vmovdqu", "ymm4", 128) VSTORE("vmovdqu", "ymm5", 160)
		VSTORE("vmovdqu", "ymm6", 192) VSTORE("vmovdqu", "ymm7", 224)
		VSTORE("vmovdqu", "ymm8", 256) VSTORE("vmovdqu", "ymm9", 288)
		VSTORE("vmovdqu", "ymm10", 320) VSTORE("vmovdqu", "ymm11", 352)
		VSTORE("vmovdqu", "ymm12", 384) VSTORE("vmovdqu", "ymm13", 416)
		VSTORE("vmovdqu", "ymm14", 448) VSTORE("vmovdqu", "ymm15", 480)
		"vzeroupper\n"
		: [n] "+r"(n), [mxo] "=m"(*mxo)
		: [in] "r"(in), [out] "r"(out), [mx] "m"(mx), [mxdef] "m"(mxdef)
		: "memory", "cc", VREG_LIST);
}

static void vec_spin_sse(const unsigned char *in, unsigned char *out, unsigned mx, unsigned *mxo,
			 unsigned long n)
{
	unsigned mxdef = 0x1f80;

	__asm__ volatile(
		VLOAD("movdqu", "xmm0", 0) VLOAD("movdqu", "xmm1", 16)
		VLOAD("movdqu", "xmm2", 32) VLOAD("movdqu", "xmm3", 48)
		VLOAD("movdqu", "xmm4", 64) VLOAD("movdqu", "xmm5", 80)
		VLOAD("movdqu", "xmm6", 96) VLOAD("movdqu", "xmm7", 112)
		VLOAD("movdqu", "xmm8", 128) VLOAD("movdqu", "xmm9", 144)
		VLOAD("movdqu", "xmm10", 160) VLOAD("movdqu", "xmm11", 176)
		VLOAD("movdqu", "xmm12", 192) VLOAD("movdqu", "xmm13", 208)
		VLOAD("movdqu", "xmm14", 224) VLOAD("movdqu", "xmm15", 240)
		"ldmxcsr %[mx]\n"
		"1:	dec %[n]\n"
		"	jnz 1b\n"
		"stmxcsr %[mxo]\n"
		"ldmxcsr %[mxdef]\n"
		VSTORE("movdqu", "xmm0", 0) VSTORE("movdqu", "xmm1", 16)
		VSTORE("movdqu", "xmm2", 32) VSTORE("movdqu", "xmm3", 48)
		VSTORE("movdqu", "xmm4", 64) VSTORE("movdqu", "xmm5", 80)
		VSTORE("movdqu", "xmm6", 96) VSTORE("movdqu", "xmm7", 112)
		VSTORE("movdqu", "xmm8", 128) VSTORE("movdqu", "xmm9", 144)
		VSTORE("movdqu", "xmm10", 160) VSTORE("movdqu", "xmm11", 176)
		VSTORE("movdqu", "xmm12", 192) VSTORE("movdqu", "xmm13", 208)
		VSTORE("movdqu", "xmm14", 224) VSTORE("movdqu", "xmm15", 240)
		: [n] "+r"(n), [mxo] "=m"(*mxo)
		: [in] "r"(in), [out] "r"(out), [mx] "m"(mx), [mxdef] "m"(mxdef)
		: "memory", "cc", VREG_LIST);
}

static void *vector(void *arg)
{
	/* round toward zero, flush-to-zero, denormals-are-zero: not what libc code leaves */
	const unsigned mx = 0x1f80 | 0x6000 | 0x8000 | 0x0040;
	int avx = __builtin_cpu_supports("avx");
	size_t len = avx ? 16 * 32 : 16 * 16;
	unsigned char in[512], out[512];
	unsigned long rounds = 0;

	(void)arg;
	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (unsigned char)(i * 37 + 11);
	say("vector thread uses %s", avx ? "ymm0-15" : "xmm0-15");
	for (;;) {
		unsigned mxo = 0;

		memset(out, 0, sizeof(out));
		if (avx)
			vec_spin_avx(in, out, mx, &mxo, 100000000UL);
		else
			vec_spin_sse(in, out, mx, &mxo, 100000000UL);
		rounds++;
		for (size_t i = 0; i < len; i++)
			if (out[i] != in[i]) {
				say("ERROR vector: register byte %zu (reg %zu) is %#x, expected %#x "
				    "(round %lu)", i, i / (avx ? 32 : 16), out[i], in[i], rounds);
				break;
			}
		if (mxo != mx)
			say("ERROR vector: mxcsr %#x, expected %#x", mxo, mx);
	}
	return NULL;
}

#elif defined(__aarch64__)

#ifndef HWCAP_SVE
#define HWCAP_SVE (1 << 22)
#endif
#define VREGS1 "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31"
#define VREGS "0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31"
#define VCLOBBER                                                                            \
	"v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11", "v12", "v13",    \
		"v14", "v15", "v16", "v17", "v18", "v19", "v20", "v21", "v22", "v23", "v24",       \
		"v25", "v26", "v27", "v28", "v29", "v30", "v31"
/* Round toward zero, flush-to-zero, default NaN: not what libc code leaves in FPCR. */
#define FPCR_TEST ((3u << 22) | (1u << 24) | (1u << 25))
#define SPIN 20000000UL		/* TCG runs it in about a second */

/*
 * z0 all 0xff, z1-z31 byte i = (r - 16) + 3i at the full vector length, a spin that touches
 * none of them and makes no system call (one would let the kernel drop the SVE state), then
 * every byte compared in the registers themselves (z0 first, then used to rebuild each
 * pattern). Returns 0, or the first bad register + 1.
 */
static long vec_spin_sve(unsigned long n, unsigned *fpcr_out)
{
	long bad;
	unsigned long fo;

	__asm__ volatile(".arch armv8.2-a+sve\n"
			 "ptrue p7.b\n"
			 "msr fpcr, %[fpcr]\n"
			 "dup z0.b, #-1\n"
			 ".irp r," VREGS1 "\n index z\\r\\().b, #(\\r - 16), #3\n .endr\n"
			 "1: subs %[n], %[n], #1\n b.ne 1b\n"
			 "mrs %[fo], fpcr\n"
			 "msr fpcr, xzr\n"
			 "mov %[bad], #1\n"
			 "cmpne p0.b, p7/z, z0.b, #-1\n b.any 2f\n"
			 ".irp r," VREGS1 "\n"
			 " mov %[bad], #(\\r + 1)\n"
			 " index z0.b, #(\\r - 16), #3\n"
			 " cmpne p0.b, p7/z, z\\r\\().b, z0.b\n b.any 2f\n"
			 ".endr\n"
			 "mov %[bad], #0\n"
			 "2:\n"
			 : [bad] "=&r"(bad), [n] "+r"(n), [fo] "=&r"(fo)
			 : [fpcr] "r"((unsigned long)FPCR_TEST)
			 : "cc", "p0", "p7", VCLOBBER);
	*fpcr_out = (unsigned)fo;
	return bad;
}

static long vec_spin_neon(unsigned long n, unsigned *fpcr_out)
{
	unsigned char out[32][16];
	unsigned long fo;

	__asm__ volatile("msr fpcr, %[fpcr]\n"
			 ".irp r," VREGS "\n movi v\\r\\().16b, #(\\r * 7 + 1)\n .endr\n"
			 "1: subs %[n], %[n], #1\n b.ne 1b\n"
			 "mrs %[fo], fpcr\n"
			 "msr fpcr, xzr\n"
			 ".irp r," VREGS "\n str q\\r, [%[o], #(\\r * 16)]\n .endr\n"
			 : [n] "+r"(n), [fo] "=&r"(fo)
			 : [o] "r"(out), [fpcr] "r"((unsigned long)FPCR_TEST)
			 : "cc", "memory", VCLOBBER);
	*fpcr_out = (unsigned)fo;
	for (int r = 0; r < 32; r++)
		for (int i = 0; i < 16; i++)
			if (out[r][i] != (unsigned char)(r * 7 + 1))
				return r + 1;
	return 0;
}

static void *vector(void *arg)
{
	int sve = (getauxval(AT_HWCAP) & HWCAP_SVE) != 0;
	unsigned long rounds = 0;

	(void)arg;
	say("vector thread uses %s", sve ? "z0-z31 (SVE, full length)" : "v0-v31 (NEON)");
	for (;;) {
		unsigned fpcr = 0;
		long bad = sve ? vec_spin_sve(SPIN, &fpcr) : vec_spin_neon(SPIN, &fpcr);

		rounds++;
		if (bad)
			say("ERROR vector: %c%ld is not what it held (round %lu)", sve ? 'z' : 'v',
			    bad - 1, rounds);
		if (fpcr != FPCR_TEST)
			say("ERROR vector: fpcr %#x, expected %#x", fpcr, FPCR_TEST);
		say("vector round %lu done", rounds);
	}
	return NULL;
}
#else
#error "stress.c: no vector test for this CPU"
#endif

/* ---- real-time signals ---- */

static atomic_ulong received;
static unsigned long expected;		/* only the handler touches it */
static atomic_int sigerrors;
static volatile sig_atomic_t last_bad_got = -1, last_bad_want = -1;

static void on_rt(int sig, siginfo_t *si, void *uc)
{
	int v = si->si_value.sival_int;

	(void)sig;
	(void)uc;
	if (si->si_code != SI_QUEUE || (unsigned long)v != expected) {
		last_bad_got = v;
		last_bad_want = (sig_atomic_t)expected;
		atomic_fetch_add(&sigerrors, 1);
	}
	expected = (unsigned long)v + 1;
	atomic_fetch_add(&received, 1);
}

static void *sigrecv(void *arg)
{
	sigset_t set;
	int seen = 0;

	(void)arg;
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	for (;;) {
		pause();	/* returns -1/EINTR after every handler: that is expected here */
		int e = atomic_load(&sigerrors);

		if (e != seen) {
			say("ERROR signal: got value %d, expected %d (%d bad so far)",
			    (int)last_bad_got, (int)last_bad_want, e);
			seen = e;
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	static void *(*const fns[])(void *) = { sleeper, writer, reader, epoller, pwaiter,
						condwaiter, uringer, sockets, vector, sigrecv };
	struct sigaction sa = { .sa_sigaction = on_rt, .sa_flags = SA_SIGINFO | SA_RESTART };
	const char *stop = argc > 1 ? argv[1] : "/nonexistent";
	unsigned long sent = 0;
	sigset_t set;
	pthread_t t;

	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN);
	sigaddset(&set, SIGUSR2);		/* pwaiter's sigtimedwait waits for it: never sent */
	pthread_sigmask(SIG_BLOCK, &set, NULL);	/* inherited: only sigrecv unblocks SIGRTMIN */
	sigaction(SIGRTMIN, &sa, NULL);
	if (pipe(pipefd)) {
		say("ERROR pipe");
		return 1;
	}
	/* STRESS_WORKERS: fewer busy threads where the CPUs are emulated (the aarch64 guest). */
	const char *nw = getenv("STRESS_WORKERS");
	long nworkers = nw ? atol(nw) : NWORKERS;
	const char *wm = getenv("STRESS_WAIT_MS");

	if (wm && atoi(wm) > 0)
		wait_ms = atoi(wm);

	for (long k = 0; k < nworkers; k++)
		if (pthread_create(&t, NULL, worker, (void *)k))
			say("ERROR pthread_create");
	for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++)
		if (pthread_create(&t, NULL, fns[i], NULL))
			say("ERROR pthread_create");
	say("ready pid %d", (int)getpid());
	for (unsigned n = 1; access(stop, F_OK) != 0;) {
		struct timespec ts = { 0, 1000000L };
		union sigval sv = { .sival_int = (int)sent };
		int rc;

		if (sigqueue(getpid(), SIGRTMIN, sv))
			say("ERROR main: sigqueue errno %d (%s)", errno, strerror(errno));
		else
			sent++;
		rc = clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);
		if (rc)
			say("ERROR main: clock_nanosleep returned %d", rc);
		if (sent % 50 == 0) {
			int v = func(3);

			check_value("main", v);
			say("tick %u func(3)=%d sent=%lu recv=%lu", n++, v, sent,
			    atomic_load(&received));
		}
	}
	for (int i = 0; i < 500 && atomic_load(&received) != sent; i++)
		msleep(10);
	say("final sent=%lu recv=%lu sigerrors=%d", sent, atomic_load(&received),
	    atomic_load(&sigerrors));
	for (;;)
		msleep(1000);
}

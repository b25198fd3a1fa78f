/* SPDX-License-Identifier: MIT */
/*
 * coro: a coroutine parked between commands, the way QEMU's coroutines park.
 * usage: coro (jb|uc) FIFO
 *   jb: switches with sigsetjmp/siglongjmp (QEMU's coroutine-ucontext backend:
 *       entered once through makecontext/swapcontext, then jmp_bufs), on an
 *       mmap'd stack with a guard page below;
 *   uc: switches with swapcontext on a malloc'd stack.
 * Each line "r" read from FIFO resumes the coroutine once: co_loop returns
 * from co_yield, prints "co N r=R" and parks again in co_yield. The main
 * thread otherwise sleeps in read(): always at a safe point.
 * Tests wrap co_yield (the coroutine then parks inside the patch) and
 * replace co_loop (which the coroutine never leaves).
 */
#include <fcntl.h>
#include <setjmp.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

#include "tgt.h"

#define STACK (256u << 10)

static int use_jb;
static ucontext_t main_uc, co_uc;
static sigjmp_buf main_jb, co_jb;

HP_FN void co_switch_out(void)
{
	if (use_jb) {
		if (!sigsetjmp(co_jb, 0))
			siglongjmp(main_jb, 1);
	} else {
		swapcontext(&co_uc, &main_uc);
	}
}

HP_FN int co_yield(int v)
{
	co_switch_out();
	return v + 1 + hp_zero;
}

HP_FN void co_loop(void)
{
	for (int n = 0;; n++) {
		int r = co_yield(n);
		say("co %d r=%d\n", n, r);
	}
}

static void trampoline(void)
{
	if (use_jb && !sigsetjmp(co_jb, 0))
		siglongjmp(main_jb, 1);	/* created: back to the creator */
	co_loop();
}

static void resume(void)
{
	if (use_jb) {
		if (!sigsetjmp(main_jb, 0))
			siglongjmp(co_jb, 1);
	} else {
		swapcontext(&main_uc, &co_uc);
	}
}

int main(int argc, char **argv)
{
	if (argc != 3 || (strcmp(argv[1], "jb") && strcmp(argv[1], "uc"))) {
		fprintf(stderr, "usage: coro (jb|uc) FIFO\n");
		return 2;
	}
	use_jb = !strcmp(argv[1], "jb");
	void *stack;
	if (use_jb) {
		char *m = mmap(NULL, STACK + 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			       -1, 0);
		if (m == MAP_FAILED || mprotect(m, 4096, PROT_NONE))
			return 1;
		stack = m + 4096;
	} else {
		stack = malloc(STACK);
	}
	getcontext(&co_uc);
	co_uc.uc_stack.ss_sp = stack;
	co_uc.uc_stack.ss_size = STACK;
	co_uc.uc_link = NULL;
	makecontext(&co_uc, trampoline, 0);
	if (use_jb) {
		ucontext_t tmp;
		if (!sigsetjmp(main_jb, 0))
			swapcontext(&tmp, &co_uc);
	}
	resume();	/* into co_loop, parked in co_yield(0) */
	int fd = open(argv[2], O_RDONLY);
	if (fd < 0)
		return 1;
	say("ready %d\n", (int)getpid());
	for (;;) {
		char c;
		ssize_t n = read(fd, &c, 1);
		if (n == 0 || (n < 0 && errno != EINTR))
			return 0;
		if (n == 1 && c == 'r') {
			resume();
			say("main resumed\n");
		}
	}
}

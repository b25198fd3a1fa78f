/* SPDX-License-Identifier: MIT */
/*
 * Target for tests/unit/test_unwind.c: threads parked in known call chains.
 *   main thread: main -> chain_a -> chain_b -> chain_c -> read()
 *   thread 1:    blk_start -> blk_a -> blk_b -> blk_c -> read()
 *   thread 2:    spin_start -> spin_leaf (busy loop, no call)
 *   thread 3:    nocfi_start -> nocfi_tramp -> nocfi_c -> read()
 *                (nocfi_tramp: asm keeping a frame pointer, without CFI)
 *   thread 4:    deep_start -> deep1 .. deep5 -> deep_block -> read()
 * Once every thread is in place it writes "pid t1 t2 t3 t4\n" to the fd named
 * by argv[1] and blocks forever. Built twice: with and without frame pointers.
 * noipa keeps every function a real, separately called frame; the work after
 * each call keeps it from becoming a tail call.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NOIPA __attribute__((noipa))

static int block_fd;
static atomic_int ready_threads;
static pid_t tids[4];
static volatile unsigned long spin_count;

static NOIPA int block_here(void)
{
	char c;
	return (int)read(block_fd, &c, 1);
}

static void mark_ready(int idx)
{
	tids[idx] = gettid();
	atomic_fetch_add(&ready_threads, 1);
}

/* Thread 1 */
static NOIPA int blk_c(int x)
{
	mark_ready(0);
	return block_here() + x;
}

static NOIPA int blk_b(int x)
{
	return blk_c(x + 1) * 3;
}

static NOIPA int blk_a(int x)
{
	return blk_b(x + 1) * 5;
}

static void *blk_start(void *arg)
{
	return (void *)(long)blk_a((int)(long)arg) + 1;
}

/* Thread 2 */
/* A true leaf: no call, so no frame of its own without frame pointers. */
static NOIPA void spin_leaf(void)
{
	atomic_fetch_add(&ready_threads, 1);
	for (;;)
		spin_count++;
}

static void *spin_start(void *arg)
{
	tids[1] = gettid();
	spin_leaf();
	return arg;
}

/* Thread 3: a caller without CFI between two that have it. */
NOIPA int nocfi_c(int x)
{
	mark_ready(2);
	return block_here() + x;
}

int nocfi_tramp(int x);
__asm__(".text\n"
	".globl nocfi_tramp\n"
	".type nocfi_tramp, @function\n"
	"nocfi_tramp:\n"
	"	push %rbp\n"
	"	mov %rsp, %rbp\n"
	"	call nocfi_c\n"
	"	add $1, %eax\n"
	"	pop %rbp\n"
	"	ret\n"
	".size nocfi_tramp, .-nocfi_tramp\n");

static void *nocfi_start(void *arg)
{
	return (void *)(long)(nocfi_tramp((int)(long)arg) + 2);
}

/* Thread 4: 10 frames from read() down to clone3. */
static NOIPA int deep_block(int x)
{
	mark_ready(3);
	return block_here() + x;
}

/* Distinct functions: GCC turns a self-recursion into a loop. */
static NOIPA int deep5(int x)
{
	return deep_block(x) * 7;
}

static NOIPA int deep4(int x)
{
	return deep5(x + 1) * 3;
}

static NOIPA int deep3(int x)
{
	return deep4(x + 1) * 3;
}

static NOIPA int deep2(int x)
{
	return deep3(x + 1) * 3;
}

static NOIPA int deep1(int x)
{
	return deep2(x + 1) * 3;
}

static void *deep_start(void *arg)
{
	return (void *)(long)(deep1((int)(long)arg) + 1);
}

/* Main thread */
static NOIPA int chain_c(int fd)
{
	char msg[128];
	int len = snprintf(msg, sizeof(msg), "%d %d %d %d %d\n", getpid(), tids[0], tids[1],
			   tids[2], tids[3]);

	if (write(fd, msg, (size_t)len) != len)
		exit(3);
	close(fd);
	return block_here() + 1;
}

static NOIPA int chain_b(int fd)
{
	return chain_c(fd) * 3;
}

static NOIPA int chain_a(int fd)
{
	return chain_b(fd) * 5;
}

int main(int argc, char **argv)
{
	void *(*starts[])(void *) = {blk_start, spin_start, nocfi_start, deep_start};
	int pfd[2];

	if (argc != 2 || pipe(pfd))
		return 2;
	/* Nobody writes to pfd[1]: read() blocks until the process is killed. */
	block_fd = pfd[0];
	for (size_t i = 0; i < sizeof(starts) / sizeof(starts[0]); i++) {
		pthread_t t;
		if (pthread_create(&t, NULL, starts[i], NULL))
			return 2;
	}
	while (atomic_load(&ready_threads) < 4)
		usleep(1000);
	return chain_a(atoi(argv[1])) == 0;
}

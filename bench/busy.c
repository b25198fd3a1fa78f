/* SPDX-License-Identifier: MIT */
/*
 * busy.c - N threads (argv[1]) each call busy() back to back, and busy()
 * spins for ~100 µs: at any stop every thread is inside it, so replacing
 * busy() makes hotpatch run each of them out to its return with a
 * breakpoint. cold() is never called: replacing it is the same apply
 * without any of that (the baseline).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static volatile unsigned long sink;

static unsigned long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long)ts.tv_sec * 1000000000ul + (unsigned long)ts.tv_nsec;
}

__attribute__((noinline, noipa)) int busy(int x)
{
	unsigned long end = now_ns() + 100000;
	while (now_ns() < end)
		sink++;
	return x + 1;
}

__attribute__((noinline, noipa)) int cold(int x)
{
	unsigned long end = now_ns() + 100000;
	while (now_ns() < end)
		sink++;
	return x + 2;
}

static void *worker(void *arg)
{
	(void)arg;
	for (;;)
		sink += (unsigned long)busy(1);
	return NULL;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 1;
	pthread_t t;

	for (int i = 0; i < n; i++)
		if (pthread_create(&t, NULL, worker, NULL))
			return 1;
	printf("ready pid=%d\n", (int)getpid());
	fflush(stdout);
	if (argc > 2)
		sink += (unsigned long)cold(1);
	for (;;)
		pause();
}

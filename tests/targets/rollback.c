/* SPDX-License-Identifier: MIT */
/*
 * rollback.c - three threads call hot() back to back; a fourth calls block()
 * every millisecond. The test's patch makes block() never return, so a revert
 * always times out with a thread inside the patch, and must put its jumps
 * back while the hot threads have been running hot()'s restored first bytes:
 * a thread stopped between two of those instructions must not find a jump's
 * tail under its pc. The main thread prints "tick N hot(2)=V" every 10 ms;
 * original 9.
 */
#define _GNU_SOURCE
#include <pthread.h>

#include "tgt.h"

static volatile unsigned long sink;

HP_FN int inner(int x)
{
	return x + hp_zero;
}

HP_FN int hot(int x)
{
	int a = inner(x), b = inner(a + 1);

	return a * b + inner(b);
}

HP_FN int block(int x)
{
	return x + 1 + hp_zero;
}

static void *hotter(void *arg)
{
	(void)arg;
	for (;;)
		for (int i = 0; i < 1000; i++)
			sink += (unsigned long)hot(i);
}

static void *blocker(void *arg)
{
	(void)arg;
	for (;;) {
		sink += (unsigned long)block(1);
		msleep(1);
	}
}

int main(void)
{
	pthread_t t;

	for (int i = 0; i < 3; i++)
		if (pthread_create(&t, NULL, hotter, NULL)) {
			say("ERROR pthread_create");
			return 1;
		}
	if (pthread_create(&t, NULL, blocker, NULL)) {
		say("ERROR pthread_create");
		return 1;
	}
	say("ready pid %d", (int)getpid());
	for (unsigned n = 1;; n++) {
		say("tick %u hot(2)=%d", n, hot(2));
		msleep(10);
	}
}

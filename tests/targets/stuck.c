/* SPDX-License-Identifier: MIT */
/*
 * stuck.c - one thread enters stuck_fn(0) and never leaves it (spins on a
 * flag nobody sets), so stuck_fn can never be replaced safely. The main
 * thread keeps calling stuck_fn(3), which returns at once, and prints
 * "tick N stuck_fn(3)=V"; original 4. The spinning thread prints
 * "spinning tid T" before it enters.
 */
#define _GNU_SOURCE
#include <pthread.h>

#include "tgt.h"

static volatile int release;

HP_FN int stuck_fn(int x)
{
	if (x == 0)
		while (!release)
			;
	return x + 1 + hp_zero;
}

static void *spinner(void *arg)
{
	(void)arg;
	say("spinning tid %d", (int)gettid());
	stuck_fn(0);
	say("ERROR spinner left stuck_fn");
	return NULL;
}

int main(int argc, char **argv)
{
	long ms = tick_ms(argc, argv);
	pthread_t t;

	if (pthread_create(&t, NULL, spinner, NULL)) {
		say("ERROR pthread_create");
		return 1;
	}
	say("ready pid %d", (int)getpid());
	for (unsigned n = 1;; n++) {
		say("tick %u stuck_fn(3)=%d", n, stuck_fn(3));
		msleep(ms);
	}
}

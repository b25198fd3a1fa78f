/* SPDX-License-Identifier: MIT */
/*
 * threads.c - 8 threads call func(3) back to back. Each accepts only the old
 * value 4 or the new value 300; it prints "thread K new" the first time it
 * sees 300 and "ERROR thread K ..." for anything else, including seeing the
 * old value again after the new one (the patch is never reverted by the test
 * that uses this target, so that would mean a jump was lost or torn).
 * The main thread prints "tick N calls=C" every tick.
 */
#include <pthread.h>
#include <stdatomic.h>

#include "tgt.h"

#define NTHREADS 8
#define OLD 4
#define NEW 300

static atomic_ulong calls;
static atomic_int started;

HP_FN int func(int x)
{
	return x + 1 + hp_zero;
}

static void *worker(void *arg)
{
	int k = (int)(long)arg, seen_new = 0;
	unsigned long n = 0;

	say("thread %d start", k);
	atomic_fetch_add(&started, 1);
	for (;;) {
		int v = func(3);

		if (v == NEW && !seen_new) {
			seen_new = 1;
			say("thread %d new after %lu calls", k, n);
		} else if (v == OLD && seen_new) {
			say("ERROR thread %d old value %d after new", k, v);
			seen_new = 0;
		} else if (v != OLD && v != NEW) {
			say("ERROR thread %d invalid value %d", k, v);
		}
		if ((++n & 1023) == 0)
			atomic_fetch_add(&calls, 1024);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	long ms = tick_ms(argc, argv);
	pthread_t t;

	for (long k = 0; k < NTHREADS; k++)
		if (pthread_create(&t, NULL, worker, (void *)k)) {
			say("ERROR pthread_create");
			return 1;
		}
	while (atomic_load(&started) < NTHREADS)
		msleep(1);
	say("ready pid %d", (int)getpid());
	for (unsigned n = 1;; n++) {
		say("tick %u calls=%lu", n, atomic_load(&calls));
		msleep(ms);
	}
}

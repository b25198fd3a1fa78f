/* SPDX-License-Identifier: MIT */
/*
 * churn.c - threads are created and exit all the time: a spawner thread
 * starts 4 short-lived threads, each calling func(3) 200 times (only 4 or 300
 * is valid, else "ERROR"), joins them, and starts again. Threads therefore
 * appear and vanish while the Loader seizes, stops and resumes them.
 * The main thread prints "tick N func(3)=V spawned=S" every tick.
 */
#include <pthread.h>
#include <stdatomic.h>

#include "tgt.h"

static atomic_ulong spawned;

HP_FN int func(int x)
{
	return x + 1 + hp_zero;
}

static void *shortlived(void *arg)
{
	(void)arg;
	for (int i = 0; i < 200; i++) {
		int v = func(3);

		if (v != 4 && v != 300)
			say("ERROR short-lived thread: func(3)=%d", v);
	}
	return NULL;
}

static void *spawner(void *arg)
{
	(void)arg;
	for (;;) {
		pthread_t t[4];
		int n = 0;

		for (int i = 0; i < 4; i++) {
			int rc = pthread_create(&t[n], NULL, shortlived, NULL);

			if (rc)
				say("ERROR pthread_create: %d", rc);
			else
				n++;
		}
		for (int i = 0; i < n; i++) {
			int rc = pthread_join(t[i], NULL);

			if (rc)
				say("ERROR pthread_join: %d", rc);
		}
		atomic_fetch_add(&spawned, n);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	long ms = tick_ms(argc, argv);
	pthread_t t;

	for (int i = 0; i < 2; i++)
		if (pthread_create(&t, NULL, spawner, NULL)) {
			say("ERROR pthread_create");
			return 1;
		}
	say("ready pid %d", (int)getpid());
	for (unsigned n = 1;; n++) {
		int v = func(3);

		say("tick %u func(3)=%d spawned=%lu", n, v, atomic_load(&spawned));
		msleep(ms);
	}
}

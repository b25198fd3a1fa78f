/* SPDX-License-Identifier: MIT */
/*
 * busy.c - two threads call slow(3) back to back; slow() sleeps 150 ms inside
 * its own body, and the threads are staggered by 75 ms, so at any moment at
 * least one thread is inside slow(): the Loader can only apply by holding each
 * thread as it leaves the function.
 *
 * Per call, thread T prints "start T K" before calling and "result T K V"
 * after. Original slow(3)=4, patched 300.
 */
#include <pthread.h>

#include "tgt.h"

HP_FN int slow(int x)
{
	struct timespec ts = { 0, 150 * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
	return x + 1 + hp_zero;
}

static void *worker(void *arg)
{
	int t = (int)(long)arg;

	for (unsigned k = 1;; k++) {
		say("start %d %u", t, k);
		int v = slow(3);
		say("result %d %u %d", t, k, v);
	}
	return NULL;
}

int main(void)
{
	pthread_t th[2];

	say("ready pid %d", (int)getpid());
	for (long t = 0; t < 2; t++) {
		if (pthread_create(&th[t], NULL, worker, (void *)t)) {
			say("ERROR pthread_create");
			return 1;
		}
		msleep(75);
	}
	pthread_join(th[0], NULL);
	return 0;
}

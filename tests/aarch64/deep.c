/* SPDX-License-Identifier: MIT */
/*
 * deep.c - busy.c with the patched function two frames up: two threads call outer(3, nap) back to
 * back, outer() calls nap() through the pointer and nap() sleeps 150 ms, staggered by 75 ms. Built
 * -mbranch-protection=standard, so the only return address into outer() (or a patch's
 * replacement) is the one nap() saved on the stack, PAC-signed on a CPU with pointer
 * authentication. "start T K" / "result T K V" lines as busy.c; outer(3) = 4, patched 300.
 */
#include <pthread.h>

#include "tgt.h"

HP_FN int nap(int x)
{
	struct timespec ts = { 0, 150 * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
	return x + hp_zero;
}

HP_FN int outer(int x, int (*fn)(int))
{
	return fn(x) + 1 + hp_zero;
}

static void *worker(void *arg)
{
	int t = (int)(long)arg;

	for (unsigned k = 1;; k++) {
		say("start %d %u", t, k);
		int v = outer(3, nap);
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

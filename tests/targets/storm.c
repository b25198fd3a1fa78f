/* SPDX-License-Identifier: MIT */
/*
 * storm.c - every thread, main included, churns the heap (malloc, snprintf,
 * realloc, free, blocks kept alive and freed out of order, so arena locks are
 * taken all the time) and calls func(3), which must be the old value 4 or the
 * new value 300. Every block is verified before it is freed. Any failure
 * prints an "ERROR" line; a corrupted heap makes glibc abort the process.
 * The main thread prints "tick N func(3)=V allocs=A" about every 10 ms.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "tgt.h"

#define NWORKERS 3
#define LIVE 64

struct blk {
	size_t size;
	unsigned tag;
	unsigned char pat;
	char data[];
};

static atomic_ulong allocs;

HP_FN int func(int x)
{
	return x + 1 + hp_zero;
}

static struct blk *blk_new(unsigned *seed, unsigned tag)
{
	size_t size = 64 + rand_r(seed) % 4000;	/* room for the whole text */
	struct blk *b = malloc(sizeof(*b) + size);
	int n;

	if (!b) {
		say("ERROR malloc(%zu) failed", size);
		return NULL;
	}
	b->size = size;
	b->tag = tag;
	b->pat = (unsigned char)rand_r(seed);
	n = snprintf(b->data, size, "blk %u size %zu", tag, size);
	if (n < 0)
		n = 0;
	if ((size_t)n + 1 < size)
		memset(b->data + n + 1, b->pat, size - n - 1);
	atomic_fetch_add_explicit(&allocs, 1, memory_order_relaxed);
	return b;
}

static void blk_free(int who, struct blk *b)
{
	char want[64];
	size_t n;

	snprintf(want, sizeof(want), "blk %u size %zu", b->tag, b->size);
	if (strncmp(b->data, want, b->size) != 0) {
		say("ERROR thread %d block %u text corrupt", who, b->tag);
		abort();
	}
	n = strnlen(want, b->size);
	for (size_t i = n + 1; i < b->size; i++)
		if ((unsigned char)b->data[i] != b->pat) {
			say("ERROR thread %d block %u byte %zu corrupt", who, b->tag, i);
			abort();
		}
	free(b);
}

/* Replace a few random live blocks; sometimes grow one through realloc. */
static void churn(int who, unsigned *seed, struct blk **live, unsigned *tag, int rounds)
{
	for (int i = 0; i < rounds; i++) {
		unsigned slot = rand_r(seed) % LIVE;

		if (live[slot])
			blk_free(who, live[slot]);
		live[slot] = blk_new(seed, (*tag)++);
		if (live[slot] && rand_r(seed) % 16 == 0) {
			/* realloc keeps the contents: grow, then check on free */
			struct blk *b = realloc(live[slot], sizeof(*b) + live[slot]->size + 512);

			if (!b)
				say("ERROR thread %d realloc failed", who);
			else
				live[slot] = b;
		}
	}
}

static int check(int who, int v)
{
	if (v != 4 && v != 300)
		say("ERROR thread %d func(3)=%d", who, v);
	return v;
}

static void *worker(void *arg)
{
	int who = (int)(long)arg;
	unsigned seed = 12345 + who, tag = 0;
	struct blk *live[LIVE] = { 0 };

	for (;;) {
		churn(who, &seed, live, &tag, 32);
		check(who, func(3));
	}
	return NULL;
}

int main(int argc, char **argv)
{
	long ms = argc > 1 ? atol(argv[1]) : 10;
	unsigned seed = 1, tag = 0;
	struct blk *live[LIVE] = { 0 };
	pthread_t t;

	for (long k = 1; k <= NWORKERS; k++)
		if (pthread_create(&t, NULL, worker, (void *)k)) {
			say("ERROR pthread_create");
			return 1;
		}
	say("ready pid %d", (int)getpid());
	for (unsigned n = 1;; n++) {
		churn(0, &seed, live, &tag, 64);
		int v = check(0, func(3));
		say("tick %u func(3)=%d allocs=%lu", n, v, atomic_load(&allocs));
		msleep(ms);
	}
}

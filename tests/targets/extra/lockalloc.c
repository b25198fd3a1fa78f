/* SPDX-License-Identifier: MIT */
/*
 * lockalloc.c - an allocator interposed on libc's (LD_PRELOAD), as jemalloc or
 * tcmalloc are: every call takes one non-recursive lock around libc's own
 * allocator. A malloc of LOCKALLOC_SLOW bytes holds that lock for about 300 ms
 * (computing in its own code, almost never in libc's) before it returns: a thread stopped then is
 * inside the allocator with its lock held, and a dlopen run in it would call
 * malloc and wait for itself forever.
 */
#include <pthread.h>
#include <stddef.h>
#include <time.h>

#define LOCKALLOC_SLOW 12345

extern void *__libc_malloc(size_t);
extern void __libc_free(void *);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;	/* not recursive */

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);	/* the vDSO: no system call */
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Computing, in our own code: the clock is read once per million turns, so a stop lands here. */
__attribute__((noinline)) static void hold_a_while(void)
{
	double end = now() + 0.3;
	do {
		for (volatile unsigned i = 0; i < 1u << 20; i++)
			;
	} while (now() < end);
}

void *malloc(size_t n)
{
	pthread_mutex_lock(&lock);
	if (n == LOCKALLOC_SLOW)
		hold_a_while();
	void *p = __libc_malloc(n);
	pthread_mutex_unlock(&lock);
	return p;
}

void free(void *p)
{
	pthread_mutex_lock(&lock);
	__libc_free(p);
	pthread_mutex_unlock(&lock);
}

void *calloc(size_t a, size_t b)
{
	pthread_mutex_lock(&lock);
	void *p = __libc_calloc(a, b);
	pthread_mutex_unlock(&lock);
	return p;
}

void *realloc(void *q, size_t n)
{
	pthread_mutex_lock(&lock);
	void *p = __libc_realloc(q, n);
	pthread_mutex_unlock(&lock);
	return p;
}

void *memalign(size_t a, size_t n)
{
	pthread_mutex_lock(&lock);
	void *p = __libc_memalign(a, n);
	pthread_mutex_unlock(&lock);
	return p;
}

int posix_memalign(void **out, size_t a, size_t n)
{
	*out = memalign(a, n);
	return *out ? 0 : 12;
}

void *aligned_alloc(size_t a, size_t n)
{
	return memalign(a, n);
}

/* SPDX-License-Identifier: MIT */
/*
 * allocloop.c - one thread, never idle in a system call: it spends nearly all
 * its time inside malloc(12345), which lockalloc.so makes hold its lock for
 * 300 ms. Prints "tick N func(3)=V" after each allocation.
 */
#include <stdio.h>
#include <stdlib.h>

volatile int hp_zero;
void *volatile keep;	/* the allocation must happen: not elided with its free */

__attribute__((noinline)) int func(int x)
{
	return x + 1 + hp_zero;
}

int main(void)
{
	printf("ready\n");
	fflush(stdout);
	for (unsigned n = 1;; n++) {
		keep = malloc(12345);
		free(keep);
		printf("tick %u func(3)=%d\n", n, func(3));
		fflush(stdout);
	}
}

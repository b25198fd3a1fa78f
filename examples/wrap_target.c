/*
 * A toy price service with a security bug, for examples/wrap_fix.c.
 *
 * lookup() checks its index against the number of prices with '>' instead of
 * '>=', so lookup(4) returns prices[4]: not a price but the secret stored
 * after them (an out-of-bounds read in real code). The service answers one
 * request per tick, cycling through indexes 0..5:
 *
 *	request 7 idx 2 -> 30
 *	request 10 idx 4 -> 4242    <- the leak
 *
 * Build: cc -O2 -g -o wrap_target wrap_target.c   (make builds build/examples/wrap_target)
 */
#include <stdio.h>
#include <unistd.h>

#define NPRICES 4

/* The four prices, then data that must never be returned. */
int prices[NPRICES + 1] = { 10, 20, 30, 40, 4242 };

/* noinline: stands for a real handler, too big to be inlined into its callers. */
__attribute__((noinline)) int lookup(int idx)
{
	if (idx < 0 || idx > NPRICES)	/* BUG: must be idx >= NPRICES */
		return -1;
	return prices[idx];
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready\n");
	for (unsigned long req = 0;; req++) {
		int idx = (int)(req % 6);
		printf("request %lu idx %d -> %d\n", req, idx, lookup(idx));
		usleep(10000);
	}
}

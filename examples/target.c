/* SPDX-License-Identifier: MIT */
/*
 * target.c - the demo's long-running program. func() has a bug: it should
 * convert a reading to centi-units (x * 100) but adds 1 instead. The program
 * prints func(3) every 300 ms, forever, like a service that must not be
 * restarted. `make demo` fixes it while it runs (examples/demo.sh).
 */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

/* Convert a reading to centi-units; -1 for an invalid (negative) reading. */
__attribute__((noinline)) int func(int x)
{
	if (x < 0)
		return -1;
	return x + 1;	/* BUG: should be x * 100 */
}

/* The input changes in real programs; volatile stands for that here. Without it
 * GCC proves func(3) constant and calls it once, before the loop. */
static volatile int reading = 3;

int main(void)
{
	const struct timespec period = { 0, 300 * 1000000L };

	printf("target: pid %d, prints func(3) every 300 ms; the right value is 300\n", (int)getpid());
	for (unsigned n = 1;; n++) {
		int v = func(reading);

		printf("[%3u] func(3) = %d%s\n", n, v, v == 300 ? "" : "   <- wrong, expected 300");
		fflush(stdout);
		nanosleep(&period, NULL);
	}
}

/* SPDX-License-Identifier: MIT */
/*
 * persist.c - a process for hotpatchd (tests/integration/persist_*.sh) and
 * the exec-to-patched bench. From the first line of main it "serves a
 * request" every millisecond: one call of func(3), 4 before the patch, 300
 * after (func100.so). The first time it sees 300 it prints
 * "first new after N calls, T us after main"; 4 again after that prints
 * "old again" (a revert); every 20 calls it prints "tick N func=V". Any
 * other value is an ERROR line.
 */
#include <stdint.h>

#include "tgt.h"

HP_FN int func(int x)
{
	return x + 1 + hp_zero;
}

static uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int main(void)
{
	uint64_t t0 = mono_us();
	unsigned long calls = 0;
	int seen = 0;

	say("ready pid %d main_us=%llu", (int)getpid(), (unsigned long long)t0);
	for (unsigned n = 0;; n++) {
		int v = 0;

		for (int k = 0; k < 20; k++) {
			v = func(3);
			calls++;
			if (v == 300 && !seen) {
				seen = 1;
				say("first new after %lu calls, %llu us after main", calls - 1,
				    (unsigned long long)(mono_us() - t0));
			} else if (v == 4 && seen) {
				seen = 0;
				say("old again after %lu calls", calls - 1);
			} else if (v != 4 && v != 300) {
				say("ERROR invalid value %d", v);
			}
			msleep(1);
		}
		say("tick %u func=%d", n, v);
	}
}

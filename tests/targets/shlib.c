/* SPDX-License-Identifier: MIT */
/*
 * shlib.c - calls demo_func from libhpdemo.so (linked with -rpath).
 * Prints "tick N demo_func(3)=V demo_twice(3)=W"; original 4 and 8.
 */
#include "tgt.h"

int demo_func(int x);
int demo_twice(int x);

int main(int argc, char **argv)
{
	long ms = tick_ms(argc, argv);

	say("ready pid %d", (int)getpid());
	for (unsigned n = 1;; n++) {
		int a = demo_func(3);
		int b = demo_twice(3);

		say("tick %u demo_func(3)=%d demo_twice(3)=%d", n, a, b);
		msleep(ms);
	}
}

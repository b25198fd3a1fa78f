/* SPDX-License-Identifier: MIT */
/*
 * seedtgt.c - target for the seed-style patch (tests/patches/seed.c): built
 * with -rdynamic so dlsym(RTLD_DEFAULT, "func") finds func, and func is long
 * enough (>= 14 bytes) for the seed's absolute jump.
 * Prints "tick N func(3)=V"; original 4, seed patch 300.
 */
#include "tgt.h"

HP_FN int func(int x)
{
	int r = x + hp_zero;

	r += hp_zero * 3;
	return r + 1 + hp_zero;
}

int main(int argc, char **argv)
{
	long ms = tick_ms(argc, argv);

	say("ready pid %d", (int)getpid());
	for (unsigned n = 1;; n++) {
		say("tick %u func(3)=%d", n, func(3));
		msleep(ms);
	}
}

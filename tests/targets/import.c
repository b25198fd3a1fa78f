/* SPDX-License-Identifier: MIT */
/*
 * import.c - a static variable and a static function that a patch imports.
 * 'counter' is only ever changed by a replacement function (volatile, so the
 * main loop really reads it); 'helper' is only called by a replacement.
 * Prints "tick N func(3)=V counter=C"; original func(3)=4 counter=0.
 * helper(x) = 7x+2, so a func_v2 returning 10*helper(x) gives 230.
 */
#include "tgt.h"

static volatile int counter;

HP_FN __attribute__((used)) static int helper(int x)
{
	return 7 * x + 2 + hp_zero;
}

HP_FN int func(int x)
{
	return x + 1 + hp_zero;
}

int main(int argc, char **argv)
{
	long ms = tick_ms(argc, argv);

	say("ready pid %d", (int)getpid());
	for (unsigned n = 1;; n++) {
		int v = func(3);

		say("tick %u func(3)=%d counter=%d", n, v, counter);
		msleep(ms);
	}
}

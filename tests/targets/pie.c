/* SPDX-License-Identifier: MIT */
/*
 * pie.c - a global and a static function called from the main loop.
 * Built as a PIE without -rdynamic (pie) and, through nonpie.c, with -no-pie:
 * neither function is in .dynsym, only in .symtab.
 *
 * Prints "tick N func(3)=V sfunc(5)=W" every tick (argv[1] ms, default 20).
 * Original: func(3)=4 sfunc(5)=11.
 */
#include "tgt.h"

HP_FN int func(int x)
{
	return x + 1 + hp_zero;
}

HP_FN static int sfunc(int x)
{
	return 2 * x + 1 + hp_zero;
}

int main(int argc, char **argv)
{
	long ms = tick_ms(argc, argv);

	say("ready pid %d", (int)getpid());
	for (unsigned n = 1;; n++) {
		int a = func(3);
		int b = sfunc(5);

		say("tick %u func(3)=%d sfunc(5)=%d", n, a, b);
		msleep(ms);
	}
}

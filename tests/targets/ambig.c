/* SPDX-License-Identifier: MIT */
/*
 * ambig.c - two static functions named dup_fn, one here and one in
 * extra/ambig_b.c (linked into the same executable): "dup_fn" alone is
 * ambiguous, HOTPATCH_REPLACE_FILE("ambig_b.c", dup_fn, ...) is not.
 * Prints "tick N a(3)=A b(3)=B"; original a(3)=4 (x+1), b(3)=6 (2x).
 */
#include "tgt.h"

int call_b(int x);

HP_FN static int dup_fn(int x)
{
	return x + 1 + hp_zero;
}

int main(int argc, char **argv)
{
	long ms = tick_ms(argc, argv);

	say("ready pid %d", (int)getpid());
	for (unsigned n = 1;; n++) {
		int a = dup_fn(3);
		int b = call_b(3);

		say("tick %u a(3)=%d b(3)=%d", n, a, b);
		msleep(ms);
	}
}

/* SPDX-License-Identifier: MIT */
/*
 * multi.c - one of several processes of one binary (hotpatch --all-of,
 * --build-id): prints "tick N func=V" every 20 ms; func(3) = 4, patched 300.
 */
#include "tgt.h"

HP_FN int func(int x)
{
	return x + 1 + hp_zero;
}

int main(void)
{
	for (unsigned n = 0;; n++) {
		say("tick %u func=%d", n, func(3));
		msleep(20);
	}
}

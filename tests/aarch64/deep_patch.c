/* SPDX-License-Identifier: MIT */
/* deep_patch.c - deep.c's outer(3) becomes 300; it still calls nap(), so a thread sleeps under it. */
#include <hotpatch.h>

static int outer_v2(int x, int (*fn)(int))
{
	return fn(x) * 100;
}

HOTPATCH_REPLACE(outer, outer_v2);

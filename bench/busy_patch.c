/* SPDX-License-Identifier: MIT */
/* Replaces busy() of bench/busy.c, or with -DCOLD its never-called twin cold(). */
#include <hotpatch.h>

static int fn_v2(int x)
{
	return x + 1;
}
#ifdef COLD
HOTPATCH_REPLACE(cold, fn_v2);
#else
HOTPATCH_REPLACE(busy, fn_v2);
#endif

/* SPDX-License-Identifier: MIT */
/* pie_v2.c - replaces the global func and the static sfunc of pie/nonpie: 300 and 5000. */
#include <hotpatch.h>

static int func_v2(int x)
{
	return x * 100;
}

static int sfunc_v2(int x)
{
	return x * 1000;
}

HOTPATCH_REPLACE(func, func_v2);
HOTPATCH_REPLACE(sfunc, sfunc_v2);

/* SPDX-License-Identifier: MIT */
/* func1000.c - func(x) = 1000x (3000); stacked over func100 in revert_list. */
#include <hotpatch.h>

static int func_v3(int x)
{
	return x * 1000;
}

HOTPATCH_REPLACE(func, func_v3);

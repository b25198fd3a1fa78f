/* SPDX-License-Identifier: MIT */
/* func100.c - func(x) = 100x: func(3) turns from 4 into 300. */
#include <hotpatch.h>

static int func_v2(int x)
{
	return x * 100;
}

HOTPATCH_REPLACE(func, func_v2);

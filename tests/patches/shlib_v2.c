/* SPDX-License-Identifier: MIT */
/* shlib_v2.c - demo_func of libhpdemo.so becomes 100x: demo_func(3)=300, demo_twice(3)=600. */
#include <hotpatch.h>

static int demo_func_v2(int x)
{
	return x * 100;
}

HOTPATCH_REPLACE_IN("libhpdemo.so", demo_func, demo_func_v2);

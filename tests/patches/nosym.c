/* SPDX-License-Identifier: MIT */
/* nosym.c - replaces a function no target has. */
#include <hotpatch.h>

static int v2(int x)
{
	return x * 100;
}

HOTPATCH_REPLACE(no_such_function_xyz, v2);

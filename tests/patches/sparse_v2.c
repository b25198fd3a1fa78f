/* SPDX-License-Identifier: MIT */
/* sparse_v2.c - sparse.c's func(3) becomes 300, and leaves its own address in the sparse page. */
#include <hotpatch.h>

HOTPATCH_IMPORT(sparse_slot, void **volatile);

static int func_v2(int x)
{
	**sparse_slot = (void *)func_v2;
	return x * 100;
}

HOTPATCH_REPLACE(func, func_v2);

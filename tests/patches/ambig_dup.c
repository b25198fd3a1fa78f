/* SPDX-License-Identifier: MIT */
/* ambig_dup.c - "dup_fn" names two static functions of the ambig target: must be refused. */
#include <hotpatch.h>

static int dup_fn_v2(int x)
{
	return x * 100;
}

HOTPATCH_REPLACE(dup_fn, dup_fn_v2);

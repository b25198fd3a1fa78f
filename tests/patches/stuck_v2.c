/* SPDX-License-Identifier: MIT */
/* stuck_v2.c - would make stuck_fn(3)=300; a thread never leaves stuck_fn, so apply must time out. */
#include <hotpatch.h>

static int stuck_fn_v2(int x)
{
	return x * 100;
}

HOTPATCH_REPLACE(stuck_fn, stuck_fn_v2);

/* SPDX-License-Identifier: MIT */
/* rollback_v2.c - hot(2)=6, and block() never returns: every revert times out (see rollback.c). */
#include <hotpatch.h>

static volatile int never;

static int hot_v2(int x)
{
	return x * 3 + never;
}

static int block_v2(int x)
{
	while (!never)
		;
	return x;
}

HOTPATCH_REPLACE(hot, hot_v2);
HOTPATCH_REPLACE(block, block_v2);

/* SPDX-License-Identifier: MIT */
/* altstack_v2.c - makes victim(1)=100; refused while a thread is inside victim (see altstack.c). */
#include <hotpatch.h>

static int victim_v2(int x)
{
	return x * 100;
}

HOTPATCH_REPLACE(victim, victim_v2);

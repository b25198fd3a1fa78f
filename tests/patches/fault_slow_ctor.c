/* SPDX-License-Identifier: MIT */
/* fault_v2 with a constructor that takes 30 ms: a wide window to lose the target inside dlopen. */
#include <time.h>
#include <hotpatch.h>

__attribute__((constructor)) static void slow_ctor(void)
{
	struct timespec ts = { 0, 30 * 1000 * 1000 };
	nanosleep(&ts, NULL);
}

static int fault_a_v2(int x)
{
	return x + 2;
}

static int fault_b_v2(int x)
{
	return x + 2;
}

HOTPATCH_REPLACE(fault_a, fault_a_v2);
HOTPATCH_REPLACE(fault_b, fault_b_v2);

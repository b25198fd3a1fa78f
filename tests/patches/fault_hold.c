/* SPDX-License-Identifier: MIT */
/*
 * fault_target: a=2 b=2, but fault_a's replacement waits while the file named
 * by $FAULT_HOLD exists, so the thread calling it stays inside the patch's
 * code for as long as the test wants (a revert must wait for it).
 */
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <hotpatch.h>

static int fault_a_hold(int x)
{
	const char *hold = getenv("FAULT_HOLD");
	struct timespec ms = { 0, 1000000 };
	while (hold && access(hold, F_OK) == 0)
		nanosleep(&ms, NULL);
	return x + 2;
}

static int fault_b_hold(int x)
{
	return x + 2;
}

HOTPATCH_REPLACE(fault_a, fault_a_hold);
HOTPATCH_REPLACE(fault_b, fault_b_hold);

/* SPDX-License-Identifier: MIT */
/* fault_target stuck: also replaces fault_stuck, which a thread never leaves: apply must time out. */
#include <hotpatch.h>

static int fault_a_v3(int x)
{
	return x + 3;
}

static int fault_stuck_v3(int x)
{
	return x;
}

HOTPATCH_REPLACE(fault_a, fault_a_v3);
HOTPATCH_REPLACE(fault_stuck, fault_stuck_v3);

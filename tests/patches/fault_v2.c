/* SPDX-License-Identifier: MIT */
/* fault_target: a=1 b=1 becomes a=2 b=2; both functions switch in one transaction. */
#include <hotpatch.h>

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

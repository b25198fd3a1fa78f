/* SPDX-License-Identifier: MIT */
/* work() of tests/targets/bpstress.c, returning 300 (and never sleeping). */
#include <hotpatch.h>

static int work_v2(int ms)
{
	(void)ms;
	return 300;
}
HOTPATCH_REPLACE(work, work_v2);

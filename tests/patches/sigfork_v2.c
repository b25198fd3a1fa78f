/* SPDX-License-Identifier: MIT */
/* value() of tests/targets/sigfork.c, returning 300. */
#include <hotpatch.h>

static int value_v2(void)
{
	return 300;
}
HOTPATCH_REPLACE(value, value_v2);

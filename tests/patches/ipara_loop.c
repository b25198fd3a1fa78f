/*
 * For ipara_loop: the same values as 'helper', computed through snprintf and
 * strtol, which write every caller-saved register.
 */
#include <stdio.h>
#include <stdlib.h>
#include <hotpatch.h>

static int helper_v2(int x)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%d", x * 3 + 1);
	return (int)strtol(buf, NULL, 10);
}
HOTPATCH_REPLACE(helper, helper_v2);

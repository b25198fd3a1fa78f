/* For auth_static: 'rate' and 'calls' are static, named only by separate debuginfo. */
#include <hotpatch.h>

HOTPATCH_IMPORT(calls, int);

static int rate_v2(int x)
{
	(*calls)++;
	return x + 1000;
}
HOTPATCH_REPLACE(rate, rate_v2);

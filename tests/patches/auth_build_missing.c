/* For auth_build: names a function the target does not have. */
#include <hotpatch.h>

static int nothing_v2(int x)
{
	return x;
}
HOTPATCH_REPLACE(no_such_function, nothing_v2);

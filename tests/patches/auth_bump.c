/* For auth_clone: 'bump' was inlined whole into 'step': the jump does not reach that copy. */
#include <hotpatch.h>

static int bump_v2(int x)
{
	return x + 300;
}
HOTPATCH_REPLACE(bump, bump_v2);

/* For auth_clone: 'blend' is partly inlined into 'report', which calls blend.part.0. */
#include <hotpatch.h>

static int blend_v2(int x)
{
	return x < 0 ? 0 : -x;
}
HOTPATCH_REPLACE(blend, blend_v2);

/* For auth_clone: 'scale' exists only as scale.constprop.0: refused with an explanation. */
#include <hotpatch.h>

static int scale_v2(int x, int k)
{
	return x * k * 10 + 1;
}
HOTPATCH_REPLACE(scale, scale_v2);

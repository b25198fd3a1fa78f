/*
 * For auth_clone: name the clone. scale.constprop.0 has k == 7 folded in and
 * takes x alone: the replacement must have the clone's signature.
 */
#include <hotpatch.h>

static int scale_v2(int x)
{
	return x * 70 + 1;
}
HOTPATCH_REPLACE(scale.constprop.0, scale_v2);

/* The bti test's patch: bti_pac(x) = 100x (3 -> 300), bti_leaf(x) = 1000x (3 -> 3000). */
#include <hotpatch.h>

static int bti_pac_v2(int x)
{
	return x * 100;
}

static int bti_leaf_v2(int x)
{
	return x * 1000;
}

HOTPATCH_REPLACE(bti_pac, bti_pac_v2);
HOTPATCH_REPLACE(bti_leaf, bti_leaf_v2);

/* The guest's patch object: replacements for the target's func_leaf and func_nonleaf. */
#include <stdio.h>

__attribute__((constructor)) static void hello(void)
{
	printf("PATCH LOADED\n");
}

int func_leaf_v2(int x)
{
	return x * 100;
}

int func_nonleaf_v2(int x)
{
	/* non-leaf: signs lr itself (paciasp) under -mbranch-protection */
	char buf[16];
	snprintf(buf, sizeof(buf), "%d", x);
	return x * 1000 + (buf[0] ? 0 : 1);
}

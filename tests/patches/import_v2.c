/* SPDX-License-Identifier: MIT */
/*
 * import_v2.c - uses the target's static variable 'counter' and static
 * function 'helper' (7x+2): func(3) becomes 10 * helper(3) = 230 and every
 * call increments counter.
 */
#include <hotpatch.h>

HOTPATCH_IMPORT(counter, int);
HOTPATCH_IMPORT(helper, int(int));

static int func_v2(int x)
{
	(*counter)++;
	return 10 * helper(x);
}

HOTPATCH_REPLACE(func, func_v2);

/* SPDX-License-Identifier: MIT */
/* patch.c - the fix for examples/target.c: build it as a .so and `hotpatch apply PID patch.so`. */
#include <hotpatch.h>
static int func_v2(int x) { return x < 0 ? -1 : x * 100; }
HOTPATCH_REPLACE(func, func_v2);

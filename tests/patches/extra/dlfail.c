/* SPDX-License-Identifier: MIT */
/*
 * dlfail.c - built by bad_input.sh against libhpgone.so, which is then
 * deleted: the patch is valid, but dlopen() fails inside the target.
 */
#include <hotpatch.h>

int gone_fn(int x);

static int func_v2(int x)
{
	return gone_fn(x);
}

HOTPATCH_REPLACE(func, func_v2);

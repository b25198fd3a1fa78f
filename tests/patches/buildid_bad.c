/* SPDX-License-Identifier: MIT */
/* buildid_bad.c - func100, pinned to a build-id no executable has. */
#include <hotpatch.h>

static int func_v2(int x)
{
	return x * 100;
}

HOTPATCH_REPLACE(func, func_v2);
HOTPATCH_BUILD_ID("0011223344556677889900112233445566778899");

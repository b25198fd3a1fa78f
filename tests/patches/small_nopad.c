/* SPDX-License-Identifier: MIT */
/* small_nopad.c - tries the 4-byte tiny_nopad, directly followed by tiny_next: must be refused. */
#include <hotpatch.h>

static int tiny_nopad_v2(int x)
{
	return x * 100;
}

HOTPATCH_REPLACE(tiny_nopad, tiny_nopad_v2);

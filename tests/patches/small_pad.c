/* SPDX-License-Identifier: MIT */
/* small_pad.c - replaces the 4-byte tiny_pad (followed by padding): pad(3)=300. */
#include <hotpatch.h>

static int tiny_pad_v2(int x)
{
	return x * 100;
}

HOTPATCH_REPLACE(tiny_pad, tiny_pad_v2);

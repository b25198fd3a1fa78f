/* SPDX-License-Identifier: MIT */
/* ambig_file.c - the dup_fn of ambig_b.c only: b(3) becomes 600, a(3) stays 4. */
#include <hotpatch.h>

static int dup_fn_b_v2(int x)
{
	return x * 200;
}

HOTPATCH_REPLACE_FILE("ambig_b.c", dup_fn, dup_fn_b_v2);

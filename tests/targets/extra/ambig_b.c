/* SPDX-License-Identifier: MIT */
/* ambig_b.c - second translation unit of the ambig target (see ../ambig.c). */
#include "tgt.h"

HP_FN static int dup_fn(int x)
{
	return 2 * x + hp_zero;
}

HP_FN int call_b(int x)
{
	return dup_fn(x) + hp_zero;
}

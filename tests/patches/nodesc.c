/* SPDX-License-Identifier: MIT */
/* nodesc.c - an ordinary shared object without hotpatch descriptors (`apply` refuses, `load` would do). */
int nodesc_fn(int x);

int nodesc_fn(int x)
{
	return x * 100;
}

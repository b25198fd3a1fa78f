/* SPDX-License-Identifier: MIT */
/*
 * libdemo.c - the shared library libhpdemo.so (DT_SONAME libhpdemo.so) used
 * by the shlib target. demo_func is exported and reached through the PLT.
 * Original: demo_func(3)=4.
 */
#include "tgt.h"

HP_FN int demo_func(int x)
{
	return x + 1 + hp_zero;
}

/* Calls demo_func from inside the library, so both paths are exercised. */
HP_FN int demo_twice(int x)
{
	return demo_func(x) + demo_func(x) + hp_zero;
}

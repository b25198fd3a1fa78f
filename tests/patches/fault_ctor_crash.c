/* SPDX-License-Identifier: MIT */
/* A library whose constructor dereferences NULL: `hotpatch load` must report it, the target survive. */
#include <stddef.h>

__attribute__((constructor)) static void fault_ctor(void)
{
	volatile int *volatile p = NULL;
	*p = 42;
}

int fault_ctor_dummy(void)
{
	return 0;
}

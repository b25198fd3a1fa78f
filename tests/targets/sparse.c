/* SPDX-License-Identifier: MIT */
/*
 * sparse.c - a 4 TiB read-write mapping reserved with MAP_NORESERVE and touched in one page,
 * as a sanitizer's shadow memory (ASan reserves 14 TiB so) or an allocator's reserve is. The
 * word sparse_slot points to lies in that page; tests/patches/sparse_v2.c's func stores its own
 * address there, so a reference into the patch lives only in the sparse mapping.
 * Prints "ready PID slot 0xADDR", then "tick N func(3)=V" every 20 ms; original 4, patched 300.
 */
#include <sys/mman.h>

#include "tgt.h"

#define SPAN (4ull << 40)

void **volatile sparse_slot;

HP_FN int func(int x)
{
	return x + 1 + hp_zero;
}

int main(void)
{
	char *base = mmap(NULL, SPAN, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (base == MAP_FAILED) {
		say("ERROR mmap of 4 TiB: errno %d", errno);
		return 1;
	}
	sparse_slot = (void **)(base + SPAN - (3ull << 30));
	*sparse_slot = NULL;	/* the one page touched */
	say("ready %d slot %p", (int)getpid(), (void *)sparse_slot);
	for (unsigned long i = 0;; i++) {
		say("tick %lu func(3)=%d", i, func(3));
		msleep(20);
	}
}

/*
 * Target of auth_clone.sh.
 * - 'scale' is only ever called with k == 7, so GCC -O2 emits only the clone
 *   scale.constprop.0 (k folded in, one argument left) and no 'scale'.
 * - 'blend' is split by partial inlining: its cheap head is inlined into the
 *   cold 'report', which then calls the clone blend.part.0 directly; the
 *   out-of-line 'blend' (global) stays for other callers. Replacing 'blend'
 *   alone does not reach 'report': hotpatch must say so.
 * - 'bump' is global and small: GCC inlines it whole into 'step' (DWARF
 *   records the inlined copy) and keeps the out-of-line copy for others.
 */
#include <stdio.h>
#include <unistd.h>

int weights[64] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
int scratch[64];	/* the stores make the body too big to inline whole */

static __attribute__((noinline)) int scale(int x, int k)
{
	return x * k + 1;
}

int blend(int x)
{
	if (__builtin_expect(x < 0, 1))
		return 0;
	int s = 0;
	for (int i = 0; i < 64; i++) {
		s += weights[i] * x;
		scratch[i] ^= s;
		if (s > 100000)
			printf("overflow %d\n", s);
	}
	return s;
}

int bump(int x)
{
	return x + 3 + (x > 100 ? x / 7 : 0);	/* big enough for a jump */
}

static __attribute__((noinline)) int step(int x)
{
	return bump(x) * 2;
}

/* cold: optimized for size, so blend is partially inlined here, not whole. */
static __attribute__((noinline, cold)) void report(unsigned long tick, int x)
{
	printf("tick %lu scale %d blend %d %d step %d\n", tick, scale(x, 7), blend(x), blend(x - 2),
	       step(x));
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready\n");
	for (unsigned long tick = 0;; tick++) {
		report(tick, (int)(tick % 4));
		usleep(10000);
	}
}

/*
 * Target of ipara_stack.sh, built with plain -O2 (IPA-RA on). 'mix' takes
 * eight integer arguments, the last two on the stack, and writes no register
 * but rax: its caller 'run' keeps its loop state in caller-saved registers
 * across the call. A preserving island cannot be put between them (it would
 * move the stack arguments), so hotpatch must refuse unless --force-regs.
 */
#include <stdio.h>
#include <unistd.h>

static __attribute__((noinline)) long mix(long a, long b, long c, long d, long e, long f,
					  long g, long h)
{
	return a + 2 * b + 3 * c + 4 * d + 5 * e + 6 * f + 7 * g + 8 * h;
}

static __attribute__((noinline)) long run(long n)
{
	long s = 0;
	for (long i = 0; i < n; i++)
		s += mix(i, i + 1, i + 2, i + 3, i + 4, i + 5, i + 6, i + 7);
	return s;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready\n");
	for (unsigned long tick = 0;; tick++) {
		long n = 100 + (long)(tick % 3);
		printf("tick %lu n %ld sum %ld\n", tick, n, run(n));
		usleep(10000);
	}
}

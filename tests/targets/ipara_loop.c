/*
 * Target of ipara_loop.sh, built with plain -O2 (see tests/build.mk): no
 * noipa, so GCC's -fipa-ra sees that 'helper' writes only eax and 'compute'
 * keeps its counter, bound and sum in caller-saved registers (edx, esi, ecx
 * with gcc 12) across the call. A replacement that clobbers them (any libc
 * call does) corrupts the loop unless hotpatch preserves them.
 * Line per tick: "tick T n N sum S", S = 3 N (N - 1) / 2 + N.
 */
#include <stdio.h>
#include <unistd.h>

static __attribute__((noinline)) int helper(int x)
{
	return x * 3 + 1;
}

static __attribute__((noinline)) int compute(int n)
{
	int sum = 0;
	for (int i = 0; i < n; i++)
		sum += helper(i);
	return sum;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready\n");
	for (unsigned long tick = 0;; tick++) {
		int n = 1000 + (int)(tick % 7);
		printf("tick %lu n %d sum %d\n", tick, n, compute(n));
		usleep(10000);
	}
}

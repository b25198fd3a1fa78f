/*
 * The guest's sleeping target: calls two functions directly and through pointers every 20 ms
 * and prints what they return. func_leaf starts with "bti c" (leaf, -mbranch-protection),
 * func_nonleaf with "paciasp". It checks its own callee-saved and vector registers across
 * each sleep, so a tracer that restores them wrongly is seen here ("REGS BAD").
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

volatile int sink;

__attribute__((noinline)) void helper(int x)
{
	sink = x;
}

__attribute__((noinline)) int func_leaf(int x)
{
	int r = x;
	for (int i = 0; i < 3; i++)
		r += sink & 0;
	return r + 1;
}

__attribute__((noinline)) int func_nonleaf(int x)
{
	helper(x);
	return x + 2;
}

int (*volatile p_leaf)(int) = func_leaf;
int (*volatile p_nonleaf)(int) = func_nonleaf;

/* Sleep with known values in v8-v15 (callee-saved low halves) and x19-x28 and read them back. */
static int sleep_checked(void)
{
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	register double d8 __asm__("d8") = 8.5, d15 __asm__("d15") = 15.25;
	register uint64_t x19 __asm__("x19") = 0x1919191919191919ull, x28 __asm__("x28") = 0x2828ull;
	__asm__ volatile("" : "+w"(d8), "+w"(d15), "+r"(x19), "+r"(x28));
	if (nanosleep(&ts, NULL))
		printf("EINTR\n");	/* an interrupted sleep must restart, never fail */
	__asm__ volatile("" : "+w"(d8), "+w"(d15), "+r"(x19), "+r"(x28));
	return d8 == 8.5 && d15 == 15.25 && x19 == 0x1919191919191919ull && x28 == 0x2828ull;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 1000000;
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ADDR %p %p\n", (void *)func_leaf, (void *)func_nonleaf);
	for (int i = 0; i < n; i++) {
		printf("CALL %d %d %d %d %d\n", i, func_leaf(i), p_leaf(i), func_nonleaf(i), p_nonleaf(i));
		if (!sleep_checked())
			printf("REGS BAD\n");
	}
	return 0;
}

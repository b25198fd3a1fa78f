/* calc.c - prices. */
#include "shop.h"

static volatile int zero;

/* A static function named like one of store.c: replaced by file. */
__attribute__((noinline)) static int scale(int x)
{
	return x * 10 + zero;
}

/* Inlined into its callers price() and total(). */
static inline int clamp(int v)
{
	return v > 1000 ? 1000 : v;
}

int price(int n)
{
	return clamp(scale(n) + 2);
}

int total(int n)
{
	return clamp(price(n) * 2 + zero);
}

int discount(int n)
{
	return n + zero;
}

/* Counts its calls in a static local. */
int visits(void)
{
	static int n;

	return ++n + zero;
}

/* The line it is on, as assert() or a log macro would record it. */
int where(void)
{
	return __LINE__ + zero;
}

/* Inlined into far(), which lies below rate_of(): far's lines are on both sides of it. */
static inline int plus_zero(int v)
{
	return v + zero;
}

int rate_of(int n)
{
	return n * 3 + zero;
}

/* Its own __LINE__ again, through plus_zero() from above rate_of(). */
int far(int n)
{
	int v = plus_zero(n);

	return v + __LINE__ + zero;
}

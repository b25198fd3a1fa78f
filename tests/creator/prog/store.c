/* store.c - the sales record. */
#include "shop.h"

struct stats stats;
static int limit = 10;
static volatile int zero;

__attribute__((noinline)) static int scale(int x)
{
	return x * 100 + zero;
}

int store_scale(int x)
{
	return scale(x);
}

void record(int units)
{
	stats.sales++;
	stats.units += units;
}

long sold(void)
{
	return stats.sales;
}

long refunds(void)
{
	return stats.refunds;
}

void set_limit(int v)
{
	limit = v;
}

int limit_of(void)
{
	return limit + zero;
}

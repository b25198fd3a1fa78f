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

/* A static constant table: nothing writes it. */
static const int rates[4] = {1, 2, 3, 4};

int rate(int i)
{
	return rates[(i + zero) & 3];
}

void set_limit(int v)
{
	limit = v;
}

int limit_of(void)
{
	return limit + zero;
}

/*
 * main.c - prints one line per tick with every observable value, so a test
 * sees each function's result change when the patch goes live:
 * "tick N price=P total=T discount=D sold=S refunds=R scale=C limit=L where=LINE visits=V rate=R"
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "shop.h"

static volatile int input = 5;

int main(int argc, char **argv)
{
	long ms = argc > 1 ? atol(argv[1]) : 20;
	struct timespec ts = {0, ms * 1000000L};

	dprintf(1, "ready pid %d\n", (int)getpid());
	for (unsigned long n = 1;; n++) {
		int x = input;
		record(1);
		dprintf(1, "tick %lu price=%d total=%d discount=%d sold=%ld refunds=%ld scale=%d limit=%d where=%d visits=%d rate=%d\n",
			n, price(x), total(x), discount(x), sold(), refunds(), store_scale(x),
			limit_of(), where(), visits(), rate(1));
		nanosleep(&ts, NULL);
	}
}

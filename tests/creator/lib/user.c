/* user.c - a program that loads libtl.so.1 and prints what it returns, every 20 ms. */
#include <stdio.h>
#include <time.h>

#include "tl.h"

int main(void)
{
	struct timespec ts = {0, 20 * 1000 * 1000};

	printf("ready\n");
	fflush(stdout);
	for (;;) {
		int v = tl_value(5);
		printf("tick value=%d calls=%d\n", v, tl_calls());
		fflush(stdout);
		nanosleep(&ts, NULL);
	}
}

/*
 * A program using libshop.so.1 (examples/libshop.c). One line per tick:
 * "tick T net N gross G".
 *
 *	cc -O2 -g -o shop shop.c ./libshop.so.1 -Wl,-rpath,'$ORIGIN'
 */
#include <stdio.h>
#include <unistd.h>

int price_with_tax(int cents);

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready\n");
	for (unsigned long tick = 0;; tick++) {
		int net = 1000 * (1 + (int)(tick % 3));
		printf("tick %lu net %d gross %d\n", tick, net, price_with_tax(net));
		usleep(10000);
	}
}

/*
 * The guest's bti target: calls libbti.so's bti_pac and bti_leaf only through function
 * pointers (BLR: on a PROT_BTI page the callee's first instruction must be a landing pad, else
 * SIGILL) and prints "tick N pac(3)=V leaf(3)=W" every 20 ms.
 */
#include <stdio.h>
#include <time.h>

int bti_pac(int x);
int bti_leaf(int x);

int (*volatile p_pac)(int) = bti_pac;
int (*volatile p_leaf)(int) = bti_leaf;

int main(void)
{
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready\n");
	for (unsigned n = 1;; n++) {
		printf("tick %u pac(3)=%d leaf(3)=%d\n", n, p_pac(3), p_leaf(3));
		nanosleep(&ts, NULL);
	}
}

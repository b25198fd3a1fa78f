#include <stdio.h>
#include <unistd.h>
volatile int g = 1;
/* clang -O2: called only with 5, so specialised (IPSCCP), x dropped from the calls */
__attribute__((noinline)) static int spec(int x) { return 2 * x + g; }
/* y unused: dead-argument elimination drops it from the calls */
__attribute__((noinline)) static int unused(int x, int y) { (void)y; return x * 3 + g; }
__attribute__((noinline)) int plain(int x) { return x + g; }
int main(void) {
	printf("ready\n"); fflush(stdout);
	for (int i = 0;; i++) { printf("tick %d spec=%d unused=%d plain=%d\n", i, spec(5), unused(i & 1, 77), plain(3)); fflush(stdout); usleep(20000); }
}

/*
 * Target of auth_debuginfo.sh: 'rate' and 'calls' are static, so once the
 * binary is stripped only separate debuginfo (.gnu_debuglink or the build-id
 * path) can name them. Prints one line per tick: "tick N rate R calls C".
 */
#include <stdio.h>
#include <unistd.h>

static int calls;

static __attribute__((noinline)) int rate(int x)
{
	calls++;
	return x + 1;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready\n");
	for (unsigned long tick = 0;; tick++) {
		int r = rate((int)(tick % 5));
		printf("tick %lu rate %d calls %d\n", tick, r, calls);
		usleep(10000);
	}
}

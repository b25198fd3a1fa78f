/*
 * Target of auth_replace_file.sh: auth/dup_a.c and auth/dup_b.c each define
 * a static 'parse'; only the source file tells them apart.
 */
#include <stdio.h>
#include <unistd.h>

int a_parse(int x);
int b_parse(int x);

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready\n");
	for (unsigned long tick = 0;; tick++) {
		int x = (int)(tick % 4);
		printf("tick %lu a %d b %d\n", tick, a_parse(x), b_parse(x));
		usleep(10000);
	}
}

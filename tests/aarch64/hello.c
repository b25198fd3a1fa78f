/* The smallest guest test: a dynamically linked arm64 program runs and sees ptrace. */
#include <stdio.h>
#include <sys/prctl.h>
int main(void)
{
	printf("hello from aarch64\n");
	return 0;
}

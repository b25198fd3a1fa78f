/*
 * Target of auth_wrap.sh: 'spin_sum' (n + (n-1) + ... + 1) is written in
 * assembly so its shape is fixed: the loop head is at offset 2, inside the
 * bytes a jump at the entry displaces. A WRAP trampoline would run the
 * loop's first instructions out of place and the back edge would jump into
 * the middle of our jump, so hotpatch must refuse to wrap it.
 */
#include <stdio.h>
#include <unistd.h>

__asm__(".text\n"
	".globl spin_sum\n"
	".type spin_sum, @function\n"
	"spin_sum:\n"
	"	xor %eax, %eax\n"	/* 2 bytes */
	"1:	add %edi, %eax\n"	/* offset 2: branch target */
	"	dec %edi\n"
	"	jg 1b\n"
	"	ret\n"
	".size spin_sum, . - spin_sum\n");

int spin_sum(int n);

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready\n");
	for (unsigned long tick = 0;; tick++) {
		int n = 1 + (int)(tick % 4);
		printf("tick %lu spin %d %d\n", tick, n, spin_sum(n));
		usleep(10000);
	}
}

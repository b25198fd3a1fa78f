/*
 * Target of auth_wrap.sh: 'spin_sum' (n + (n-1) + ... + 1) is written in
 * assembly so its shape is fixed: the loop head is at offset 2, inside the
 * bytes a jump at the entry displaces. A WRAP trampoline would run the
 * loop's first instructions out of place and the back edge would jump into
 * the middle of our jump, so hotpatch must refuse to wrap it.
 * 'spin_sum2' computes the same, its loop head at offset 10: beyond a 5-byte
 * jump, inside a 14-byte one. Negative n tail-calls through a pointer, so
 * the register analysis sees "clobbers everything" and no preserving island
 * is needed: a far patch would get the 14-byte absolute jump. A WRAP must
 * use the 5-byte form (to an island) instead, and then succeeds.
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
	".size spin_sum, . - spin_sum\n"
	".globl spin_sum2\n"
	".type spin_sum2, @function\n"
	"spin_sum2:\n"
	"	xor %eax, %eax\n"	/* 0 */
	"	test %edi, %edi\n"	/* 2 */
	"	js 3f\n"		/* 4 */
	"	mov %edi, %ecx\n"	/* 6 */
	"	jz 2f\n"		/* 8 */
	"1:	add %ecx, %eax\n"	/* 10: branch target */
	"	dec %ecx\n"
	"	jnz 1b\n"
	"2:	ret\n"
	"3:	jmp *neg_handler(%rip)\n"
	".size spin_sum2, . - spin_sum2\n");

static int neg_fallback(int n)
{
	return n;
}
int (*neg_handler)(int) = neg_fallback;

int spin_sum(int n);
int spin_sum2(int n);

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready\n");
	for (unsigned long tick = 0;; tick++) {
		int n = 1 + (int)(tick % 4);
		printf("tick %lu spin %d %d %d\n", tick, n, spin_sum(n), spin_sum2(n));
		usleep(10000);
	}
}

/* SPDX-License-Identifier: MIT */
/*
 * small.c - functions shorter than a 5-byte jump, written in assembly so
 * their exact size and what follows them is known:
 *
 *	tiny_pad	4 bytes, then alignment padding (nops owned by no symbol):
 *			patchable by writing the jump into the padding
 *	tiny_nopad	4 bytes, immediately followed by the symbol tiny_next:
 *			must be refused
 *	tiny_next	4 bytes, then padding
 *
 * Prints "tick N pad(3)=A nopad(3)=B next(3)=C"; original 4 5 6.
 */
#include "tgt.h"

__asm__(
	".text\n"
	".p2align 4\n"
	".globl tiny_pad\n"
	".type tiny_pad, @function\n"
	"tiny_pad:\n"
	"	lea 1(%rdi), %eax\n"		/* 8d 47 01 */
	"	ret\n"				/* c3 */
	".size tiny_pad, .-tiny_pad\n"
	".p2align 4\n"
	".globl tiny_nopad\n"
	".type tiny_nopad, @function\n"
	"tiny_nopad:\n"
	"	lea 2(%rdi), %eax\n"
	"	ret\n"
	".size tiny_nopad, .-tiny_nopad\n"
	".globl tiny_next\n"
	".type tiny_next, @function\n"
	"tiny_next:\n"
	"	lea 3(%rdi), %eax\n"
	"	ret\n"
	".size tiny_next, .-tiny_next\n"
	".p2align 4\n");

int tiny_pad(int x);
int tiny_nopad(int x);
int tiny_next(int x);

int main(int argc, char **argv)
{
	long ms = tick_ms(argc, argv);

	say("ready pid %d", (int)getpid());
	for (unsigned n = 1;; n++) {
		int a = tiny_pad(3);
		int b = tiny_nopad(3);
		int c = tiny_next(3);

		say("tick %u pad(3)=%d nopad(3)=%d next(3)=%d", n, a, b, c);
		msleep(ms);
	}
}

/*
 * The guest's vector-state target: spins in user space with every vector register set to a
 * known value (z0-z31 at the full SVE vector length where the CPU has SVE, else v0-v31)
 * and checks them after each spin, so a tracer that stops it mid-spin and runs code in it
 * must put the whole state back ("VEC BAD" otherwise). A syscall would let the kernel drop
 * the SVE state; the spin makes none.
 */
#include <stdio.h>
#include <sys/auxv.h>

#ifndef HWCAP_SVE
#define HWCAP_SVE (1 << 22)
#endif

#define REGS "0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31"

static long spin_sve(long n)
{
	long bad;
	__asm__ volatile(".arch armv8.2-a+sve\n"
			 "ptrue p7.b\n"
			 ".irp r," REGS "\n dup z\\r\\().b, #(\\r - 16)\n .endr\n"
			 "1: subs %[n], %[n], #1\n b.ne 1b\n"
			 "mov %[bad], #0\n"
			 ".irp r," REGS "\n cmpne p0.b, p7/z, z\\r\\().b, #(\\r - 16)\n b.any 2f\n .endr\n"
			 "b 3f\n"
			 "2: mov %[bad], #1\n"
			 "3:\n"
			 : [bad] "=&r"(bad), [n] "+r"(n)
			 :
			 : "cc", "p0", "p7", "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10",
			   "v11", "v12", "v13", "v14", "v15", "v16", "v17", "v18", "v19", "v20", "v21", "v22",
			   "v23", "v24", "v25", "v26", "v27", "v28", "v29", "v30", "v31");
	return bad;
}

static long spin_neon(long n)
{
	unsigned char out[32][16];
	__asm__ volatile(".irp r," REGS "\n movi v\\r\\().16b, #(\\r + 1)\n .endr\n"
			 "1: subs %[n], %[n], #1\n b.ne 1b\n"
			 ".irp r," REGS "\n str q\\r, [%[o], #(\\r * 16)]\n .endr\n"
			 : [n] "+r"(n)
			 : [o] "r"(out)
			 : "cc", "memory", "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10",
			   "v11", "v12", "v13", "v14", "v15", "v16", "v17", "v18", "v19", "v20", "v21", "v22",
			   "v23", "v24", "v25", "v26", "v27", "v28", "v29", "v30", "v31");
	for (int r = 0; r < 32; r++)
		for (int i = 0; i < 16; i++)
			if (out[r][i] != r + 1)
				return 1;
	return 0;
}

int main(void)
{
	int sve = (getauxval(AT_HWCAP) & HWCAP_SVE) != 0;
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("VECSPIN %s\n", sve ? "sve" : "neon");
	for (long round = 0;; round++) {
		long bad = sve ? spin_sve(20000000) : spin_neon(20000000);
		printf("ROUND %ld %s\n", round, bad ? "VEC BAD" : "ok");
	}
}

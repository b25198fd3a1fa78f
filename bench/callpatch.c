/* SPDX-License-Identifier: MIT */
/*
 * The calls benchmark's patches: each replacement is the same code as the function it replaces.
 * Built twice: callpatch.so replaces functions of the executable, callpatch_lib.so (-DCALLS_LIB)
 * the one in the library, so that each is placed next to its own targets (one object cannot be
 * within direct-jump reach of both a PIE executable and the libraries).
 */
#include <hotpatch.h>

static long cb_impl(long x) { return x ^ 1; }
static long (*volatile cb)(long) = cb_impl;

#ifdef CALLS_LIB
static long lib_clob_v2(long x) { return cb(x) + 1; }

HOTPATCH_REPLACE_IN("libbench_lib.so", lib_clob, lib_clob_v2);	/* near the patch: e9 */
#else
static long pc_small_v2(long x) { return x + 1; }
static long pc_clob_v2(long x) { return cb(x) + 1; }
static long pc_tiny_v2(long x) { return cb(x); }

/* x + 1 too, but writing %rcx, which pc_keep1 never writes: its callers may keep a value there. */
static long pc_keep1_v2(long x)
{
	__asm__ volatile("xor %%ecx, %%ecx" ::: "rcx");
	return x + 1;
}

/* x + 1, writing every caller-saved register (zero idioms: nearly free themselves). */
static long pc_keepall_v2(long x)
{
	__asm__ volatile("xor %%ecx, %%ecx; xor %%edx, %%edx; xor %%esi, %%esi; xor %%edi, %%edi\n\t"
			 "xor %%r8d, %%r8d; xor %%r9d, %%r9d; xor %%r10d, %%r10d; xor %%r11d, %%r11d\n\t"
			 "vzeroupper"
			 ::: "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "xmm0", "xmm1", "xmm2",
			 "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",
			 "xmm12", "xmm13", "xmm14", "xmm15");
	return x + 1;
}


HOTPATCH_REPLACE(pc_small, pc_small_v2);	/* writes only rax, as the original: plain jump */
HOTPATCH_REPLACE(pc_keep1, pc_keep1_v2);	/* island preserving %rcx */
HOTPATCH_REPLACE(pc_keepall, pc_keepall_v2);	/* island preserving all 24 caller-saved */
HOTPATCH_REPLACE(pc_clob, pc_clob_v2);		/* clobbers everything: plain jump */
HOTPATCH_REPLACE(pc_tiny, pc_tiny_v2);		/* 6 bytes: e9 when the patch is near */
#endif

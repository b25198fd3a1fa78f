/* SPDX-License-Identifier: MIT */
/* Saved user-level contexts on x86_64 glibc: jmp_buf and ucontext_t layouts, pointer mangling, return addresses. */
/*
 * Coroutines and green threads park by saving registers into memory: QEMU's
 * coroutine-ucontext backend with sigsetjmp, makecontext/swapcontext users
 * with a ucontext_t. Both layouts are glibc's x86_64 ABI, fixed since 2.2:
 *  - jmp_buf: rbx, rbp, r12, r13, r14, r15, rsp, pc; rbp, rsp and pc are
 *    mangled (PTR_MANGLE: xor with the pointer guard, then rotate left 17).
 *    The guard is per process, at %fs:0x30 of every thread (tcbhead_t).
 *  - ucontext_t: gregs at offset 40 (REG_R8 .. REG_RIP), and getcontext and
 *    swapcontext set uc_mcontext.fpregs (offset 224) to the context's own
 *    __fpregs_mem (offset 424): a pointer to itself that random data does
 *    not hold, which is how a saved ucontext is recognised in memory.
 * The saved pc of both is a return address (setjmp's, getcontext's or
 * swapcontext's), so it follows a call instruction.
 */
#include <string.h>

#include <Zydis/Zydis.h>

#include "arch/arch.h"

#define TCB_POINTER_GUARD 0x30

uint64_t arch_pointer_guard_addr(uint64_t tls_base)
{
	return tls_base + TCB_POINTER_GUARD;
}

const char *arch_pointer_guard_symbol(void)
{
	return NULL;
}

/* glibc's x86_64 context savers store their caller's return address as the pc. */
bool arch_context_resume(const uint8_t *code, size_t len, struct user_regs_struct *r)
{
	(void)code;
	(void)len;
	(void)r;
	return false;
}

/* uc_mcontext.fpregs points at the context's own __fpregs_mem (getcontext sets it so). */
bool arch_ucontext_valid(const uint64_t uc[ARCH_UCONTEXT_WORDS], uint64_t at)
{
	return uc[ARCH_UCONTEXT_MARK_OFF / 8] == ARCH_UCONTEXT_MARK(at);
}

#define MANGLE_ROT 17

uint64_t arch_demangle(uint64_t v, uint64_t guard)
{
	return ((v >> MANGLE_ROT) | (v << (64 - MANGLE_ROT))) ^ guard;
}

unsigned arch_mangle_rotation(void)
{
	return MANGLE_ROT;
}

enum { JB_RBX, JB_RBP, JB_R12, JB_R13, JB_R14, JB_R15, JB_RSP, JB_PC };

void arch_jmpbuf_regs(const uint64_t jb[ARCH_JMPBUF_WORDS], uint64_t guard,
		      struct user_regs_struct *r)
{
	memset(r, 0, sizeof(*r));
	r->rbx = jb[JB_RBX];
	r->rbp = arch_demangle(jb[JB_RBP], guard);
	r->r12 = jb[JB_R12];
	r->r13 = jb[JB_R13];
	r->r14 = jb[JB_R14];
	r->r15 = jb[JB_R15];
	r->rsp = arch_demangle(jb[JB_RSP], guard);
	r->rip = arch_demangle(jb[JB_PC], guard);
}

/* glibc's REG_* order in gregs. */
enum { G_R8, G_R9, G_R10, G_R11, G_R12, G_R13, G_R14, G_R15, G_RDI, G_RSI, G_RBP, G_RBX,
       G_RDX, G_RAX, G_RCX, G_RSP, G_RIP };

void arch_ucontext_regs(const uint64_t uc[ARCH_UCONTEXT_WORDS], struct user_regs_struct *r)
{
	const uint64_t *g = uc + ARCH_UCONTEXT_GREGS / 8;

	memset(r, 0, sizeof(*r));
	r->r8 = g[G_R8], r->r9 = g[G_R9], r->r10 = g[G_R10], r->r11 = g[G_R11];
	r->r12 = g[G_R12], r->r13 = g[G_R13], r->r14 = g[G_R14], r->r15 = g[G_R15];
	r->rdi = g[G_RDI], r->rsi = g[G_RSI], r->rbp = g[G_RBP], r->rbx = g[G_RBX];
	r->rdx = g[G_RDX], r->rax = g[G_RAX], r->rcx = g[G_RCX];
	r->rsp = g[G_RSP];
	r->rip = g[G_RIP];
}

/*
 * The call forms that end right before a return address: e8 rel32 (5),
 * ff /2 through a register (2-3), through memory (2-8 with prefixes,
 * displacement, SIB). Decode each possible start and accept the one that is
 * a call exactly ending at the end of 'code'.
 */
bool arch_follows_call(const uint8_t *code, size_t len)
{
	ZydisDecoder d;
	ZydisDecodedInstruction in;

	ZydisDecoderInit(&d, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
	for (size_t k = 2; k <= len && k <= 15; k++) {
		const uint8_t *p = code + len - k;
		if (ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(&d, NULL, p, k, &in)) &&
		    in.length == k && in.mnemonic == ZYDIS_MNEMONIC_CALL)
			return true;
	}
	return false;
}

bool arch_ucontext_stack(const uint64_t uc[ARCH_UCONTEXT_WORDS], uint64_t *base, uint64_t *size)
{
	/* uc_flags, uc_link, then stack_t { ss_sp, ss_flags (int + padding), ss_size }. */
	*base = uc[2];
	*size = uc[4];
	return *base && *size && *base + *size > *base;
}

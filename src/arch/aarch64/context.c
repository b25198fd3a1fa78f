/* SPDX-License-Identifier: MIT */
/* aarch64 glibc saved contexts: jmp_buf registers, pointer demangling, ucontext_t, call sites. */
#include <string.h>

#include "arch/arch.h"

/*
 * glibc/aarch64 keeps its pointer guard in a global of the dynamic linker (rtld.c's
 * __pointer_chk_guard_local, exported as __pointer_chk_guard, GLIBC_PRIVATE), which every
 * __sigsetjmp loads through the GOT: not in the thread block.
 */
uint64_t arch_pointer_guard_addr(uint64_t tls_base)
{
	(void)tls_base;
	return 0;
}

const char *arch_pointer_guard_symbol(void)
{
	return "__pointer_chk_guard";
}

/* The FPSIMD record's header (the mark), then a zero terminator header right after it. */
bool arch_ucontext_valid(const uint64_t uc[ARCH_UCONTEXT_WORDS], uint64_t at)
{
	(void)at;	/* the mark is a constant here */
	return uc[ARCH_UCONTEXT_MARK_OFF / 8] == ARCH_UCONTEXT_MARK(at) &&
	       uc[ARCH_UCONTEXT_END_OFF / 8] == 0;
}

/* PTR_MANGLE on aarch64 is an eor with the guard (no rotation). */
uint64_t arch_demangle(uint64_t v, uint64_t guard)
{
	return v ^ guard;
}

unsigned arch_mangle_rotation(void)
{
	return 0;
}

void arch_jmpbuf_regs(const uint64_t jb[ARCH_JMPBUF_WORDS], uint64_t guard, struct user_regs_struct *r)
{
	memset(r, 0, sizeof(*r));
	for (int i = 0; i < 10; i++)
		r->regs[19 + i] = jb[i];
	r->regs[29] = jb[10];
	r->regs[30] = arch_demangle(jb[11], guard);
	r->pc = r->regs[30];
	r->sp = arch_demangle(jb[13], guard);
}

bool arch_ucontext_stack(const uint64_t uc[ARCH_UCONTEXT_WORDS], uint64_t *base, uint64_t *size)
{
	*base = uc[2];		/* uc_stack.ss_sp */
	*size = uc[4];		/* uc_stack.ss_size */
	return *base && *size;
}

void arch_ucontext_regs(const uint64_t uc[ARCH_UCONTEXT_WORDS], struct user_regs_struct *r)
{
	const uint64_t *m = uc + ARCH_UCONTEXT_GREGS / 8;
	memset(r, 0, sizeof(*r));
	for (int i = 0; i < 31; i++)
		r->regs[i] = m[i];
	r->sp = m[31];
	r->pc = m[32];
	r->pstate = m[33];
}

/*
 * glibc 2.36's swapcontext: x1 := its caller's x30, pc := x30 := a stub after it, BTI j (or NOP),
 * MOV x30, x1, RET. The stub run by hand: pc and x30 become x1.
 */
bool arch_context_resume(const uint8_t *code, size_t len, struct user_regs_struct *r)
{
	uint32_t w[3];
	if (len < sizeof(w))
		return false;
	memcpy(w, code, sizeof(w));
	size_t k = w[0] == 0xd503201fu || (w[0] & 0xffffff3fu) == 0xd503241fu;	/* NOP, BTI */
	if (w[k] != 0xaa0103feu || w[k + 1] != 0xd65f03c0u)			/* MOV x30, x1; RET */
		return false;
	r->regs[30] = r->regs[1];
	r->pc = r->regs[1];
	return true;
}

/* BL, BLR, and the PAC forms BLRAA/BLRAAZ/BLRAB/BLRABZ end the bytes. */
bool arch_follows_call(const uint8_t *code, size_t len)
{
	uint32_t w;
	if (len < 4)
		return false;
	memcpy(&w, code + len - 4, 4);
	return (w & 0xfc000000u) == 0x94000000u || (w & 0xfffffc1fu) == 0xd63f0000u ||
	       (w & 0xfefff800u) == 0xd63f0800u;
}

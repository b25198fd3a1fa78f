/* SPDX-License-Identifier: MIT */
/*
 * Saved contexts as glibc lays them out (src/arch/x86_64/context.c): a real
 * sigsetjmp buffer demangled with this process's own pointer guard, a real
 * getcontext ucontext_t recognised by its self-pointer, and return addresses
 * told from other code addresses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <ucontext.h>
#include <cmocka.h>

#include "arch/arch.h"

static uint64_t own_guard(void)
{
	uint64_t tp;
	__asm__("mov %%fs:0, %0" : "=r"(tp));	/* tcbhead_t.tcb: the thread pointer itself */
	return *(const uint64_t *)arch_pointer_guard_addr(tp);
}

static __attribute__((noinline)) uint64_t here_sp(void)
{
	return (uint64_t)__builtin_frame_address(0);
}

static void test_jmpbuf(void **state)
{
	sigjmp_buf jb;
	struct user_regs_struct r;
	(void)state;

	if (sigsetjmp(jb, 0))
		fail();
	uint64_t w[ARCH_JMPBUF_WORDS];
	memcpy(w, jb, sizeof(w));
	arch_jmpbuf_regs(w, own_guard(), &r);
	/* The saved sp is this frame's: within a page of a frame address taken here. */
	uint64_t sp = here_sp();
	assert_true(r.rsp > sp - 4096 && r.rsp < sp + 4096);
	/* The saved pc is sigsetjmp's return address: in this function, after a call. */
	assert_true(r.rip > (uint64_t)test_jmpbuf && r.rip < (uint64_t)test_jmpbuf + 4096);
	assert_true(arch_follows_call((const uint8_t *)r.rip - 15, 15));
	/* Demangled with another guard it is garbage. */
	arch_jmpbuf_regs(w, own_guard() ^ 0x1000, &r);
	assert_false(r.rip > (uint64_t)test_jmpbuf && r.rip < (uint64_t)test_jmpbuf + 4096);
}

static void test_ucontext(void **state)
{
	static ucontext_t uc;
	static char stack[8192];
	struct user_regs_struct r;
	uint64_t base, size;
	(void)state;

	assert_int_equal(getcontext(&uc), 0);
	const uint64_t *w = (const uint64_t *)&uc;
	/* The signature the search looks for: fpregs points at the context's own __fpregs_mem. */
	assert_int_equal(offsetof(ucontext_t, uc_mcontext.gregs), ARCH_UCONTEXT_GREGS);
	assert_int_equal(offsetof(ucontext_t, uc_mcontext.fpregs), ARCH_UCONTEXT_FPREGS);
	assert_int_equal(offsetof(ucontext_t, __fpregs_mem), ARCH_UCONTEXT_FPMEM);
	assert_true(w[ARCH_UCONTEXT_FPREGS / 8] == (uint64_t)&uc + ARCH_UCONTEXT_FPMEM);
	assert_true(w[ARCH_UCONTEXT_MARK_OFF / 8] == ARCH_UCONTEXT_MARK((uint64_t)&uc));
	assert_true(arch_ucontext_valid(w, (uint64_t)&uc));
	assert_false(arch_ucontext_valid(w, (uint64_t)&uc + 8));
	arch_ucontext_regs(w, &r);
	/* Its pc is its caller's return address: no resume stub to look through. */
	assert_false(arch_context_resume((const uint8_t *)r.rip, 16, &r));
	assert_true(r.rip > (uint64_t)test_ucontext && r.rip < (uint64_t)test_ucontext + 4096);
	assert_true(arch_follows_call((const uint8_t *)r.rip - 15, 15));
	uc.uc_stack.ss_sp = stack;
	uc.uc_stack.ss_size = sizeof(stack);
	assert_true(arch_ucontext_stack(w, &base, &size));
	assert_int_equal(base, (uint64_t)stack);
	assert_int_equal(size, sizeof(stack));
	uc.uc_stack.ss_sp = NULL;
	assert_false(arch_ucontext_stack(w, &base, &size));
}

static void test_follows_call(void **state)
{
	static const uint8_t rel[] = { 0x90, 0x90, 0xe8, 0x10, 0x20, 0x30, 0x40 };	/* call rel32 */
	static const uint8_t reg[] = { 0x90, 0x90, 0x90, 0xff, 0xd0 };			/* call *%rax */
	static const uint8_t r11[] = { 0x90, 0x90, 0x41, 0xff, 0xd3 };			/* call *%r11 */
	static const uint8_t mem[] = { 0x90, 0xff, 0x15, 0x00, 0x10, 0x00, 0x00 };	/* call *0x1000(%rip) */
	static const uint8_t nop[] = { 0x90, 0x90, 0x90, 0x90, 0x90, 0x90 };
	static const uint8_t jmp[] = { 0x90, 0x90, 0xe9, 0x10, 0x20, 0x30, 0x40 };	/* jmp rel32 */
	(void)state;
	assert_true(arch_follows_call(rel, sizeof(rel)));
	assert_true(arch_follows_call(reg, sizeof(reg)));
	assert_true(arch_follows_call(r11, sizeof(r11)));
	assert_true(arch_follows_call(mem, sizeof(mem)));
	assert_false(arch_follows_call(nop, sizeof(nop)));
	assert_false(arch_follows_call(jmp, sizeof(jmp)));
}

static void test_demangle(void **state)
{
	(void)state;
	/* PTR_MANGLE is xor then rol 17: demangle(rol(x ^ g, 17), g) == x. */
	uint64_t x = 0x00007f1234567890ull, g = 0x5a5aa5a5deadbeefull;
	uint64_t m = x ^ g;
	m = (m << 17) | (m >> 47);
	assert_true(arch_demangle(m, g) == x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_jmpbuf),
	    cmocka_unit_test(test_ucontext),
	    cmocka_unit_test(test_follows_call),
	    cmocka_unit_test(test_demangle),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * The aarch64 backend's pure functions on the build host (no arm64 CPU needed): jump and
 * entry encodings, padding, WRAP trampoline relocation and preserving islands word for word
 * (expected words from GNU as), and the capstone analysis. Executed for real in the guest
 * by tests/aarch64/codegen.c (make check-aarch64).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "arch/arch.h"
#include "libhotpatch.h"

static uint32_t w(const uint8_t *b, int i)
{
	uint32_t v;
	memcpy(&v, b + 4 * i, 4);
	return v;
}

static void test_jumps(void **state)
{
	(void)state;
	uint8_t b[ARCH_JUMP_MAX];
	assert_int_equal(arch_encode_jump(0x1000, 0x2000, b), 4);
	assert_int_equal(w(b, 0), 0x14000400u);			/* b .+0x1000 */
	assert_int_equal(arch_encode_jump(0x2000, 0x1000, b), 4);
	assert_int_equal(w(b, 0), 0x17fffc00u);			/* b .-0x1000 */
	assert_true(arch_rel32_reaches(0x10000000, 0x10000000 + (128u << 20) - 4));
	assert_false(arch_rel32_reaches(0x10000000, 0x10000000 + (128u << 20)));
	assert_true(arch_rel32_reaches(0x10000000, 0x10000000 - (128u << 20)));
	assert_false(arch_rel32_reaches(0x1000, 0x1002));
	assert_int_equal(arch_encode_jump(0x1000, 0xffff00001234ull, b), 16);
	assert_int_equal(w(b, 0), 0x58000050u);			/* ldr x16, .+8 */
	assert_int_equal(w(b, 1), 0xd61f0200u);			/* br x16 */
	uint64_t lit;
	memcpy(&lit, b + 8, 8);
	assert_true(lit == 0xffff00001234ull);
}

static void test_entry(void **state)
{
	(void)state;
	uint8_t b[ARCH_JUMP_MAX];
	uint32_t bti[] = { A64_BTI_C, A64_NOP }, pac[] = { A64_PACIASP, A64_NOP }, plain[] = { A64_NOP, A64_NOP };
	assert_true(arch_is_endbr((uint8_t *)bti, 8));
	assert_false(arch_is_endbr((uint8_t *)pac, 8));	/* PACIASP is never kept */
	assert_int_equal(arch_encode_entry_jump((uint8_t *)bti, 8, 0x1000, 0x2000, b), 8);
	assert_int_equal(w(b, 0), A64_BTI_C);
	assert_int_equal(w(b, 1), 0x140003ffu);			/* b from 0x1004 */
	assert_int_equal(arch_encode_entry_jump((uint8_t *)pac, 8, 0x1000, 0x2000, b), 8);
	assert_int_equal(w(b, 0), A64_BTI_C);			/* PACIASP -> BTI c */
	assert_int_equal(arch_encode_entry_jump((uint8_t *)plain, 8, 0x1000, 0x2000, b), 4);
	assert_int_equal(w(b, 0), 0x14000400u);
	uint32_t padding[] = { A64_NOP, 0, A64_NOP };
	assert_true(arch_is_padding((uint8_t *)padding, 12));
	assert_false(arch_is_padding((uint8_t *)padding, 6));
	assert_false(arch_is_padding((uint8_t *)bti, 8));
}

static void test_trampoline(void **state)
{
	(void)state;
	/* adr x1, .+32 ; ldr w2, [x1] ; cbz w0, .+12 ; add ; ret ; mov w0, #7 ; ret */
	static const uint32_t f[] = { 0x10000101u, 0xb9400022u, 0x34000060u, 0x0b020000u, A64_RET,
				      0x528000e0u, A64_RET };
	uint8_t out[256];
	size_t len, used;
	assert_int_equal(arch_build_trampoline((uint8_t *)f, sizeof(f), 0x10000, 12, 0x10000, 0x1001c,
					       0x900000, out, sizeof(out), &len, &used), 0);
	assert_int_equal(used, 12);
	/* adr -> ldr x1, .+8 ; b .+12 ; .quad 0x10020 */
	assert_int_equal(w(out, 0), 0x58000041u);
	assert_int_equal(w(out, 1), 0x14000003u);
	assert_int_equal(w(out, 2), 0x10020u);
	assert_int_equal(w(out, 3), 0);
	assert_int_equal(w(out, 4), 0xb9400022u);		/* copied */
	/* cbz w0, .+8 (to the far jump) ; b .+20 ; ldr x16 ; br x16 ; .quad 0x10014 */
	assert_int_equal(w(out, 5), 0x34000040u);
	assert_int_equal(w(out, 6), 0x14000005u);
	assert_int_equal(w(out, 7), 0x58000050u);
	assert_int_equal(w(out, 8), 0xd61f0200u);
	assert_int_equal(w(out, 9), 0x10014u);
	/* back to the first word not displaced */
	assert_int_equal(w(out, 11), 0x58000050u);
	assert_int_equal(w(out, 13), 0x1000cu);
	assert_int_equal(len, 15 * 4);
	/* a branch into the displaced words is refused; SIMD literal loads too */
	static const uint32_t g[] = { 0x34000060u, A64_NOP, 0x54ffffe0u, A64_RET, A64_RET };
	assert_int_equal(arch_build_trampoline((uint8_t *)g, sizeof(g), 0x1000, 8, 0x1000, 0x1014, 0x9000, out,
					       sizeof(out), &len, &used), -HOTPATCH_E_NORELOC);
	static const uint32_t h[] = { 0x5c000040u /* ldr d0, .+8 */, A64_RET, 0, 0 };
	assert_int_equal(arch_build_trampoline((uint8_t *)h, sizeof(h), 0x1000, 4, 0x1000, 0x1010, 0x9000, out,
					       sizeof(out), &len, &used), -HOTPATCH_E_NORELOC);
}

static void test_island(void **state)
{
	(void)state;
	uint8_t out[512];
	uint32_t keep = 1u << (ARCH_REG_X0 + 9) | 1u << (ARCH_REG_X0 + 10) | 1u << (ARCH_REG_X0 + 11) |
			1u << (ARCH_REG_V0 + 3);
	int n = arch_build_preserving_island(keep, 0x5000, 0xffff12345678ull, out, sizeof(out));
	assert_int_equal(n, 15 * 4);
	assert_int_equal(w(out, 0), 0xa9bf7bfdu);		/* stp x29, x30, [sp, #-16]! */
	assert_int_equal(w(out, 1), 0x910003fdu);		/* mov x29, sp */
	assert_int_equal(w(out, 2), 0xa9bf2be9u);		/* stp x9, x10, [sp, #-16]! */
	assert_int_equal(w(out, 3), 0xf81f0feBu);		/* str x11, [sp, #-16]! */
	assert_int_equal(w(out, 4), 0x3c9f0fe3u);		/* str q3, [sp, #-16]! */
	assert_int_equal(w(out, 5), 0x58000070u);		/* ldr x16, .+12 */
	assert_int_equal(w(out, 6), 0xd63f0200u);		/* blr x16 */
	assert_int_equal(w(out, 7), 0x14000003u);		/* b over the literal */
	assert_int_equal(w(out, 8), 0x12345678u);
	assert_int_equal(w(out, 10), 0x3cc107e3u);		/* ldr q3, [sp], #16 */
	assert_int_equal(w(out, 11), 0xf84107ebu);		/* ldr x11, [sp], #16 */
	assert_int_equal(w(out, 12), 0xa8c12be9u);		/* ldp x9, x10, [sp], #16 */
	assert_int_equal(w(out, 13), 0xa8c17bfdu);		/* ldp x29, x30, [sp], #16 */
	assert_int_equal(w(out, 14), A64_RET);
	assert_int_equal(arch_build_preserving_island(ARCH_REGS_CALLER_SAVED, 0x5000, 0x6000, out, 64), -ENOSPC);
}

static void test_analysis(void **state)
{
	(void)state;
	struct arch_func_info fi;
	char buf[128];
	/* mov x9, #0 ; movi v20.16b, #0x22 ; fadd d1, d1, d0 ; mov w0, #42 ; ret */
	static const uint32_t c[] = { 0xd2800009u, 0x4f01e454u, 0x1e602821u, 0x52800540u, A64_RET };
	assert_int_equal(arch_analyze_func((uint8_t *)c, sizeof(c), 0x1000, &fi), 0);
	assert_string_equal(arch_regs_str(fi.written, buf, sizeof(buf)), "x0,x9,v1,v8-v31");
	assert_false(fi.indirect_call || fi.undecodable || fi.stack_args);
	static const uint32_t ind[] = { 0xa9bf7bfdu, 0x910003fdu, 0xd63f0020u, 0xa8c17bfdu, A64_RET };
	arch_analyze_func((uint8_t *)ind, sizeof(ind), 0x1000, &fi);
	assert_true(fi.indirect_call);
	static const uint32_t calls[] = { 0xa9bf7bfdu, 0x94000040u, 0xa8c17bfdu, 0x14000080u };
	arch_analyze_func((uint8_t *)calls, sizeof(calls), 0x2000, &fi);
	assert_int_equal(fi.ncallees, 2);
	assert_true(fi.callees[0] == 0x2104 && fi.callees[1] == 0x220c);
	static const uint32_t sa[] = { 0xa9bf7bfdu, 0x910003fdu, 0xf9400ba9u, 0xa8c17bfdu, A64_RET };
	static const uint32_t own[] = { 0xa9be7bfdu, 0x910003fdu, 0xf9000be0u, 0xf9400ba9u, 0xa8c27bfdu, A64_RET };
	arch_analyze_func((uint8_t *)sa, sizeof(sa), 0x3000, &fi);
	assert_true(fi.stack_args);
	arch_analyze_func((uint8_t *)own, sizeof(own), 0x3000, &fi);
	assert_false(fi.stack_args);
	static const uint32_t sve[] = { 0x04a00000u, A64_RET };
	arch_analyze_func((uint8_t *)sve, sizeof(sve), 0x4000, &fi);
	assert_true(fi.undecodable);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jumps),      cmocka_unit_test(test_entry),
		cmocka_unit_test(test_trampoline), cmocka_unit_test(test_island),
		cmocka_unit_test(test_analysis),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

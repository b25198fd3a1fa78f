/* SPDX-License-Identifier: MIT */
/*
 * Jump encodings, padding recognition, call-frame setup and the maps parser:
 * the bytes and registers hotpatch writes into a target, checked exactly,
 * and the encoded jumps executed for real.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <cmocka.h>

#include "arch/arch.h"
#include "proc/proc.h"

static void test_endbr(void **state)
{
	static const uint8_t endbr[] = { 0xf3, 0x0f, 0x1e, 0xfa, 0x90 };
	static const uint8_t other[] = { 0xf3, 0x0f, 0x1e, 0xfb };
	(void)state;
	assert_true(arch_is_endbr(endbr, sizeof(endbr)));
	assert_false(arch_is_endbr(endbr, 3));
	assert_false(arch_is_endbr(other, sizeof(other)));	/* endbr32 is not ours */
}

static void test_rel32(void **state)
{
	uint8_t b[ARCH_JUMP_MAX];
	int32_t rel;
	(void)state;

	assert_int_equal(arch_encode_jmp_rel32(0x1000, 0x2000, b), 5);
	assert_int_equal(b[0], 0xe9);
	memcpy(&rel, b + 1, 4);
	assert_int_equal(rel, 0x2000 - 0x1005);		/* relative to the next instruction */
	/* backwards */
	assert_int_equal(arch_encode_jmp_rel32(0x2000, 0x1000, b), 5);
	memcpy(&rel, b + 1, 4);
	assert_int_equal(rel, 0x1000 - 0x2005);
	/* the exact edges of the reach */
	uint64_t from = 0x100000000ull;
	assert_true(arch_rel32_reaches(from, from + 5 + INT32_MAX));
	assert_false(arch_rel32_reaches(from, from + 5 + (uint64_t)INT32_MAX + 1));
	assert_true(arch_rel32_reaches(from, from + 5 - 0x80000000ull));
	assert_false(arch_rel32_reaches(from, from + 5 - 0x80000001ull));
	assert_int_equal(arch_encode_jmp_rel32(0x7f0000000000ull, 0x550000000000ull, b), 0);
}

static void test_abs(void **state)
{
	uint8_t b[ARCH_JUMP_MAX];
	static const uint8_t want[] = { 0xff, 0x25, 0, 0, 0, 0, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11 };
	(void)state;
	assert_int_equal(arch_encode_jmp_abs(0x1122334455667788ull, b), 14);
	assert_memory_equal(b, want, sizeof(want));
	/* shortest form chosen */
	assert_int_equal(arch_encode_jump(0x1000, 0x2000, b), 5);
	assert_int_equal(arch_encode_jump(0x7f0000000000ull, 0x550000000000ull, b), 14);
}

static int ret7(void)
{
	return 7;
}

static int ret9(void)
{
	return 9;
}

/* Write each form in front of a real function and run it: the jump must land. */
static void test_jumps_execute(void **state)
{
	(void)state;
	uint8_t *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(page != MAP_FAILED);
	uint64_t to = (uint64_t)(uintptr_t)&ret9;
	size_t n = arch_encode_jmp_abs(to, page);
	size_t m = arch_encode_jmp_rel32((uint64_t)(uintptr_t)(page + 64), to, page + 64);
	assert_int_equal(mprotect(page, 4096, PROT_READ | PROT_EXEC), 0);
	int (*f)(void) = (int (*)(void))(uintptr_t)page;
	assert_int_equal(n, 14);
	assert_int_equal(f(), 9);
	if (m) {
		int (*g)(void) = (int (*)(void))(uintptr_t)(page + 64);
		assert_int_equal(g(), 9);
	}
	assert_int_equal(ret7(), 7);
	munmap(page, 4096);
}

static void test_padding(void **state)
{
	static const uint8_t nops[] = { 0x90, 0xcc, 0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00, 0x0f, 0x1f,
					0x00, 0x66, 0x2e, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00 };
	static const uint8_t code[] = { 0x90, 0x55 };	/* push rbp: code, not padding */
	static const uint8_t torn[] = { 0x0f, 0x1f };	/* a nop cut in half */
	(void)state;
	assert_true(arch_is_padding(nops, sizeof(nops)));
	assert_true(arch_is_padding(nops, 2));
	assert_false(arch_is_padding(code, sizeof(code)));
	assert_false(arch_is_padding(torn, sizeof(torn)));
	assert_true(arch_is_padding(code, 0));
}

static void test_call_frame(void **state)
{
	struct user_regs_struct r;
	uint64_t args[6] = { 1, 2, 3, 4, 5, 6 }, data = 0;
	(void)state;

	memset(&r, 0, sizeof(r));
	r.rsp = 0x7ffc0000123f;		/* misaligned on purpose */
	r.orig_rax = 230;		/* stopped in clock_nanosleep */
	r.eflags = 0x746;		/* DF (0x400) and TF (0x100) set */
	r.rax = 0xdead;
	arch_setup_call(&r, 0x401000, args, 6, 0, 100, &data);
	assert_int_equal(r.rip, 0x401000);
	assert_int_equal(r.rdi, 1);
	assert_int_equal(r.rsi, 2);
	assert_int_equal(r.rdx, 3);
	assert_int_equal(r.rcx, 4);
	assert_int_equal(r.r8, 5);
	assert_int_equal(r.r9, 6);
	assert_int_equal(r.rax, 0);			/* no vector args for a variadic callee */
	assert_int_equal((int64_t)r.orig_rax, -1);	/* no syscall restart on top of the call */
	assert_int_equal(r.eflags & 0x500, 0);
	assert_int_equal((r.rsp + 8) % 16, 0);		/* aligned at the callee's entry */
	/* red zone and data below the interrupted frame, return slot below the data */
	assert_true(data + 100 <= 0x7ffc0000123full - 128);
	assert_true(r.rsp + 8 <= data);
	assert_true(arch_in_restartable_syscall(&(struct user_regs_struct){ .orig_rax = 230, .rax = (uint64_t)-516 }));
	assert_false(arch_in_restartable_syscall(&(struct user_regs_struct){ .orig_rax = (uint64_t)-1, .rax = (uint64_t)-516 }));
	assert_false(arch_in_restartable_syscall(&(struct user_regs_struct){ .orig_rax = 232, .rax = (uint64_t)-4 }));
}

static void test_maps_parse(void **state)
{
	static const char text[] =
		"55d0c0000000-55d0c0001000 r--p 00000000 fe:00 1234   /usr/bin/app\n"
		"55d0c0001000-55d0c0002000 r-xp 00001000 fe:00 1234   /usr/bin/app\n"
		"7f0000000000-7f0000400000 r--p 00000000 00:01 3      /memfd:hotpatch-state (deleted)\n"
		"7ffc00000000-7ffc00021000 rw-p 00000000 00:00 0      [stack]\n"
		"garbage line\n"
		"7ffff000-7fffe000 r--p 00000000 00:00 0\n"	/* end < start: dropped */
		"ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0  [vsyscall]";
	struct map *m;
	size_t n;
	(void)state;

	assert_int_equal(maps_parse(text, strlen(text), &m, &n), 0);
	assert_int_equal(n, 5);
	assert_int_equal(m[1].start, 0x55d0c0001000ull);
	assert_int_equal(m[1].offset, 0x1000);
	assert_int_equal(m[1].prot, PROT_READ | PROT_EXEC);
	assert_int_equal(m[1].inode, 1234);
	assert_int_equal(m[1].dev_major, 0xfe);
	assert_string_equal(m[1].path, "/usr/bin/app");
	assert_string_equal(m[2].path, "/memfd:hotpatch-state");
	assert_true(m[2].deleted);
	assert_string_equal(m[3].path, "[stack]");
	assert_int_equal(m[3].prot, PROT_READ | PROT_WRITE);
	assert_int_equal(m[4].prot, PROT_EXEC);
	free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_endbr),
		cmocka_unit_test(test_rel32),
		cmocka_unit_test(test_abs),
		cmocka_unit_test(test_jumps_execute),
		cmocka_unit_test(test_padding),
		cmocka_unit_test(test_call_frame),
		cmocka_unit_test(test_maps_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

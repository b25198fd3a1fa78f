/* SPDX-License-Identifier: MIT */
/*
 * Decoder tests: register-write analysis on hand-written bytes and on
 * functions compiled into this binary (sizes from its own symbol table),
 * trampolines and preserving islands built into real executable mappings
 * and run.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <cpuid.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <sys/mman.h>
#include <unistd.h>

#include <Zydis/Zydis.h>

#include "arch/arch.h"
#include "common/common.h"

extern int arch_x86_island_vec_bytes; /* decode.c test knob: force the saved vector width */

#define R(x) (1u << ARCH_REG_##x)
#define XMM(n) (1u << (ARCH_REG_XMM0 + (n)))
#define ALL_XMM (ARCH_REGS_CALLER_SAVED & ~(XMM(0) - 1))

static struct arch_func_info analyze(const void *bytes, size_t len)
{
	struct arch_func_info fi;
	assert_int_equal(arch_analyze_func(bytes, len, (uint64_t)(uintptr_t)bytes, &fi), 0);
	return fi;
}

#define ANALYZE(...)                                                                               \
	({                                                                                         \
		static const uint8_t b_[] = {__VA_ARGS__};                                         \
		analyze(b_, sizeof(b_));                                                           \
	})

/* ---- arch_regs_str ---- */

static void test_regs_str(void **state)
{
	char buf[256], small[8];
	(void)state;

	assert_string_equal(arch_regs_str(0, buf, sizeof(buf)), "");
	assert_string_equal(arch_regs_str(R(RCX) | R(RDX) | XMM(3), buf, sizeof(buf)),
			    "rcx,rdx,xmm3");
	assert_string_equal(arch_regs_str(R(RAX) | R(R11) | XMM(15), buf, sizeof(buf)),
			    "rax,r11,xmm15");
	arch_regs_str(ARCH_REGS_CALLER_SAVED, buf, sizeof(buf));
	assert_true(strncmp(buf, "rax,rcx,rdx,rsi,rdi,r8,r9,r10,r11,xmm0,", 39) == 0);
	/* truncation stays terminated and inside the buffer */
	arch_regs_str(ARCH_REGS_CALLER_SAVED, small, sizeof(small));
	assert_true(strlen(small) < sizeof(small));
}

/* ---- analysis of hand-written bytes ---- */

static void test_written_basic(void **state)
{
	struct arch_func_info fi;
	(void)state;

	/* mov al,1; ret: a byte write counts as rax */
	fi = ANALYZE(0xb0, 0x01, 0xc3);
	assert_int_equal(fi.written, R(RAX));
	assert_false(fi.indirect_call);
	assert_false(fi.undecodable);
	assert_int_equal(fi.ncallees, 0);

	/* push rbx; mov ebx,edi; xor ecx,ecx; pop rbx; ret: callee-saved rbx is not reported */
	fi = ANALYZE(0x53, 0x89, 0xfb, 0x31, 0xc9, 0x5b, 0xc3);
	assert_int_equal(fi.written, R(RCX));

	/* mov r10d,1; movd xmm9,eax; ret */
	fi = ANALYZE(0x41, 0xba, 1, 0, 0, 0, 0x66, 0x44, 0x0f, 0x6e, 0xc8, 0xc3);
	assert_int_equal(fi.written, R(R10) | XMM(9));

	/* vmovaps ymm3,ymm4; ret */
	fi = ANALYZE(0xc5, 0xfc, 0x28, 0xdc, 0xc3);
	assert_int_equal(fi.written, XMM(3));

	/* vpxord zmm5,zmm5,zmm5; ret */
	fi = ANALYZE(0x62, 0xf1, 0x55, 0x48, 0xef, 0xed, 0xc3);
	assert_int_equal(fi.written, XMM(5));

	/* mov [rdi],rsi; ret: memory writes are not register writes */
	fi = ANALYZE(0x48, 0x89, 0x37, 0xc3);
	assert_int_equal(fi.written, 0);
}

/* clang-format off */
static void test_written_implicit(void **state)
{
	(void)state;

	/* syscall: the kernel's return value in rax, rcx/r11 by the instruction */
	assert_int_equal(ANALYZE(0x0f, 0x05, 0xc3).written, R(RAX) | R(RCX) | R(R11));
	/* cpuid */
	assert_int_equal(ANALYZE(0x0f, 0xa2, 0xc3).written, R(RAX) | R(RCX) | R(RDX));
	/* rdtsc */
	assert_int_equal(ANALYZE(0x0f, 0x31, 0xc3).written, R(RAX) | R(RDX));
	/* mul rcx */
	assert_int_equal(ANALYZE(0x48, 0xf7, 0xe1, 0xc3).written, R(RAX) | R(RDX));
	/* cqo */
	assert_int_equal(ANALYZE(0x48, 0x99, 0xc3).written, R(RDX));
	/* rep movsb */
	assert_int_equal(ANALYZE(0xf3, 0xa4, 0xc3).written, R(RCX) | R(RSI) | R(RDI));
	/* vzeroupper, vzeroall, fxrstor [rsp]: every vector register */
	assert_int_equal(ANALYZE(0xc5, 0xf8, 0x77, 0xc3).written, ALL_XMM);
	assert_int_equal(ANALYZE(0xc5, 0xfc, 0x77, 0xc3).written, ALL_XMM);
	assert_int_equal(ANALYZE(0x0f, 0xae, 0x0c, 0x24, 0xc3).written, ALL_XMM);
}
/* clang-format on */

static void test_control_flow(void **state)
{
	struct arch_func_info fi;
	/* clang-format off */
	static const uint8_t tail[] = {
		0x85, 0xff,			/* test edi,edi */
		0x0f, 0x84, 0x00, 0x10, 0, 0,	/* je +0x1000: conditional tail call */
		0xe8, 0x00, 0x20, 0, 0,		/* call +0x2000 */
		0xe8, 0x00, 0x20, 0, 0,		/* call +0x2000 from 5 bytes later: another callee */
		0xeb, 0x00,			/* jmp +0: inside */
		0xe9, 0x00, 0x30, 0, 0,		/* jmp +0x3000: tail call */
	};
	/* clang-format on */
	uint64_t a = (uint64_t)(uintptr_t)tail;
	(void)state;

	fi = analyze(tail, sizeof(tail));
	assert_false(fi.indirect_call);
	assert_false(fi.undecodable);
	assert_int_equal(fi.ncallees, 4);
	assert_int_equal(fi.callees[0], a + 8 + 0x1000);
	assert_int_equal(fi.callees[1], a + 13 + 0x2000);
	assert_int_equal(fi.callees[2], a + 18 + 0x2000);
	assert_int_equal(fi.callees[3], a + sizeof(tail) + 0x3000);

	/* call rax; ret */
	fi = ANALYZE(0xff, 0xd0, 0xc3);
	assert_true(fi.indirect_call);
	/* notrack jmp rax (a jump table): conservatively indirect */
	fi = ANALYZE(0x3e, 0xff, 0xe0);
	assert_true(fi.indirect_call);
	/* call [rip+0] (-fno-plt) */
	fi = ANALYZE(0xff, 0x15, 0, 0, 0, 0, 0xc3);
	assert_true(fi.indirect_call);

	/* 0x06 does not exist in 64-bit mode */
	fi = ANALYZE(0x31, 0xc0, 0x06, 0xc3);
	assert_true(fi.undecodable);
	assert_int_equal(fi.written, R(RAX));

	/* jmp into the middle of the mov: the linear decode missed code */
	fi = ANALYZE(0xeb, 0x01, 0xb8, 0xc3, 0, 0, 0, 0xc3);
	assert_true(fi.undecodable);
}

static void test_callee_overflow(void **state)
{
	uint8_t buf[70 * 5 + 1];
	struct arch_func_info fi;
	(void)state;

	for (int i = 0; i < 70; i++) {
		buf[i * 5] = 0xe8; /* call +0x10000*(i+1) */
		uint32_t rel = 0x10000u * (uint32_t)(i + 1);
		memcpy(buf + i * 5 + 1, &rel, 4);
	}
	buf[350] = 0xc3;
	fi = analyze(buf, sizeof(buf));
	assert_int_equal(fi.ncallees, 64);
	assert_true(fi.callees_overflow);
}

/* clang-format off */
static void test_stack_args_bytes(void **state)
{
	(void)state;

	/* mov rax,[rsp+8]; ret: first stack argument */
	assert_true(ANALYZE(0x48, 0x8b, 0x44, 0x24, 0x08, 0xc3).stack_args);
	/* mov rax,[rsp]; ret: the return address is not an argument */
	assert_false(ANALYZE(0x48, 0x8b, 0x04, 0x24, 0xc3).stack_args);
	/* mov rax,[rsp-8]; ret: red zone */
	assert_false(ANALYZE(0x48, 0x8b, 0x44, 0x24, 0xf8, 0xc3).stack_args);
	/* sub rsp,24; mov rax,[rsp+8]; add rsp,24; ret: a local */
	assert_false(ANALYZE(0x48, 0x83, 0xec, 0x18,  0x48, 0x8b, 0x44, 0x24, 0x08,
			     0x48, 0x83, 0xc4, 0x18,  0xc3).stack_args);
	/* sub rsp,24; mov rax,[rsp+32]; add rsp,24; ret */
	assert_true(ANALYZE(0x48, 0x83, 0xec, 0x18,  0x48, 0x8b, 0x44, 0x24, 0x20,
			    0x48, 0x83, 0xc4, 0x18,  0xc3).stack_args);
	/* push rbp; mov rbp,rsp; mov rax,[rbp+16]; pop rbp; ret */
	assert_true(ANALYZE(0x55,  0x48, 0x89, 0xe5,  0x48, 0x8b, 0x45, 0x10,  0x5d,
			    0xc3).stack_args);
	/* push rbp; mov rbp,rsp; mov rax,[rbp+8]; leave; ret: return address */
	assert_false(ANALYZE(0x55,  0x48, 0x89, 0xe5,  0x48, 0x8b, 0x45, 0x08,  0xc9,
			     0xc3).stack_args);
	/* lea rax,[rsp+8]; ret: va_start takes the argument area's address */
	assert_true(ANALYZE(0x48, 0x8d, 0x44, 0x24, 0x08, 0xc3).stack_args);
	/*
	 * Shrink-wrapping: test edi,edi; je L; sub rsp,0x28; add rsp,0x28; ret;
	 * L: mov rax,[rsp+0x10]; ret -- L is laid out after the frame code but
	 * runs with the entry rsp.
	 */
	assert_true(ANALYZE(0x85, 0xff,  0x74, 0x09,  0x48, 0x83, 0xec, 0x28,
			    0x48, 0x83, 0xc4, 0x28,  0xc3,
			    0x48, 0x8b, 0x44, 0x24, 0x10,  0xc3).stack_args);
	/* the reverse: test edi,edi; jne F; ret; F: sub rsp,0x28; mov rax,[rsp+0x10] (a local) */
	assert_false(ANALYZE(0x85, 0xff,  0x75, 0x01,  0xc3,
			     0x48, 0x83, 0xec, 0x28,  0x48, 0x8b, 0x44, 0x24, 0x10,
			     0x48, 0x83, 0xc4, 0x28,  0xc3).stack_args);
	/* a jump-table case runs with the dispatcher's rsp: sub rsp,0x28; jmp rax; mov rax,[rsp+0x10] */
	assert_false(ANALYZE(0x48, 0x83, 0xec, 0x28,  0xff, 0xe0,
			     0x48, 0x8b, 0x44, 0x24, 0x10,  0x48, 0x83, 0xc4, 0x28,  0xc3).stack_args);
}
/* clang-format on */

/* ---- analysis of functions compiled here ---- */

/* Size of symbol 'name' in this executable's .symtab. */
static size_t sym_size(const char *name)
{
	size_t size = 0;
	int fd = open("/proc/self/exe", O_RDONLY);
	assert_true(fd >= 0);
	assert_int_not_equal(elf_version(EV_CURRENT), EV_NONE);
	Elf *e = elf_begin(fd, ELF_C_READ, NULL);
	assert_non_null(e);
	for (Elf_Scn *scn = elf_nextscn(e, NULL); scn; scn = elf_nextscn(e, scn)) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB)
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		for (size_t i = 0; d && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym s;
			if (gelf_getsym(d, (int)i, &s) &&
			    !strcmp(elf_strptr(e, sh.sh_link, s.st_name), name))
				size = s.st_size;
		}
	}
	elf_end(e);
	close(fd);
	assert_true(size > 0);
	return size;
}

#define ANALYZE_FN(fn) analyze((const void *)(fn), sym_size(#fn))
/* Plain compiled code even in a sanitizer build: the assertions are about what GCC emits. */
#define CF __attribute__((noinline, noipa, used, no_sanitize("address", "undefined")))

CF long cf_rdi(long x)
{
	return x * 3 + 1;
}

CF void cf_printf(int x)
{
	printf("value %d\n", x);
}

CF long cf_ptr(long (*fn)(long), long x)
{
	return fn(x) + 1;
}

CF long cf_many(long a, long b, long c, long d, long e, long f, long g, long h)
{
	return a + b * c + d * e + f * g * h;
}

CF long cf_va(int n, ...)
{
	va_list ap;
	long s = 0;
	va_start(ap, n);
	for (int i = 0; i < n; i++)
		s += va_arg(ap, long);
	va_end(ap);
	return s;
}

CF long cf_frame(long x)
{
	volatile long buf[32];
	for (int i = 0; i < 32; i++)
		buf[i] = x + i;
	cf_printf((int)buf[7]);
	return buf[3] + buf[5];
}

CF __attribute__((optimize("no-omit-frame-pointer"))) long
cf_fp_many(long a, long b, long c, long d, long e, long f, long g)
{
	cf_printf((int)a);
	return a + b + c + d + e + f + g;
}

static void test_compiled(void **state)
{
	struct arch_func_info fi, plt;
	(void)state;

	fi = ANALYZE_FN(cf_rdi);
	assert_int_equal(fi.written, R(RAX));
	assert_false(fi.indirect_call);
	assert_false(fi.undecodable);
	assert_false(fi.stack_args);
	assert_int_equal(fi.ncallees, 0);

	/* printf via the PLT: a direct call/jmp to a stub that jumps indirectly */
	fi = ANALYZE_FN(cf_printf);
	assert_false(fi.undecodable);
	assert_true(fi.written & R(RDI));
	if (!fi.indirect_call) { /* -fno-plt would call through the GOT directly */
		assert_int_equal(fi.ncallees, 1);
		plt = analyze((const void *)(uintptr_t)fi.callees[0], 16);
		assert_true(plt.indirect_call);
	}

	fi = ANALYZE_FN(cf_ptr);
	assert_true(fi.indirect_call);
	assert_false(fi.stack_args);

	assert_true(ANALYZE_FN(cf_many).stack_args);
	assert_true(ANALYZE_FN(cf_va).stack_args);
	assert_true(ANALYZE_FN(cf_fp_many).stack_args);

	fi = ANALYZE_FN(cf_frame);
	assert_false(fi.stack_args);
	assert_int_equal(fi.ncallees, 1);
	assert_int_equal(fi.callees[0], (uint64_t)(uintptr_t)cf_printf);

	/* keep the functions honest: they run */
	assert_int_equal(cf_rdi(4), 13);
	assert_int_equal(cf_many(1, 2, 3, 4, 5, 6, 7, 8), 1 + 6 + 20 + 336);
	assert_int_equal(cf_va(3, 1L, 2L, 3L), 6);
}

/* ---- executable mappings ---- */

#define GiB (1ull << 30)

/* A reservation of 16 GiB so code can be placed near (< 2 GiB) and far (12 GiB) apart. */
static uint8_t *reserve(void)
{
	void *p =
	    mmap(NULL, 16 * GiB, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	assert_true(p != MAP_FAILED);
	return p;
}

static void unreserve(uint8_t *p)
{
	munmap(p, 16 * GiB);
}

static void writable(uint8_t *page)
{
	assert_int_equal(mprotect(page, 4096, PROT_READ | PROT_WRITE), 0);
}

static void executable(uint8_t *page)
{
	assert_int_equal(mprotect(page, 4096, PROT_READ | PROT_EXEC), 0);
}

typedef long (*fn1)(long);

/* clang-format off */
/*
 * F(x) = x ? 3x + 20 + 1000 : 1007, data (1000, 20) at 0x80.
 */
static const uint8_t func_f[] = {
	0x8b, 0x15, 0x7a, 0, 0, 0,		/*  0: mov edx,[rip+DATA] */
	0x48, 0x8d, 0x0d, 0x73, 0, 0, 0,	/*  6: lea rcx,[rip+DATA] */
	0x85, 0xff,				/* 13: test edi,edi */
	0x74, 0x0b,				/* 15: jz 28 */
	0xe8, 0x0a, 0, 0, 0,			/* 17: call 32 */
	0x03, 0x41, 0x04,			/* 22: add eax,[rcx+4] */
	0x01, 0xd0,				/* 25: add eax,edx */
	0xc3,					/* 27: ret */
	0x8d, 0x42, 0x07,			/* 28: lea eax,[rdx+7] */
	0xc3,					/* 31: ret */
	0x8d, 0x04, 0x7f,			/* 32: lea eax,[rdi+rdi*2] */
	0xc3,					/* 35: ret */
};

/* G(x) = x ? 3x + 1 : 42, no rip-relative operand */
static const uint8_t func_g[] = {
	0x85, 0xff,				/*  0: test edi,edi */
	0x74, 0x09,				/*  2: jz 13 */
	0xe8, 0x0a, 0, 0, 0,			/*  4: call 19 */
	0x83, 0xc0, 0x01,			/*  9: add eax,1 */
	0xc3,					/* 12: ret */
	0xb8, 0x2a, 0, 0, 0,			/* 13: mov eax,42 */
	0xc3,					/* 18: ret */
	0x8d, 0x04, 0x7f,			/* 19: lea eax,[rdi+rdi*2] */
	0xc3,					/* 22: ret */
};

/* H(x) = 2x + 1 (x != 0), 0 */
static const uint8_t func_h[] = {
	0x31, 0xc0,				/*  0: xor eax,eax */
	0x89, 0xf9,				/*  2: mov ecx,edi */
	0xe3, 0x04,				/*  4: jrcxz 10 */
	0x8d, 0x44, 0x09, 0x01,			/*  6: lea eax,[rcx+rcx+1] */
	0xc3,					/* 10: ret */
};
/* clang-format on */

/* Build the trampoline for fn (placed at page) at tpage + 0x100, run both, then trash the entry. */
static void check_trampoline(const uint8_t *fn, size_t fn_len, size_t min_len, uint8_t *page,
			     uint8_t *tpage, size_t expect_consumed, const long *args, int nargs)
{
	uint8_t *t = tpage + 0x100;
	size_t len = 0, consumed = 0;
	long want[8];
	uint64_t a = (uint64_t)(uintptr_t)page;

	writable(page);
	if (tpage != page)
		writable(tpage);
	memset(page, 0xcc, 4096);
	memcpy(page, fn, fn_len);
	if (fn == func_f) {
		int32_t data[2] = {1000, 20};
		memcpy(page + 0x80, data, sizeof(data));
	}
	assert_int_equal(arch_build_trampoline(page, fn_len, a, min_len, a, a + fn_len,
					       (uint64_t)(uintptr_t)t, t, 256, &len, &consumed),
			 0);
	assert_int_equal(consumed, expect_consumed);
	assert_true(len > 0 && len <= 256);
	executable(page);
	if (tpage != page)
		executable(tpage);
	for (int i = 0; i < nargs; i++)
		want[i] = ((fn1)(uintptr_t)page)(args[i]);
	/* the displaced bytes are dead now: the trampoline must not need them */
	writable(page);
	memset(page, 0xcc, consumed);
	executable(page);
	for (int i = 0; i < nargs; i++)
		assert_int_equal(((fn1)(uintptr_t)t)(args[i]), want[i]);
}

static void test_trampoline_near(void **state)
{
	uint8_t *r = reserve();
	static const long args[] = {0, 5, -3, 100};
	(void)state;

	check_trampoline(func_f, sizeof(func_f), 18, r, r, 22, args, 4);
	check_trampoline(func_g, sizeof(func_g), 5, r, r, 9, args, 4);
	check_trampoline(func_h, sizeof(func_h), 5, r, r + 4096, 6, args, 4);
	/* sanity: the expected values are what the bytes compute */
	writable(r);
	memcpy(r, func_g, sizeof(func_g));
	executable(r);
	assert_int_equal(((fn1)(uintptr_t)r)(0), 42);
	assert_int_equal(((fn1)(uintptr_t)r)(5), 16);
	unreserve(r);
}

static void test_trampoline_far(void **state)
{
	uint8_t *r = reserve(), *far = r + 12 * GiB, out[256];
	static const long args[] = {0, 5, 7};
	size_t len, consumed;
	uint64_t a = (uint64_t)(uintptr_t)r;
	(void)state;

	/* branches, the call and the jump back become absolute forms */
	check_trampoline(func_g, sizeof(func_g), 5, r, far, 9, args, 3);
	check_trampoline(func_h, sizeof(func_h), 5, r, far, 6, args, 3);

	/* a rip-relative operand cannot follow */
	hp_err_clear();
	assert_int_equal(arch_build_trampoline(func_f, sizeof(func_f), a, 5, a, a + sizeof(func_f),
					       a + 12 * GiB, out, sizeof(out), &len, &consumed),
			 -HOTPATCH_E_NORELOC);
	assert_non_null(strstr(hotpatch_errmsg(), "'mov'"));
	assert_non_null(strstr(hotpatch_errmsg(), "reach"));
	unreserve(r);
}

static void test_trampoline_refuse(void **state)
{
	/* 0: xor eax,eax  2: inc eax  4: cmp eax,edi  6: jl 2  8: ret */
	static const uint8_t loop[] = {0x31, 0xc0, 0xff, 0xc0, 0x39, 0xf8, 0x7c, 0xfa, 0xc3};
	uint8_t out[256];
	size_t len, consumed;
	char want[64];
	uint64_t a = 0x400000;
	(void)state;

	hp_err_clear();
	assert_int_equal(arch_build_trampoline(loop, sizeof(loop), a, 5, a, a + sizeof(loop),
					       a + 0x1000, out, sizeof(out), &len, &consumed),
			 -HOTPATCH_E_NORELOC);
	snprintf(want, sizeof(want), "'jl' at 0x%lx", (unsigned long)a + 6);
	assert_non_null(strstr(hotpatch_errmsg(), want));

	/* a branch to the entry itself, or to the end of the displaced bytes, is fine */
	assert_int_equal(arch_build_trampoline(loop, sizeof(loop), a, 2, a, a + sizeof(loop),
					       a + 0x1000, out, sizeof(out), &len, &consumed),
			 0);
	assert_int_equal(consumed, 2);

	/* no room */
	hp_err_clear();
	assert_int_equal(arch_build_trampoline(loop, sizeof(loop), a, 2, a, a + sizeof(loop),
					       a + 0x1000, out, 4, &len, &consumed),
			 -ENOSPC);

	/* the function ends before the jump fits */
	assert_int_equal(arch_build_trampoline(loop, 3, a, 5, a, a + 3, a + 0x1000, out,
					       sizeof(out), &len, &consumed),
			 -HOTPATCH_E_NORELOC);
}

/* Relocated forms, read back with the decoder. */
static void test_trampoline_forms(void **state)
{
	/* 0: jz +0x10 (rel8)  2: jmp +0x20 (rel8)  4: call +0x30  9: xbegin +0x40 */
	static const uint8_t seq[] = {0x74, 0x10, 0xeb, 0x20, 0xe8, 0x30, 0, 0,
				      0,    0xc7, 0xf8, 0x40, 0,    0,	  0, 0xc3};
	static const ZydisMnemonic want[] = {ZYDIS_MNEMONIC_JZ, ZYDIS_MNEMONIC_JMP,
					     ZYDIS_MNEMONIC_CALL, ZYDIS_MNEMONIC_XBEGIN,
					     ZYDIS_MNEMONIC_JMP};
	const uint64_t targets[] = {0x1000 + 2 + 0x10, 0x1000 + 4 + 0x20, 0x1000 + 9 + 0x30,
				    0x1000 + 15 + 0x40, 0x1000 + 15};
	uint8_t out[256];
	size_t len, consumed, off = 0;
	uint64_t to = 0x80000000; /* 2 GiB away: still in reach */
	ZydisDecoder d;
	ZydisDecodedInstruction in;
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
	(void)state;

	assert_int_equal(arch_build_trampoline(seq, sizeof(seq), 0x1000, 15, 0x1000,
					       0x1000 + sizeof(seq), to, out, sizeof(out), &len,
					       &consumed),
			 0);
	assert_int_equal(consumed, 15);
	ZydisDecoderInit(&d, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		uint64_t t;
		assert_true(off < len);
		assert_true(
		    ZYAN_SUCCESS(ZydisDecoderDecodeFull(&d, out + off, len - off, &in, ops)));
		assert_int_equal(in.mnemonic, want[i]);
		assert_int_equal(in.raw.imm[0].size, 32); /* rel8 became rel32 */
		assert_true(ZYAN_SUCCESS(ZydisCalcAbsoluteAddress(&in, &ops[0], to + off, &t)));
		assert_int_equal(t, targets[i]);
		off += in.length;
	}
	assert_int_equal(off, len);
}

/* ---- preserving island ---- */

struct hregs {
	uint64_t rcx, rsi, r8, rax, rdx; /* 0, 8, 16, 24, 32 */
	uint8_t vec[32];		 /* 40: xmm2 or ymm2 */
};

/*
 * harness(fn, regs): load rcx/rsi/r8/rdx/vector 2 from regs, call fn with
 * rsp = 0 mod 16 as a compiled caller would, store them and rax back.
 */
#define HARNESS(name, vmov, vreg)                                                                  \
	".text\n.type " name ",@function\n" name ":\n"                                             \
	"push %rbx\npush %r12\npush %r13\n" /* entry 8 mod 16, +24 -> 0 mod 16 */                  \
	"mov %rsi,%rbx\nmov %rdi,%r12\n"                                                           \
	"mov 0(%rbx),%rcx\nmov 8(%rbx),%rsi\nmov 16(%rbx),%r8\nmov 32(%rbx),%rdx\n" vmov           \
	" 40(%rbx),%" vreg "\n"                                                                    \
	"call *%r12\n"                                                                             \
	"mov %rcx,0(%rbx)\nmov %rsi,8(%rbx)\nmov %r8,16(%rbx)\nmov %rax,24(%rbx)\n"                \
	"mov %rdx,32(%rbx)\n" vmov " %" vreg ",40(%rbx)\n"                                         \
	"pop %r13\npop %r12\npop %rbx\nret\n.size " name ",.-" name "\n"

__asm__(HARNESS("harness_sse", "movups", "xmm2") HARNESS("harness_avx", "vmovdqu", "ymm2"));
void harness_sse(uint64_t fn, struct hregs *r);
void harness_avx(uint64_t fn, struct hregs *r);

/*
 * Clobbers rcx rsi r8 rdx and all of ymm2 (or xmm2), returns (rsp & 15) + 100
 * in rax: 108 when its caller kept the ABI alignment.
 */
/* clang-format off */
static const uint8_t clobber_sse[] = {
	0x48, 0xc7, 0xc1, 0xff, 0xff, 0xff, 0xff,	/* mov rcx,-1 */
	0x48, 0xc7, 0xc6, 0xff, 0xff, 0xff, 0xff,	/* mov rsi,-1 */
	0x49, 0xc7, 0xc0, 0xff, 0xff, 0xff, 0xff,	/* mov r8,-1 */
	0xba, 0x34, 0x12, 0, 0,				/* mov edx,0x1234 */
	0x66, 0x0f, 0x76, 0xd2,				/* pcmpeqd xmm2,xmm2 */
	0x48, 0x89, 0xe0,				/* mov rax,rsp */
	0x83, 0xe0, 0x0f,				/* and eax,15 */
	0x83, 0xc0, 0x64,				/* add eax,100 */
	0xc3,						/* ret */
};
static const uint8_t clobber_avx[] = {
	0x48, 0xc7, 0xc1, 0xff, 0xff, 0xff, 0xff,	/* mov rcx,-1 */
	0x48, 0xc7, 0xc6, 0xff, 0xff, 0xff, 0xff,	/* mov rsi,-1 */
	0x49, 0xc7, 0xc0, 0xff, 0xff, 0xff, 0xff,	/* mov r8,-1 */
	0xba, 0x34, 0x12, 0, 0,				/* mov edx,0x1234 */
	0xc5, 0xed, 0x76, 0xd2,				/* vpcmpeqd ymm2,ymm2,ymm2 */
	0x48, 0x89, 0xe0,				/* mov rax,rsp */
	0x83, 0xe0, 0x0f,				/* and eax,15 */
	0x83, 0xc0, 0x64,				/* add eax,100 */
	0xc3,						/* ret */
};
/* clang-format on */

static bool cpu_has_avx(void)
{
	return __builtin_cpu_supports("avx");
}

/* Island at 'island' keeping 'keep' around clobber code at 'target'; run through the harness. */
static void run_island(uint8_t *island, uint8_t *target, const uint8_t *clob, size_t clob_len,
		       uint32_t keep, bool avx, struct hregs *r)
{
	int n;

	writable(target);
	if (island != target)
		writable(island);
	memcpy(target, clob, clob_len);
	n = arch_build_preserving_island(keep, (uint64_t)(uintptr_t)(island + 0x200),
					 (uint64_t)(uintptr_t)target, island + 0x200, 512);
	assert_true(n > 0 && n <= 512);
	executable(target);
	if (island != target)
		executable(island);
	memset(r, 0, sizeof(*r));
	r->rcx = 0x1111;
	r->rsi = 0x2222;
	r->r8 = 0x3333;
	r->rdx = 0x4444;
	for (int i = 0; i < 32; i++)
		r->vec[i] = (uint8_t)(i + 1);
	(avx ? harness_avx : harness_sse)((uint64_t)(uintptr_t)(island + 0x200), r);
}

static void check_kept(const struct hregs *r, size_t vec_len)
{
	assert_int_equal(r->rcx, 0x1111);
	assert_int_equal(r->rsi, 0x2222);
	assert_int_equal(r->r8, 0x3333);
	assert_int_equal(r->rax, 108);	  /* return value passed, rsp aligned at the call */
	assert_int_equal(r->rdx, 0x1234); /* not asked for: the target's value */
	for (size_t i = 0; i < vec_len; i++)
		assert_int_equal(r->vec[i], i + 1);
}

static void test_island_sse(void **state)
{
	uint8_t *res = reserve();
	struct hregs r;
	/* the return registers are not asked for: the replacement's value must pass */
	const uint32_t keep = R(RCX) | R(RSI) | R(R8) | XMM(2);
	(void)state;

	arch_x86_island_vec_bytes = 16;
	/* without the island the clobbers show: the harness observes them */
	writable(res);
	memcpy(res, clobber_sse, sizeof(clobber_sse));
	executable(res);
	memset(&r, 0, sizeof(r));
	harness_sse((uint64_t)(uintptr_t)res, &r);
	assert_int_equal(r.rcx, UINT64_MAX);
	assert_int_equal(r.vec[0], 0xff);
	assert_int_equal(r.rax, 108);

	run_island(res, res, clobber_sse, sizeof(clobber_sse), keep, false, &r); /* call rel32 */
	check_kept(&r, 16);
	run_island(res + 12 * GiB, res, clobber_sse, sizeof(clobber_sse), keep, false, &r);
	check_kept(&r, 16);
	/* odd number of pushes: no padding needed, alignment still right */
	run_island(res, res, clobber_sse, sizeof(clobber_sse), R(RCX) | R(RSI) | R(R8) | R(R9),
		   false, &r);
	assert_int_equal(r.rax, 108);
	assert_int_equal(r.rcx, 0x1111);
	/* asked for, a return register is kept too (the old function never wrote it) */
	run_island(res, res, clobber_sse, sizeof(clobber_sse), keep | R(RDX), false, &r);
	assert_int_equal(r.rdx, 0x4444);
	arch_x86_island_vec_bytes = 0;
	unreserve(res);
}

static void test_island_avx(void **state)
{
	uint8_t *res;
	struct hregs r;
	const uint32_t keep = R(RCX) | R(RSI) | R(R8) | XMM(2);
	(void)state;

	if (!cpu_has_avx())
		skip();
	res = reserve();
	arch_x86_island_vec_bytes = 32;
	run_island(res, res, clobber_avx, sizeof(clobber_avx), keep, true, &r);
	check_kept(&r, 32);
	run_island(res + 12 * GiB, res, clobber_avx, sizeof(clobber_avx), keep, true, &r);
	check_kept(&r, 32);
	/* 128-bit saves keep the low half only: the documented limit of the SSE form */
	arch_x86_island_vec_bytes = 16;
	run_island(res, res, clobber_avx, sizeof(clobber_avx), keep, true, &r);
	check_kept(&r, 16);
	assert_int_equal(r.vec[16], 0xff);
	/* the width picked on this machine is at least ymm */
	arch_x86_island_vec_bytes = 0;
	run_island(res, res, clobber_avx, sizeof(clobber_avx), keep, true, &r);
	check_kept(&r, 32);
	unreserve(res);
}

/* The zmm form, checked by decoding (this CPU may not run it). */
static void test_island_zmm_encoding(void **state)
{
	uint8_t out[512];
	int n;
	size_t off = 0;
	int stores = 0, loads = 0;
	ZydisDecoder d;
	ZydisDecodedInstruction in;
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
	(void)state;

	arch_x86_island_vec_bytes = 64;
	n = arch_build_preserving_island(XMM(2) | XMM(9) | R(R11), 0x10000, 0x20000, out,
					 sizeof(out));
	arch_x86_island_vec_bytes = 0;
	assert_true(n > 0);
	ZydisDecoderInit(&d, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
	while (off < (size_t)n) {
		assert_true(
		    ZYAN_SUCCESS(ZydisDecoderDecodeFull(&d, out + off, (size_t)n - off, &in, ops)));
		if (in.mnemonic == ZYDIS_MNEMONIC_VMOVDQU64) {
			bool store = ops[0].type == ZYDIS_OPERAND_TYPE_MEMORY;
			const ZydisDecodedOperand *reg = NULL, *mem = NULL;
			for (int i = 0; i < in.operand_count_visible; i++) {
				if (ops[i].type == ZYDIS_OPERAND_TYPE_MEMORY)
					mem = &ops[i];
				else if (ZydisRegisterGetClass(ops[i].reg.value) ==
					 ZYDIS_REGCLASS_ZMM)
					reg = &ops[i]; /* not the k0 mask operand */
			}
			assert_non_null(reg);
			assert_non_null(mem);
			assert_true(reg->reg.value == ZYDIS_REGISTER_ZMM2 ||
				    reg->reg.value == ZYDIS_REGISTER_ZMM9);
			assert_int_equal(mem->mem.base, ZYDIS_REGISTER_RSP);
			assert_int_equal(mem->mem.disp.value,
					 reg->reg.value == ZYDIS_REGISTER_ZMM2 ? 0 : 64);
			store ? stores++ : loads++;
		}
		if (in.mnemonic == ZYDIS_MNEMONIC_SUB) /* 1 push: 2 x 64 bytes, no pad */
			assert_int_equal(ops[1].imm.value.u, 128);
		if (in.mnemonic == ZYDIS_MNEMONIC_RET)
			break;
		off += in.length;
	}
	assert_int_equal(stores, 2);
	assert_int_equal(loads, 2);
}

static void test_island_nospace(void **state)
{
	uint8_t out[8];
	(void)state;

	hp_err_clear();
	assert_int_equal(
	    arch_build_preserving_island(ARCH_REGS_CALLER_SAVED, 0x1000, 0x2000, out, sizeof(out)),
	    -ENOSPC);
	/* nothing to keep: a padded call, still well-formed */
	uint8_t big[64];
	int n = arch_build_preserving_island(0, 0x1000, 0x2000, big, sizeof(big));
	assert_int_equal(n, 7 + 5 + 7 + 1); /* sub rsp,8; call; add rsp,8; ret */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_regs_str),	     cmocka_unit_test(test_written_basic),
	    cmocka_unit_test(test_written_implicit), cmocka_unit_test(test_control_flow),
	    cmocka_unit_test(test_callee_overflow),  cmocka_unit_test(test_stack_args_bytes),
	    cmocka_unit_test(test_compiled),	     cmocka_unit_test(test_trampoline_near),
	    cmocka_unit_test(test_trampoline_far),   cmocka_unit_test(test_trampoline_refuse),
	    cmocka_unit_test(test_trampoline_forms), cmocka_unit_test(test_island_sse),
	    cmocka_unit_test(test_island_avx),	     cmocka_unit_test(test_island_zmm_encoding),
	    cmocka_unit_test(test_island_nospace),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

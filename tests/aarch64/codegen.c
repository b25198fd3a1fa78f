/*
 * The guest's check of the aarch64 backend's generated code, executed natively: jumps
 * (B, LDR/BR, B to an island), entry sequences on PROT_BTI pages, WRAP trampolines with
 * PC-relative instructions, preserving islands, the capstone analysis; then the cost of a
 * call through each jump form ("bench"). Code is written into its own pages and made
 * coherent with __builtin___clear_cache, as a JIT would.
 *   codegen [bench]
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "arch/arch.h"
#include "common/common.h"
#include "libhotpatch.h"

#ifndef PROT_BTI
#define PROT_BTI 0x10
#endif
#ifndef HWCAP2_BTI
#define HWCAP2_BTI (1 << 17)
#endif

static int failures;
#define CHECK(cond, ...) do { if (!(cond)) { failures++; printf("FAIL %s:%d: ", __FILE__, __LINE__); \
	printf(__VA_ARGS__); printf("\n"); } } while (0)

typedef int (*fn_t)(int);

__attribute__((noinline)) int add1000(int x)
{
	return x + 1000;
}

static uint8_t *page(uint64_t hint, int prot_extra)
{
	void *p = mmap((void *)hint, 65536, PROT_READ | PROT_WRITE | PROT_EXEC | prot_extra,
		       MAP_PRIVATE | MAP_ANONYMOUS | (hint ? MAP_FIXED_NOREPLACE : 0), -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	return p;
}

static void put(uint8_t *at, const void *code, size_t n)
{
	memcpy(at, code, n);
	__builtin___clear_cache((char *)at, (char *)at + n);
}

static void put_words(uint8_t *at, const uint32_t *w, size_t n)
{
	put(at, w, n * 4);
}

/* ---- jumps ---- */
static uint8_t *near_pg, *far_pg;

static void test_jumps(void)
{
	uint8_t buf[ARCH_JUMP_MAX];
	uint64_t t = (uint64_t)add1000;

	size_t n = arch_encode_jump((uint64_t)near_pg, t, buf);
	CHECK(n == ARCH_JMP_REL32_LEN, "near page within B reach: %zu bytes", n);
	put(near_pg, buf, n);
	CHECK(((fn_t)near_pg)(5) == 1005, "B");

	n = arch_encode_jump((uint64_t)far_pg, t, buf);
	CHECK(n == ARCH_JMP_ABS_LEN, "far page out of B reach: %zu bytes", n);
	put(far_pg, buf, n);
	CHECK(((fn_t)far_pg)(6) == 1006, "LDR/BR");

	/* B to an island within reach, which holds the far jump */
	uint8_t *isl = near_pg + 4096;
	arch_encode_jmp_abs(t, buf);
	put(isl, buf, ARCH_JMP_ABS_LEN);
	n = arch_encode_jmp_rel32((uint64_t)near_pg + 64, (uint64_t)isl, buf);
	CHECK(n == 4, "island in reach");
	put(near_pg + 64, buf, n);
	CHECK(((fn_t)(near_pg + 64))(7) == 1007, "B -> island -> LDR/BR");

	/* Reach limits of B: +-128 MiB, 4-byte aligned */
	CHECK(arch_rel32_reaches(0x10000000, 0x10000000 + (128u << 20) - 4), "B reaches +128 MiB - 4");
	CHECK(!arch_rel32_reaches(0x10000000, 0x10000000 + (128u << 20)), "B does not reach +128 MiB");
	CHECK(arch_rel32_reaches(0x10000000, 0x10000000 - (128u << 20)), "B reaches -128 MiB");
	CHECK(!arch_rel32_reaches(0x10000000, 0x10000002), "B needs alignment");

	/* The same entry rewritten: the new jump is the one that runs (coherence). */
	static const uint32_t ret7[] = { 0x528000e0u, A64_RET };	/* mov w0, #7; ret */
	put_words(far_pg + 256, ret7, 2);
	arch_encode_jmp_abs((uint64_t)far_pg + 256, buf);
	put(far_pg, buf, ARCH_JMP_ABS_LEN);
	CHECK(((fn_t)far_pg)(6) == 7, "rewritten entry");
}

/* ---- BTI landing pads ---- */
static sigjmp_buf jb;
static void on_sigill(int sig)
{
	siglongjmp(jb, sig);
}

static int call_guarded(fn_t f, int x, int *sig)
{
	struct sigaction sa = { .sa_handler = on_sigill }, old_ill, old_segv;
	sigaction(SIGILL, &sa, &old_ill);
	sigaction(SIGSEGV, &sa, &old_segv);
	int r = -1;
	*sig = sigsetjmp(jb, 1);
	if (!*sig)
		r = f(x);
	sigaction(SIGILL, &old_ill, NULL);
	sigaction(SIGSEGV, &old_segv, NULL);
	return r;
}

static void test_bti(void)
{
	if (!(getauxval(AT_HWCAP2) & HWCAP2_BTI)) {
		printf("bti: this CPU has no BTI (skipped)\n");
		return;
	}
	uint8_t *g = page(0, PROT_BTI);
	CHECK(g, "PROT_BTI page: %s", strerror(errno));
	if (!g)
		return;
	int sig;
	/* The guarded target: bti c; add w0, w0, #1000; ret */
	static const uint32_t tgt[] = { A64_BTI_C, 0x110fa000u, A64_RET };
	static const uint32_t nopad[] = { 0x110fa000u, A64_RET };
	put_words(g, tgt, 3);
	put_words(g + 64, nopad, 2);
	/* Negative control: an indirect call into the guarded page without a landing pad. */
	call_guarded((fn_t)(g + 64), 1, &sig);
	CHECK(sig == SIGILL, "BTI is not enforced here (signal %d): the checks below would prove nothing", sig);
	/* The old entry in a guarded page, with BTI c, then PACIASP: our sequence keeps a landing pad. */
	uint32_t entry_bti[] = { A64_BTI_C, 0x11000400u, A64_RET, A64_NOP, A64_NOP, A64_NOP };
	uint32_t entry_pac[] = { A64_PACIASP, 0x11000400u, A64_RET, A64_NOP, A64_NOP, A64_NOP };
	uint8_t seq[ARCH_JUMP_MAX];
	size_t n = arch_encode_entry_jump((uint8_t *)entry_bti, sizeof(entry_bti), (uint64_t)g + 1024,
					  (uint64_t)g, seq);
	CHECK(n == 8, "BTI c + B: %zu", n);
	put(g + 1024, seq, n);
	int r = call_guarded((fn_t)(g + 1024), 2, &sig);
	CHECK(!sig && r == 1002, "entry with BTI c kept: signal %d, %d", sig, r);
	n = arch_encode_entry_jump((uint8_t *)entry_pac, sizeof(entry_pac), (uint64_t)g + 2048,
				   (uint64_t)g, seq);
	uint32_t first;
	memcpy(&first, seq, 4);
	CHECK(n == 8 && first == A64_BTI_C, "PACIASP -> BTI c + B");
	put(g + 2048, seq, n);
	r = call_guarded((fn_t)(g + 2048), 3, &sig);
	CHECK(!sig && r == 1003, "entry with PACIASP: signal %d, %d", sig, r);
	/* A far jump (BR x16) into the guarded target lands on its BTI c. */
	arch_encode_jmp_abs((uint64_t)g, seq);
	put(far_pg + 512, seq, ARCH_JMP_ABS_LEN);
	r = call_guarded((fn_t)(far_pg + 512), 4, &sig);
	CHECK(!sig && r == 1004, "BR x16 onto BTI c: signal %d, %d", sig, r);
	munmap(g, 65536);
	printf("bti: enforced, landing pads kept\n");
}

/* ---- trampolines ---- */
static void test_trampoline(void)
{
	/* f(x) = x ? x + 1234 : 7, with ADR, a load through it and CBZ in its first 12 bytes */
	static const uint32_t f[] = { 0x10000101u, 0xb9400022u, 0x34000060u, 0x0b020000u, A64_RET,
				      0x528000e0u, A64_RET, A64_NOP, 1234 };
	uint8_t *fn = far_pg + 4096, *tr = far_pg + 8192;
	put_words(fn, f, 9);
	uint8_t out[256];
	size_t len, used;
	int err = arch_build_trampoline((uint8_t *)f, sizeof(f), (uint64_t)fn, 12, (uint64_t)fn,
					(uint64_t)fn + 28, (uint64_t)tr, out, sizeof(out), &len, &used);
	CHECK(!err && used == 12, "trampoline built: %d %s", err, hotpatch_errmsg());
	if (err)
		return;
	put(tr, out, len);
	CHECK(((fn_t)fn)(5) == 1239 && ((fn_t)fn)(0) == 7, "original");
	CHECK(((fn_t)tr)(5) == 1239, "trampoline, x != 0: %d", ((fn_t)tr)(5));
	CHECK(((fn_t)tr)(0) == 7, "trampoline, cbz taken: %d", ((fn_t)tr)(0));
	/* A branch into the displaced words is refused. */
	static const uint32_t g[] = { 0x34000060u /* cbz +12 */, A64_NOP, 0x54ffffe0u /* b.eq -4 */, A64_RET, A64_RET };
	err = arch_build_trampoline((uint8_t *)g, sizeof(g), 0x100000, 8, 0x100000, 0x100000 + 20, 0x200000,
				    out, sizeof(out), &len, &used);
	CHECK(err == -HOTPATCH_E_NORELOC, "branch into displaced bytes refused: %d", err);
	/* BL and ADRP relocated: f2 = bl add1000 ; ... needs lr saved: stp/bl/ldp/ret */
	uint8_t *f2 = near_pg + 8192, *tr2 = far_pg + 12288;
	int64_t rel = ((int64_t)(uint64_t)add1000 - (int64_t)(uint64_t)(f2 + 4)) >> 2;
	uint32_t f2w[] = { 0xa9bf7bfdu, 0x94000000u | ((uint32_t)rel & 0x03ffffffu), 0xa8c17bfdu, A64_RET };
	put_words(f2, f2w, 4);
	CHECK(((fn_t)f2)(1) == 1001, "bl original");
	err = arch_build_trampoline(f2, 16, (uint64_t)f2, 8, (uint64_t)f2, (uint64_t)f2 + 16, (uint64_t)tr2, out,
				    sizeof(out), &len, &used);
	CHECK(!err, "bl trampoline: %s", hotpatch_errmsg());
	if (!err) {
		put(tr2, out, len);
		CHECK(((fn_t)tr2)(2) == 1002, "bl relocated");
	}
}

/* ---- preserving island ---- */
static uint64_t res[16];

/* Call fn with x9..x15 = 9..15, v1 = 0x11.., v20 = 0x22..; record them after the call. */
static void call_with_values(void *fn)
{
	register void *f __asm__("x19") = fn;
	register uint64_t *o __asm__("x20") = res;
	__asm__ volatile("mov x9, #9\n mov x10, #10\n mov x11, #11\n mov x12, #12\n mov x13, #13\n"
			 "mov x14, #14\n mov x15, #15\n movi v1.16b, #0x11\n movi v20.16b, #0x22\n"
			 "blr x19\n"
			 "stp x9, x10, [x20]\n stp x11, x12, [x20, #16]\n stp x13, x14, [x20, #32]\n"
			 "str x15, [x20, #48]\n str q1, [x20, #64]\n str q20, [x20, #80]\n"
			 : "+r"(f), "+r"(o)
			 :
			 : "x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12",
			   "x13", "x14", "x15", "x16", "x17", "x30", "v0", "v1", "v2", "v3", "v4", "v5", "v6",
			   "v7", "v16", "v17", "v18", "v19", "v20", "v21", "v22", "v23", "v24", "v25", "v26",
			   "v27", "v28", "v29", "v30", "v31", "memory", "cc");
}

static bool values_kept(void)
{
	for (int i = 0; i < 7; i++)
		if (res[i] != (uint64_t)(9 + i))
			return false;
	return res[8] == 0x1111111111111111ull && res[9] == 0x1111111111111111ull &&
	       res[10] == 0x2222222222222222ull && res[11] == 0x2222222222222222ull;
}

static void test_island(void)
{
	/* The replacement clobbers x9-x15, v0-v31 and returns 42. */
	uint32_t clob[64];
	int k = 0;
	for (int r = 9; r <= 15; r++)
		clob[k++] = 0xd2800000u | (uint32_t)r;		/* mov xr, #0 */
	for (int r = 0; r < 32; r++)
		clob[k++] = 0x6f00e400u | (uint32_t)r;		/* movi vr.2d, #0 */
	clob[k++] = 0x52800540u;				/* mov w0, #42 */
	clob[k++] = A64_RET;
	uint8_t *c = far_pg + 16384, *isl = far_pg + 20480;
	put_words(c, clob, (size_t)k);

	struct arch_func_info fi;
	CHECK(!arch_analyze_func((uint8_t *)clob, (size_t)k * 4, (uint64_t)c, &fi), "analyze");
	uint32_t want = 0;
	for (int r = 9; r <= 15; r++)
		want |= 1u << (ARCH_REG_X0 + r);
	want |= ((1u << 8) - 1) << ARCH_REG_V0 | 1u << ARCH_REG_VHI | 1u << ARCH_REG_X0;
	char b1[256], b2[256];
	CHECK(fi.written == want, "written %s, want %s", arch_regs_str(fi.written, b1, sizeof(b1)),
	      arch_regs_str(want, b2, sizeof(b2)));
	CHECK(!fi.indirect_call && !fi.undecodable && !fi.stack_args && !fi.ncallees, "plain function");

	/* Negative control: called directly, the values are gone. */
	call_with_values(c);
	CHECK(!values_kept(), "the clobbering function does clobber");
	uint8_t out[512];
	int n = arch_build_preserving_island(want & ~(1u << ARCH_REG_X0), (uint64_t)isl, (uint64_t)c, out,
					     sizeof(out));
	CHECK(n > 0, "island built: %d", n);
	if (n <= 0)
		return;
	put(isl, out, (size_t)n);
	call_with_values(isl);
	CHECK(values_kept(), "island kept x9-x15, v1, v20: x9=%" PRIu64 " v1=%" PRIx64 " v20=%" PRIx64, res[0],
	      res[8], res[10]);
}

/* ---- analysis ---- */
static void test_analysis(void)
{
	struct arch_func_info fi;
	/* stp x29,x30,[sp,#-16]!; mov x29,sp; blr x1; ldp; ret */
	static const uint32_t ind[] = { 0xa9bf7bfdu, 0x910003fdu, 0xd63f0020u, 0xa8c17bfdu, A64_RET };
	arch_analyze_func((uint8_t *)ind, sizeof(ind), 0x1000, &fi);
	CHECK(fi.indirect_call, "blr is an indirect call");
	/* bl +0x100 from 0x2004; b +0x200 (tail) */
	static const uint32_t calls[] = { 0xa9bf7bfdu, 0x94000040u, 0xa8c17bfdu, 0x14000080u };
	arch_analyze_func((uint8_t *)calls, sizeof(calls), 0x2000, &fi);
	CHECK(fi.ncallees == 2 && fi.callees[0] == 0x2104 && fi.callees[1] == 0x220c, "callees %d %" PRIx64,
	      fi.ncallees, fi.ncallees ? fi.callees[0] : 0);
	/* 9th argument: ldr x9, [sp] at entry; and through x29 after a frame: ldr x9, [x29, #16] */
	static const uint32_t sa1[] = { 0xf94003e9u, A64_RET };
	static const uint32_t sa2[] = { 0xa9bf7bfdu, 0x910003fdu, 0xf9400ba9u, 0xa8c17bfdu, A64_RET };
	static const uint32_t own[] = { 0xa9be7bfdu, 0x910003fdu, 0xf9000be0u, 0xf9400ba9u, 0xa8c27bfdu, A64_RET };
	arch_analyze_func((uint8_t *)sa1, sizeof(sa1), 0x3000, &fi);
	CHECK(fi.stack_args, "ldr [sp] at entry reads a stack argument");
	arch_analyze_func((uint8_t *)sa2, sizeof(sa2), 0x3000, &fi);
	CHECK(fi.stack_args, "ldr [x29, #16] above the frame reads a stack argument");
	arch_analyze_func((uint8_t *)own, sizeof(own), 0x3000, &fi);
	CHECK(!fi.stack_args, "its own frame is no stack argument");
	/* Capstone 4 does not know SVE: undecodable, so the worst is assumed. */
	static const uint32_t sve[] = { 0x04a00000u, A64_RET };
	arch_analyze_func((uint8_t *)sve, sizeof(sve), 0x4000, &fi);
	CHECK(fi.undecodable, "SVE is undecodable for capstone 4");
	char b[64];
	CHECK(!strcmp(arch_regs_str(1u << (ARCH_REG_X0 + 9) | 1u << ARCH_REG_VHI, b, sizeof(b)), "x9,v8-v31"),
	      "names: %s", b);
}

/* ---- cost of a patched call ---- */
static double ns_per_call(fn_t f, long n)
{
	struct timespec a, b;
	volatile int sink = 0;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < n; i++)
		sink += f((int)i);
	clock_gettime(CLOCK_MONOTONIC, &b);
	return ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / (double)n;
}

static void bench(void)
{
	uint8_t buf[ARCH_JUMP_MAX];
	uint64_t t = (uint64_t)add1000;
	arch_encode_jump((uint64_t)near_pg, t, buf);
	put(near_pg, buf, 4);
	arch_encode_jmp_abs(t, buf);
	put(far_pg, buf, 16);
	put(near_pg + 4096, buf, 16);
	arch_encode_jmp_rel32((uint64_t)near_pg + 64, (uint64_t)near_pg + 4096, buf);
	put(near_pg + 64, buf, 4);
	/* Interleaved rounds, the fastest of each form kept: other load on the host only adds. */
	fn_t f[4] = { add1000, (fn_t)near_pg, (fn_t)far_pg, (fn_t)(near_pg + 64) };
	double best[4] = { 1e30, 1e30, 1e30, 1e30 };
	for (int round = 0; round < 9; round++)
		for (int k = 0; k < 4; k++) {
			double v = ns_per_call(f[k], 300000);
			if (v < best[k])
				best[k] = v;
		}
	printf("BENCH per call, fastest of 9 rounds (TCG, relative only): direct %.1f ns, B %.1f ns (%.2fx), "
	       "LDR/BR %.1f ns (%.2fx), B+island %.1f ns (%.2fx)\n", best[0], best[1], best[1] / best[0], best[2],
	       best[2] / best[0], best[3], best[3] / best[0]);
}

/*
 * The SME judge (arch_live_state) on the headers the kernel gives (struct user_sve_header /
 * user_za_header: size, max_size, vl, max_vl, flags): neither CPU model here has SME, so the
 * real sets are unreadable and these are built by hand. And this thread's own sets: unreadable
 * (no SME) or off.
 */
static void test_live_state(void)
{
	struct { uint32_t size, max_size; uint16_t vl, max_vl, flags, reserved; } h = { 0 };
	int n;
	const int *types = arch_live_state_regsets(&n);
	CHECK(n == 2 && types[0] == 0x40b && types[1] == 0x40c, "NT_ARM_SSVE, NT_ARM_ZA");
	h.size = 16 + 528;
	h.flags = 0;			/* SVE_PT_REGS_FPSIMD: not streaming */
	CHECK(!arch_live_state(0x40b, &h, sizeof(h)), "SSVE header, FPSIMD: not streaming");
	h.flags = 1;			/* SVE_PT_REGS_SVE: streaming */
	CHECK(arch_live_state(0x40b, &h, sizeof(h)), "SSVE header, SVE: streaming");
	CHECK(!arch_live_state(0x40b, &h, 8), "a short header says nothing");
	h.flags = 0;
	h.size = 16;			/* ZA off: the header alone */
	CHECK(!arch_live_state(0x40c, &h, sizeof(h)), "ZA header alone: off");
	h.size = 16 + 64 * 64;
	CHECK(arch_live_state(0x40c, &h, sizeof(h)), "ZA header with data: on");
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* A page within B reach of add1000 (below the executable), and one far from it. */
	uint64_t base = ((uint64_t)add1000 & ~0xffffull) - (32ull << 20);
	near_pg = page(base, 0);
	far_pg = page(0, 0);
	if (!near_pg || !far_pg || (uint64_t)far_pg - (uint64_t)add1000 < (256ull << 20)) {
		printf("cannot place the test pages (near %p far %p)\n", near_pg, far_pg);
		return 1;
	}
	if (argc > 1 && !strcmp(argv[1], "bench")) {
		bench();
		return 0;
	}
	test_jumps();
	test_bti();
	test_trampoline();
	test_island();
	test_analysis();
	test_live_state();
	printf("%s (%d failures)\n", failures ? "CODEGEN FAILED" : "CODEGEN OK", failures);
	return failures != 0;
}

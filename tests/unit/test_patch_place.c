/* SPDX-License-Identifier: MIT */
/*
 * Where things go in the target's address space (src/patch/inject.c,
 * jumps.c): the placement hint of a patch object, the gap for a jump island,
 * and the island space of one apply. On this process's own maps (each
 * chosen address is then mapped with MAP_FIXED_NOREPLACE: the kernel says
 * whether it really was free) and on maps text written out for the rules.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <cmocka.h>

#include "patch/plan.h"

#define GUARD (64ull << 10)
#define REACH ((1ull << 31) - (64ull << 20))

static struct map *parse(const char *text, size_t *n)
{
	struct map *m;
	assert_int_equal(maps_parse(text, strlen(text), &m, n), 0);
	return m;
}

static struct map *self_maps(size_t *n)
{
	static char text[1 << 18];
	FILE *f = fopen("/proc/self/maps", "r");
	assert_non_null(f);
	size_t len = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[len] = 0;
	return parse(text, n);
}

/* /proc/self/stat field 47, start_brk. */
static uint64_t self_start_brk(void)
{
	char buf[4096];
	FILE *f = fopen("/proc/self/stat", "r");
	assert_non_null(f);
	size_t len = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[len] = 0;
	char *s = strrchr(buf, ')');
	assert_non_null(s);
	s += 2;	/* field 3 */
	for (int field = 3; field < 47; field++) {
		s = strchr(s, ' ');
		assert_non_null(s);
		s++;
	}
	return strtoull(s, NULL, 10);
}

/* The kernel agrees the range is free: it maps it exactly there. */
static void assert_free(uint64_t addr, uint64_t len)
{
	void *p = mmap((void *)addr, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
		       -1, 0);
	assert_ptr_not_equal(p, MAP_FAILED);
	assert_int_equal((uint64_t)(uintptr_t)p, addr);
	munmap(p, len);
}

static __attribute__((noinline)) int some_function(int x)
{
	return x + 1;
}

static void test_placement_self(void **unused)
{
	size_t n;
	uint64_t entry = (uint64_t)(uintptr_t)some_function;
	uint64_t spans[] = { 0x3000, 0x25000 }, aligns[] = { 0x1000, 0x200000 };
	(void)unused;

	for (unsigned k = 0; k < 2; k++) {
		struct map *m = self_maps(&n);
		uint64_t span = spans[k], align = aligns[k];
		uint64_t h = placement_pick(m, n, self_start_brk(), span, align, &entry, 1);
		assert_int_not_equal(h, 0);
		assert_int_equal(h % align, 0);
		/* Within direct reach of the entry, both ends. */
		assert_true(h > entry ? h + span - entry <= REACH : entry - h <= REACH);
		/* ld.so reserves span (+ align above a page) there: free, and a guard below the next mapping. */
		uint64_t need = span + (align > 4096 ? align : 0);
		for (size_t i = 0; i < n; i++)
			if (m[i].start >= h)
				assert_true(m[i].start >= h + need + GUARD);
			else
				assert_true(m[i].end + GUARD <= h);
		assert_free(h, need);
		free(m);
	}
}

/* An executable, its heap, libc and the stack, as a PIE process shows them. */
static const char *const app_heap_libc =
	"555555554000-555555555000 r--p 00000000 fe:01 100 /usr/bin/app\n"
	"555555555000-555555556000 r-xp 00001000 fe:01 100 /usr/bin/app\n"
	"555555556000-555555557000 rw-p 00002000 fe:01 100 /usr/bin/app\n"
	"555555600000-555555621000 rw-p 00000000 00:00 0 [heap]\n"
	"7ffff7d00000-7ffff7f00000 r-xp 00000000 fe:01 200 /usr/lib/libc.so.6\n"
	"7ffff7f00000-7ffff7f10000 rw-p 00000000 00:00 0\n"
	"7ffffffde000-7ffffffff000 rw-p 00000000 00:00 0 [stack]\n"
	"ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0 [vsyscall]\n";

static const char *const app_libc =
	"555555554000-555555555000 r--p 00000000 fe:01 100 /usr/bin/app\n"
	"555555555000-555555556000 r-xp 00001000 fe:01 100 /usr/bin/app\n"
	"555555556000-555555557000 rw-p 00002000 fe:01 100 /usr/bin/app\n"
	"7ffff7d00000-7ffff7f00000 r-xp 00000000 fe:01 200 /usr/lib/libc.so.6\n"
	"7ffffffde000-7ffffffff000 rw-p 00000000 00:00 0 [stack]\n";

#define APP_FN 0x555555555100ull
#define LIBC_FN 0x7ffff7d10000ull

static void test_placement_rules(void **unused)
{
	size_t n;
	struct map *m = parse(app_heap_libc, &n);
	uint64_t e[3] = { APP_FN };
	(void)unused;

	/* The gap directly below the executable: a guard from it, aligned down. */
	assert_int_equal(placement_pick(m, n, 0x555555600000ull, 0x3000, 0x1000, e, 1),
			 (0x555555554000ull - GUARD - 0x3000) & ~0xfffull);
	/* Above a page of alignment, ld.so reserves span + align. */
	assert_int_equal(placement_pick(m, n, 0x555555600000ull, 0x3000, 0x200000, e, 1),
			 (0x555555554000ull - GUARD - 0x3000 - 0x200000) & ~0x1fffffull);
	/* Only libc to reach: not in the room above the heap, not below the stack, so none. */
	e[0] = LIBC_FN;
	assert_int_equal(placement_pick(m, n, 0x555555600000ull, 0x3000, 0x1000, e, 1), 0);
	free(m);

	/* No heap yet: the gap below libc, unless brk will grow into it. */
	m = parse(app_libc, &n);
	assert_int_equal(placement_pick(m, n, 0, 0x3000, 0x1000, e, 1),
			 (0x7ffff7d00000ull - GUARD - 0x3000) & ~0xfffull);
	assert_int_equal(placement_pick(m, n, 0x555555600000ull, 0x3000, 0x1000, e, 1), 0);

	/* The gap within reach of the most entries wins. */
	uint64_t two_app[] = { APP_FN, APP_FN + 0x800, LIBC_FN };
	uint64_t two_libc[] = { APP_FN, LIBC_FN, LIBC_FN + 0x800 };
	assert_true(placement_pick(m, n, 0, 0x3000, 0x1000, two_app, 3) < 0x555555554000ull);
	assert_true(placement_pick(m, n, 0, 0x3000, 0x1000, two_libc, 3) > 0x555555557000ull);

	/* Nothing to place, or an object too large to be near anything: ld.so decides. */
	assert_int_equal(placement_pick(m, n, 0, 0, 0x1000, e, 1), 0);
	assert_int_equal(placement_pick(m, n, 0, REACH, 0x1000, e, 1), 0);
	assert_int_equal(placement_pick(m, n, 0, 0x3000, 0x1000, e, 0), 0);
	/* An entry of 0 (unknown) counts for nothing. */
	uint64_t zero = 0;
	assert_int_equal(placement_pick(m, n, 0, 0x3000, 0x1000, &zero, 1), 0);
	free(m);
}

static void test_placement_hole(void **unused)
{
	/* libc's segments aligned to 2 MiB leave a hole inside the object: never used. */
	static const char *const holed =
		"555555554000-555555557000 r-xp 00000000 fe:01 100 /usr/bin/app\n"
		"7ffff7a00000-7ffff7a28000 r--p 00000000 fe:01 200 /usr/lib/libc.so.6\n"
		"7ffff7c00000-7ffff7d00000 r-xp 00028000 fe:01 200 /usr/lib/libc.so.6\n"
		"7ffffffde000-7ffffffff000 rw-p 00000000 00:00 0 [stack]\n";
	size_t n;
	struct map *m = parse(holed, &n);
	uint64_t e = 0x7ffff7c10000ull;
	(void)unused;

	assert_int_equal(placement_pick(m, n, 0, 0x3000, 0x1000, &e, 1),
			 (0x7ffff7a00000ull - GUARD - 0x3000) & ~0xfffull);
	/* The same two mappings from different files: the gap between them is fair game. */
	m[2].inode = 201;
	assert_int_equal(placement_pick(m, n, 0, 0x3000, 0x1000, &e, 1),
			 (0x7ffff7c00000ull - GUARD - 0x3000) & ~0xfffull);
	free(m);
}

static void test_gap_near_self(void **unused)
{
	size_t n;
	struct map *m = self_maps(&n);
	uint64_t near = (uint64_t)(uintptr_t)some_function;
	(void)unused;

	uint64_t c = gap_near(m, n, near, 4096);
	assert_int_not_equal(c, 0);
	assert_int_equal(c % 4096, 0);
	assert_true(arch_rel32_reaches(near, c));
	assert_true(arch_rel32_reaches(near, c + 4096));
	assert_free(c - 4096, 3 * 4096);	/* with a free guard page on each side */
	free(m);
}

static void test_gap_near_rules(void **unused)
{
	static const char *const tight =
		"10000000-10010000 r-xp 00000000 fe:01 1 /a\n"
		"10013000-10020000 r-xp 00000000 fe:01 2 /b\n";
	static const char *const too_tight =
		"10000000-10010000 r-xp 00000000 fe:01 1 /a\n"
		"10012000-10020000 r-xp 00000000 fe:01 2 /b\n";
	static const char *const full =
		"100000000-300000000 rw-p 00000000 00:00 0\n";
	size_t n;
	struct map *m;
	(void)unused;

	/* A page between two guard pages fits exactly, and is the nearest free one. */
	m = parse(tight, &n);
	assert_int_equal(gap_near(m, n, 0x10008000, 4096), 0x10011000);
	free(m);
	/* Without room for both guard pages, the next gap (above /b) is taken. */
	m = parse(too_tight, &n);
	assert_int_equal(gap_near(m, n, 0x10008000, 4096), 0x10021000);
	free(m);
	/* Everything within 2 GiB is taken: none. */
	m = parse(full, &n);
	assert_int_equal(gap_near(m, n, 0x200000000, 4096), 0);
	free(m);
}

static void test_islands(void **unused)
{
	struct islands is = { 0 };
	const uint64_t page = 0x7f0000000000ull, from = page - 0x1000;
	uint64_t slot;
	(void)unused;

	/* Nothing mapped yet: a page is needed. */
	assert_int_equal(island_take(&is, from, 30, &slot), -ENOSPC);
	/* The new page, its first slot taken (rounded up to 16 bytes). */
	assert_int_equal(island_add(&is, page, 30), 0);
	assert_int_equal(is.used[0], 32);
	assert_int_equal(island_take(&is, from, 20, &slot), 0);
	assert_int_equal(slot, page + 32);
	assert_int_equal(is.used[0], 64);
	/* Out of rel32 reach of that page: another one is needed. */
	assert_int_equal(island_take(&is, from + (3ull << 30), 16, &slot), -ENOSPC);
	/* The rest of the page, then nothing. */
	assert_int_equal(island_take(&is, from, ISLAND_PAGE - 64, &slot), 0);
	assert_int_equal(slot, page + 64);
	assert_int_equal(island_take(&is, from, 1, &slot), -ENOSPC);

	/* A trampoline reserves 260 bytes, writes 30: the tail goes back. */
	memset(&is, 0, sizeof(is));
	assert_int_equal(island_add(&is, page, 16), 0);
	assert_int_equal(island_take(&is, from, 260, &slot), 0);
	assert_int_equal(slot, page + 16);
	island_trim(&is, slot, 260, 30);
	assert_int_equal(is.used[0], 48);
	assert_int_equal(island_take(&is, from, 16, &slot), 0);
	assert_int_equal(slot, page + 48);
	/* Space that is not the last taken is left alone. */
	island_trim(&is, page + 16, 260, 30);
	assert_int_equal(is.used[0], 64);

	/* The table of pages is bounded. */
	memset(&is, 0, sizeof(is));
	for (unsigned i = 0; i < ISLAND_PAGES_MAX; i++)
		assert_int_equal(island_add(&is, page + i * ISLAND_PAGE, ISLAND_PAGE), 0);
	assert_int_equal(island_add(&is, page + ISLAND_PAGES_MAX * ISLAND_PAGE, 16), -ENOSPC);
	assert_int_equal(island_take(&is, from, 16, &slot), -ENOSPC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_placement_self),
		cmocka_unit_test(test_placement_rules),
		cmocka_unit_test(test_placement_hole),
		cmocka_unit_test(test_gap_near_self),
		cmocka_unit_test(test_gap_near_rules),
		cmocka_unit_test(test_islands),
	};
	(void)some_function(0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

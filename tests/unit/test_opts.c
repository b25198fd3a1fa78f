/* SPDX-License-Identifier: MIT */
/*
 * test_opts.c - the hotpatch_opts size rules (patch_opts_get, behind every
 * entry point) and the version macros and function of libhotpatch.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "patch/patch.h"

/* An older caller: its struct ended after timeout_ms. */
struct old_opts {
	size_t sz;
	unsigned timeout_ms;
};

/* A newer caller: one more field than this library knows. */
struct new_opts {
	struct hotpatch_opts cur;
	uint64_t future;
};

static void test_null_means_defaults(void **state)
{
	struct hotpatch_opts o;

	(void)state;
	memset(&o, 0xff, sizeof(o));
	assert_int_equal(patch_opts_get(NULL, &o), 0);
	assert_int_equal(o.sz, sizeof(o));
	assert_int_equal(o.timeout_ms, 0);
	assert_false(o.force_clobber);
	assert_int_equal(patch_timeout_ms(&o), 5000);
}

static void test_macro_sets_size(void **state)
{
	HOTPATCH_OPTS(o, .timeout_ms = 1234, .force_clobber = true);
	struct hotpatch_opts got;

	(void)state;
	assert_int_equal(o.sz, sizeof(struct hotpatch_opts));
	assert_int_equal(patch_opts_get(&o, &got), 0);
	assert_int_equal(got.timeout_ms, 1234);
	assert_true(got.force_clobber);

	struct hotpatch_opts o2 = { HOTPATCH_OPTS_INIT, .timeout_ms = 99 };
	assert_int_equal(o2.sz, sizeof(o2));
	assert_int_equal(patch_opts_get(&o2, &got), 0);
	assert_int_equal(got.timeout_ms, 99);
	assert_false(got.force_clobber);
}

static void test_size_zero_refused(void **state)
{
	struct hotpatch_opts o = { .timeout_ms = 10 }, got;

	(void)state;
	hp_err_clear();
	assert_int_equal(patch_opts_get(&o, &got), -EINVAL);
	assert_non_null(strstr(hotpatch_errmsg(), "sz is 0"));
}

/*
 * Only what sz covers is read: bytes past it (here a force_clobber of 1) are
 * not. (A real older struct would be padded to 16 bytes; its caller zeroed the
 * padding, as HOTPATCH_OPTS does. sz here ends exactly before force_clobber.)
 */
static void test_older_caller(void **state)
{
	union {
		struct hotpatch_opts full;
		struct old_opts old;
	} u;
	struct hotpatch_opts got;

	(void)state;
	memset(&u, 0, sizeof(u));
	u.full.force_clobber = true;	/* past the old struct: garbage to the library */
	u.old.sz = offsetof(struct hotpatch_opts, force_clobber);
	u.old.timeout_ms = 777;
	assert_int_equal(patch_opts_get(&u.full, &got), 0);
	assert_int_equal(got.timeout_ms, 777);
	assert_false(got.force_clobber);
}

static void test_newer_caller(void **state)
{
	struct new_opts n;
	struct hotpatch_opts got;

	(void)state;
	memset(&n, 0, sizeof(n));
	n.cur.sz = sizeof(n);
	n.cur.timeout_ms = 42;
	assert_int_equal(patch_opts_get(&n.cur, &got), 0);	/* unknown field unset: fine */
	assert_int_equal(got.timeout_ms, 42);
	assert_int_equal(got.sz, sizeof(got));
	n.future = 1;
	hp_err_clear();
	assert_int_equal(patch_opts_get(&n.cur, &got), -EINVAL);
	assert_non_null(strstr(hotpatch_errmsg(), "does not know"));
}

static void test_version(void **state)
{
	unsigned num = 0;
	char want[32];

	(void)state;
	snprintf(want, sizeof(want), "%d.%d.%d", HOTPATCH_VERSION_MAJOR, HOTPATCH_VERSION_MINOR,
		 HOTPATCH_VERSION_PATCH);
	assert_string_equal(HOTPATCH_VERSION, want);
	assert_string_equal(hotpatch_version(&num), want);
	assert_int_equal(num, (HOTPATCH_VERSION_MAJOR << 16) | (HOTPATCH_VERSION_MINOR << 8) |
				      HOTPATCH_VERSION_PATCH);
	assert_non_null(hotpatch_version(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_null_means_defaults), cmocka_unit_test(test_macro_sets_size),
		cmocka_unit_test(test_size_zero_refused),   cmocka_unit_test(test_older_caller),
		cmocka_unit_test(test_newer_caller),	    cmocka_unit_test(test_version),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: MIT */
/*
 * The public queries that touch no target (src/patch/query.c) on real files
 * and processes: a file's build-id, a patch's symbols against a binary, a
 * process sharing its parent's memory (the kcmp test); and the error
 * scopes they rely on (src/common/err.c: catch inside quiet, quiet inside catch).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/kcmp.h>

#include <cmocka.h>

#include "common/common.h"
#include "elf_fixtures.h"

static void test_build_id(void **unused)
{
	char hex[HOTPATCH_BUILD_ID_MAX], small[8];
	(void)unused;

	assert_int_equal(hotpatch_build_id(fx("fx_syms"), hex, sizeof(hex)), 0);
	assert_int_equal(strlen(hex), 40);
	assert_int_equal(strspn(hex, "0123456789abcdef"), 40);
	assert_string_equal(hotpatch_errmsg(), "");
	/* No build-id: 0 and "". */
	assert_int_equal(hotpatch_build_id(fx("fx_nobid"), hex, sizeof(hex)), 0);
	assert_string_equal(hex, "");
	/* Not ELF, missing, a buffer too small: an error with its message. */
	assert_int_equal(hotpatch_build_id(fx("../../../tests/fixtures/fx_syms.c"), hex, sizeof(hex)),
			 -HOTPATCH_E_NOTELF);
	assert_string_not_equal(hotpatch_errmsg(), "");
	assert_int_equal(hotpatch_build_id("/nonexistent/file", hex, sizeof(hex)), -ENOENT);
	assert_int_equal(hotpatch_build_id(fx("fx_syms"), small, sizeof(small)), -EINVAL);
	assert_string_equal(small, "");
	/* The next call starts afresh (rule 2). */
	assert_int_equal(hotpatch_build_id(fx("fx_syms"), hex, sizeof(hex)), 0);
	assert_string_equal(hotpatch_errmsg(), "");
}

struct seen {
	unsigned n, checked, missing, found;
	char first_missing[64];
	char unchecked[64];
	bool found_helper;
};

static void collect(const struct hotpatch_symbol *s, void *ctx)
{
	struct seen *v = ctx;

	assert_true(s->sz >= sizeof(*s));
	v->n++;
	if (!s->checked) {
		snprintf(v->unchecked, sizeof(v->unchecked), "%s in %s", s->symbol, s->object);
		assert_int_equal(s->err, 0);
		return;
	}
	v->checked++;
	if (s->err) {
		v->missing++;
		assert_int_equal(s->err, -HOTPATCH_E_NOSYM);
		assert_non_null(strstr(s->message, s->symbol));
		if (!*v->first_missing)
			snprintf(v->first_missing, sizeof(v->first_missing), "%s", s->symbol);
	} else {
		v->found++;
		assert_string_equal(s->message, "");
		v->found_helper |= !strcmp(s->symbol, "helper") && !strcmp(s->file, "fx_dup_a.c");
	}
	/* Each lookup is a probe: nothing is recorded while fn runs. */
	assert_string_equal(hotpatch_errmsg(), "");
}

static void test_check_symbols(void **unused)
{
	struct seen v = { 0 };
	(void)unused;

	/*
	 * fx_patch.so against fx_dup: only helper (in fx_dup_a.c) is there; lib_fn
	 * is looked up in libfx.so.1, not in the binary.
	 */
	int err = hotpatch_check_symbols(fx("fx_patch.so"), fx("fx_dup"), collect, &v);
	assert_int_equal(err, -HOTPATCH_E_NOSYM);
	assert_int_equal(v.n, 6);
	assert_int_equal(v.checked, 5);
	assert_int_equal(v.found, 1);
	assert_true(v.found_helper);
	assert_int_equal(v.missing, 4);
	assert_string_equal(v.unchecked, "lib_fn in libfx.so.1");
	/* The first missing symbol's message is the call's. */
	assert_non_null(strstr(hotpatch_errmsg(), v.first_missing));
	/* A bad patch file, a bad binary: the file's error, fn never called. */
	memset(&v, 0, sizeof(v));
	assert_int_equal(hotpatch_check_symbols(fx("fx_nodesc.so"), fx("fx_dup"), collect, &v),
			 -HOTPATCH_E_NODESC);
	assert_int_equal(hotpatch_check_symbols(fx("fx_patch.so"), "/nonexistent", collect, &v),
			 -ENOENT);
	assert_int_equal(v.n, 0);
	/* fn may be NULL. */
	assert_int_equal(hotpatch_check_symbols(fx("fx_patch.so"), fx("fx_dup"), NULL, NULL),
			 -HOTPATCH_E_NOSYM);
}

static int share_child(void *arg)
{
	const int *fds = arg;
	char c;
	/*
	 * Raw system calls: this child shares the parent's memory, TLS and errno
	 * included. Its copy of the write end is closed, so it also ends when the
	 * test dies before writing (a failed assertion).
	 */
	syscall(SYS_close, fds[1]);
	syscall(SYS_read, fds[0], &c, 1);
	syscall(SYS_exit, 0);
	return 0;
}

static void test_mm_parent(void **unused)
{
	static char stack[64 * 1024] __attribute__((aligned(16)));
	pid_t parent = -1;
	int fds[2];
	(void)unused;

	if (syscall(SYS_kcmp, getpid(), getpid(), KCMP_VM, 0, 0) != 0)
		skip();	/* a kernel without kcmp: nothing to test */
	assert_int_equal(hotpatch_mm_parent(getpid(), &parent), 0);
	assert_int_equal(parent, 0);	/* our parent has its own memory */
	assert_int_equal(hotpatch_mm_parent(0, &parent), -EINVAL);
	assert_int_equal(pipe(fds), 0);
	/* A child in our memory, as a vfork child before exec. */
	pid_t child = clone(share_child, stack + sizeof(stack), CLONE_VM | SIGCHLD, fds);
	assert_true(child > 0);
	assert_int_equal(hotpatch_mm_parent(child, &parent), 0);
	assert_int_equal(parent, getpid());
	assert_int_equal(write(fds[1], "x", 1), 1);
	assert_int_equal(waitpid(child, NULL, 0), child);
	/* Gone: no parent to share with. */
	assert_int_equal(hotpatch_mm_parent(child, &parent), 0);
	assert_int_equal(parent, 0);
	close(fds[0]);
	close(fds[1]);
}

static void test_catch_scope(void **unused)
{
	struct hp_err_catch c, inner;
	(void)unused;

	hp_err_clear();
	hp_err(EIO, "recorded before");
	hp_err_catch_begin(&c);
	assert_int_equal(hp_err(ENOENT, "first %d", 1), -ENOENT);
	hp_err(EIO, "second");
	/* A quiet scope inside the catch stays quiet. */
	hp_err_quiet_begin();
	hp_err(EPERM, "quiet");
	hp_err_quiet_end();
	/* A catch inside the catch takes its own. */
	hp_err_catch_begin(&inner);
	hp_err(EPERM, "inner");
	hp_err_catch_end(&inner);
	hp_err_catch_end(&c);
	assert_string_equal(c.msg, "first 1");
	assert_int_equal(c.code, -ENOENT);
	assert_string_equal(inner.msg, "inner");
	assert_int_equal(inner.code, -EPERM);
	/* Nothing inside reached the recorded message. */
	assert_string_equal(hotpatch_errmsg(), "recorded before");
	/* A catch inside a quiet scope catches. */
	hp_err_clear();
	hp_err_quiet_begin();
	hp_err_catch_begin(&c);
	hp_err(EIO, "caught");
	hp_err_catch_end(&c);
	hp_err_quiet_end();
	assert_string_equal(c.msg, "caught");
	assert_string_equal(hotpatch_errmsg(), "");
	/* Nothing failed: code 0. */
	hp_err_catch_begin(&c);
	hp_err_catch_end(&c);
	assert_int_equal(c.code, 0);
	assert_string_equal(c.msg, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_id),
		cmocka_unit_test(test_check_symbols),
		cmocka_unit_test(test_mm_parent),
		cmocka_unit_test(test_catch_scope),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: MIT */
/* Argument parsing of the `hotpatch` command and its exit-status mapping. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cli/cli.h"

#define MAXARGS 32

/* Parse a NULL-terminated list of arguments (after "hotpatch"). */
static int parse(struct cli_args *a, ...)
{
	static char *argv[MAXARGS];
	int argc = 0;
	va_list ap;
	char *s;

	argv[argc++] = "hotpatch";
	va_start(ap, a);
	while ((s = va_arg(ap, char *)) && argc < MAXARGS - 1)
		argv[argc++] = s;
	va_end(ap);
	argv[argc] = NULL;
	return cli_parse(argc, argv, a);
}

static void test_apply(void **state)
{
	struct cli_args a;

	(void)state;
	assert_int_equal(parse(&a, "apply", "123", "p.so", NULL), 0);
	assert_int_equal(a.cmd, CLI_APPLY);
	assert_int_equal(a.target, CLI_TARGET_PID);
	assert_int_equal(a.pid, 123);
	assert_string_equal(a.file, "p.so");
	assert_int_equal(a.timeout_ms, CLI_DEFAULT_TIMEOUT_MS);
	assert_false(a.json);
	assert_false(a.force_regs);
	assert_false(a.help);
	cli_args_release(&a);

	/* options after the positionals, both value forms */
	assert_int_equal(parse(&a, "apply", "123", "p.so", "--json", "--timeout", "250",
			       "--force-regs", NULL), 0);
	assert_true(a.json);
	assert_true(a.force_regs);
	assert_int_equal(a.timeout_ms, 250);
	assert_int_equal(a.pid, 123);
	cli_args_release(&a);

	assert_int_equal(parse(&a, "apply", "--timeout=7", "9", "--", "-p.so", NULL), 0);
	assert_int_equal(a.timeout_ms, 7);
	assert_int_equal(a.pid, 9);
	assert_string_equal(a.file, "-p.so");
	cli_args_release(&a);
}

static void test_targets(void **state)
{
	struct cli_args a;

	(void)state;
	assert_int_equal(parse(&a, "apply", "--all-of", "/usr/bin/app", "p.so", NULL), 0);
	assert_int_equal(a.target, CLI_TARGET_ALL_OF);
	assert_string_equal(a.target_arg, "/usr/bin/app");
	assert_string_equal(a.file, "p.so");
	cli_args_release(&a);

	assert_int_equal(parse(&a, "list", "--build-id=A50d6825", NULL), 0);
	assert_int_equal(a.cmd, CLI_LIST);
	assert_int_equal(a.target, CLI_TARGET_BUILD_ID);
	assert_string_equal(a.target_arg, "A50d6825");
	cli_args_release(&a);

	assert_int_equal(parse(&a, "check", "p.so", "--all-of=/bin/x", NULL), 0);
	assert_int_equal(a.target, CLI_TARGET_ALL_OF);
	assert_string_equal(a.file, "p.so");
	cli_args_release(&a);
}

static void test_revert(void **state)
{
	struct cli_args a;

	(void)state;
	assert_int_equal(parse(&a, "revert", "5", "2", NULL), 0);
	assert_string_equal(a.what, "2");
	assert_false(a.revert_all);
	cli_args_release(&a);

	assert_int_equal(parse(&a, "revert", "--all", "5", NULL), 0);
	assert_true(a.revert_all);
	assert_null(a.what);
	assert_int_equal(a.pid, 5);
	cli_args_release(&a);

	assert_int_equal(parse(&a, "revert", "5", "/x/p.so", NULL), 0);
	assert_string_equal(a.what, "/x/p.so");
	cli_args_release(&a);
}

static void test_build(void **state)
{
	struct cli_args a;

	(void)state;
	assert_int_equal(parse(&a, "build", "-o", "a.so", "--target", "/bin/app", "p.c", "-O0",
			       "-DX=1", "-oout.so", "--json", "-v", NULL), 0);
	assert_int_equal(a.cmd, CLI_BUILD);
	assert_string_equal(a.file, "p.c");
	assert_string_equal(a.build_target, "/bin/app");
	/* -o after PATCH.c is still ours; everything else goes to the compiler */
	assert_string_equal(a.out, "out.so");
	assert_int_equal(a.ncflags, 4);
	assert_string_equal(a.cflags[0], "-O0");
	assert_string_equal(a.cflags[1], "-DX=1");
	assert_string_equal(a.cflags[2], "--json");
	assert_string_equal(a.cflags[3], "-v");
	assert_false(a.json);
	assert_int_equal(a.verbose, 0);
	cli_args_release(&a);
}

/* install, uninstall, installed, status (the patch directory): no TARGET, --build-id names a binary. */
static void test_persist(void **state)
{
	struct cli_args a;

	(void)state;
	assert_int_equal(parse(&a, "install", "p.so", NULL), 0);
	assert_int_equal(a.cmd, CLI_INSTALL);
	assert_string_equal(a.file, "p.so");
	assert_int_equal(a.target, CLI_TARGET_NONE);
	assert_null(a.binary);
	assert_null(a.dir);
	cli_args_release(&a);

	assert_int_equal(parse(&a, "install", "--json", "--dir=/d", "--binary", "/usr/bin/x", "p.so",
			       NULL),
			 0);
	assert_true(a.json);
	assert_string_equal(a.dir, "/d");
	assert_string_equal(a.binary, "/usr/bin/x");
	cli_args_release(&a);

	assert_int_equal(parse(&a, "install", "p.so", "--build-id", "ABcd01", NULL), 0);
	assert_int_equal(a.target, CLI_TARGET_BUILD_ID);
	assert_string_equal(a.target_arg, "ABcd01");
	cli_args_release(&a);

	assert_int_equal(parse(&a, "uninstall", "--dir", "/d", "2cc235bd", NULL), 0);
	assert_int_equal(a.cmd, CLI_UNINSTALL);
	assert_string_equal(a.what, "2cc235bd");
	cli_args_release(&a);

	assert_int_equal(parse(&a, "installed", "--json", NULL), 0);
	assert_int_equal(a.cmd, CLI_INSTALLED);
	cli_args_release(&a);

	assert_int_equal(parse(&a, "status", "--dir", "/d", NULL), 0);
	assert_int_equal(a.cmd, CLI_STATUS);
	assert_string_equal(a.dir, "/d");
	cli_args_release(&a);

	/* --build-id still selects processes for the commands that have a TARGET */
	assert_int_equal(parse(&a, "list", "--build-id", "abcd", NULL), 0);
	assert_int_equal(a.target, CLI_TARGET_BUILD_ID);
	cli_args_release(&a);
}

static void test_help_verbose(void **state)
{
	struct cli_args a;

	(void)state;
	assert_int_equal(parse(&a, "--help", NULL), 0);
	assert_true(a.help);
	assert_int_equal(a.cmd, CLI_NONE);
	cli_args_release(&a);

	/* --help wins over missing arguments */
	assert_int_equal(parse(&a, "apply", "--help", NULL), 0);
	assert_true(a.help);
	assert_int_equal(a.cmd, CLI_APPLY);
	cli_args_release(&a);

	assert_int_equal(parse(&a, "help", "revert", NULL), 0);
	assert_true(a.help);
	assert_int_equal(a.cmd, CLI_REVERT);
	cli_args_release(&a);

	assert_int_equal(parse(&a, "--version", NULL), 0);
	assert_int_equal(a.cmd, CLI_VERSION);
	cli_args_release(&a);

	assert_int_equal(parse(&a, "-v", "list", "1", "-vv", NULL), 0);
	assert_int_equal(a.verbose, 3);
	cli_args_release(&a);
}

/* Each bad command line fails with -EINVAL and this reason. */
static void expect_usage(const char *want, enum cli_cmd cmd, ...)
{
	static char *argv[MAXARGS];
	struct cli_args a;
	int argc = 0;
	va_list ap;
	char *s;

	argv[argc++] = "hotpatch";
	va_start(ap, cmd);
	while ((s = va_arg(ap, char *)) && argc < MAXARGS - 1)
		argv[argc++] = s;
	va_end(ap);
	argv[argc] = NULL;
	assert_int_equal(cli_parse(argc, argv, &a), -EINVAL);
	assert_string_equal(a.err, want);
	assert_int_equal(a.cmd, cmd);
	cli_args_release(&a);
}

static void test_usage_errors(void **state)
{
	(void)state;
	expect_usage("missing command", CLI_NONE, NULL);
	expect_usage("unknown command 'frob'", CLI_NONE, "frob", NULL);
	expect_usage("unknown option '--frob'", CLI_NONE, "--frob", NULL);
	expect_usage("invalid pid 'abc'", CLI_APPLY, "apply", "abc", "p.so", NULL);
	expect_usage("invalid pid '0'", CLI_APPLY, "apply", "0", "p.so", NULL);
	expect_usage("invalid pid '-3'", CLI_APPLY, "apply", "-3", "p.so", NULL);
	expect_usage("invalid pid '12x'", CLI_LIST, "list", "12x", NULL);
	expect_usage("invalid pid '2147483648'", CLI_LIST, "list", "2147483648", NULL);
	expect_usage("missing TARGET (PID, --all-of PATH or --build-id HEX)", CLI_APPLY, "apply",
		     NULL);
	expect_usage("missing PATCH.so", CLI_APPLY, "apply", "12", NULL);
	expect_usage("missing FILE.so", CLI_LOAD, "load", "12", NULL);
	expect_usage("unexpected argument 'x'", CLI_APPLY, "apply", "12", "p.so", "x", NULL);
	expect_usage("unknown option '--bogus'", CLI_APPLY, "apply", "12", "p.so", "--bogus", NULL);
	expect_usage("unknown option '--force'", CLI_APPLY, "apply", "--force", "12", "p.so", NULL);
	expect_usage("unknown option '--timeout'", CLI_LIST, "list", "--timeout", "5", "1", NULL);
	expect_usage("unknown option '--all'", CLI_LIST, "list", "--all", "1", NULL);
	expect_usage("unknown option '--all-of'", CLI_INFO, "info", "--all-of", "/x", "p.so", NULL);
	expect_usage("option '--timeout' needs a value", CLI_APPLY, "apply", "1", "p.so",
		     "--timeout", NULL);
	expect_usage("invalid timeout '0' (milliseconds, > 0)", CLI_APPLY, "apply", "--timeout=0",
		     "1", "p.so", NULL);
	expect_usage("invalid timeout '5s' (milliseconds, > 0)", CLI_REVERT, "revert",
		     "--timeout", "5s", "1", "2", NULL);
	expect_usage("option '--json' takes no value", CLI_LIST, "list", "--json=yes", "1", NULL);
	expect_usage("missing ID, PATCH.so or --all", CLI_REVERT, "revert", "1", NULL);
	expect_usage("'--all' and '3' exclude each other", CLI_REVERT, "revert", "1", "3", "--all",
		     NULL);
	expect_usage("more than one '--all-of' or '--build-id'", CLI_LIST, "list", "--all-of", "/a",
		     "--build-id", "abcd", NULL);
	expect_usage("invalid build-id 'abc' (even number of hex digits)", CLI_LIST, "list",
		     "--build-id", "abc", NULL);
	expect_usage("invalid build-id 'zz' (even number of hex digits)", CLI_LIST, "list",
		     "--build-id", "zz", NULL);
	expect_usage("missing PATCH.c", CLI_BUILD, "build", "-o", "x.so", NULL);
	expect_usage("empty PATCH.so", CLI_INFO, "info", "", NULL);
	expect_usage("unknown command 'nope'", CLI_NONE, "help", "nope", NULL);
	expect_usage("missing PATCH.so", CLI_INSTALL, "install", "--binary", "/x", NULL);
	expect_usage("more than one '--binary' or '--build-id'", CLI_INSTALL, "install", "--binary",
		     "/x", "--build-id", "abcd", "p.so", NULL);
	expect_usage("invalid build-id 'xyz' (even number of hex digits)", CLI_INSTALL, "install",
		     "--build-id", "xyz", "p.so", NULL);
	expect_usage("unknown option '--all-of'", CLI_INSTALL, "install", "--all-of", "/x", "p.so",
		     NULL);
	expect_usage("unexpected argument '12'", CLI_INSTALL, "install", "p.so", "12", NULL);
	expect_usage("missing ID or PATCH.so", CLI_UNINSTALL, "uninstall", NULL);
	expect_usage("unexpected argument 'x'", CLI_STATUS, "status", "x", NULL);
	expect_usage("unknown option '--binary'", CLI_STATUS, "status", "--binary", "/x", NULL);
	expect_usage("unknown option '--dir'", CLI_APPLY, "apply", "--dir", "/d", "1", "p.so", NULL);
}

static void test_exit_codes(void **state)
{
	(void)state;
	assert_int_equal(cli_exit_code(0), 0);
	assert_int_equal(cli_exit_code(-HOTPATCH_E_NOSYM), 1);
	assert_int_equal(cli_exit_code(-ESRCH), 1);
	assert_int_equal(cli_exit_code(-HOTPATCH_E_BUSY), 3);
	assert_int_equal(cli_exit_code(-HOTPATCH_E_TIMEOUT), 3);
	assert_int_equal(cli_exit_code(-HOTPATCH_E_UNSAFE), 3);
	assert_int_equal(cli_exit_code(-EPERM), 4);
	assert_int_equal(cli_exit_code(-HOTPATCH_E_PERM), 4);
	assert_int_equal(cli_exit_code(-HOTPATCH_E_TRACED), 4);
	assert_int_equal(cli_exit_code(-HOTPATCH_E_FILEPERM), 4);
	assert_string_equal(cli_code_name(-HOTPATCH_E_NOSYM), "NOSYM");
	assert_string_equal(cli_code_name(-HOTPATCH_E_MISMATCH), "MISMATCH");
	assert_string_equal(cli_code_name(-ESRCH), "ESRCH");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_apply),	     cmocka_unit_test(test_targets),
		cmocka_unit_test(test_revert),	     cmocka_unit_test(test_build),
		cmocka_unit_test(test_help_verbose), cmocka_unit_test(test_usage_errors),
		cmocka_unit_test(test_exit_codes),   cmocka_unit_test(test_persist),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: MIT */
/*
 * extprog.c - an external program built against an installed libhotpatch
 * with pkg-config (tests/integration/pkg_deb.sh), linked shared or static.
 *
 *	extprog version            prints "header X library Y", fails if they differ
 *	extprog opts               the hotpatch_opts size rules (no process involved)
 *	extprog apply PID PATCH    apply, list, print "applied N funcs M listed K"
 *	extprog revert PID ID      revert, print "reverted N"
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libhotpatch.h>

static int fail(const char *what, int err)
{
	fprintf(stderr, "extprog: %s: %s (%s)\n", what, hotpatch_errmsg(), hotpatch_strerror(err));
	return 1;
}

/* sz rules: 0 is refused, an unknown option past our struct is refused, a zero tail is fine. */
static int opts_rules(void)
{
	struct hotpatch_result res;
	struct {
		struct hotpatch_opts o;
		char newer[16];
	} big;
	struct hotpatch_opts zero = { 0 };
	int err;

	err = hotpatch_check(1, "/nonexistent/p.so", &zero, &res);
	hotpatch_result_release(&res);
	if (err != -EINVAL || !strstr(hotpatch_errmsg(), "sz")) {
		fprintf(stderr, "extprog: sz 0 gave %d (%s)\n", err, hotpatch_errmsg());
		return 1;
	}
	memset(&big, 0, sizeof(big));
	big.o.sz = sizeof(big);
	err = hotpatch_check(1, "/nonexistent/p.so", &big.o, &res);
	hotpatch_result_release(&res);
	if (err == -EINVAL) {
		fprintf(stderr, "extprog: a zero tail was refused: %s\n", hotpatch_errmsg());
		return 1;
	}
	big.newer[3] = 1;
	err = hotpatch_check(1, "/nonexistent/p.so", &big.o, &res);
	hotpatch_result_release(&res);
	if (err != -EINVAL) {
		fprintf(stderr, "extprog: an unknown option was accepted (%d)\n", err);
		return 1;
	}
	printf("opts ok\n");
	return 0;
}

int main(int argc, char **argv)
{
	unsigned num = 0;
	const char *v = hotpatch_version(&num);

	if (argc >= 2 && !strcmp(argv[1], "version")) {
		printf("header %s library %s\n", HOTPATCH_VERSION, v);
		return strcmp(v, HOTPATCH_VERSION) || num != HOTPATCH_VERSION_NUMBER;
	}
	if (argc >= 2 && !strcmp(argv[1], "opts"))
		return opts_rules();
	if (argc == 4 && !strcmp(argv[1], "apply")) {
		HOTPATCH_OPTS(opts, .timeout_ms = 5000);
		struct hotpatch_result res;
		struct hotpatch_patch *list = NULL;
		unsigned n = 0;
		int err = hotpatch_apply(atoi(argv[2]), argv[3], &opts, &res);

		if (err) {
			hotpatch_result_release(&res);
			return fail("apply", err);
		}
		err = hotpatch_list(atoi(argv[2]), &list, &n);
		if (err) {
			hotpatch_result_release(&res);
			return fail("list", err);
		}
		printf("applied %u funcs %u listed %u\n", res.patch.id, res.patch.nfuncs, n);
		hotpatch_list_free(list, n);
		hotpatch_result_release(&res);
		return 0;
	}
	if (argc == 4 && !strcmp(argv[1], "revert")) {
		HOTPATCH_OPTS(opts);
		struct hotpatch_result res;
		int err = hotpatch_revert(atoi(argv[2]), argv[3], &opts, &res);

		if (err) {
			hotpatch_result_release(&res);
			return fail("revert", err);
		}
		printf("reverted %u\n", res.patch.id);
		hotpatch_result_release(&res);
		return 0;
	}
	fprintf(stderr, "usage: extprog version | opts | apply PID PATCH | revert PID ID\n");
	return 2;
}

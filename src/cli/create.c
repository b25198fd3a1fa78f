/* SPDX-License-Identifier: MIT */
/*
 * `hotpatch create` and `hotpatch cc`: the command line of the Creator
 * (src/create). Own small parser, so the other commands' parser is untouched.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/macros.h"
#include "libhotpatch.h"
#include "create/create.h"

static const char create_usage[] =
    "usage: hotpatch create --source DIR --diff FIX.patch --binary PROG [--build CMD]\n"
    "                       [-o FIX.so] [-p N] [--workdir DIR] [--keep] [--json] [-v]\n"
    "Build a patch .so from a source fix: DIR is the tree PROG was built from, FIX.patch\n"
    "a unified diff against it (applied with patch -pN, default -p1). Both trees are\n"
    "built in a work directory with CMD (default: make CC=\"$HOTPATCH_CC\"\n"
    "CXX=\"$HOTPATCH_CXX\"), where $HOTPATCH_CC and $CC are the compiler wrapper\n"
    "'hotpatch cc', $HOTPATCH_CXX and $CXX the same for C++ ('hotpatch c++'). The functions whose\n"
    "code changed are replaced, new ones added; what cannot be patched is refused, with\n"
    "the reason, and then no file is written. Exit 0 written, 1 refused or failed, 2 usage.\n";

static int usage(const char *msg)
{
	fprintf(stderr, "hotpatch: %s\ntry 'hotpatch create --help'\n", msg);
	return EXIT_USAGE;
}

static void report_text(const struct create_report *r, FILE *f)
{
	for (size_t i = 0; i < r->n; i++) {
		const struct create_item *it = &r->v[i];
		fprintf(f, "%-12s %s%s%s%s%s\n", create_verdict_name(it->verdict), it->name,
			it->file[0] && strcmp(it->file, it->name) ? " (" : "",
			it->file[0] && strcmp(it->file, it->name) ? it->file : "",
			it->file[0] && strcmp(it->file, it->name) ? ")" : "",
			it->reason[0] ? "" : "");
		if (it->reason[0])
			fprintf(f, "             %s\n", it->reason);
	}
}

static void report_json(const struct create_report *r, struct json *j, int err)
{
	json_begin_object(j, NULL);
	json_uint(j, "version", 1);
	json_string(j, "command", "create");
	json_bool(j, "ok", !err);
	if (r->out[0])
		json_string(j, "patch", r->out);
	json_string(j, "build_id", r->build_id);
	json_uint(j, "fixups", r->nfixups);
	json_begin_array(j, "functions");
	for (size_t i = 0; i < r->n; i++) {
		const struct create_item *it = &r->v[i];
		json_begin_object(j, NULL);
		json_string(j, "verdict", create_verdict_name(it->verdict));
		json_string(j, "name", it->name);
		json_string(j, "file", it->file);
		json_string(j, "reason", it->reason);
		json_end_object(j);
	}
	json_end_array(j);
	if (err)
		json_error(j, err, hotpatch_errmsg());
	json_end_object(j);
}

int cli_create(int argc, char **argv, hotpatch_log_fn log)
{
	struct create_opts o = {.strip = 1};
	struct create_report r;
	bool json = false;
	int verbose = 0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char **dst = NULL;
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(create_usage, stdout);
			return EXIT_OK;
		} else if (!strcmp(a, "--json")) {
			json = true;
			continue;
		} else if (!strcmp(a, "--keep")) {
			o.keep = true;
			continue;
		} else if (!strcmp(a, "-v") || !strcmp(a, "-vv")) {
			verbose = a[2] ? 2 : 1;
			continue;
		} else if (!strcmp(a, "--source")) {
			dst = &o.source;
		} else if (!strcmp(a, "--diff")) {
			dst = &o.diff;
		} else if (!strcmp(a, "--binary")) {
			dst = &o.binary;
		} else if (!strcmp(a, "--build")) {
			dst = &o.build;
		} else if (!strcmp(a, "-o")) {
			dst = &o.out;
		} else if (!strcmp(a, "--workdir")) {
			dst = &o.workdir;
		} else if (!strcmp(a, "-p")) {
			if (i + 1 >= argc)
				return usage("-p needs a number");
			char *end;
			long v = strtol(argv[++i], &end, 10);
			if (*end || v < 0 || v > 64)
				return usage("-p needs a number");
			o.strip = (int)v;
			continue;
		} else {
			char m[300];
			snprintf(m, sizeof(m), "create: unknown argument '%.200s'", a);
			return usage(m);
		}
		if (i + 1 >= argc) {
			char m[128];
			snprintf(m, sizeof(m), "create: %s needs a value", a);
			return usage(m);
		}
		*dst = argv[++i];
	}
	if (!o.source || !o.diff || !o.binary)
		return usage("create: --source, --diff and --binary are required");

	hotpatch_set_log(log, NULL,
			 verbose > 1	? HOTPATCH_LOG_DEBUG
			 : verbose == 1 ? HOTPATCH_LOG_INFO
					: HOTPATCH_LOG_WARN);
	int err = create_run(&o, &r);
	if (json) {
		struct json j;
		json_init(&j, stdout);
		report_json(&r, &j, err);
	} else {
		report_text(&r, err ? stderr : stdout);
		if (!err)
			printf("wrote %s (pinned to build-id %s, %u fixup%s)\n", r.out, r.build_id,
			       r.nfixups, r.nfixups == 1 ? "" : "s");
	}
	if (err)
		fprintf(stderr, "hotpatch: create: %s\n",
			*hotpatch_errmsg() ? hotpatch_errmsg() : hotpatch_strerror(err));
	if (err && r.workdir[0])
		fprintf(stderr, "hotpatch: create: work directory kept: %s\n", r.workdir);
	else if (o.keep && r.workdir[0])
		fprintf(stderr, "hotpatch: create: work directory: %s\n", r.workdir);
	create_report_release(&r);
	return err ? EXIT_FAIL : EXIT_OK;
}

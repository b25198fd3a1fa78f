/* SPDX-License-Identifier: MIT */
/*
 * hotpatch - command-line front end of libhotpatch. A thin shell: parse the
 * arguments, select the processes, call the library, render the result for
 * humans (stdout, errors as one line on stderr) or as one JSON document.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "common/common.h"
#include "cli/cli.h"
#include "create/create.h"

/*
 * Dying while the library holds a target stopped, or one of its threads
 * hijacked, would leave the target broken. So SIGINT, SIGTERM, SIGHUP and
 * SIGQUIT only tell the library to stop waiting for the target
 * (hotpatch_interrupt): it undoes its work and fails with HOTPATCH_E_INTR,
 * or finishes what cannot be cut short (every wait is bounded). Then no
 * further process is started. The one piece of global state: a signal
 * handler can set nothing else.
 */
static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	interrupted = sig;
	/* The library stops waiting for the target, undoes its work and fails with HOTPATCH_E_INTR. */
	hotpatch_interrupt();
}

static void catch_signals(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
		sigaction(sigs[i], &sa, NULL);
	/* A closed stdout is an error to report, not a reason to die mid-run. */
	signal(SIGPIPE, SIG_IGN);
}

/* One process's run of a command. */
struct run {
	const struct cli_args *a;
	struct json *j;		/* NULL without --json */
	bool multi;		/* one of several processes: "pid N: ok: ..." lines */
	pid_t pid;
	const char *file;	/* the file argument, canonical if it exists */
	const char *what;	/* revert: the ID, or the PATCH.so made canonical */
	char msg[1024];		/* message of the failure */
};

/* Record the failure err of the last library call and return it. */
static int failed(struct run *r, int err)
{
	const char *m = hotpatch_errmsg();

	if (*m)
		snprintf(r->msg, sizeof(r->msg), "%s", m);
	else
		snprintf(r->msg, sizeof(r->msg), "pid %d: %s", (int)r->pid, hotpatch_strerror(err));
	return err;
}

/*
 * The line that states the outcome for the process: "pid N: TEXT"; for one
 * of several processes "pid N: ok: TEXT", so each process has one status line.
 */
HP_PRINTF(2, 3)
static void headline(struct run *r, const char *fmt, ...)
{
	va_list ap;

	printf("pid %d: %s", (int)r->pid, r->multi ? "ok: " : "");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static struct hotpatch_opts run_opts(const struct cli_args *a)
{
	struct hotpatch_opts o = {
		.timeout_ms = a->timeout_ms,
		.force_clobber = a->force_regs,
	};
	return o;
}

/* The patch's build-id for the audit line, when the library could not say. */
static void audit_fail(const char *op, struct run *r, const char *path, int err)
{
	struct hotpatch_patch p = { 0 };

	if (hotpatch_info(path, &p))
		p.build_id[0] = 0;
	cli_syslog(op, r->pid, path, p.build_id, 0, err, r->msg);
	hotpatch_patch_release(&p);
}

static void log_timing(const struct cli_args *a, pid_t pid, const struct hotpatch_timing *t)
{
	if (a->verbose < 1)
		return;
	fprintf(stderr,
		"hotpatch: pid %d: %.3f ms in all; %u threads paused %.3f ms (dlopen %.3f ms, "
		"final stop %.3f ms)\n",
		(int)pid, t->total_ns / 1e6, t->threads, t->pause_ns / 1e6, t->dlopen_ns / 1e6,
		t->stw_ns / 1e6);
}

static int do_apply(struct run *r)
{
	const struct cli_args *a = r->a;
	struct hotpatch_opts o = run_opts(a);
	struct hotpatch_result res = { 0 };
	const struct hotpatch_patch *p = &res.patch;
	int err;

	hp_err_clear();
	err = hotpatch_apply(r->pid, r->file, &o, &res);
	if (err) {
		failed(r, err);
		if (*p->path)
			cli_syslog("apply", r->pid, p->path, p->build_id, 0, err, r->msg);
		else
			audit_fail("apply", r, r->file, err);
		hotpatch_result_release(&res);
		return err;
	}
	cli_syslog("apply", r->pid, p->path, p->build_id, p->id, 0, NULL);
	log_timing(a, r->pid, &res.timing);
	if (r->j) {
		json_patch(r->j, "patch", p);
		json_timing(r->j, "timing", &res.timing);
	} else {
		headline(r, "applied patch %u (%s): %u function%s", p->id, p->path, p->nfuncs,
			 p->nfuncs == 1 ? "" : "s");
		for (unsigned i = 0; i < p->nfuncs; i++)
			out_func(stdout, &p->funcs[i]);
	}
	hotpatch_result_release(&res);
	return 0;
}

static int do_check(struct run *r)
{
	const struct cli_args *a = r->a;
	struct hotpatch_opts o = run_opts(a);
	struct hotpatch_result res = { 0 };
	int err;

	hp_err_clear();
	err = hotpatch_check(r->pid, r->file, &o, &res);
	if (err) {
		hotpatch_result_release(&res);
		return failed(r, err);
	}
	if (r->j) {
		json_patch(r->j, "patch", &res.patch);
	} else {
		/* check states its verdict as "ok:" even for a single process */
		printf("pid %d: ok: %s can be applied\n", (int)r->pid, a->file);
		for (unsigned i = 0; i < res.patch.nfuncs; i++)
			out_func(stdout, &res.patch.funcs[i]);
	}
	hotpatch_result_release(&res);
	return 0;
}

static int do_load(struct run *r)
{
	const struct cli_args *a = r->a;
	struct hotpatch_opts o = run_opts(a);
	struct hotpatch_timing t = { 0 };
	uint64_t handle = 0;
	int err;

	hp_err_clear();
	err = hotpatch_load(r->pid, r->file, &o, &handle, &t);
	if (err)
		return failed(r, err);
	log_timing(a, r->pid, &t);
	if (r->j) {
		json_string(r->j, "path", r->file);
		json_hex_u64(r->j, "handle", handle);
		json_timing(r->j, "timing", &t);
	} else {
		headline(r, "loaded %s (handle 0x%" PRIx64 ")", r->file, handle);
	}
	return 0;
}

static int do_list(struct run *r)
{
	struct hotpatch_patch *v = NULL;
	unsigned n = 0;
	int err;

	hp_err_clear();
	err = hotpatch_list(r->pid, &v, &n);
	if (err)
		return failed(r, err);
	if (r->j) {
		json_begin_array(r->j, "patches");
		for (unsigned i = 0; i < n; i++)
			json_patch(r->j, NULL, &v[i]);
		json_end_array(r->j);
	} else {
		if (!n)
			headline(r, "no patches");
		else if (r->multi)
			headline(r, "%u patch%s", n, n == 1 ? "" : "es");
		for (unsigned i = 0; i < n; i++)
			out_list_patch(stdout, &v[i]);
	}
	hotpatch_list_free(v, n);
	return 0;
}

/* Revert one patch ('what' = id or path); output and audit line. */
static int revert_one(struct run *r, const char *what)
{
	struct hotpatch_opts o = run_opts(r->a);
	struct hotpatch_result res = { 0 };
	const struct hotpatch_patch *p = &res.patch;
	int err;

	hp_err_clear();
	err = hotpatch_revert(r->pid, what, &o, &res);
	if (err) {
		failed(r, err);
		cli_syslog("revert", r->pid, *p->path ? p->path : what, p->build_id, p->id, err,
			   r->msg);
		hotpatch_result_release(&res);
		return err;
	}
	cli_syslog("revert", r->pid, p->path, p->build_id, p->id, 0, NULL);
	if (r->j)
		json_patch(r->j, NULL, p);
	else
		headline(r, "reverted patch %u (%s)", p->id, p->path);
	hotpatch_result_release(&res);
	return 0;
}

static int do_revert(struct run *r)
{
	struct hotpatch_patch *v = NULL;
	unsigned n = 0;
	int err = 0;

	if (r->j)
		json_begin_array(r->j, "reverted");
	if (!r->a->revert_all) {
		err = revert_one(r, r->what);
		goto out;
	}
	hp_err_clear();
	err = hotpatch_list(r->pid, &v, &n);
	if (err) {
		failed(r, err);
		goto out;
	}
	if (!n && !r->j)
		headline(r, "no patches");
	/* Newest first: a later patch may be stacked on an earlier one's function. */
	for (unsigned i = n; i-- > 0 && !err;) {
		char id[16];

		if (interrupted) {
			err = -HOTPATCH_E_INTR;
			snprintf(r->msg, sizeof(r->msg), "pid %d: interrupted before reverting patch %u",
				 (int)r->pid, v[i].id);
			break;
		}
		snprintf(id, sizeof(id), "%u", v[i].id);
		err = revert_one(r, id);
	}
	hotpatch_list_free(v, n);
out:
	if (r->j)
		json_end_array(r->j);
	return err;
}

static int (*const runners[])(struct run *) = {
	[CLI_APPLY] = do_apply, [CLI_LOAD] = do_load,	[CLI_REVERT] = do_revert,
	[CLI_LIST] = do_list,	[CLI_CHECK] = do_check,
};

/* "pid 12: 'f' not found" -> "'f' not found" after a "pid 12: error: " prefix. */
static const char *strip_pid(const char *msg, pid_t pid)
{
	char prefix[32];
	size_t n = (size_t)snprintf(prefix, sizeof(prefix), "pid %d: ", (int)pid);

	return strncmp(msg, prefix, n) ? msg : msg + n;
}

static void json_head(struct json *j, const struct cli_args *a)
{
	json_begin_object(j, NULL);
	json_uint(j, "version", 1);
	json_string(j, "command", cli_cmd_name(a->cmd));
}

/* Run the command on one process: a whole document or one element of "processes". */
static int run_one(struct run *r)
{
	int err;

	if (r->j) {
		if (r->multi)
			json_begin_object(r->j, NULL);
		json_int(r->j, "pid", r->pid);
	}
	if (interrupted) {
		err = -HOTPATCH_E_INTR;
		snprintf(r->msg, sizeof(r->msg), "pid %d: not attempted: interrupted by signal %d",
			 (int)r->pid, (int)interrupted);
	} else {
		err = runners[r->a->cmd](r);
	}
	if (r->j) {
		json_bool(r->j, "ok", !err);
		if (err)
			json_error(r->j, err, r->msg);
		if (r->multi)
			json_end_object(r->j);
	}
	/* With several processes the report on stdout says which failed, in order. */
	if (err && r->multi && !r->j)
		printf("pid %d: error: %s\n", (int)r->pid, strip_pid(r->msg, r->pid));
	else if (err)
		fprintf(stderr, "hotpatch: %s\n", r->msg);
	return err;
}

static int run_targets(const struct cli_args *a, struct json *j)
{
	struct run r = { .a = a, .j = j, .file = a->file, .what = a->what };
	char file[PATH_MAX], what[PATH_MAX];
	int first_err = 0, nfail = 0, err;
	pid_t *pids = NULL;
	size_t n = 0;

	/*
	 * The target resolves nothing relative to our cwd: hand the library
	 * absolute paths. A file that does not exist is passed as given, for
	 * the library to name in its error.
	 */
	if (a->file && realpath(a->file, file))
		r.file = file;
	if (a->what && strspn(a->what, "0123456789") != strlen(a->what) && realpath(a->what, what))
		r.what = what;

	if (j)
		json_head(j, a);
	if (a->target == CLI_TARGET_PID) {
		r.pid = a->pid;
		err = run_one(&r);
		if (j)
			json_end_object(j);
		return cli_exit_code(err);
	}

	r.multi = true;
	err = cli_find_targets(a, &pids, &n, r.msg, sizeof(r.msg));
	if (!err && !n) {
		err = -HOTPATCH_E_NOPROC;
		if (a->target == CLI_TARGET_ALL_OF)
			snprintf(r.msg, sizeof(r.msg), "no process runs '%s'", a->target_arg);
		else
			snprintf(r.msg, sizeof(r.msg), "no process runs an executable with build-id %s",
				 a->target_arg);
	}
	if (err) {
		fprintf(stderr, "hotpatch: %s\n", r.msg);
		if (j) {
			json_bool(j, "ok", false);
			json_error(j, err, r.msg);
			json_begin_array(j, "processes");
			json_end_array(j);
			json_end_object(j);
		}
		return cli_exit_code(err);
	}

	if (j) {
		json_string(j, "target", a->target == CLI_TARGET_ALL_OF ? "all-of" : "build-id");
		json_string(j, "target_arg", a->target_arg);
		json_begin_array(j, "processes");
	}
	/* One by one and independently: a failure in one process stops nothing. */
	for (size_t i = 0; i < n; i++) {
		r.pid = pids[i];
		err = run_one(&r);
		fflush(stdout);
		if (err && !nfail++)
			first_err = err;
	}
	free(pids);
	if (nfail)
		fprintf(stderr, "hotpatch: %d of %zu processes failed\n", nfail, n);
	if (j) {
		json_end_array(j);
		json_bool(j, "ok", !nfail);
		json_uint(j, "succeeded", n - (size_t)nfail);
		json_uint(j, "failed", (uint64_t)nfail);
		json_end_object(j);
	}
	if (!nfail)
		return EXIT_OK;
	return (size_t)nfail < n ? EXIT_PARTIAL : cli_exit_code(first_err);
}

static int run_info(const struct cli_args *a, struct json *j)
{
	struct hotpatch_patch p = { 0 };
	char msg[1024];
	int err;

	hp_err_clear();
	err = hotpatch_info(a->file, &p);
	if (err)
		snprintf(msg, sizeof(msg), "%s",
			 *hotpatch_errmsg() ? hotpatch_errmsg() : hotpatch_strerror(err));
	if (j) {
		json_head(j, a);
		json_bool(j, "ok", !err);
		if (err)
			json_error(j, err, msg);
		else
			json_patch(j, "patch", &p);
		json_end_object(j);
	} else if (!err) {
		out_info(stdout, &p);
	}
	if (err)
		fprintf(stderr, "hotpatch: %s\n", msg);
	hotpatch_patch_release(&p);
	return cli_exit_code(err);
}

static const char *const level_prefix[] = {
	[HOTPATCH_LOG_ERROR] = "error: ",
	[HOTPATCH_LOG_WARN] = "warning: ",
	[HOTPATCH_LOG_INFO] = "",
	[HOTPATCH_LOG_DEBUG] = "",
};

static void log_stderr(enum hotpatch_log_level level, const char *msg, void *ctx)
{
	(void)ctx;
	fprintf(stderr, "hotpatch: %s%s\n", level <= HOTPATCH_LOG_DEBUG ? level_prefix[level] : "",
		msg);
}

/* A usage error: the reason and the hint on stderr, and the JSON document if asked for. */
static int usage_failure(const struct cli_args *a, int argc, char **argv)
{
	const char *name = cli_cmd_name(a->cmd);
	bool json = a->json;

	fprintf(stderr, "hotpatch: %s\n", a->err);
	if (name)
		fprintf(stderr, "try 'hotpatch %s --help'\n", name);
	else
		fprintf(stderr, "try 'hotpatch --help'\n");
	/* --json may come after the bad argument: the parser stopped before it. */
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "--json"))
			json = true;
	if (json) {
		struct json j;

		json_init(&j, stdout);
		json_begin_object(&j, NULL);
		json_uint(&j, "version", 1);
		if (name)
			json_string(&j, "command", name);
		json_bool(&j, "ok", false);
		json_begin_object(&j, "error");
		json_string(&j, "code", "USAGE");
		json_int(&j, "errno", -EINVAL);
		json_string(&j, "message", a->err);
		json_end_object(&j);
		json_end_object(&j);
	}
	return EXIT_USAGE;
}

int main(int argc, char **argv)
{
	struct cli_args a;
	struct json j;
	int rc, err;

	/* the Creator and its compiler wrapper parse their own arguments (src/cli/create.c) */
	if (argc > 1 && !strcmp(argv[1], "cc"))
		return cc_main(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "create")) {
		catch_signals();
		return cli_create(argc - 1, argv + 1, log_stderr);
	}
	err = cli_parse(argc, argv, &a);
	if (err == -EINVAL) {
		rc = usage_failure(&a, argc, argv);
		goto out;
	}
	if (err) {
		fprintf(stderr, "hotpatch: %s\n", strerror(-err));
		rc = EXIT_FAIL;
		goto out;
	}
	if (a.help) {
		cli_usage(stdout, a.cmd);
		rc = EXIT_OK;
		goto out;
	}
	if (a.cmd == CLI_VERSION) {
		printf("hotpatch %s\n", HOTPATCH_VERSION);
		rc = EXIT_OK;
		goto out;
	}

	catch_signals();
	/* Warnings always; -v adds info, -vv debug. */
	hotpatch_set_log(log_stderr, NULL,
			 a.verbose >= 2	  ? HOTPATCH_LOG_DEBUG
			 : a.verbose == 1 ? HOTPATCH_LOG_INFO
					  : HOTPATCH_LOG_WARN);
	json_init(&j, stdout);
	switch (a.cmd) {
	case CLI_INFO:
		rc = run_info(&a, a.json ? &j : NULL);
		break;
	case CLI_BUILD:
		rc = cli_build(&a, a.json ? &j : NULL);
		break;
	default:
		openlog("hotpatch", LOG_PID, LOG_USER);
		rc = run_targets(&a, a.json ? &j : NULL);
		closelog();
		break;
	}
out:
	cli_args_release(&a);
	/* A report that did not reach its reader is a failure (git does the same). */
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, "hotpatch: cannot write the output: %s\n", strerror(errno));
		if (!rc)
			rc = EXIT_FAIL;
	}
	return rc;
}

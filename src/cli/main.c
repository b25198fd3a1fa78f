/* SPDX-License-Identifier: MIT */
/*
 * hotpatch - command-line front end of libhotpatch. A thin shell: parse the
 * arguments, select the processes, call the library, render the result for
 * humans (stdout, errors as one line on stderr) or as one JSON document.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/macros.h"
#include "libhotpatch.h"
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

/* A progress line is on the terminal (stderr), to be erased before anything else is written. */
static bool progress_shown;

static void progress_erase(void)
{
	if (progress_shown)
		fputs("\r\033[K", stderr);
	progress_shown = false;
}

/* Long waits, drawn on one terminal line that is rewritten in place (only when stderr is a tty). */
static void progress_tty(const struct hotpatch_progress *pr, void *ctx)
{
	(void)ctx;
	if (pr->done) {
		progress_erase();
		return;
	}
	fprintf(stderr, "\rhotpatch: pid %d: waiting %.1f s of %.1f s for ", (int)pr->pid,
		pr->elapsed_ms / 1e3, pr->limit_ms / 1e3);
	if (pr->function && pr->tid)
		fprintf(stderr, "thread %d to leave '%s'", (int)pr->tid, pr->function);
	else if (pr->function)
		fprintf(stderr, "threads to leave '%s'", pr->function);
	else if (pr->tid)
		fprintf(stderr, "thread %d to reach a safe point", (int)pr->tid);
	else
		fputs("a thread at a safe point (outside libc and ld.so)", stderr);
	fputs("\033[K", stderr);
	progress_shown = true;
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
		.sz = sizeof(o),
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
		"hotpatch: pid %d: %.3f ms in all; %u thread%s paused %.3f ms (dlopen %.3f ms, "
		"final stop %.3f ms)\n",
		(int)pid, t->total_ns / 1e6, t->threads, t->threads == 1 ? "" : "s",
		t->pause_ns / 1e6, t->dlopen_ns / 1e6, t->stw_ns / 1e6);
}

/* -v: the steps of an apply or revert, from its result (stdout keeps the outcome). */
static void log_steps(const struct cli_args *a, pid_t pid, const char *op,
		      const struct hotpatch_patch *p)
{
	if (a->verbose < 1)
		return;
	if (!strcmp(op, "apply"))
		fprintf(stderr, "hotpatch: pid %d: loaded %s (handle 0x%" PRIx64 "), build-id %s\n",
			(int)pid, p->path, p->handle, *p->build_id ? p->build_id : "none");
	for (unsigned i = 0; i < p->nfuncs; i++) {
		const struct hotpatch_func *f = &p->funcs[i];

		if (!strcmp(op, "apply"))
			fprintf(stderr, "hotpatch: pid %d: '%s' at 0x%" PRIx64 " now jumps to '%s'\n",
				(int)pid, f->name, f->addr, *f->new_name ? f->new_name : "?");
		else
			fprintf(stderr, "hotpatch: pid %d: '%s' at 0x%" PRIx64 " restored (%u bytes)\n",
				(int)pid, f->name, f->addr, f->jump_len);
	}
	if (!strcmp(op, "revert"))
		fprintf(stderr, "hotpatch: pid %d: patch %u unloaded (handle 0x%" PRIx64 ")\n",
			(int)pid, p->id, p->handle);
	else if (!strcmp(op, "revert-kept"))
		fprintf(stderr, "hotpatch: pid %d: patch %u kept loaded (retained, handle 0x%" PRIx64 ")\n",
			(int)pid, p->id, p->handle);
}

static int do_apply(struct run *r)
{
	const struct cli_args *a = r->a;
	struct hotpatch_opts o = run_opts(a);
	struct hotpatch_result res = { 0 };
	const struct hotpatch_patch *p = &res.patch;
	int err;

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
	log_steps(a, r->pid, "apply", p);
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

/*
 * check only reads, so another tracer does not stop it; but apply would be
 * refused while that tracer holds the target: say so.
 */
static void warn_traced(pid_t pid)
{
	char path[64], line[256];
	long tracer = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "TracerPid: %ld", &tracer) == 1)
			break;
	fclose(f);
	if (tracer > 0)
		fprintf(stderr,
			"hotpatch: warning: pid %d: traced by pid %ld: apply is refused until it lets go\n",
			(int)pid, tracer);
}

static int do_check(struct run *r)
{
	const struct cli_args *a = r->a;
	struct hotpatch_opts o = run_opts(a);
	struct hotpatch_result res = { 0 };
	int err;

	err = hotpatch_check(r->pid, r->file, &o, &res);
	if (err) {
		hotpatch_result_release(&res);
		return failed(r, err);
	}
	warn_traced(r->pid);
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

/*
 * The GNU build-id of any ELF file, for the audit line ("" if none or
 * unreadable). After the load's own result: hotpatch_errmsg() is the load's
 * until this call, which starts afresh.
 */
static void load_build_id(const char *path, char *hex, size_t len)
{
	if (hotpatch_build_id(path, hex, len))
		hex[0] = 0;
}

static int do_load(struct run *r)
{
	const struct cli_args *a = r->a;
	struct hotpatch_opts o = run_opts(a);
	struct hotpatch_timing t = { 0 };
	char build_id[HOTPATCH_BUILD_ID_MAX];
	uint64_t handle = 0;
	int err;

	err = hotpatch_load(r->pid, r->file, &o, &handle, &t);
	if (err) {
		failed(r, err);
		load_build_id(r->file, build_id, sizeof(build_id));
		cli_syslog("load", r->pid, r->file, build_id, 0, err, r->msg);
		return err;
	}
	load_build_id(r->file, build_id, sizeof(build_id));
	cli_syslog("load", r->pid, r->file, build_id, 0, 0, NULL);
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
	/* Reverted, code still loaded: only said when there are some (older states have none). */
	v = NULL;
	n = 0;
	if (hotpatch_list_retained(r->pid, &v, &n) == 0 && n) {
		if (r->j) {
			json_begin_array(r->j, "retained");
			for (unsigned i = 0; i < n; i++)
				json_patch(r->j, NULL, &v[i]);
			json_end_array(r->j);
		} else {
			for (unsigned i = 0; i < n; i++)
				printf("retained %u: %s (reverted; its code stays loaded until nothing refers to it: hotpatch reclaim %d)\n",
				       v[i].id, v[i].path, (int)r->pid);
		}
	}
	hotpatch_list_free(v, n);
	return 0;
}

static int do_reclaim(struct run *r)
{
	struct hotpatch_opts o = run_opts(r->a);
	unsigned freed = 0, left = 0;

	int err = hotpatch_reclaim(r->pid, &o, &freed, &left);
	if (err)
		return failed(r, err);
	if (r->j) {
		json_uint(r->j, "reclaimed", freed);
		json_uint(r->j, "retained", left);
	} else {
		headline(r, "%u retained patch%s unloaded, %u still retained", freed,
			 freed == 1 ? "" : "es", left);
	}
	return 0;
}

/* Did the revert of patch id keep its code loaded? */
static bool revert_retained(pid_t pid, unsigned id)
{
	struct hotpatch_patch *v = NULL;
	unsigned n = 0;
	bool kept = false;

	if (hotpatch_list_retained(pid, &v, &n) == 0)
		for (unsigned i = 0; i < n; i++)
			kept |= v[i].id == id;
	hotpatch_list_free(v, n);
	return kept;
}

/* Revert one patch ('what' = id or path); output and audit line. */
static int revert_one(struct run *r, const char *what)
{
	struct hotpatch_opts o = run_opts(r->a);
	struct hotpatch_result res = { 0 };
	const struct hotpatch_patch *p = &res.patch;
	int err;

	err = hotpatch_revert(r->pid, what, &o, &res);
	if (err) {
		failed(r, err);
		cli_syslog("revert", r->pid, *p->path ? p->path : what, p->build_id, p->id, err,
			   r->msg);
		hotpatch_result_release(&res);
		return err;
	}
	cli_syslog("revert", r->pid, p->path, p->build_id, p->id, 0, NULL);
	bool kept = revert_retained(r->pid, p->id);
	log_steps(r->a, r->pid, kept ? "revert-kept" : "revert", p);
	if (r->a->verbose >= 1)
		fprintf(stderr,
			"hotpatch: pid %d: %.3f ms in all; %u thread%s paused %.3f ms (final stop %.3f ms)\n",
			(int)r->pid, res.timing.total_ns / 1e6, res.timing.threads,
			res.timing.threads == 1 ? "" : "s", res.timing.pause_ns / 1e6,
			res.timing.stw_ns / 1e6);
	if (r->j)
		json_patch_retained(r->j, p, kept);
	else
		headline(r, "reverted patch %u (%s)%s", p->id, p->path,
			 kept ? "; its code stays loaded (see 'hotpatch list')" : "");
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
	[CLI_LIST] = do_list,	[CLI_CHECK] = do_check, [CLI_RECLAIM] = do_reclaim,
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
	progress_erase();
	/* With several processes the report on stdout says which failed, in order. */
	if (err && r->multi && !r->j)
		printf("pid %d: error: %s\n", (int)r->pid, strip_pid(r->msg, r->pid));
	else if (err)
		fprintf(stderr, "hotpatch: %s\n", r->msg);
	return err;
}

/* One process of a multi-process TARGET, handled in a child of ours. */
struct job {
	pid_t pid;		/* the target */
	pid_t worker;		/* our child handling it, 0 = not started */
	int fd;			/* its stdout, -1 once read to the end */
	char *out;		/* what it printed: its error code, then its report */
	size_t len, cap;
};

/*
 * In the child: the target's report goes to the pipe, preceded by the error
 * code. The report is text lines, or one JSON object that the parent splices
 * into its "processes" array.
 */
static void job_child(struct run *r, struct job *jb, int wfd)
{
	if (dup2(wfd, STDOUT_FILENO) < 0)
		_exit(EXIT_FAIL);
	close(wfd);
	int err = 0;
	FILE *mem = NULL;
	char *buf = NULL;
	size_t len = 0;
	struct json jj;
	if (r->j) {
		/* A fresh writer: the object is written as a value of its own. */
		mem = open_memstream(&buf, &len);
		if (!mem)
			_exit(EXIT_FAIL);
		json_init(&jj, mem);
		jj.depth = 1;
		jj.first[1] = true;
		jj.in_obj[1] = false;
		r->j = &jj;
	}
	r->pid = jb->pid;
	err = run_one(r);
	fflush(stdout);
	if (mem)
		fclose(mem);
	if (write(STDOUT_FILENO, "\0", 1) != 1 || write(STDOUT_FILENO, &err, sizeof(err)) != sizeof(err))
		_exit(EXIT_FAIL);
	for (size_t off = 0; buf && off < len;) {
		ssize_t w = write(STDOUT_FILENO, buf + off, len - off);
		if (w <= 0)
			_exit(EXIT_FAIL);
		off += (size_t)w;
	}
	_exit(EXIT_OK);
}

static int job_start(struct run *r, struct job *jb)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC))
		return -errno;
	fflush(stdout);
	fflush(stderr);
	pid_t w = fork();
	if (w < 0) {
		close(p[0]);
		close(p[1]);
		return -errno;
	}
	if (w == 0) {
		close(p[0]);
		job_child(r, jb, p[1]);
	}
	close(p[1]);
	jb->worker = w;
	jb->fd = p[0];
	return 0;
}

/* Read what is there; on end of file reap the worker. */
static void job_read(struct job *jb)
{
	if (jb->len + 4096 > jb->cap) {
		size_t cap = jb->cap ? 2 * jb->cap : 8192;
		char *v = realloc(jb->out, cap);
		if (!v)
			return;
		jb->out = v;
		jb->cap = cap;
	}
	ssize_t n = read(jb->fd, jb->out + jb->len, jb->cap - jb->len);
	if (n > 0) {
		jb->len += (size_t)n;
		return;
	}
	if (n < 0 && errno == EINTR)
		return;
	close(jb->fd);
	jb->fd = -1;
	while (waitpid(jb->worker, NULL, 0) < 0 && errno == EINTR)
		;
}

/*
 * The processes of a multi-process TARGET, up to r->a->jobs at once, each in
 * a child of ours: ptrace ties a target to the thread that attached it, and
 * a process of its own per target keeps one busy target (a thread that will
 * not leave a function, a safe point that does not come) from delaying the
 * others. The reports are printed in pid order once all are in; errors go
 * to stderr as they happen. SIGINT reaches the workers with us (one process
 * group); SIGTERM and SIGHUP sent to us alone are passed on.
 */
static void run_parallel(struct run *r, const pid_t *pids, size_t n, int *nfail, int *ngone,
			 int *first_err)
{
	struct job *v = calloc(n, sizeof(*v));
	struct pollfd *pfd = calloc(n, sizeof(*pfd));
	size_t next = 0, running = 0;
	bool passed_on = false;

	if (!v || !pfd) {
		free(v);
		free(pfd);
		*nfail = (int)n;
		*first_err = -ENOMEM;
		fprintf(stderr, "hotpatch: %s\n", strerror(ENOMEM));
		return;
	}
	for (size_t i = 0; i < n; i++) {
		v[i].pid = pids[i];
		v[i].fd = -1;
	}
	while (next < n || running) {
		while (running < r->a->jobs && next < n && !interrupted) {
			int err = job_start(r, &v[next]);
			if (err)
				snprintf(r->msg, sizeof(r->msg), "pid %d: cannot start a worker: %s",
					 (int)v[next].pid, strerror(-err));
			else
				running++;
			next++;
		}
		if (interrupted && !passed_on) {
			for (size_t i = 0; i < n; i++)
				if (v[i].fd >= 0)
					kill(v[i].worker, (int)interrupted);
			passed_on = true;
		}
		if (!running) {
			if (next < n && interrupted)
				next = n;	/* the ones not started are reported as not attempted */
			continue;
		}
		nfds_t np = 0;
		size_t map[1024];
		for (size_t i = 0; i < n && np < ARRAY_SIZE(map); i++)
			if (v[i].fd >= 0) {
				pfd[np].fd = v[i].fd;
				pfd[np].events = POLLIN;
				map[np++] = i;
			}
		if (poll(pfd, np, -1) < 0)
			continue;	/* EINTR: a signal to pass on */
		for (nfds_t k = 0; k < np; k++)
			if (pfd[k].revents) {
				job_read(&v[map[k]]);
				if (v[map[k]].fd < 0)
					running--;
			}
	}
	/* In pid order: each report, and its verdict (the code after the marker). */
	for (size_t i = 0; i < n; i++) {
		struct job *jb = &v[i];
		char *mark = jb->out ? memchr(jb->out, 0, jb->len) : NULL;
		int err;
		if (mark && (size_t)(mark - jb->out) + 1 + sizeof(err) <= jb->len) {
			memcpy(&err, mark + 1, sizeof(err));
			fwrite(jb->out, 1, (size_t)(mark - jb->out), stdout);
			size_t rest = jb->len - (size_t)(mark - jb->out) - 1 - sizeof(err);
			if (r->j && rest)
				json_raw(r->j, NULL, mark + 1 + sizeof(err), rest);
		} else {
			/* Not attempted, or its worker died before reporting. */
			err = interrupted ? -HOTPATCH_E_INTR : -EIO;
			if (jb->len)
				fwrite(jb->out, 1, jb->len, stdout);
			r->pid = jb->pid;
			snprintf(r->msg, sizeof(r->msg), "pid %d: %s", (int)jb->pid,
				 interrupted ? "not attempted: interrupted"
					     : "its worker ended without a report");
			if (r->j) {
				json_begin_object(r->j, NULL);
				json_int(r->j, "pid", jb->pid);
				json_bool(r->j, "ok", false);
				json_error(r->j, err, r->msg);
				json_end_object(r->j);
			} else {
				printf("pid %d: error: %s\n", (int)jb->pid, strip_pid(r->msg, jb->pid));
			}
		}
		if (err == -HOTPATCH_E_NOPROC || err == -HOTPATCH_E_EXITED)
			(*ngone)++;
		else if (err && !(*nfail)++)
			*first_err = err;
		free(jb->out);
	}
	free(v);
	free(pfd);
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
	/* Independently: a failure in one process stops nothing. */
	/*
	 * A process that exited before it could be handled (a short-lived
	 * worker of the service, found by the scan) is no failure: nothing of
	 * it is left to patch. It is reported, and counted as "gone".
	 */
	int ngone = 0;
	if (a->jobs > 1 && n > 1) {
		run_parallel(&r, pids, n, &nfail, &ngone, &first_err);
	} else {
		for (size_t i = 0; i < n; i++) {
			r.pid = pids[i];
			err = run_one(&r);
			fflush(stdout);
			if (err == -HOTPATCH_E_NOPROC || err == -HOTPATCH_E_EXITED)
				ngone++;
			else if (err && !nfail++)
				first_err = err;
		}
	}
	free(pids);
	if (nfail)
		fprintf(stderr, "hotpatch: %d of %zu processes failed\n", nfail, n);
	if (ngone)
		fprintf(stderr, "hotpatch: %d of %zu processes exited before they could be handled\n",
			ngone, n);
	size_t nok = n - (size_t)nfail - (size_t)ngone;
	if (j) {
		json_end_array(j);
		json_bool(j, "ok", !nfail && nok);
		json_uint(j, "succeeded", nok);
		json_uint(j, "failed", (uint64_t)nfail);
		json_uint(j, "gone", (uint64_t)ngone);
		json_end_object(j);
	}
	if (!nfail && nok)
		return EXIT_OK;
	if (!nok)
		return cli_exit_code(first_err ? first_err : -HOTPATCH_E_NOPROC);
	return EXIT_PARTIAL;
}

static int run_info(const struct cli_args *a, struct json *j)
{
	struct hotpatch_patch p = { 0 };
	char msg[1024];
	int err;

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

static int run_probe(const struct cli_args *a, struct json *j)
{
	struct hotpatch_probe pr;
	int err = hotpatch_probe(&pr);

	if (j) {
		json_head(j, a);
		json_bool(j, "ok", !err);
		json_bool(j, "hw_breakpoints", pr.hw_breakpoints);
		json_string(j, "hw_reason", pr.hw_reason);
		json_string(j, "breakpoints", pr.breakpoints);
		json_string(j, "breakpoints_reason", pr.breakpoints_reason);
		json_end_object(j);
	} else {
		printf("hardware breakpoints: %s (%s)\n", pr.hw_breakpoints ? "fire" : "do not fire",
		       pr.hw_reason);
		printf("breakpoints used: %s (%s)\n", pr.breakpoints, pr.breakpoints_reason);
	}
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
	progress_erase();
	fprintf(stderr, "hotpatch: %s%s\n", level <= HOTPATCH_LOG_DEBUG ? level_prefix[level] : "",
		msg);
}

/* The level the library's messages are shown at (-v, -vv): the command's own follow it. */
static enum hotpatch_log_level log_max = HOTPATCH_LOG_WARN;

void cli_log(enum hotpatch_log_level level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (level > log_max)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_stderr(level, msg, NULL);
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
	if (argc > 1 && (!strcmp(argv[1], "cc") || !strcmp(argv[1], "c++")))
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
	log_max = a.verbose >= 2    ? HOTPATCH_LOG_DEBUG
		  : a.verbose == 1 ? HOTPATCH_LOG_INFO
				   : HOTPATCH_LOG_WARN;
	hotpatch_set_log(log_stderr, NULL, log_max);
	if (isatty(STDERR_FILENO))
		hotpatch_set_progress(progress_tty, NULL);
	json_init(&j, stdout);
	switch (a.cmd) {
	case CLI_INFO:
		rc = run_info(&a, a.json ? &j : NULL);
		break;
	case CLI_BUILD:
		rc = cli_build(&a, a.json ? &j : NULL);
		break;
	case CLI_PROBE:
		rc = run_probe(&a, a.json ? &j : NULL);
		break;
	case CLI_INSTALL:
	case CLI_UNINSTALL:
	case CLI_INSTALLED:
	case CLI_STATUS:
		rc = cli_persist(&a, a.json ? &j : NULL);
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

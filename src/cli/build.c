/* SPDX-License-Identifier: MIT */
/*
 * `hotpatch build`: compile a patch with the right flags and include path,
 * and optionally check it against the binary it is meant for and pin that
 * binary's build-id. The compiler runs with fork/execvp: no shell, so no
 * quoting surprises in file names or flags.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hotpatch.h"
#include "common/macros.h"
#include "libhotpatch.h"
#include "cli/cli.h"

#ifndef HOTPATCH_PREFIX
#define HOTPATCH_PREFIX "/usr/local"
#endif

/* The compiler ran and failed: its own messages said why. */
#define CC_FAILED (-ECHILD)

static bool has_header(const char *dir)
{
	char path[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/hotpatch.h", dir);
	return !access(path, R_OK);
}

/*
 * The directory of hotpatch.h: $HOTPATCH_INCLUDE; else include/ beside the
 * directory of this program (build/hotpatch -> include/, PREFIX/bin/hotpatch
 * -> PREFIX/include; build/asan/hotpatch is one level deeper); else the
 * compiled-in prefix.
 */
static void include_dir(char *buf, size_t size)
{
	static const char *const rel[] = { "/../include", "/../../include" };
	const char *env = getenv("HOTPATCH_INCLUDE");
	char exe[PATH_MAX], cand[PATH_MAX + 32];
	ssize_t n;

	if (env && *env) {
		snprintf(buf, size, "%s", env);
		return;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		char *slash;

		exe[n] = 0;
		slash = strrchr(exe, '/');
		if (slash)
			*slash = 0;
		for (size_t i = 0; i < ARRAY_SIZE(rel); i++) {
			snprintf(cand, sizeof(cand), "%s%s", exe, rel[i]);
			if (has_header(cand) && realpath(cand, exe)) {
				snprintf(buf, size, "%s", exe);
				return;
			}
		}
	}
	snprintf(buf, size, "%s/include", HOTPATCH_PREFIX);
}

/* PATCH.c -> PATCH.so; any other name gets ".so" appended. */
static void default_out(const char *src, char *buf, size_t size)
{
	size_t n = strlen(src);

	if (n > 2 && !strcmp(src + n - 2, ".c"))
		n -= 2;
	snprintf(buf, size, "%.*s.so", (int)n, src);
}

static void log_cmd(char *const *argv)
{
	char line[4096];
	size_t len = 0;

	for (size_t i = 0; argv[i] && len < sizeof(line); i++)
		len += (size_t)snprintf(line + len, sizeof(line) - len, "%s%s", i ? " " : "", argv[i]);
	cli_info("running: %s", line);
}

/*
 * Run argv, the compiler's stdout going to our stderr (our stdout carries
 * only our report). Its diagnostics reach the user's terminal directly.
 * A close-on-exec pipe tells an exec failure from the compiler's own exit.
 */
static int run(char *const *argv, char *msg, size_t msgsz)
{
	int pfd[2], st, child_errno;
	ssize_t n;
	pid_t pid;

	log_cmd(argv);
	if (pipe2(pfd, O_CLOEXEC)) {
		int e = errno;

		cli_msg(msg, msgsz, "pipe: %s", strerror(e));
		return -e;
	}
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		int e = errno;

		close(pfd[0]);
		close(pfd[1]);
		cli_msg(msg, msgsz, "fork: %s", strerror(e));
		return -e;
	}
	if (pid == 0) {
		close(pfd[0]);
		if (dup2(STDERR_FILENO, STDOUT_FILENO) >= 0)
			execvp(argv[0], argv);
		child_errno = errno;
		if (write(pfd[1], &child_errno, sizeof(child_errno)) < 0)
			_exit(127);
		_exit(127);
	}
	close(pfd[1]);
	do
		n = read(pfd[0], &child_errno, sizeof(child_errno));
	while (n < 0 && errno == EINTR);
	close(pfd[0]);
	while (waitpid(pid, &st, 0) < 0) {
		int e = errno;

		if (e != EINTR) {
			cli_msg(msg, msgsz, "waitpid: %s", strerror(e));
			return -e;
		}
	}
	if (n == (ssize_t)sizeof(child_errno)) {
		cli_msg(msg, msgsz, "cannot run '%s': %s", argv[0], strerror(child_errno));
		return -child_errno;
	}
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	if (WIFEXITED(st))
		cli_msg(msg, msgsz, "'%s' exited with status %d", argv[0], WEXITSTATUS(st));
	else
		cli_msg(msg, msgsz, "'%s' killed by signal %d", argv[0], WTERMSIG(st));
	return CC_FAILED;
}

/*
 * ${CC:-cc} -shared -fPIC -O2 -I<inc> PATCH.c [PIN.c] -o OUT CFLAGS...
 * CC may hold words ("ccache gcc"): split on blanks, as make does.
 */
static int compile(const struct cli_args *a, const char *inc, const char *out, const char *pin_src,
		   char *msg, size_t msgsz)
{
	const char *cc = getenv("CC");
	char *ccbuf, *save = NULL, *w, incflag[PATH_MAX + 8], why[512];
	size_t n = 0, max;
	char **argv;
	int err;

	if (!cc || !*cc)
		cc = "cc";
	ccbuf = strdup(cc);
	max = strlen(cc) / 2 + 1 + 9 + (size_t)a->ncflags + 1;
	argv = calloc(max, sizeof(*argv));
	if (!ccbuf || !argv) {
		free(ccbuf);
		free(argv);
		cli_msg(msg, msgsz, "out of memory");
		return -ENOMEM;
	}
	for (w = strtok_r(ccbuf, " \t\n", &save); w; w = strtok_r(NULL, " \t\n", &save))
		argv[n++] = w;
	if (!n) {
		free(ccbuf);
		free(argv);
		cli_msg(msg, msgsz, "empty $CC");
		return -EINVAL;
	}
	snprintf(incflag, sizeof(incflag), "-I%s", inc);
	argv[n++] = "-shared";
	argv[n++] = "-fPIC";
	argv[n++] = "-O2";
	argv[n++] = incflag;
	argv[n++] = (char *)a->file;
	if (pin_src)
		argv[n++] = (char *)pin_src;
	argv[n++] = "-o";
	argv[n++] = (char *)out;
	for (int i = 0; i < a->ncflags; i++)
		argv[n++] = (char *)a->cflags[i];
	argv[n] = NULL;
	err = run(argv, why, sizeof(why));
	if (err)
		cli_msg(msg, msgsz, "cannot compile '%s': %s", a->file, why);
	free(ccbuf);
	free(argv);
	return err;
}

/* Compile once more with a generated HOTPATCH_BUILD_ID(hex) unit: the user's source stays as is. */
static int compile_pinned(const struct cli_args *a, const char *inc, const char *out,
			  const char *hex, char *msg, size_t msgsz)
{
	const char *tmp = getenv("TMPDIR");
	char dir[PATH_MAX], src[PATH_MAX + 16];
	FILE *f;
	int err;

	snprintf(dir, sizeof(dir), "%s/hotpatch-build.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		err = -errno;
		cli_msg(msg, msgsz, "cannot create a directory in '%s': %s",
			 tmp && *tmp ? tmp : "/tmp", strerror(errno));
		return err;
	}
	snprintf(src, sizeof(src), "%s/pin.c", dir);
	f = fopen(src, "w");
	if (!f) {
		err = -errno;
		cli_msg(msg, msgsz, "cannot create '%s': %s", src, strerror(errno));
		rmdir(dir);
		return err;
	}
	fprintf(f, "/* generated by hotpatch build --target */\n#include <hotpatch.h>\n"
		   "HOTPATCH_BUILD_ID(\"%s\");\n", hex);
	if (fclose(f)) {
		err = -errno;
		cli_msg(msg, msgsz, "cannot write '%s': %s", src, strerror(errno));
	} else {
		err = compile(a, inc, out, src, msg, msgsz);
	}
	unlink(src);
	rmdir(dir);
	return err;
}

/* What check_symbol reports to: the command's arguments and its JSON document. */
struct symcheck {
	const struct cli_args *a;
	struct json *j;
	unsigned missing;	/* symbols not found (each reported) */
};

/*
 * hotpatch_check_symbols reports each descriptor: a symbol of another object
 * cannot be checked against BINARY (a warning, and JSON "unchecked"); each
 * one missing is a line of its own.
 */
static void check_symbol(const struct hotpatch_symbol *s, void *ctx)
{
	struct symcheck *c = ctx;

	if (!s->checked) {
		cli_warn("'%s' is looked up in '%s': not checked against '%s'", s->symbol, s->object,
			c->a->build_target);
		if (c->j)
			json_string(c->j, NULL, s->symbol);
	} else if (s->err) {
		fprintf(stderr, "hotpatch: %s\n", s->message);
		c->missing++;
	}
}

/* Patch files must not be writable by others (the Loader refuses them): fix what cc made. */
static void fix_mode(const char *out)
{
	struct stat st;

	if (stat(out, &st) || !(st.st_mode & (S_IWGRP | S_IWOTH)))
		return;
	if (!chmod(out, st.st_mode & ~(mode_t)(S_IWGRP | S_IWOTH) & 07777))
		cli_info("'%s': removed group/other write permission", out);
}

int cli_build(const struct cli_args *a, struct json *j)
{
	char inc[PATH_MAX], out[PATH_MAX], msg[1024] = "";
	char bid[HOTPATCH_BUILD_ID_MAX] = "";
	struct hotpatch_patch pf = { 0 };
	struct symcheck sc = { .a = a, .j = j };
	bool built = false, pinned = false, reported = false;
	int err = 0;

	if (a->out)
		snprintf(out, sizeof(out), "%s", a->out);
	else
		default_out(a->file, out, sizeof(out));
	include_dir(inc, sizeof(inc));
	if (!has_header(inc))
		cli_warn("no hotpatch.h in '%s' (set HOTPATCH_INCLUDE)", inc);
	if (j) {
		json_begin_object(j, NULL);
		json_uint(j, "version", 1);
		json_string(j, "command", "build");
		json_string(j, "output", out);
	}

	if (a->build_target) {
		/* Refused before compiling: not an ELF file, unreadable. */
		err = hotpatch_build_id(a->build_target, bid, sizeof(bid));
		if (err) {
			cli_msg(msg, sizeof(msg), "%s", hotpatch_errmsg());
			if (!*msg)
				cli_msg(msg, sizeof(msg), "'%s': %s", a->build_target,
					 hotpatch_strerror(err));
			goto out;
		}
	}

	err = compile(a, inc, out, NULL, msg, sizeof(msg));
	if (err)
		goto out;
	built = true;
	if (!a->build_target)
		goto out;

	if (j)
		json_begin_array(j, "unchecked");
	err = hotpatch_check_symbols(out, a->build_target, check_symbol, &sc);
	if (j)
		json_end_array(j);
	/* The patch file's pin, read again now that it is known to be good. */
	if (!err)
		err = hotpatch_info(out, &pf);
	if (err) {
		/* A missing symbol has had its own line (check_symbol); a bad file has not. */
		reported = !!sc.missing;
		cli_msg(msg, sizeof(msg), "%s", hotpatch_errmsg());
		if (!*msg)
			cli_msg(msg, sizeof(msg), "'%s': %s", out, hotpatch_strerror(err));
		goto out;
	}
	if (*pf.pin && strcasecmp(pf.pin, bid)) {
		err = -HOTPATCH_E_BUILDID;
		cli_msg(msg, sizeof(msg), "'%s' pins build-id %s, but '%s' has %s%s", a->file,
			 pf.pin, a->build_target, *bid ? "build-id " : "no build-id", bid);
		goto out;
	}
	if (*pf.pin) {
		pinned = true;
	} else if (!*bid) {
		cli_warn("'%s' has no GNU build-id: the patch is not pinned", a->build_target);
	} else {
		err = compile_pinned(a, inc, out, bid, msg, sizeof(msg));
		pinned = !err;
	}
out:
	if (!err)
		fix_mode(out);
	else if (built)
		unlink(out); /* a patch that failed its checks must not look built */
	if (err && !reported)
		fprintf(stderr, "hotpatch: %s\n", msg);
	if (j) {
		json_string(j, "target", a->build_target ? a->build_target : "");
		json_string(j, "pin", pinned ? bid : "");
		json_bool(j, "ok", !err);
		if (err == CC_FAILED) {
			json_begin_object(j, "error");
			json_string(j, "code", "COMPILE");
			json_int(j, "errno", err);
			json_string(j, "message", msg);
			json_end_object(j);
		} else if (err) {
			json_error(j, err, msg);
		}
		json_end_object(j);
	} else if (!err) {
		if (pinned)
			printf("built %s, pinned to build-id %s of %s\n", out, bid, a->build_target);
		else
			printf("built %s\n", out);
	}
	hotpatch_patch_release(&pf);
	return err ? cli_exit_code(err) : EXIT_OK;
}

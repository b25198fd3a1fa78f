/* SPDX-License-Identifier: MIT */
/* The `hotpatch` command: internal interfaces between the src/cli files. */
#ifndef HP_CLI_H
#define HP_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include "libhotpatch.h"
#include "cli/json.h"

/* ---- create.c ---- */

/* `hotpatch create ...` (argv[0] = "create"); log is the stderr logger. Returns the exit status. */
int cli_create(int argc, char **argv, hotpatch_log_fn log);

/* Exit statuses (documented in `hotpatch --help` and hotpatch(1)). */
enum cli_exit {
	EXIT_OK = 0,
	EXIT_FAIL = 1,
	EXIT_USAGE = 2,
	EXIT_BUSY = 3,
	EXIT_PERM = 4,
	EXIT_PARTIAL = 5,
};

enum cli_cmd {
	CLI_NONE,
	CLI_APPLY,
	CLI_LOAD,
	CLI_REVERT,
	CLI_LIST,
	CLI_CHECK,
	CLI_INFO,
	CLI_BUILD,
	CLI_PROBE,
	CLI_VERSION,
	CLI_INSTALL,		/* registry.c, persist.c */
	CLI_UNINSTALL,
	CLI_INSTALLED,
	CLI_STATUS,
	CLI_RECLAIM,
};

enum cli_target {
	CLI_TARGET_NONE,
	CLI_TARGET_PID,
	CLI_TARGET_ALL_OF,	/* --all-of PATH */
	CLI_TARGET_BUILD_ID,	/* --build-id HEX */
};

#define CLI_DEFAULT_TIMEOUT_MS 5000
#define CLI_DEFAULT_JOBS 8

struct cli_args {
	enum cli_cmd cmd;
	bool help;			/* print the usage of cmd (CLI_NONE: of hotpatch) */
	int verbose;			/* -v: 1, -vv: 2 */
	bool json;
	bool force_regs;
	bool revert_all;
	unsigned timeout_ms;
	unsigned jobs;			/* --jobs: processes of a multi-process TARGET at once */
	enum cli_target target;
	pid_t pid;
	const char *target_arg;		/* PATH of --all-of, HEX of --build-id */
	const char *file;		/* PATCH.so, FILE.so, PATCH.c */
	const char *what;		/* revert: ID or PATCH.so */
	const char *out;		/* build -o */
	const char *build_target;	/* build --target */
	const char **cflags;		/* build: compiler arguments after PATCH.c (into argv) */
	int ncflags;
	const char *dir;		/* --dir: the patch directory (install, status...) */
	const char *binary;		/* install --binary PATH */
	char err[512];			/* the usage error when cli_parse fails */
};

/*
 * Parse argv into a. Returns 0, or -EINVAL with a->err set to a one-line
 * reason (usage error, exit 2). a->cmd is set as soon as the command is
 * known, so the caller can name it in "try 'hotpatch CMD --help'".
 * Release with cli_args_release, also after a failure.
 */
int cli_parse(int argc, char **argv, struct cli_args *a);
void cli_args_release(struct cli_args *a);

const char *cli_cmd_name(enum cli_cmd cmd);
/* Help text of cmd (CLI_NONE: the overview). */
void cli_usage(FILE *f, enum cli_cmd cmd);

/* Exit status for a library result (0, -errno or -HOTPATCH_E_*). */
int cli_exit_code(int err);
/* Short name of a code for JSON: "NOSYM", "ESRCH", ... */
const char *cli_code_name(int err);

/* ---- output.c: human and JSON output shared by the commands ---- */

/* snprintf for messages, where silent truncation of a very long path is fine. */
void cli_msg(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The command's own diagnostics, shown like the library's ("hotpatch: warning: ...") at -v levels. */
void cli_log(enum hotpatch_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define cli_warn(...) cli_log(HOTPATCH_LOG_WARN, __VA_ARGS__)
#define cli_info(...) cli_log(HOTPATCH_LOG_INFO, __VA_ARGS__)

/* Name of bit 'bit' of hotpatch_func.preserved_regs, NULL if unknown. */
const char *cli_reg_name(unsigned bit);
/* How the jump is made: "e9 rel32", "island 0x...", "ff25 abs64". */
void cli_jump_desc(const struct hotpatch_func *fn, char *buf, size_t size);

/* "  func -> func_v2 at 0x... (e9 rel32)" and its note/register lines. */
void out_func(FILE *f, const struct hotpatch_func *fn);
/* "patch 1 /p.so build-id HEX applied TIME" and "  func (OBJ) 0x... -> func_v2" lines. */
void out_list_patch(FILE *f, const struct hotpatch_patch *p);
/* The output of `hotpatch info`. */
void out_info(FILE *f, const struct hotpatch_patch *p);

void json_patch(struct json *j, const char *key, const struct hotpatch_patch *p);
void json_patch_retained(struct json *j, const struct hotpatch_patch *p, bool retained);
void json_timing(struct json *j, const char *key, const struct hotpatch_timing *t);
/* "error": {"code": "NOSYM", "errno": -1008, "message": msg} */
void json_error(struct json *j, int err, const char *msg);

/*
 * One audit line per apply/revert/load, success or failure, to syslog (LOG_USER,
 * LOG_NOTICE). When syslog cannot take it (nothing at /dev/log) the line goes to
 * stderr, saying so. HOTPATCH_AUDIT=stderr: always to stderr; =off: nowhere.
 * "apply pid=1 patch=/p.so build-id=HEX result=ok id=1"
 * "apply pid=1 patch=/p.so build-id=HEX result=error reason=\"...\""
 */
void cli_syslog(const char *op, pid_t pid, const char *path, const char *build_id, unsigned id,
		int err, const char *reason);

/* ---- multi.c: multi-process targets ---- */

/*
 * Pids selected by --all-of / --build-id, sorted, without this process,
 * kernel threads and zombies. *n may be 0. On error returns -errno and
 * writes a one-line reason into msg.
 */
int cli_find_targets(const struct cli_args *a, pid_t **pids, size_t *n, char *msg, size_t msgsz);

/* ---- persist.c: install, uninstall, installed, status ---- */

/* The command a->cmd of the four; j is NULL without --json. Returns the exit status. */
int cli_persist(const struct cli_args *a, struct json *j);

/* ---- build.c ---- */

/* `hotpatch build`; j is NULL without --json. Returns the exit status. */
int cli_build(const struct cli_args *a, struct json *j);

/* ---- create.c ---- */

/* `hotpatch create ...` (argv[0] = "create"); log is the stderr logger. Returns the exit status. */
int cli_create(int argc, char **argv, hotpatch_log_fn log);

#endif

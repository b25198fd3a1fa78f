/* SPDX-License-Identifier: MIT */
/*
 * Argument parsing of the `hotpatch` command. Options may stand before or
 * after positional arguments; `--opt=value` and `--opt value` are both
 * accepted; `--` ends the options. A hand-written parser rather than
 * getopt_long: it keeps no global state (unit-testable, reentrant), refuses
 * abbreviations (`--for` must not silently mean `--force-regs`) and produces
 * our own one-line messages.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "common/macros.h"
#include "libhotpatch.h"
#include "cli/cli.h"
#include "cli/registry.h"

/* Options, as bits of the per-command set of accepted options. */
enum {
	OPT_TIMEOUT = 1 << 0,
	OPT_JSON = 1 << 1,
	OPT_FORCE_REGS = 1 << 2,
	OPT_TARGET = 1 << 3, /* --all-of, --build-id, and a PID positional */
	OPT_ALL = 1 << 4,
	OPT_OUT = 1 << 5,
	OPT_BTARGET = 1 << 6,
	OPT_DIR = 1 << 7,	/* --dir DIR: the patch directory */
	OPT_BINARY = 1 << 8,	/* install --binary PATH */
	OPT_KEY = 1 << 9,	/* install --build-id HEX: the target binary, no process */
	OPT_JOBS = 1 << 10,	/* --jobs N: processes of a multi-process TARGET handled at once */
};

struct cmd_desc {
	const char *name;
	enum cli_cmd cmd;
	unsigned opts;
	const char *file_name; /* name of the file positional in messages */
};

static const struct cmd_desc cmds[] = {
	{ "apply", CLI_APPLY, OPT_TIMEOUT | OPT_JSON | OPT_FORCE_REGS | OPT_TARGET | OPT_JOBS, "PATCH.so" },
	{ "load", CLI_LOAD, OPT_TIMEOUT | OPT_JSON | OPT_TARGET | OPT_JOBS, "FILE.so" },
	{ "revert", CLI_REVERT, OPT_TIMEOUT | OPT_JSON | OPT_TARGET | OPT_JOBS | OPT_ALL, NULL },
	{ "list", CLI_LIST, OPT_JSON | OPT_TARGET | OPT_JOBS, NULL },
	{ "reclaim", CLI_RECLAIM, OPT_TIMEOUT | OPT_JSON | OPT_TARGET | OPT_JOBS, NULL },
	{ "check", CLI_CHECK, OPT_JSON | OPT_FORCE_REGS | OPT_TARGET | OPT_JOBS, "PATCH.so" },
	{ "info", CLI_INFO, OPT_JSON, "PATCH.so" },
	{ "build", CLI_BUILD, OPT_JSON | OPT_OUT | OPT_BTARGET, "PATCH.c" },
	{ "probe", CLI_PROBE, OPT_JSON, NULL },
	{ "install", CLI_INSTALL, OPT_JSON | OPT_DIR | OPT_BINARY | OPT_KEY, "PATCH.so" },
	{ "uninstall", CLI_UNINSTALL, OPT_JSON | OPT_DIR, NULL },
	{ "installed", CLI_INSTALLED, OPT_JSON | OPT_DIR, NULL },
	{ "status", CLI_STATUS, OPT_JSON | OPT_DIR, NULL },
};

static const struct cmd_desc *cmd_find(enum cli_cmd cmd)
{
	for (size_t i = 0; i < ARRAY_SIZE(cmds); i++)
		if (cmds[i].cmd == cmd)
			return &cmds[i];
	return NULL;
}

const char *cli_cmd_name(enum cli_cmd cmd)
{
	const struct cmd_desc *d = cmd_find(cmd);
	return d ? d->name : NULL;
}

static const char usage_exit[] =
	"Exit status:\n"
	"  0  success\n"
	"  1  failure (any other error)\n"
	"  2  usage error: bad arguments, unknown command or option\n"
	"  3  target busy: a thread stayed inside a function to replace, or no safe\n"
	"     point was reached, within --timeout\n"
	"  4  not permitted: ptrace denied, target already traced, or unsafe\n"
	"     permissions of the patch file\n"
	"  5  partial success: some processes of a multi-process TARGET failed\n"
	"  When every process of a multi-process TARGET fails: the status of the first.\n";

static const char usage_target[] =
	"TARGET is one of:\n"
	"  PID             one process\n"
	"  --all-of PATH   every process whose executable (/proc/PID/exe) is PATH\n"
	"  --build-id HEX  every process whose executable has the GNU build-id HEX\n"
	"A multi-process TARGET handles the processes independently, up to --jobs N\n"
	"(default 8) at once, each in a process of its own, so a busy one delays no\n"
	"other; it reports one line per process, in pid order.\n";

static const char usage_common[] =
	"  --json          print one JSON document on stdout (see hotpatch(1), FILES)\n"
	"  -v, -vv         more log lines on stderr (info, debug)\n"
	"  -h, --help      show this help\n";

static const char *const usage_text[] = {
	[CLI_NONE] =
		"usage: hotpatch COMMAND [OPTIONS] ARGS...\n"
		"\n"
		"Replace functions of running Linux processes (x86_64, aarch64) with functions\n"
		"of a patch shared object, without restarting them.\n"
		"\n"
		"Commands:\n"
		"  apply  [--timeout MS] [--json] [--force-regs] TARGET PATCH.so\n"
		"         load PATCH.so into TARGET and redirect the functions it replaces\n"
		"  load   [--timeout MS] [--json] TARGET FILE.so\n"
		"         dlopen() any shared object in TARGET\n"
		"  revert [--timeout MS] [--json] TARGET (ID | PATCH.so | --all)\n"
		"         undo an applied patch (--all: every patch, newest first)\n"
		"  list   [--json] TARGET\n"
		"         show the patches applied in TARGET\n"
		"  check  [--json] [--force-regs] TARGET PATCH.so\n"
		"         verify everything apply verifies, without stopping TARGET\n"
		"  info   [--json] PATCH.so\n"
		"         show what a patch file replaces, imports and pins\n"
		"  build  [-o OUT.so] [--target BINARY] PATCH.c [CFLAGS...]\n"
		"         compile a patch; with --target, check it against BINARY and pin\n"
		"         BINARY's build-id\n"
		"  probe  [--json]\n"
		"         show what this machine offers (do debug-register breakpoints fire?)\n"
		"  install [--json] [--dir DIR] [--binary PATH | --build-id HEX] PATCH.so\n"
		"         register PATCH.so for every process of its binary, now and later\n"
		"         (hotpatchd applies it)\n"
		"  uninstall [--json] [--dir DIR] (ID | PATCH.so)\n"
		"         unregister a patch (running processes keep it until reverted)\n"
		"  installed [--json] [--dir DIR]\n"
		"         show the registered patches\n"
		"  status [--json] [--dir DIR]\n"
		"         every process that has patches, and registered patches that a\n"
		"         running process of their binary lacks\n"
		"  create --source DIR --diff FIX.patch --binary PROG [--build CMD] [-o FIX.so]\n"
		"         build a patch from a source fix (see 'hotpatch create --help')\n"
		"\n",
	[CLI_APPLY] =
		"usage: hotpatch apply [--timeout MS] [--json] [--force-regs] TARGET PATCH.so\n"
		"\n"
		"Load PATCH.so into TARGET and redirect every function it replaces, all or\n"
		"nothing. The threads of TARGET are stopped for the final switch only after\n"
		"none of them runs inside a function to replace.\n"
		"\n"
		"Options:\n"
		"  --timeout MS    bound for waiting until no thread is inside a function to\n"
		"                  replace, and for reaching a safe point (default 5000)\n"
		"  --force-regs    apply even when callers rely on registers the old function\n"
		"                  preserved and no preserving island can be used\n",
	[CLI_LOAD] =
		"usage: hotpatch load [--timeout MS] [--json] TARGET FILE.so\n"
		"\n"
		"dlopen() FILE.so in TARGET, with no function replaced.\n"
		"\n"
		"Options:\n"
		"  --timeout MS    bound for reaching a safe point (default 5000)\n",
	[CLI_REVERT] =
		"usage: hotpatch revert [--timeout MS] [--json] TARGET (ID | PATCH.so | --all)\n"
		"\n"
		"Undo an applied patch, named by its id (see 'hotpatch list') or by its file.\n"
		"A patch whose function is replaced again by a later patch is reverted only\n"
		"after that later patch.\n"
		"\n"
		"Options:\n"
		"  --all           revert every patch, newest first; stop at the first failure\n"
		"  --timeout MS    bound for waiting until no thread is inside a patched\n"
		"                  function (default 5000)\n",
	[CLI_LIST] =
		"usage: hotpatch list [--json] TARGET\n"
		"\n"
		"Show the patches applied in TARGET, oldest first, with their functions,\n"
		"then the retained ones: reverted, but their code still loaded because\n"
		"something in TARGET may still return into it (see 'hotpatch reclaim').\n"
		"\n"
		"Options:\n",
	[CLI_RECLAIM] =
		"usage: hotpatch reclaim [--timeout MS] [--json] TARGET\n"
		"\n"
		"Unload the retained patches of TARGET that nothing refers to any more.\n"
		"A revert keeps a patch's code loaded while a parked coroutine, a saved\n"
		"context or a stored pointer may still lead into it; this proves, under one\n"
		"stop, that no register and no word of TARGET's writable memory does, and\n"
		"then unloads it.\n"
		"\n"
		"Options:\n"
		"  --timeout MS    bound for reaching a safe point (default 5000)\n",
	[CLI_CHECK] =
		"usage: hotpatch check [--json] [--force-regs] TARGET PATCH.so\n"
		"\n"
		"Verify everything 'hotpatch apply' verifies before it stops the target:\n"
		"descriptors, symbols, sizes, build-id, registers. TARGET is not stopped.\n"
		"\n"
		"Options:\n"
		"  --force-regs    as for apply\n",
	[CLI_INFO] =
		"usage: hotpatch info [--json] PATCH.so\n"
		"\n"
		"Show what PATCH.so replaces, wraps, imports and pins. No process involved.\n"
		"\n"
		"Options:\n",
	[CLI_PROBE] =
		"usage: hotpatch probe [--json]\n"
		"\n"
		"Probe what hotpatch depends on here: whether an execute breakpoint in a\n"
		"debug register fires (some hypervisors accept it and never fire it), and\n"
		"so which breakpoints run threads out of a function: hardware, or int3\n"
		"written into the code. HOTPATCH_BREAKPOINTS=hw|sw|auto forces or probes.\n"
		"\n"
		"Options:\n",
	[CLI_BUILD] =
		"usage: hotpatch build [-o OUT.so] [--target BINARY] PATCH.c [CFLAGS...]\n"
		"\n"
		"Compile a patch: ${CC:-cc} -shared -fPIC -O2 -I<include dir> PATCH.c\n"
		"-o OUT.so CFLAGS... The include dir holding hotpatch.h is $HOTPATCH_INCLUDE,\n"
		"else the include/ directory beside the directory of this program, else\n"
		"the installation prefix's include/.\n"
		"Every argument after PATCH.c goes to the compiler, except -o OUT.so.\n"
		"\n"
		"Options:\n"
		"  -o OUT.so         output file (default: PATCH.c with .c replaced by .so)\n"
		"  --target BINARY   check that BINARY defines every symbol the patch replaces,\n"
		"                    wraps or imports (symbols of other objects are only\n"
		"                    warned about), then pin the patch to BINARY's build-id\n"
		"                    by compiling a HOTPATCH_BUILD_ID() descriptor with it\n",
	[CLI_INSTALL] =
		"usage: hotpatch install [--json] [--dir DIR] [--binary PATH | --build-id HEX]\n"
		"                        PATCH.so\n"
		"\n"
		"Register a copy of PATCH.so in the patch directory, keyed by the build-id of\n"
		"the binary it targets: its HOTPATCH_BUILD_ID pin, else the build-id of\n"
		"--binary PATH, else --build-id HEX. hotpatchd applies every registered patch\n"
		"to every process of that binary, running or started later. Installing a\n"
		"patch already registered for that binary changes nothing.\n"
		"\n"
		"Options:\n"
		"  --dir DIR         the patch directory (default $HOTPATCH_DIR, else\n"
		"                    " REG_DEFAULT_DIR ")\n"
		"  --binary PATH     the patch is for the executable PATH\n"
		"  --build-id HEX    the patch is for the executable with this GNU build-id\n",
	[CLI_UNINSTALL] =
		"usage: hotpatch uninstall [--json] [--dir DIR] (ID | PATCH.so)\n"
		"\n"
		"Remove a patch from the patch directory: ID is the patch's build-id (or\n"
		"8+ leading hex digits of it) as shown by 'hotpatch installed', PATCH.so a\n"
		"file with the same build-id, or the registered copy. Processes that have the\n"
		"patch keep it: revert it with 'hotpatch revert --build-id HEX PATCH.so'.\n"
		"\n"
		"Options:\n"
		"  --dir DIR         the patch directory (see 'hotpatch install --help')\n",
	[CLI_INSTALLED] =
		"usage: hotpatch installed [--json] [--dir DIR]\n"
		"\n"
		"Show the registered patches, by target build-id, in the order hotpatchd\n"
		"applies them.\n"
		"\n"
		"Options:\n"
		"  --dir DIR         the patch directory (see 'hotpatch install --help')\n",
	[CLI_STATUS] =
		"usage: hotpatch status [--json] [--dir DIR]\n"
		"\n"
		"Show every process that has patches applied, and every registered patch\n"
		"that a running process of its binary lacks ('missing'). Targets are only\n"
		"read, never stopped. Exit status 0 even when patches are missing: see the\n"
		"'missing' count of --json.\n"
		"\n"
		"Options:\n"
		"  --dir DIR         the patch directory (see 'hotpatch install --help')\n",
};

void cli_usage(FILE *f, enum cli_cmd cmd)
{
	const struct cmd_desc *d = cmd_find(cmd);

	fputs(usage_text[d ? cmd : CLI_NONE], f);
	if (!d) {
		fputs(usage_target, f);
		fputs("\nOptions of every command:\n", f);
		fputs(usage_common, f);
		fputs("  --version       print the version\n\n", f);
		fputs(usage_exit, f);
		fputs("\n'hotpatch COMMAND --help' describes one command.\n", f);
		return;
	}
	fputs(usage_common, f);
	if (d->opts & OPT_TARGET) {
		fputc('\n', f);
		fputs(usage_target, f);
	}
	fputc('\n', f);
	fputs(usage_exit, f);
}

HP_PRINTF(2, 3)
static int usage_err(struct cli_args *a, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(a->err, sizeof(a->err), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Digits only, no sign, no spaces; 0 < value <= max. */
static bool parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;

	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		if (v > (max - (unsigned long)(*s - '0')) / 10)
			return false;
		v = v * 10 + (unsigned long)(*s - '0');
	}
	if (!v)
		return false;
	*out = v;
	return true;
}

static bool is_hex_id(const char *s)
{
	size_t n = strlen(s);

	if (n < 2 || n % 2 || n >= HOTPATCH_BUILD_ID_MAX)
		return false;
	return strspn(s, "0123456789abcdefABCDEF") == n;
}

/* "-v", "-vv", "-vvv"...: count of v, or 0 if s is something else. */
static int verbose_count(const char *s)
{
	if (!strcmp(s, "--verbose"))
		return 1;
	if (s[0] != '-' || s[1] != 'v')
		return 0;
	return strspn(s + 1, "v") == strlen(s + 1) ? (int)strlen(s + 1) : 0;
}

struct opt_desc {
	const char *name;
	unsigned bit;
	bool has_arg;
};

static const struct opt_desc opts[] = {
	{ "--timeout", OPT_TIMEOUT, true },
	{ "--jobs", OPT_JOBS, true },
	{ "--json", OPT_JSON, false },
	{ "--force-regs", OPT_FORCE_REGS, false },
	{ "--all-of", OPT_TARGET, true },
	{ "--build-id", OPT_TARGET, true },
	{ "--all", OPT_ALL, false },
	{ "--output", OPT_OUT, true },
	{ "--target", OPT_BTARGET, true },
	{ "--dir", OPT_DIR, true },
	{ "--binary", OPT_BINARY, true },
	{ "--build-id", OPT_KEY, true },
};

/* The one short option with a value: -o OUT or -oOUT. */
static const struct opt_desc opt_o = { "-o", OPT_OUT, true };

/*
 * Handle the option argv[*i] (which starts with '-'). Advances *i past a
 * separate value. Returns 0 or -EINVAL.
 */
static int parse_opt(struct cli_args *a, const struct cmd_desc *d, int argc, char **argv, int *i)
{
	const char *arg = argv[*i];
	const char *val = NULL;
	const struct opt_desc *o = NULL;
	size_t namelen = strcspn(arg, "=");
	unsigned long v;
	int nv;

	if ((nv = verbose_count(arg))) {
		a->verbose += nv;
		return 0;
	}
	if (arg[1] == 'o') {
		o = &opt_o;
		namelen = 2;
		if (arg[2])
			val = arg + 2;
	}
	/* One name may mean different options for different commands (--build-id). */
	for (size_t k = 0; !o && k < ARRAY_SIZE(opts); k++) {
		if (strlen(opts[k].name) == namelen && !strncmp(opts[k].name, arg, namelen) &&
		    (d->opts & opts[k].bit)) {
			o = &opts[k];
			if (arg[namelen] == '=')
				val = arg + namelen + 1;
		}
	}
	if (!o || !(d->opts & o->bit))
		return usage_err(a, "unknown option '%.*s'", (int)namelen, arg);
	if (!o->has_arg && val)
		return usage_err(a, "option '%s' takes no value", o->name);
	if (o->has_arg && !val) {
		if (*i + 1 >= argc)
			return usage_err(a, "option '%s' needs a value", o->name);
		val = argv[++*i];
	}
	if (o->has_arg && !*val)
		return usage_err(a, "option '%s' needs a value", o->name);

	switch (o->bit) {
	case OPT_TIMEOUT:
		if (!parse_uint(val, UINT_MAX, &v))
			return usage_err(a, "invalid timeout '%s' (milliseconds, > 0)", val);
		a->timeout_ms = (unsigned)v;
		break;
	case OPT_JOBS:
		if (!parse_uint(val, 1024, &v))
			return usage_err(a, "invalid --jobs '%s' (1 to 1024 processes at once)", val);
		a->jobs = (unsigned)v;
		break;
	case OPT_JSON:
		a->json = true;
		break;
	case OPT_FORCE_REGS:
		a->force_regs = true;
		break;
	case OPT_ALL:
		a->revert_all = true;
		break;
	case OPT_OUT:
		a->out = val;
		break;
	case OPT_BTARGET:
		a->build_target = val;
		break;
	case OPT_DIR:
		a->dir = val;
		break;
	case OPT_BINARY:
	case OPT_KEY:
		if (a->binary || a->target != CLI_TARGET_NONE)
			return usage_err(a, "more than one '--binary' or '--build-id'");
		if (o->bit == OPT_BINARY) {
			a->binary = val;
			break;
		}
		if (!is_hex_id(val))
			return usage_err(a, "invalid build-id '%s' (even number of hex digits)", val);
		a->target = CLI_TARGET_BUILD_ID;
		a->target_arg = val;
		break;
	case OPT_TARGET:
		if (a->target != CLI_TARGET_NONE)
			return usage_err(a, "more than one '--all-of' or '--build-id'");
		if (!strcmp(o->name, "--build-id")) {
			if (!is_hex_id(val))
				return usage_err(a, "invalid build-id '%s' (even number of hex digits)",
						 val);
			a->target = CLI_TARGET_BUILD_ID;
		} else {
			a->target = CLI_TARGET_ALL_OF;
		}
		a->target_arg = val;
		break;
	}
	return 0;
}

/*
 * Is arg an option? A lone "-" is a positional (a file name), and so is
 * "-5": a negative pid deserves "invalid pid", not "unknown option".
 */
static bool is_opt(const char *arg)
{
	return arg[0] == '-' && arg[1] && !(arg[1] >= '0' && arg[1] <= '9');
}

static int parse_cmd(struct cli_args *a, const struct cmd_desc *d, int argc, char **argv, int i)
{
	const char *pos[3];
	int npos = 0, err;
	bool opts_done = false;

	for (; i < argc; i++) {
		const char *arg = argv[i];

		/* build: everything after PATCH.c is the compiler's, except -o */
		if (d->cmd == CLI_BUILD && npos == 1) {
			if (!strcmp(arg, "-o") || (!strncmp(arg, "-o", 2) && arg[2])) {
				err = parse_opt(a, d, argc, argv, &i);
				if (err)
					return err;
				continue;
			}
			a->cflags[a->ncflags++] = arg;
			continue;
		}
		if (!opts_done && !strcmp(arg, "--")) {
			opts_done = true;
			continue;
		}
		if (!opts_done && (!strcmp(arg, "--help") || !strcmp(arg, "-h"))) {
			a->help = true;
			return 0;
		}
		if (!opts_done && is_opt(arg)) {
			err = parse_opt(a, d, argc, argv, &i);
			if (err)
				return err;
			continue;
		}
		if (npos == (int)(ARRAY_SIZE(pos)))
			return usage_err(a, "unexpected argument '%s'", arg);
		pos[npos++] = arg;
	}

	if (a->revert_all && d->cmd != CLI_REVERT)
		return usage_err(a, "unknown option '--all'");
	i = 0;
	if (d->opts & OPT_TARGET) {
		if (a->target == CLI_TARGET_NONE) {
			unsigned long v;

			if (i == npos)
				return usage_err(a, "missing TARGET (PID, --all-of PATH or --build-id HEX)");
			if (!parse_uint(pos[i], INT_MAX, &v))
				return usage_err(a, "invalid pid '%s'", pos[i]);
			a->target = CLI_TARGET_PID;
			a->pid = (pid_t)v;
			i++;
		} else if (!*a->target_arg) {
			return usage_err(a, "empty PATH of '--all-of'");
		}
	}
	if (d->file_name) {
		if (i == npos)
			return usage_err(a, "missing %s", d->file_name);
		if (!*pos[i])
			return usage_err(a, "empty %s", d->file_name);
		a->file = pos[i++];
	} else if (d->cmd == CLI_UNINSTALL) {
		if (i == npos)
			return usage_err(a, "missing ID or PATCH.so");
		if (!*pos[i])
			return usage_err(a, "empty ID or PATCH.so");
		a->what = pos[i++];
	} else if (d->cmd == CLI_REVERT) {
		if (a->revert_all) {
			if (i < npos)
				return usage_err(a, "'--all' and '%s' exclude each other", pos[i]);
		} else {
			if (i == npos)
				return usage_err(a, "missing ID, PATCH.so or --all");
			if (!*pos[i])
				return usage_err(a, "empty ID or PATCH.so");
			a->what = pos[i++];
		}
	}
	if (i < npos)
		return usage_err(a, "unexpected argument '%s'", pos[i]);
	return 0;
}

int cli_parse(int argc, char **argv, struct cli_args *a)
{
	const struct cmd_desc *d = NULL;
	int i, nv;

	memset(a, 0, sizeof(*a));
	a->timeout_ms = CLI_DEFAULT_TIMEOUT_MS;
	a->jobs = CLI_DEFAULT_JOBS;

	/* Options before the command: -v, --help, --version. */
	for (i = 1; i < argc && is_opt(argv[i]); i++) {
		if ((nv = verbose_count(argv[i]))) {
			a->verbose += nv;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			a->help = true;
			return 0;
		} else if (!strcmp(argv[i], "--version")) {
			a->cmd = CLI_VERSION;
			return 0;
		} else {
			return usage_err(a, "unknown option '%s'", argv[i]);
		}
	}
	if (i == argc)
		return usage_err(a, "missing command");

	/* `hotpatch help [COMMAND]` is `hotpatch [COMMAND] --help`. */
	if (!strcmp(argv[i], "help")) {
		a->help = true;
		if (i + 1 < argc) {
			for (size_t k = 0; k < ARRAY_SIZE(cmds); k++)
				if (!strcmp(cmds[k].name, argv[i + 1]))
					a->cmd = cmds[k].cmd;
			if (a->cmd == CLI_NONE)
				return usage_err(a, "unknown command '%s'", argv[i + 1]);
		}
		return 0;
	}
	for (size_t k = 0; k < ARRAY_SIZE(cmds); k++)
		if (!strcmp(cmds[k].name, argv[i]))
			d = &cmds[k];
	if (!d)
		return usage_err(a, "unknown command '%s'", argv[i]);
	a->cmd = d->cmd;
	if (d->cmd == CLI_BUILD) {
		a->cflags = calloc((size_t)argc, sizeof(*a->cflags));
		if (!a->cflags)
			return -ENOMEM;
	}
	return parse_cmd(a, d, argc, argv, i + 1);
}

void cli_args_release(struct cli_args *a)
{
	free(a->cflags);
	a->cflags = NULL;
	a->ncflags = 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * The Creator (`hotpatch create`): builds a patch .so from a source tree, a
 * unified diff and the running program's binary. Internal interfaces
 * between the src/create files; the CLI calls create_run() and cc_main().
 */
#ifndef HP_CREATE_H
#define HP_CREATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct create_opts {
	const char *source;  /* DIR the program was built from */
	const char *diff;    /* FIX.patch, applied with patch -p<strip> */
	const char *binary;  /* PROG as installed */
	const char *build;   /* shell command run in each copy; NULL = make CC="$HOTPATCH_CC" */
	const char *out;     /* FIX.so; NULL = <diff basename>.so in the current directory */
	const char *workdir; /* NULL = a fresh directory under $TMPDIR, removed at the end */
	int strip;	     /* -p of patch(1), default 1 */
	bool keep;	     /* keep the work directory */
};

enum create_verdict {
	CREATE_REPLACED, /* an existing function, replaced */
	CREATE_NEW,	 /* a new function, carried by the patch */
	CREATE_IGNORED,	 /* changed only by line numbers / debug info, or not in PROG */
	CREATE_REFUSED,	 /* the patch cannot be made: reason */
	CREATE_NEWVAR,	 /* a new variable, carried by the patch */
	CREATE_NOTE,	 /* something worth telling, no effect */
};

struct create_item {
	enum create_verdict verdict;
	char name[256];
	char file[256]; /* source file */
	char reason[512];
};

struct create_report {
	struct create_item *v;
	size_t n, cap;
	char out[4096]; /* the patch written, "" if none */
	char workdir[4096];
	char build_id[128]; /* PROG's, the patch is pinned to it */
	char object[256];   /* PROG is a shared library: its soname; "" = an executable */
	unsigned nfixups;   /* PC32/ABS64 descriptors emitted */
	unsigned nrefused;
};

/*
 * Run the whole Creator. Returns 0 with the patch written to r->out, or an
 * error (-errno / -HOTPATCH_E_*) with a message (hp_err); when refused
 * (-HOTPATCH_E_REFUSED-like: -EPERM is not used) the report lists why and no
 * file is written. The report is filled in both cases.
 */
int create_run(const struct create_opts *o, struct create_report *r);
void create_report_release(struct create_report *r);
const char *create_verdict_name(enum create_verdict v);

/* `hotpatch cc ARGS...`: the compiler wrapper. Never returns on success (exec). */
int cc_main(int argc, char **argv);

/* ---- internal ---- */

struct create_item *report_add(struct create_report *r, enum create_verdict v, const char *name,
			       const char *file, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* One compile recorded by the wrapper. */
struct cc_rec {
	char *cwd;
	char *src;   /* as given */
	char *obj;   /* absolute path of the object */
	char *key;   /* pairs the same compile across the two builds */
	bool is_asm; /* .s / .S source */
};

struct cc_link {
	char *out; /* absolute */
	char **in; /* absolute paths of .o/.a inputs */
	size_t nin;
};

struct cc_log {
	struct cc_rec *rec;
	size_t nrec;
	struct cc_link *link;
	size_t nlink;
};

/* Read every record the wrapper left in dir; paths under 'from' are rewritten under 'to'. */
int cc_log_read(const char *dir, const char *from, const char *to, struct cc_log *log);
void cc_log_release(struct cc_log *log);

#endif

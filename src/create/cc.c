/* SPDX-License-Identifier: MIT */
/*
 * `hotpatch cc`: the compiler wrapper of the Creator, and the reader of what
 * it records.
 *
 * With HOTPATCH_CC_LOG=DIR in the environment, every compile gets
 * -ffunction-sections -fdata-sections (one section per function and per
 * variable, so objects compare function by function) and leaves a record
 * DIR/rec.PID.N: "cwd", then "obj OBJECT SOURCE" lines for each object a
 * compile produces, or "link OUTPUT" and "in INPUT" lines for a link. A
 * compile-and-link in one command (cc -o prog a.c b.c) is first compiled
 * into DIR/x.PID.K.o objects, so every source has an object to compare.
 * A link input is recorded by what it is (a relocatable object or an
 * archive, read with libelf), not by its name: builds that rename objects
 * after compiling (zlib's objs/x.o -> x.lo, libtool's .lo) link those; the
 * reader pairs such an input with the compile it came from (moved_objects).
 * The real compiler is $HOTPATCH_CC_REAL (default gcc); as `hotpatch c++`
 * (the Creator's $CXX) it is $HOTPATCH_CXX_REAL (default g++), whose driver
 * links the C++ runtime. Without HOTPATCH_CC_LOG the wrapper just runs the
 * compiler.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <dirent.h>
#include <unistd.h>

#include <gelf.h>
#include <libelf.h>

#include "common/common.h"
#include "create/create.h"

/* Options of gcc that take the next argument as their value. */
static bool takes_value(const char *a)
{
	static const char *const opts[] = {
	    "-o",	"-I",	    "-D",  "-U",       "-include",    "-imacros",
	    "-MF",	"-MT",	    "-MQ", "-x",       "-isystem",    "-idirafter",
	    "-iquote",	"-iprefix", "-L",  "-Xlinker", "-Xassembler", "-Xpreprocessor",
	    "-u",	"-T",	    "-e",  "-l",       "-aux-info",   "-dumpbase",
	    "-dumpdir",
	};
	for (size_t i = 0; i < ARRAY_SIZE(opts); i++)
		if (!strcmp(a, opts[i]))
			return true;
	return false;
}

static const char *ext(const char *p)
{
	const char *d = strrchr(p, '.'), *s = strrchr(p, '/');
	return d && (!s || d > s) ? d : "";
}

/* A relocatable ELF object or an archive, whatever its name (.o, .lo, .a, ...). */
static bool is_link_input(const char *p)
{
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	bool yes = false;

	if (fd < 0)
		return false;
	elf_version(EV_CURRENT);
	Elf *e = elf_begin(fd, ELF_C_READ, NULL);
	GElf_Ehdr eh;
	if (e && elf_kind(e) == ELF_K_AR)
		yes = true;
	else if (e && elf_kind(e) == ELF_K_ELF && gelf_getehdr(e, &eh) && eh.e_type == ET_REL)
		yes = true;
	elf_end(e);
	close(fd);
	return yes;
}

static bool is_source(const char *a)
{
	static const char *const exts[] = {".c", ".cc", ".cpp", ".cxx", ".C", ".s", ".S", ".i"};
	const char *e = ext(a);
	for (size_t i = 0; i < ARRAY_SIZE(exts); i++)
		if (!strcmp(e, exts[i]))
			return true;
	return false;
}

static int run_wait(char **argv)
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		return -errno;
	if (!pid) {
		execvp(argv[0], argv);
		fprintf(stderr, "hotpatch cc: %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void abspath(const char *cwd, const char *p, char *out, size_t size)
{
	int n = p[0] == '/' ? snprintf(out, size, "%s", p) : snprintf(out, size, "%s/%s", cwd, p);
	if (n < 0 || (size_t)n >= size)
		out[0] = 0; /* too long: recorded as nothing, the Creator then ignores it */
}

int cc_main(int argc, char **argv)
{
	bool cxx = !strcmp(argv[0], "c++");
	const char *real = getenv(cxx ? "HOTPATCH_CXX_REAL" : "HOTPATCH_CC_REAL");
	const char *logdir = getenv("HOTPATCH_CC_LOG");
	/* argv[0] is "cc" or "c++": our arguments start at 1 */
	char **av = calloc((size_t)argc + 8, sizeof(*av));
	int n = 0, rc;
	bool compile = false, nolink = false, lto = false;
	const char *out = NULL;
	char cwd[PATH_MAX];

	if (!real || !*real)
		real = cxx ? "g++" : "gcc";
	if (!av || !getcwd(cwd, sizeof(cwd))) {
		perror("hotpatch cc");
		return 1;
	}
	av[n++] = (char *)real;
	for (int i = 1; i < argc; i++)
		av[n++] = argv[i];
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-c"))
			compile = true;
		else if (!strcmp(a, "-E") || !strcmp(a, "-S") || !strcmp(a, "-M") ||
			 !strcmp(a, "-MM") || !strncmp(a, "--version", 9) || !strcmp(a, "-v") ||
			 !strncmp(a, "-print-", 7) || !strncmp(a, "-dump", 5))
			nolink = true;
		else if (!strncmp(a, "-flto", 5) && strcmp(a, "-flto-partition=none"))
			lto = !!strcmp(a, "-fno-lto");
		if (!strcmp(a, "-o") && i + 1 < argc)
			out = argv[i + 1];
		if (takes_value(a))
			i++;
	}
	(void)lto; /* LTO objects are recognized, and refused, by their sections */
	if (!logdir || !*logdir || nolink) {
		execvp(real, av);
		fprintf(stderr, "hotpatch cc: %s: %s\n", real, strerror(errno));
		return 127;
	}
	av[n++] = "-ffunction-sections";
	av[n++] = "-fdata-sections";
	av[n] = NULL;

	/* a pid can come again in a long build: never overwrite an earlier record */
	char recpath[PATH_MAX];
	FILE *rec = NULL;
	unsigned seq;
	for (seq = 0; !rec && seq < 1000; seq++) {
		snprintf(recpath, sizeof(recpath), "%s/rec.%d.%u", logdir, (int)getpid(), seq);
		int fd = open(recpath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd >= 0)
			rec = fdopen(fd, "w");
		else if (errno != EEXIST)
			break;
	}
	if (!rec) {
		fprintf(stderr, "hotpatch cc: %s: %s\n", recpath, strerror(errno));
		return 1;
	}
	fprintf(rec, "cwd %s\n", cwd);

	int nsrc = 0;
	for (int i = 1; i < argc; i++) {
		if (takes_value(argv[i])) {
			i++;
			continue;
		}
		if (argv[i][0] != '-' && is_source(argv[i]))
			nsrc++;
	}
	if (compile) {
		for (int i = 1; i < argc; i++) {
			char obj[PATH_MAX], objabs[PATH_MAX];
			if (takes_value(argv[i])) {
				i++;
				continue;
			}
			if (argv[i][0] == '-' || !is_source(argv[i]))
				continue;
			if (out && nsrc == 1) {
				snprintf(obj, sizeof(obj), "%s", out);
			} else {
				const char *b = strrchr(argv[i], '/');
				b = b ? b + 1 : argv[i];
				snprintf(obj, sizeof(obj), "%.*s.o",
					 (int)(strlen(b) - strlen(ext(b))), b);
			}
			abspath(cwd, obj, objabs, sizeof(objabs));
			fprintf(rec, "obj %s %s\n", objabs, argv[i]);
		}
		fclose(rec);
		execvp(real, av);
		fprintf(stderr, "hotpatch cc: %s: %s\n", real, strerror(errno));
		return 127;
	}

	/* A link, maybe compiling sources on the way: compile each to an object of ours first. */
	char outabs[PATH_MAX];
	char(*mine)[PATH_MAX] = calloc((size_t)argc, sizeof(*mine));
	int nmine = 0;
	if (!mine) {
		fclose(rec);
		return 1;
	}
	abspath(cwd, out ? out : "a.out", outabs, sizeof(outabs));
	for (int i = 1; i < argc; i++) {
		if (takes_value(argv[i])) {
			i++;
			continue;
		}
		if (argv[i][0] == '-' || !is_source(argv[i]))
			continue;
		char obj[PATH_MAX];
		char **cv = calloc((size_t)argc + 8, sizeof(*cv));
		int k = 0;
		if (!cv) {
			fclose(rec);
			return 1;
		}
		snprintf(obj, sizeof(obj), "%s/x.%d.%u.%d.o", logdir, (int)getpid(), seq, i);
		cv[k++] = (char *)real;
		for (int j = 1; j < argc; j++) {
			const char *a = argv[j];
			if (!strcmp(a, "-o")) {
				j++;
				continue;
			}
			if (takes_value(a) && j + 1 < argc) {
				if (strcmp(a, "-l") && strcmp(a, "-L") && strcmp(a, "-Xlinker") &&
				    strcmp(a, "-T") && strcmp(a, "-u") && strcmp(a, "-e")) {
					cv[k++] = argv[j];
					cv[k++] = argv[j + 1];
				}
				j++;
				continue;
			}
			if (a[0] != '-' && j != i)
				continue; /* other sources, objects, archives */
			if (!strncmp(a, "-l", 2) || !strncmp(a, "-L", 2) ||
			    !strncmp(a, "-Wl,", 4) || !strcmp(a, "-shared") || !strcmp(a, "-pie") ||
			    !strcmp(a, "-static") || !strcmp(a, "-rdynamic"))
				continue;
			cv[k++] = argv[j];
		}
		cv[k++] = "-ffunction-sections";
		cv[k++] = "-fdata-sections";
		cv[k++] = "-c";
		cv[k++] = "-o";
		cv[k++] = obj;
		cv[k] = NULL;
		rc = run_wait(cv);
		free(cv);
		if (rc) {
			fclose(rec);
			return rc;
		}
		fprintf(rec, "obj %s %s\n", obj, argv[i]);
		hp_strlcpy(mine[nmine++], obj, sizeof(mine[0]));
	}
	fprintf(rec, "link %s\n", outabs);
	for (int i = 0; i < nmine; i++)
		fprintf(rec, "in %s\n", mine[i]);
	free(mine);
	for (int i = 1; i < argc; i++) {
		char p[PATH_MAX];
		if (takes_value(argv[i])) {
			i++;
			continue;
		}
		if (argv[i][0] == '-' || is_source(argv[i]))
			continue;
		abspath(cwd, argv[i], p, sizeof(p));
		if (is_link_input(p))
			fprintf(rec, "in %s\n", p);
	}
	fclose(rec);
	execvp(real, av);
	fprintf(stderr, "hotpatch cc: %s: %s\n", real, strerror(errno));
	return 127;
}

/* ---- reading the records ---- */

static char *rebase(const char *p, const char *from, const char *to)
{
	size_t fl = from ? strlen(from) : 0;
	char *r;

	if (fl && !strncmp(p, from, fl) && (p[fl] == '/' || !p[fl])) {
		if (asprintf(&r, "%s%s", to, p + fl) < 0)
			return NULL;
		return r;
	}
	return strdup(p);
}

static int grow(void **v, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return 0;
	size_t nc = *cap ? *cap * 2 : 16;
	void *nv = realloc(*v, nc * size);
	if (!nv)
		return -ENOMEM;
	memset((char *)nv + *cap * size, 0, (nc - *cap) * size);
	*v = nv;
	*cap = nc;
	return 0;
}

static int cmp_rec(const void *a, const void *b)
{
	return strcmp(((const struct cc_rec *)a)->key, ((const struct cc_rec *)b)->key);
}

static size_t stem_len(const char *b)
{
	const char *d = strrchr(b, '.');
	return d ? (size_t)(d - b) : strlen(b);
}

static const char *base_of(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

/*
 * A link input that no compile produced under that name (x.lo) is the
 * object of the one compile whose output is gone (moved away: objs/x.o) and
 * whose source has its stem (x.c): that compile's object is the input.
 */
static int moved_objects(struct cc_log *log)
{
	struct stat st;

	for (size_t li = 0; li < log->nlink; li++)
		for (size_t k = 0; k < log->link[li].nin; k++) {
			const char *in = log->link[li].in[k];
			const char *ib = base_of(in);
			size_t il = stem_len(ib), hits = 0, hit = 0;
			bool known = false;
			for (size_t i = 0; i < log->nrec && !known; i++)
				known = !strcmp(log->rec[i].obj, in);
			if (known || !strcmp(ext(in), ".a"))
				continue;
			for (size_t i = 0; i < log->nrec; i++) {
				const char *sb = base_of(log->rec[i].src);
				if (stem_len(sb) == il && !strncmp(sb, ib, il) &&
				    stat(log->rec[i].obj, &st)) {
					hits++;
					hit = i;
				}
			}
			if (hits != 1)
				continue;
			char *o = strdup(in);
			if (!o)
				return -ENOMEM;
			free(log->rec[hit].obj);
			log->rec[hit].obj = o;
		}
	return 0;
}

int cc_log_read(const char *dir, const char *from, const char *to, struct cc_log *log)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t rcap = 0, lcap = 0;
	int err = 0;

	memset(log, 0, sizeof(*log));
	if (!d)
		return hp_err(errno, "%s: %s", dir, strerror(errno));
	while (!err && (de = readdir(d))) {
		char path[PATH_MAX], line[3 * PATH_MAX], cwd[PATH_MAX] = "";
		if (strncmp(de->d_name, "rec.", 4))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		FILE *f = fopen(path, "re");
		if (!f)
			continue;
		struct cc_link *lk = NULL;
		size_t icap = 0;
		while (!err && fgets(line, sizeof(line), f)) {
			line[strcspn(line, "\n")] = 0;
			if (!strncmp(line, "cwd ", 4)) {
				hp_strlcpy(cwd, line + 4, sizeof(cwd));
			} else if (!strncmp(line, "obj ", 4)) {
				char *sp = strchr(line + 4, ' ');
				if (!sp)
					continue;
				*sp = 0;
				err = grow((void **)&log->rec, &rcap, log->nrec, sizeof(*log->rec));
				if (err)
					break;
				struct cc_rec *r = &log->rec[log->nrec++];
				r->cwd = rebase(cwd, from, to);
				r->src = strdup(sp + 1);
				r->obj = rebase(line + 4, from, to);
				const char *e = ext(r->src);
				r->is_asm = !strcmp(e, ".s") || !strcmp(e, ".S");
				/* the objects of our own compiles (x.PID.N.o) differ by pid: pair
				 * by source */
				if (strstr(line + 4, "/x.") && !strncmp(line + 4, dir, strlen(dir)))
					err = asprintf(&r->key, "src:%s/%s", cwd, r->src) < 0
						  ? -ENOMEM
						  : 0;
				else
					r->key = strdup(line + 4);
				if (!r->cwd || !r->src || !r->obj || !r->key)
					err = -ENOMEM;
			} else if (!strncmp(line, "link ", 5)) {
				err = grow((void **)&log->link, &lcap, log->nlink,
					   sizeof(*log->link));
				if (err)
					break;
				lk = &log->link[log->nlink++];
				icap = 0;
				lk->out = rebase(line + 5, from, to);
				if (!lk->out)
					err = -ENOMEM;
			} else if (!strncmp(line, "in ", 3) && lk) {
				err = grow((void **)&lk->in, &icap, lk->nin, sizeof(*lk->in));
				if (!err && !(lk->in[lk->nin++] = rebase(line + 3, from, to)))
					err = -ENOMEM;
			}
		}
		fclose(f);
	}
	closedir(d);
	if (log->nrec)
		qsort(log->rec, log->nrec, sizeof(*log->rec), cmp_rec);
	if (!err)
		err = moved_objects(log);
	return err;
}

void cc_log_release(struct cc_log *log)
{
	for (size_t i = 0; i < log->nrec; i++) {
		free(log->rec[i].cwd);
		free(log->rec[i].src);
		free(log->rec[i].obj);
		free(log->rec[i].key);
	}
	for (size_t i = 0; i < log->nlink; i++) {
		free(log->link[i].out);
		for (size_t k = 0; k < log->link[i].nin; k++)
			free(log->link[i].in[k]);
		free(log->link[i].in);
	}
	free(log->rec);
	free(log->link);
	memset(log, 0, sizeof(*log));
}

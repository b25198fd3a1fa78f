/* SPDX-License-Identifier: MIT */
/*
 * Multi-process targets: every process whose main executable is a given file
 * (--all-of PATH) or has a given GNU build-id (--build-id HEX).
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/kcmp.h>
#include <sys/syscall.h>

#include "common/common.h"
#include "elf/elf.h"
#include "cli/cli.h"

/* Build-id of one executable file, so each distinct file is parsed once. */
struct bid_cache_ent {
	dev_t dev;
	ino_t ino;
	int err;				/* 0, or why there is no build-id */
	char hex[HOTPATCH_BUILD_ID_MAX];
};

struct bid_cache {
	struct bid_cache_ent *v;
	size_t n, cap;
};

static int pid_cmp(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
	return (x > y) - (x < y);
}

/* /proc/PID/exe as the kernel names it; -errno for kernel threads and zombies (no mm). */
static int exe_path(pid_t pid, char *buf, size_t size)
{
	char link[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
	n = readlink(link, buf, size - 1);
	if (n < 0)
		return -errno;
	if ((size_t)n == size - 1)
		return -ENAMETOOLONG;
	buf[n] = 0;
	return 0;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && !strcmp(s + n - m, suffix);
}

/*
 * Build-id of pid's executable, via the cache. The file is opened through
 * /proc/PID/exe: it works for a binary replaced or deleted on disk since the
 * process started, whose old code is exactly what would be patched.
 */
static int exe_build_id(struct bid_cache *c, pid_t pid, const char **hex)
{
	char link[64], display[PATH_MAX];
	struct bid_cache_ent *e;
	struct elf_file *ef;
	struct stat st;
	int err;

	snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
	if (stat(link, &st))
		return -errno;
	for (size_t i = 0; i < c->n; i++) {
		e = &c->v[i];
		if (e->dev == st.st_dev && e->ino == st.st_ino) {
			*hex = e->hex;
			return e->err;
		}
	}
	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 16;
		struct bid_cache_ent *v = realloc(c->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		c->v = v;
		c->cap = cap;
	}
	e = &c->v[c->n++];
	memset(e, 0, sizeof(*e));
	e->dev = st.st_dev;
	e->ino = st.st_ino;
	if (exe_path(pid, display, sizeof(display)))
		snprintf(display, sizeof(display), "%s", link);
	err = elf_file_open(link, display, &ef);
	if (!err) {
		err = elf_file_build_id(ef, e->hex);
		elf_file_free(ef);
	}
	if (err)
		e->hex[0] = 0;
	e->err = err;
	hp_debug("'%s': build-id %s", display, err ? hotpatch_strerror(err) : e->hex);
	*hex = e->hex;
	return err;
}

static bool shares_parent_mm(pid_t pid)
{
	char path[64], line[256];
	long ppid = 0;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "PPid: %ld", &ppid) == 1)
			break;
	fclose(f);
	return ppid > 0 && syscall(SYS_kcmp, (pid_t)ppid, pid, KCMP_VM, 0, 0) == 0;
}

static int push_pid(pid_t **v, size_t *n, size_t *cap, pid_t pid)
{
	if (*n == *cap) {
		size_t c = *cap ? 2 * *cap : 64;
		pid_t *nv = realloc(*v, c * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		*v = nv;
		*cap = c;
	}
	(*v)[(*n)++] = pid;
	return 0;
}

int cli_find_targets(const struct cli_args *a, pid_t **pids, size_t *n, char *msg, size_t msgsz)
{
	struct bid_cache cache = { 0 };
	char want[PATH_MAX], exe[PATH_MAX];
	pid_t self = getpid(), *v = NULL;
	size_t nv = 0, cap = 0;
	struct dirent *de;
	int err = 0;
	DIR *d;

	*pids = NULL;
	*n = 0;
	if (a->target == CLI_TARGET_ALL_OF && !realpath(a->target_arg, want)) {
		err = -errno;
		snprintf(msg, msgsz, "'%s': %s", a->target_arg, strerror(errno));
		return err;
	}
	d = opendir("/proc");
	if (!d) {
		err = -errno;
		snprintf(msg, msgsz, "cannot read '/proc': %s", strerror(errno));
		return err;
	}
	while ((de = readdir(d))) {
		const char *hex = "";
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (*end || pid <= 0 || pid > INT_MAX || pid == self)
			continue;
		/*
		 * Kernel threads and zombies have no executable: readlink fails,
		 * so they are skipped here, and so are processes we may not inspect.
		 */
		if (exe_path((pid_t)pid, exe, sizeof(exe)))
			continue;
		if (a->target == CLI_TARGET_ALL_OF) {
			/* The kernel appends " (deleted)" once the file is gone or replaced. */
			if (ends_with(exe, " (deleted)") || strcmp(exe, want))
				continue;
		} else if (exe_build_id(&cache, (pid_t)pid, &hex) || strcasecmp(hex, a->target_arg)) {
			continue;
		}
		/* A vfork child before its exec is its parent's memory, not a process to patch. */
		if (shares_parent_mm((pid_t)pid))
			continue;
		err = push_pid(&v, &nv, &cap, (pid_t)pid);
		if (err) {
			snprintf(msg, msgsz, "%s", strerror(-err));
			break;
		}
	}
	closedir(d);
	free(cache.v);
	if (err) {
		free(v);
		return err;
	}
	/* readdir order of /proc is not a documented promise. */
	if (nv)
		qsort(v, nv, sizeof(*v), pid_cmp);
	*pids = v;
	*n = nv;
	return 0;
}

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

#include "common/macros.h"
#include "libhotpatch.h"
#include "cli/cli.h"
#include "cli/registry.h"

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

/* A vfork child before exec: it runs in its parent's memory, no target of its own. */
static bool shares_parent_mm(pid_t pid)
{
	pid_t parent;
	return !hotpatch_mm_parent(pid, &parent) && parent;
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
	struct reg_bid_cache cache = { 0 };
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
		} else if (reg_pid_build_id(&cache, (pid_t)pid, &hex) || strcasecmp(hex, a->target_arg)) {
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
	reg_bid_cache_release(&cache);
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

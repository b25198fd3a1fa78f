/* SPDX-License-Identifier: MIT */
/*
 * `hotpatch install`, `uninstall`, `installed` and `status`: the patch
 * directory (registry.c) and the system-wide view of applied and missing
 * patches. Targets are only read here (hotpatch_list), never stopped.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <unistd.h>

#include "common/macros.h"
#include "libhotpatch.h"
#include "cli/cli.h"
#include "cli/registry.h"

static void json_entry(struct json *j, const char *key, const struct reg_entry *e)
{
	json_begin_object(j, key);
	json_string(j, "id", e->build_id);
	json_string(j, "target_build_id", e->target);
	json_uint(j, "seq", e->seq);
	json_string(j, "path", e->path);
	json_string(j, "pin", e->pin);
	json_uint(j, "functions", e->nfuncs);
	if (e->err)
		json_string(j, "error", hotpatch_strerror(e->err));
	json_end_object(j);
}

static void json_head(struct json *j, const struct cli_args *a, const char *dir)
{
	json_begin_object(j, NULL);
	json_uint(j, "version", 1);
	json_string(j, "command", cli_cmd_name(a->cmd));
	json_string(j, "dir", dir);
}

/* The end of a failed command: one line on stderr, the JSON document closed. */
static int fail(struct json *j, int err, const char *msg, int rc)
{
	fprintf(stderr, "hotpatch: %s\n", msg);
	if (j) {
		json_bool(j, "ok", false);
		json_error(j, err, msg);
		json_end_object(j);
	}
	return rc;
}

static bool same_id(const char *x, const char *y)
{
	return *x && !strcasecmp(x, y);
}

static int do_install(const struct cli_args *a, struct json *j, const char *dir)
{
	char msg[1024], bid[HOTPATCH_BUILD_ID_MAX], canon[PATH_MAX];
	struct hotpatch_patch p = { 0 };
	struct reg_entry e;
	bool already;
	const char *target;
	int err;

	err = hotpatch_info(a->file, &p);
	if (err) {
		cli_msg(msg, sizeof(msg), "%s", *hotpatch_errmsg() ? hotpatch_errmsg()
								: hotpatch_strerror(err));
		return fail(j, err, msg, cli_exit_code(err));
	}
	target = p.pin;
	if (a->binary) {
		err = reg_file_build_id(a->binary, bid);
		if (err) {
			cli_msg(msg, sizeof(msg), "'%s': %s", a->binary,
				err == -ENOENT && !access(a->binary, F_OK) ? "no GNU build-id"
									    : hotpatch_strerror(err));
			hotpatch_patch_release(&p);
			return fail(j, err, msg, err == -ENOENT ? EXIT_FAIL : cli_exit_code(err));
		}
		target = bid;
	} else if (a->target == CLI_TARGET_BUILD_ID) {
		target = a->target_arg;
	}
	if (!*target) {
		cli_msg(msg, sizeof(msg),
			"'%s': no HOTPATCH_BUILD_ID pin: name its binary with --binary PATH or "
			"--build-id HEX",
			a->file);
		hotpatch_patch_release(&p);
		return fail(j, -EINVAL, msg, EXIT_USAGE);
	}
	if (*p.pin && !same_id(p.pin, target)) {
		cli_msg(msg, sizeof(msg), "'%s' is pinned to build-id %s, not %s", a->file, p.pin,
			target);
		hotpatch_patch_release(&p);
		return fail(j, -HOTPATCH_E_BUILDID, msg, EXIT_FAIL);
	}
	err = reg_install(dir, realpath(a->file, canon) ? canon : a->file, &p, target, &e, &already,
			  msg, sizeof(msg));
	hotpatch_patch_release(&p);
	if (err)
		return fail(j, err, msg, err == -EACCES || err == -EPERM ? EXIT_PERM : EXIT_FAIL);
	if (!already)
		syslog(LOG_INFO, "install patch=%s id=%s target=%s path=%s", a->file, e.build_id,
		       e.target, e.path);
	if (j) {
		json_bool(j, "ok", true);
		json_bool(j, "changed", !already);
		json_entry(j, "entry", &e);
		json_end_object(j);
	} else {
		printf("%s %s as %s (id %s) for build-id %s\n", already ? "already installed" : "installed",
		       a->file, e.path, e.build_id, e.target);
	}
	return EXIT_OK;
}

/* Is 'what' a patch file (not an id)? Then match by its build-id. */
static void what_id(const char *what, char *id, size_t size)
{
	struct hotpatch_patch p = { 0 };

	cli_msg(id, size, "%s", what);
	if (strchr(what, '/') || !access(what, F_OK)) {
		if (!hotpatch_info(what, &p) && *p.build_id)
			cli_msg(id, size, "%s", p.build_id);
		hotpatch_patch_release(&p);
	}
}

static int do_uninstall(const struct cli_args *a, struct json *j, const char *dir)
{
	char msg[1024], id[PATH_MAX], canon[PATH_MAX];
	unsigned removed = 0;
	struct reg r;
	int err;

	err = reg_load(dir, &r, msg, sizeof(msg));
	if (err)
		return fail(j, err, msg, EXIT_FAIL);
	what_id(a->what, id, sizeof(id));
	if (!realpath(a->what, canon))
		cli_msg(canon, sizeof(canon), "%s", a->what);
	if (j)
		json_begin_array(j, "removed");
	for (size_t i = 0; i < r.n; i++) {
		if (!reg_match(&r.v[i], id) && strcmp(r.v[i].path, canon))
			continue;
		err = reg_remove(dir, &r.v[i], msg, sizeof(msg));
		if (err)
			break;
		removed++;
		syslog(LOG_INFO, "uninstall id=%s target=%s path=%s", r.v[i].build_id, r.v[i].target,
		       r.v[i].path);
		if (j)
			json_entry(j, NULL, &r.v[i]);
		else
			printf("uninstalled %s (id %s) for build-id %s\n", r.v[i].path,
			       r.v[i].build_id, r.v[i].target);
	}
	reg_release(&r);
	if (j)
		json_end_array(j);
	if (err)
		return fail(j, err, msg, EXIT_FAIL);
	if (!removed) {
		cli_msg(msg, sizeof(msg), "'%s' is not installed in '%s'", a->what, dir);
		return fail(j, -ENOENT, msg, EXIT_FAIL);
	}
	if (j) {
		json_bool(j, "ok", true);
		json_bool(j, "changed", true);
		json_end_object(j);
	}
	return EXIT_OK;
}

static int do_installed(const struct cli_args *a, struct json *j, const char *dir)
{
	char msg[1024];
	struct reg r;
	int err;

	(void)a;
	err = reg_load(dir, &r, msg, sizeof(msg));
	if (err)
		return fail(j, err, msg, EXIT_FAIL);
	if (j) {
		json_bool(j, "ok", true);
		json_begin_array(j, "patches");
		for (size_t i = 0; i < r.n; i++)
			json_entry(j, NULL, &r.v[i]);
		json_end_array(j);
		json_end_object(j);
	} else if (!r.n) {
		printf("no patches installed in %s\n", dir);
	}
	for (size_t i = 0; !j && i < r.n; i++) {
		const struct reg_entry *e = &r.v[i];

		if (!i || strcmp(e->target, r.v[i - 1].target))
			printf("build-id %s:\n", e->target);
		if (e->err)
			printf("  %s: error: %s\n", e->path, hotpatch_strerror(e->err));
		else
			printf("  %s %s (%u function%s)\n", e->build_id, e->path, e->nfuncs,
			       e->nfuncs == 1 ? "" : "s");
	}
	reg_release(&r);
	return EXIT_OK;
}

/* ---- status ---- */

static bool has_patch(const struct hotpatch_patch *v, unsigned n, const char *build_id)
{
	for (unsigned i = 0; i < n; i++)
		if (!strcmp(v[i].build_id, build_id))
			return true;
	return false;
}

static int do_status(const struct cli_args *a, struct json *j, const char *dir)
{
	struct reg_bid_cache cache = { 0 };
	unsigned nproc = 0, nmissing = 0;
	pid_t self = getpid();
	struct dirent *de;
	char msg[1024];
	struct reg r;
	DIR *d;
	int err;

	(void)a;
	err = reg_load(dir, &r, msg, sizeof(msg));
	if (err)
		return fail(j, err, msg, EXIT_FAIL);
	d = opendir("/proc");
	if (!d) {
		err = -errno;
		reg_release(&r);
		cli_msg(msg, sizeof(msg), "cannot read '/proc': %s", strerror(errno));
		return fail(j, err, msg, EXIT_FAIL);
	}
	if (j)
		json_begin_array(j, "processes");
	while ((de = readdir(d))) {
		struct hotpatch_patch *v = NULL;
		const char *bid = "";
		char *end, exe[PATH_MAX], link[64];
		long pid = strtol(de->d_name, &end, 10);
		unsigned n = 0, miss = 0;
		ssize_t len;

		if (*end || pid <= 0 || pid > INT_MAX || pid == self)
			continue;
		snprintf(link, sizeof(link), "/proc/%ld/exe", pid);
		len = readlink(link, exe, sizeof(exe) - 1);
		if (len < 0)
			continue;	/* kernel thread, zombie, or gone */
		exe[len] = 0;
		/* Only the state the target carries says what is applied; no state = none. */
		if (hotpatch_list((pid_t)pid, &v, &n))
			n = 0;
		if (r.n && !reg_pid_build_id(&cache, (pid_t)pid, &bid))
			for (size_t i = 0; i < r.n; i++)
				if (!strcmp(r.v[i].target, bid) && *r.v[i].build_id &&
				    !has_patch(v, n, r.v[i].build_id))
					miss++;
		if (!n && !miss) {
			hotpatch_list_free(v, n);
			continue;
		}
		nproc++;
		nmissing += miss;
		if (j) {
			json_begin_object(j, NULL);
			json_int(j, "pid", pid);
			json_string(j, "exe", exe);
			json_string(j, "build_id", bid);
			json_begin_array(j, "patches");
			for (unsigned i = 0; i < n; i++)
				json_patch(j, NULL, &v[i]);
			json_end_array(j);
			json_begin_array(j, "missing");
		} else {
			printf("pid %ld %s: %u patch%s applied%s\n", pid, exe, n, n == 1 ? "" : "es",
			       miss ? ", some registered patches missing" : "");
			for (unsigned i = 0; i < n; i++)
				printf("  patch %u %s (build-id %s)\n", v[i].id, v[i].path,
				       v[i].build_id);
		}
		for (size_t i = 0; miss && i < r.n; i++) {
			if (strcmp(r.v[i].target, bid) || !*r.v[i].build_id ||
			    has_patch(v, n, r.v[i].build_id))
				continue;
			if (j)
				json_entry(j, NULL, &r.v[i]);
			else
				printf("  missing %s (id %s)\n", r.v[i].path, r.v[i].build_id);
		}
		if (j) {
			json_end_array(j);
			json_end_object(j);
		}
		hotpatch_list_free(v, n);
	}
	closedir(d);
	if (j) {
		json_end_array(j);
		json_begin_array(j, "installed");
		for (size_t i = 0; i < r.n; i++)
			json_entry(j, NULL, &r.v[i]);
		json_end_array(j);
		json_bool(j, "ok", true);
		json_uint(j, "patched_or_missing", nproc);
		json_uint(j, "missing", nmissing);
		json_end_object(j);
	} else {
		printf("%u process%s with patches or missing patches; %u missing patch%s; "
		       "%zu patch%s installed in %s\n",
		       nproc, nproc == 1 ? "" : "es", nmissing, nmissing == 1 ? "" : "es", r.n,
		       r.n == 1 ? "" : "es", dir);
	}
	reg_bid_cache_release(&cache);
	reg_release(&r);
	return EXIT_OK;
}

int cli_persist(const struct cli_args *a, struct json *j)
{
	const char *dir = reg_dir(a->dir);
	int rc;

	if (j)
		json_head(j, a, dir);
	openlog("hotpatch", LOG_PID, LOG_USER);
	switch (a->cmd) {
	case CLI_INSTALL:
		rc = do_install(a, j, dir);
		break;
	case CLI_UNINSTALL:
		rc = do_uninstall(a, j, dir);
		break;
	case CLI_INSTALLED:
		rc = do_installed(a, j, dir);
		break;
	default:
		rc = do_status(a, j, dir);
		break;
	}
	closelog();
	return rc;
}

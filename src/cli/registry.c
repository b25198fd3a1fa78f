/* SPDX-License-Identifier: MIT */
/* The patch directory: registered patches keyed by the build-id of their target binary. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/macros.h"
#include "libhotpatch.h"
#include "cli/registry.h"

/* dst = src, cut to size (always terminated). */
static void copy_str(char *dst, const char *src, size_t size)
{
	size_t n = strnlen(src, size - 1);

	memcpy(dst, src, n);
	dst[n] = 0;
}

struct reg_bid_ent {
	dev_t dev;
	ino_t ino;
	struct timespec mtime;	/* a binary rebuilt in place keeps its inode */
	off_t size;
	int err;
	char hex[HOTPATCH_BUILD_ID_MAX];
};

const char *reg_dir(const char *opt)
{
	const char *e = getenv(REG_DIR_ENV);

	if (opt && *opt)
		return opt;
	return e && *e ? e : REG_DEFAULT_DIR;
}

static bool is_hex(const char *s)
{
	size_t n = strlen(s);
	return n >= 2 && n < HOTPATCH_BUILD_ID_MAX && strspn(s, "0123456789abcdef") == n;
}

/* "0001-name.so" -> seq 1; false for anything else (temp files, strays). */
static bool parse_name(const char *name, unsigned *seq)
{
	size_t nd = strspn(name, "0123456789"), len = strlen(name);
	char *end;

	if (nd < 4 || nd > 9 || name[nd] != '-' || len < nd + 5 || strcmp(name + len - 3, ".so"))
		return false;
	*seq = (unsigned)strtoul(name, &end, 10);
	return true;
}

static int entry_cmp(const void *a, const void *b)
{
	const struct reg_entry *x = a, *y = b;
	int c = strcmp(x->target, y->target);

	if (c)
		return c;
	return (x->seq > y->seq) - (x->seq < y->seq);
}

static int push(struct reg *r, size_t *cap, struct reg_entry **e)
{
	if (r->n == *cap) {
		size_t c = *cap ? 2 * *cap : 16;
		struct reg_entry *v = realloc(r->v, c * sizeof(*v));

		if (!v)
			return -ENOMEM;
		r->v = v;
		*cap = c;
	}
	*e = &r->v[r->n++];
	memset(*e, 0, sizeof(**e));
	return 0;
}

static int load_target(const char *dir, const char *target, struct reg *r, size_t *cap)
{
	char sub[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int err = 0;

	snprintf(sub, sizeof(sub), "%s/%s", dir, target);
	d = opendir(sub);
	if (!d)
		return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
	while ((de = readdir(d))) {
		struct hotpatch_patch p;
		struct reg_entry *e;
		unsigned seq;

		if (!parse_name(de->d_name, &seq))
			continue;
		err = push(r, cap, &e);
		if (err)
			break;
		copy_str(e->target, target, sizeof(e->target));
		e->seq = seq;
		if ((size_t)snprintf(e->path, sizeof(e->path), "%s/%s", sub, de->d_name) >=
		    sizeof(e->path)) {
			r->n--;
			continue;
		}
		e->err = hotpatch_info(e->path, &p);
		if (!e->err) {
			copy_str(e->build_id, p.build_id, sizeof(e->build_id));
			copy_str(e->pin, p.pin, sizeof(e->pin));
			e->nfuncs = p.nfuncs;
		}
		hotpatch_patch_release(&p);
	}
	closedir(d);
	return err;
}

int reg_load(const char *dir, struct reg *r, char *msg, size_t msgsz)
{
	struct dirent *de;
	size_t cap = 0;
	int err = 0;
	DIR *d;

	memset(r, 0, sizeof(*r));
	d = opendir(dir);
	if (!d) {
		if (errno == ENOENT)
			return 0;
		err = -errno;
		snprintf(msg, msgsz, "cannot read patch directory '%s': %s", dir, strerror(errno));
		return err;
	}
	while (!err && (de = readdir(d)))
		if (is_hex(de->d_name))
			err = load_target(dir, de->d_name, r, &cap);
	closedir(d);
	if (err) {
		snprintf(msg, msgsz, "cannot read patch directory '%s': %s", dir, strerror(-err));
		reg_release(r);
		return err;
	}
	if (r->n)
		qsort(r->v, r->n, sizeof(*r->v), entry_cmp);
	return 0;
}

void reg_release(struct reg *r)
{
	free(r->v);
	r->v = NULL;
	r->n = 0;
}

static int check_one(const char *path, char *msg, size_t msgsz)
{
	struct stat st;

	if (lstat(path, &st)) {
		int err = -errno;
		snprintf(msg, msgsz, "'%s': %s", path, strerror(errno));
		return err;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(msg, msgsz, "'%s': not a directory", path);
		return -ENOTDIR;
	}
	if ((st.st_uid != 0 && st.st_uid != geteuid()) || (st.st_mode & 022)) {
		snprintf(msg, msgsz,
			 "'%s': unsafe permissions: must be owned by root and writable by no one else",
			 path);
		return -HOTPATCH_E_FILEPERM;
	}
	return 0;
}

int reg_check_perms(const char *dir, char *msg, size_t msgsz)
{
	struct dirent *de;
	char sub[PATH_MAX];
	int err = check_one(dir, msg, msgsz);
	DIR *d;

	if (err)
		return err;
	d = opendir(dir);
	if (!d)
		return 0;
	while (!err && (de = readdir(d)))
		if (is_hex(de->d_name)) {
			snprintf(sub, sizeof(sub), "%s/%s", dir, de->d_name);
			err = check_one(sub, msg, msgsz);
		}
	closedir(d);
	return err;
}

/* mkdir -m 0755, root-owned when we are root; an existing directory is fine. */
static int make_dir(const char *path, char *msg, size_t msgsz)
{
	if (mkdir(path, 0755) && errno != EEXIST) {
		int err = -errno;
		snprintf(msg, msgsz, "cannot create '%s': %s", path, strerror(errno));
		return err;
	}
	return 0;
}

static int copy_fd(int in, int out)
{
	char buf[65536];
	ssize_t n;

	while ((n = read(in, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(out, buf + off, (size_t)(n - off));
			if (w < 0) {
				if (errno == EINTR)
					continue;
				return -errno;
			}
			off += w;
		}
	}
	return 0;
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

int reg_install(const char *dir, const char *patch, const struct hotpatch_patch *info,
		const char *target, struct reg_entry *out, bool *already, char *msg, size_t msgsz)
{
	char sub[PATH_MAX], tmp[PATH_MAX], name[256], bid[HOTPATCH_BUILD_ID_MAX];
	unsigned seq = 0;
	struct reg r;
	int err, in = -1, fd = -1;
	size_t k;

	*already = false;
	memset(out, 0, sizeof(*out));
	/* Build-ids are compared lowercase: the directory name is the key. */
	for (k = 0; target[k] && k < sizeof(bid) - 1; k++)
		bid[k] = (char)(target[k] >= 'A' && target[k] <= 'F' ? target[k] - 'A' + 'a' : target[k]);
	bid[k] = 0;
	err = reg_load(dir, &r, msg, msgsz);
	if (err)
		return err;
	for (size_t i = 0; i < r.n; i++) {
		if (strcmp(r.v[i].target, bid))
			continue;
		if (r.v[i].seq > seq)
			seq = r.v[i].seq;
		if (*info->build_id && !strcmp(r.v[i].build_id, info->build_id)) {
			*out = r.v[i];
			*already = true;
		}
	}
	reg_release(&r);
	if (*already)
		return 0;

	err = make_dir(dir, msg, msgsz);
	if (!err && (size_t)snprintf(sub, sizeof(sub), "%s/%s", dir, bid) >= sizeof(sub))
		err = -ENAMETOOLONG;
	if (!err)
		err = make_dir(sub, msg, msgsz);
	if (err)
		return err;
	/* The name keeps the file's own name, without a '.so' suffix twice. */
	snprintf(name, sizeof(name), "%s", base_name(patch));
	if (strlen(name) > 3 && !strcmp(name + strlen(name) - 3, ".so"))
		name[strlen(name) - 3] = 0;
	if ((size_t)snprintf(out->path, sizeof(out->path), "%s/%04u-%.200s.so", sub, seq + 1, name) >=
		    sizeof(out->path) ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%s/.tmp.%d.so", sub, (int)getpid()) >= sizeof(tmp)) {
		snprintf(msg, msgsz, "'%s': path too long", dir);
		return -ENAMETOOLONG;
	}

	in = open(patch, O_RDONLY | O_CLOEXEC);
	if (in < 0) {
		err = -errno;
		snprintf(msg, msgsz, "'%s': %s", patch, strerror(errno));
		return err;
	}
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		err = -errno;
		snprintf(msg, msgsz, "cannot create '%s': %s", tmp, strerror(errno));
		close(in);
		return err;
	}
	err = copy_fd(in, fd);
	/* Root-owned when we are root: the patch runs inside every matching process. */
	if (!err && geteuid() == 0 && fchown(fd, 0, 0))
		err = -errno;
	if (!err && fchmod(fd, 0644))
		err = -errno;
	if (!err && fsync(fd))
		err = -errno;
	if (close(fd) && !err)
		err = -errno;
	close(in);
	if (!err && rename(tmp, out->path))
		err = -errno;
	if (err) {
		snprintf(msg, msgsz, "cannot write '%s': %s", out->path, strerror(-err));
		unlink(tmp);
		return err;
	}
	fd = open(sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	copy_str(out->target, bid, sizeof(out->target));
	out->seq = seq + 1;
	copy_str(out->build_id, info->build_id, sizeof(out->build_id));
	copy_str(out->pin, info->pin, sizeof(out->pin));
	out->nfuncs = info->nfuncs;
	return 0;
}

int reg_remove(const char *dir, const struct reg_entry *e, char *msg, size_t msgsz)
{
	char sub[PATH_MAX];

	if (unlink(e->path) && errno != ENOENT) {
		int err = -errno;
		snprintf(msg, msgsz, "cannot remove '%s': %s", e->path, strerror(errno));
		return err;
	}
	snprintf(sub, sizeof(sub), "%s/%s", dir, e->target);
	rmdir(sub);	/* only when empty; failure is fine */
	return 0;
}

bool reg_match(const struct reg_entry *e, const char *what)
{
	size_t n = strlen(what);

	if (!strcmp(e->path, what) || !strcmp(e->build_id, what))
		return true;
	return n >= 8 && !strncasecmp(e->build_id, what, n);
}

int reg_file_build_id(const char *path, char hex[HOTPATCH_BUILD_ID_MAX])
{
	int err = hotpatch_build_id(path, hex, HOTPATCH_BUILD_ID_MAX);

	if (!err && !*hex)
		return -ENOENT;	/* an ELF file without a build-id */
	return err;
}

int reg_pid_build_id(struct reg_bid_cache *c, pid_t pid, const char **hex)
{
	struct reg_bid_ent *e;
	char link[64];
	struct stat st;

	snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
	if (stat(link, &st))
		return -errno;
	for (size_t i = 0; i < c->n; i++) {
		e = &c->v[i];
		if (e->dev == st.st_dev && e->ino == st.st_ino && e->size == st.st_size &&
		    e->mtime.tv_sec == st.st_mtim.tv_sec && e->mtime.tv_nsec == st.st_mtim.tv_nsec) {
			*hex = e->hex;
			return e->err;
		}
	}
	/* A long-running daemon sees every binary ever executed: start over past a bound. */
	if (c->n >= 4096)
		c->n = 0;
	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 16;
		struct reg_bid_ent *v = realloc(c->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		c->v = v;
		c->cap = cap;
	}
	e = &c->v[c->n++];
	memset(e, 0, sizeof(*e));
	e->dev = st.st_dev;
	e->ino = st.st_ino;
	e->size = st.st_size;
	e->mtime = st.st_mtim;
	e->err = reg_file_build_id(link, e->hex);
	*hex = e->hex;
	return e->err;
}

void reg_bid_cache_release(struct reg_bid_cache *c)
{
	free(c->v);
	memset(c, 0, sizeof(*c));
}

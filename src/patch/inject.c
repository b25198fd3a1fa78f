/* SPDX-License-Identifier: MIT */
/* Injecting an object: file policy and identity, placement, mapping checks, remote dlopen/dlclose/mmap. */
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "arch/arch.h"
#include "patch/patch.h"

/* ---- the file ---- */

/*
 * Whoever can rename entries of a directory on the path can swap the file
 * between our checks and the target's dlopen: every directory from the
 * file's up to / must be owned by root or by us, and not writable by others
 * unless sticky (/tmp: others cannot rename what is not theirs). canon is
 * canonical, so these are the real directories.
 */
static int patch_dirs_check(const char *canon)
{
	char dir[4096];
	struct stat ds;
	char *slash;

	hp_strlcpy(dir, canon, sizeof(dir));
	while ((slash = strrchr(dir, '/'))) {
		slash[slash == dir] = 0;	/* "/a/b" -> "/a", "/a" -> "/" */
		if (stat(dir, &ds))
			return hp_err(errno, "%s: %s", dir, strerror(errno));
		if (ds.st_uid != 0 && ds.st_uid != geteuid())
			return hp_err(HOTPATCH_E_FILEPERM,
				      "%s: directory of %s owned by uid %d, not by root or by us (uid %d): its owner could swap the file",
				      dir, canon, (int)ds.st_uid, (int)geteuid());
		if ((ds.st_mode & S_IWOTH) && !(ds.st_mode & S_ISVTX))
			return hp_err(HOTPATCH_E_FILEPERM,
				      "%s: directory of %s writable by others and not sticky (mode %04o): anyone could swap the file",
				      dir, canon, (unsigned)(ds.st_mode & 07777));
		if (!strcmp(dir, "/"))
			break;
	}
	return 0;
}

/*
 * The patch must be exactly what its owner wrote: a regular file owned by
 * root or by us, writable by nobody else (issue: a patch file is code that
 * will run inside a production process), in directories nobody else can
 * rename it in.
 */
int patch_file_check(const char *arg, char *canon, struct stat *st)
{
	if (!realpath(arg, canon))
		return hp_err(errno, "%s: %s", arg, errno == ENOENT ? "no such file" : strerror(errno));
	if (stat(canon, st))
		return hp_err(errno, "%s: %s", canon, strerror(errno));
	if (!S_ISREG(st->st_mode))
		return hp_err(HOTPATCH_E_NOTELF, "%s: not a regular file", canon);
	if (st->st_uid != 0 && st->st_uid != geteuid())
		return hp_err(HOTPATCH_E_FILEPERM, "%s: owned by uid %d, not by root or by us (uid %d)",
			      canon, (int)st->st_uid, (int)geteuid());
	if (st->st_mode & (S_IWGRP | S_IWOTH))
		return hp_err(HOTPATCH_E_FILEPERM,
			      "%s: writable by %s (mode %04o): anyone could change the code we load",
			      canon, st->st_mode & S_IWOTH ? "others" : "group",
			      (unsigned)(st->st_mode & 07777));
	return patch_dirs_check(canon);
}

/*
 * A patch linked without a GNU build-id still needs an identity, so that the
 * same bytes under another path are recognised as already applied: a hash
 * of the file's content (FNV-1a, 64 bits), shown as "content:HEX".
 */
void patch_content_id(const char *path, char *out, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;
	uint8_t buf[65536];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		for (ssize_t i = 0; i < n; i++)
			h = (h ^ buf[i]) * 0x100000001b3ull;
	close(fd);
	if (n == 0)
		snprintf(out, len, "content:%016llx", (unsigned long long)h);
}

/* The mapping shows the file identified by st: same device and inode. */
bool map_is_file(const struct map *m, const struct stat *st)
{
	return m->inode == (unsigned long long)st->st_ino &&
	       makedev(m->dev_major, m->dev_minor) == st->st_dev;
}

/* proc_maps_refresh as a probe: an unreadable map only means "unknown" to its callers. */
static bool maps_known(struct proc *p)
{
	hp_err_quiet_begin();
	int err = proc_maps_refresh(p);
	hp_err_quiet_end();
	return !err;
}

bool patch_file_mapped(struct proc *p, const struct stat *st)
{
	if (!maps_known(p))
		return true;	/* unknown: leave any mapping alone */
	for (size_t i = 0; i < p->nmaps; i++)
		if (map_is_file(&p->maps[i], st))
			return true;
	return false;
}

void patch_unmap_file(struct proc *p, struct thread *t, const struct stat *st)
{
	if (!maps_known(p))
		return;
	uint64_t (*leftover)[2] = calloc(p->nmaps + 1, sizeof(*leftover));
	size_t nl = 0;
	for (size_t i = 0; leftover && i < p->nmaps; i++)
		if (map_is_file(&p->maps[i], st)) {
			leftover[nl][0] = p->maps[i].start;
			leftover[nl++][1] = p->maps[i].end - p->maps[i].start;
		}
	for (size_t i = 0; i < nl; i++)
		remote_munmap(p, t, leftover[i][0], leftover[i][1]);
	free(leftover);
}

/* Check the loaded file is the one we checked: same device and inode in the target's maps. */
int patch_verify_mapping(struct proc *p, const char *path, const struct stat *st, uint64_t l_addr)
{
	int err = proc_maps_refresh(p);
	if (err)
		return err;
	const struct map *m = NULL;
	for (size_t i = 0; i < p->nmaps; i++)
		if (!strcmp(p->maps[i].path, path) && p->maps[i].start >= l_addr) {
			m = &p->maps[i];
			break;
		}
	if (!m)
		return hp_err(HOTPATCH_E_MISMATCH, "pid %d: %s is not mapped after dlopen", p->pid, path);
	if (!map_is_file(m, st))
		return hp_err(HOTPATCH_E_MISMATCH,
			      "pid %d: %s was replaced between check and load (inode %llu, expected %llu)",
			      p->pid, path, m->inode, (unsigned long long)st->st_ino);
	return 0;
}

/* ---- placement ---- */

/*
 * Placing the patch object. ld.so maps an object wherever mmap(NULL, ...)
 * puts it: among the libraries, terabytes away from a PIE executable, so
 * every replaced function of the executable would need a 14-byte absolute
 * jump (or an island for a short one) where a 5-byte direct jump would do,
 * and each patched call would land on a far page. So the dlopen is watched
 * and the one mmap that reserves the object's address range gets a hint: a
 * free gap within reach of a direct jump from every replaced function. A
 * hint is only a hint: if the gap has been taken meanwhile the kernel picks
 * as usual, and the jumps adapt to wherever the object landed.
 */
struct placement {
	uint64_t addr, span, align;
	dev_t dev;
	ino_t ino;
	unsigned seen;		/* system calls looked at */
	bool given;
};

/* Room kept free between the object and the mapping above it. */
#define PLACE_GUARD (64ull << 10)
/* rel32 reach from any replaced entry, less room for islands and rounding. */
#define PLACE_REACH ((1ull << 31) - (64ull << 20))
/* Never below this: the first megabyte stays as programs expect it, empty. */
#define PLACE_FLOOR (1ull << 20)

/*
 * Candidates are the gaps directly below an ordinary mapping, the spot the
 * kernel's own top-down allocator would take: never the stack's reserve
 * (below [stack]) or the vsyscall/vdso area, and never the room above the
 * heap that brk grows into. The one within direct reach of the most
 * replaced functions wins (a patch of both executable and library functions
 * cannot be near all of them); on a tie, the nearest. 0 when none reaches
 * any: ld.so decides.
 */
uint64_t placement_pick(const struct map *maps, size_t nmaps, uint64_t start_brk, uint64_t span,
			uint64_t align, const uint64_t *entries, size_t nentries)
{
	uint64_t best = 0, best_dist = UINT64_MAX, prev_end = 0;
	size_t best_n = 0;

	if (!span || span >= PLACE_REACH || !nentries)
		return 0;
	for (size_t i = 0; i < nmaps; prev_end = maps[i].end, i++) {
		const struct map *m = &maps[i];
		if (m->path[0] == '[' && strcmp(m->path, "[heap]"))
			continue;
		/* The room brk grows into, whether [heap] exists yet or not. */
		if ((start_brk && start_brk >= prev_end && start_brk < m->end) ||
		    (i && !strcmp(maps[i - 1].path, "[heap]")))
			continue;
		/* A hole inside one object (segments aligned to 2 MiB): not ours to fill. */
		const struct map *pm = i ? &maps[i - 1] : NULL;
		if (pm && m->inode && pm->inode == m->inode && pm->dev_major == m->dev_major &&
		    pm->dev_minor == m->dev_minor)
			continue;
		/* Above a page, ld.so first reserves span + align anonymously at the hint. */
		uint64_t need = span + (align > 4096 ? align : 0);
		uint64_t floor = prev_end > PLACE_FLOOR ? prev_end : PLACE_FLOOR;
		if (m->start < floor + 2 * PLACE_GUARD + need)
			continue;
		uint64_t h = (m->start - PLACE_GUARD - need) & ~(align - 1);
		if (h < floor + PLACE_GUARD)
			continue;
		size_t n = 0;
		uint64_t dist = UINT64_MAX;
		for (size_t k = 0; k < nentries; k++) {
			uint64_t f = entries[k];
			uint64_t d = f > h ? f - h : h + span - f;
			if (!f || d > PLACE_REACH)
				continue;
			n++;
			dist = d < dist ? d : dist;
		}
		if (n > best_n || (n && n == best_n && dist < best_dist)) {
			best = h;
			best_n = n;
			best_dist = dist;
		}
	}
	return best;
}

static uint64_t placement_hint(struct proc *p, const struct inject *in)
{
	/* Debug knob: leave the placement to ld.so (benchmarks compare both). */
	const char *off = getenv("HOTPATCH_NO_PLACEMENT");
	if (off && !strcmp(off, "1"))
		return 0;
	if (!in->span || in->span >= PLACE_REACH || in->was_mapped || !in->nnear ||
	    proc_maps_refresh(p))
		return 0;
	uint64_t brk = proc_stat_field(p, 47);	/* start_brk */
	return placement_pick(p->maps, p->nmaps, brk, in->span, in->align, in->near, in->nnear);
}

/* Does the target's descriptor fd name the patch file? */
static bool fd_is_file(pid_t pid, uint64_t fd, dev_t dev, ino_t ino)
{
	char path[64];
	struct stat st;

	if (fd > INT32_MAX)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)pid, (int)fd);
	return !stat(path, &st) && st.st_dev == dev && st.st_ino == ino;
}

/*
 * ld.so reserves the whole object with its first mmap: of the file itself
 * (offset 0), or, for alignments above a page, an anonymous PROT_NONE
 * range it then maps the segments into. Either one gets the hint.
 */
static int place_at_syscall(void *arg, struct proc *p, struct thread *t, long nr,
			    const uint64_t a[6], struct user_regs_struct *regs, bool *done)
{
	struct placement *pc = arg;
	(void)t;

	if (++pc->seen > 64) {
		*done = true;	/* not a dlopen we understand: leave it alone */
		return 0;
	}
	/* ld.so asks for the exact extent; we counted whole pages. */
	uint64_t len = (a[1] + 4095) & ~4095ull;
	if (nr != SYS_mmap || a[0] || (a[3] & (MAP_FIXED | MAP_FIXED_NOREPLACE)) || len < pc->span)
		return 0;
	bool ours;
	if (a[3] & MAP_ANONYMOUS)
		ours = pc->align > 4096 && a[2] == PROT_NONE && len <= pc->span + 2 * pc->align;
	else
		ours = len <= pc->span + pc->align && fd_is_file(p->pid, a[4], pc->dev, pc->ino);
	if (!ours)
		return 0;
	arch_set_syscall_arg(regs, 0, pc->addr);
	pc->given = true;
	*done = true;
	return 1;
}

/* ---- a target in another mount namespace ---- */

/*
 * A target in another mount namespace (a container; a systemd service with
 * PrivateTmp=, ProtectHome= or its own RootDirectory=) may see no file at
 * our path, or another file. Then it gets a copy: a memfd created in the
 * target and named after the load, filled by us through /proc/PID/fd from
 * the very file we checked, sealed, and dlopen()ed as /proc/self/fd/N. The
 * target keeps that descriptor as long as the object is loaded: glibc
 * knows a loaded object by its name before it opens anything, so a second
 * copy that got the same number once the first one's was closed would be
 * taken for the first.
 */
#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U	/* Linux 6.3: executable even where vm.memfd_noexec=1 */
#endif

/* The file credentials of a process, from /proc/PID/status (ids as our namespace sees them). */
struct fscred {
	unsigned uid, gid, ngroups;
	unsigned groups[64];
	uint64_t cap_eff;
};

static bool fscred_read(pid_t pid, struct fscred *c)
{
	char path[64], line[1024];
	unsigned got = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (!(f = fopen(path, "re")))
		return false;
	memset(c, 0, sizeof(*c));
	while (fgets(line, sizeof(line), f)) {
		unsigned a, b, d;
		if (sscanf(line, "Uid: %u %u %u %u", &a, &b, &d, &c->uid) == 4)
			got |= 1;
		else if (sscanf(line, "Gid: %u %u %u %u", &a, &b, &d, &c->gid) == 4)
			got |= 2;
		else if (sscanf(line, "CapEff: %" SCNx64, &c->cap_eff) == 1)
			got |= 4;
		else if (!strncmp(line, "Groups:", 7)) {
			char *q = line + 7, *end;
			for (unsigned long g; c->ngroups < ARRAY_SIZE(c->groups); q = end) {
				g = strtoul(q, &end, 10);
				if (end == q)
					break;
				c->groups[c->ngroups++] = (unsigned)g;
			}
		}
	}
	fclose(f);
	return got == 7;
}

/* The permission bits of st that apply to c (r=4, w=2, x=1). */
static unsigned mode_for(const struct stat *st, const struct fscred *c)
{
	if (st->st_uid == c->uid)
		return (st->st_mode >> 6) & 7;
	bool member = st->st_gid == c->gid;
	for (unsigned i = 0; !member && i < c->ngroups; i++)
		member = st->st_gid == c->groups[i];
	return member ? (st->st_mode >> 3) & 7 : st->st_mode & 7;
}

#define CAP_BIT(n) (1ull << (n))
/*
 * The target resolves path to the very file we checked, and may open it:
 * every directory searchable and the file readable with its file
 * credentials (CAP_DAC_OVERRIDE/CAP_DAC_READ_SEARCH count; ACLs and LSMs
 * do not: where they would have allowed it, a copy works as well). *why
 * says what is wrong otherwise.
 */
static bool patch_reachable(pid_t pid, const char *path, const struct stat *st, char *why,
			    size_t len)
{
	char there[4200];
	struct stat ts;
	struct fscred c;
	int root_len = snprintf(there, sizeof(there), "/proc/%d/root", (int)pid);

	if ((size_t)snprintf(there, sizeof(there), "/proc/%d/root%s", (int)pid, path) >= sizeof(there) ||
	    stat(there, &ts) || ts.st_dev != st->st_dev || ts.st_ino != st->st_ino) {
		snprintf(why, len, "is not visible in the target's mount namespace");
		return false;
	}
	if (!fscred_read(pid, &c)) {
		snprintf(why, len, "may not be readable by the target (its credentials are unknown)");
		return false;
	}
	if (c.cap_eff & (CAP_BIT(1) | CAP_BIT(2)))	/* CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH */
		return true;
	if (!(mode_for(&ts, &c) & 4)) {
		snprintf(why, len, "is not readable by the target (uid %u)", c.uid);
		return false;
	}
	/* Every directory on the way must be searchable: "/proc/PID/root/a/b" -> ".../a" -> root. */
	for (char *slash; (slash = strrchr(there, '/')) && slash - there >= root_len;) {
		*slash = 0;
		if (slash - there == root_len)
			hp_strlcpy(slash, "/", 2);	/* the target's "/" itself */
		if (stat(there, &ts) || !(mode_for(&ts, &c) & 1)) {
			snprintf(why, len, "is in a directory the target (uid %u) cannot search: %s", c.uid,
				 there + root_len);
			return false;
		}
		if (slash - there == root_len)
			break;
	}
	return true;
}

void patch_memfd_name(unsigned id, const char *build_id, char *buf, size_t len)
{
	snprintf(buf, len, "hotpatch-patch-%u-%.40s", id, build_id);
}

const char *patch_map_path(const struct proc *p, const struct hotpatch_patch *hp, char *buf,
			   size_t len)
{
	char name[96];

	patch_memfd_name(hp->id, hp->build_id, name, sizeof(name));
	snprintf(buf, len, "/memfd:%s", name);
	for (size_t i = 0; i < p->nmaps; i++)
		if (!strcmp(p->maps[i].path, buf))
			return buf;
	return hp->path;
}

void patch_memfd_close(struct proc *p, struct thread *t, const struct hotpatch_patch *hp, long fd)
{
	char dir[64], link[352], want[160], got[192];
	struct dirent *de;
	DIR *d;

	if (fd >= 0 || t->gone) {
		if (fd >= 0 && !t->gone)
			remote_close(p, t, fd);
		return;
	}
	patch_memfd_name(hp->id, hp->build_id, want, sizeof(want));
	snprintf(got, sizeof(got), "/memfd:%s (deleted)", want);
	snprintf(dir, sizeof(dir), "/proc/%d/fd", p->pid);
	if (!(d = opendir(dir)))
		return;
	while ((de = readdir(d))) {
		char *end;
		long n = strtol(de->d_name, &end, 10);
		if (*end || end == de->d_name)
			continue;
		snprintf(link, sizeof(link), "%s/%s", dir, de->d_name);
		ssize_t k = readlink(link, want, sizeof(want) - 1);
		if (k < 0)
			continue;
		want[k] = 0;
		if (!strcmp(want, got)) {
			remote_close(p, t, n);
			break;
		}
	}
	closedir(d);
}

/* Copy the checked file into a new memfd of the target: its descriptor in *fd, its identity in *mst. */
static int memfd_copy(struct proc *p, struct thread *t, const struct inject *in, long *fd,
		      struct stat *mst)
{
	uint64_t a[3] = { REMOTE_DATA, MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC };
	size_t nlen = strlen(in->memfd_name) + 1;
	char dst[64];
	struct stat fs;
	int err, src = -1, out = -1;

	*fd = -1;
	err = proc_remote_syscall(p, t, SYS_memfd_create, a, 2, in->memfd_name, nlen, fd);
	if (!err && *fd == -EINVAL) {
		a[1] &= ~(uint64_t)MFD_EXEC;	/* a kernel before 6.3 */
		err = proc_remote_syscall(p, t, SYS_memfd_create, a, 2, in->memfd_name, nlen, fd);
	}
	if (err)
		return err;
	if (*fd < 0) {
		err = (int)-*fd;
		*fd = -1;
		return hp_err(err, "pid %d: %s cannot be opened by the target, and memfd_create there failed: %s%s",
			      p->pid, in->path, strerror(err),
			      err == EACCES ? " (vm.memfd_noexec=2 forbids executable memfds)" : "");
	}
	snprintf(dst, sizeof(dst), "/proc/%d/fd/%ld", (int)p->pid, *fd);
	src = open(in->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (src < 0 || fstat(src, &fs))
		err = hp_err(errno, "%s: %s", in->path, strerror(errno));
	else if (fs.st_dev != in->st->st_dev || fs.st_ino != in->st->st_ino)
		err = hp_err(HOTPATCH_E_MISMATCH, "%s was replaced after it was checked", in->path);
	else if ((out = open(dst, O_WRONLY | O_CLOEXEC)) < 0)
		err = hp_err(errno, "pid %d: the memfd for %s: %s", p->pid, in->path, strerror(errno));
	for (off_t left = fs.st_size; !err && left > 0;) {
		ssize_t n = sendfile(out, src, NULL, (size_t)left);
		if (n <= 0)
			err = hp_err(n < 0 ? errno : EIO, "pid %d: copying %s into the target: %s", p->pid,
				     in->path, n < 0 ? strerror(errno) : "file shrank");
		else
			left -= n;
	}
	if (!err && fstat(out, mst))
		err = hp_err(errno, "pid %d: the memfd for %s: %s", p->pid, in->path, strerror(errno));
	if (out >= 0)
		close(out);
	if (src >= 0)
		close(src);
	if (!err) {
		/* Nobody who inherits the descriptor can change the code afterwards. */
		uint64_t sa[3] = { (uint64_t)*fd, F_ADD_SEALS,
				   F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE };
		long r;
		if (proc_remote_syscall(p, t, SYS_fcntl, sa, 3, NULL, 0, &r) || r < 0)
			hp_debug("pid %d: the copy of %s could not be sealed", p->pid, in->path);
	}
	if (err) {
		remote_close(p, t, *fd);
		*fd = -1;
	}
	return err;
}

/* ---- dlopen: the one sequence of apply and load ---- */

int inject_dlopen(struct proc *p, struct objects *objs, struct thread *t, struct inject *in,
		  uint64_t deadline)
{
	struct stat mst;
	char via[64], mapped[192];
	const char *open_as = in->path, *mapped_as = in->path;
	const struct stat *id = in->st;
	struct hp_err_saved saved;
	int err;

	in->handle = in->l_addr = 0;
	in->memfd = -1;
	char why[4200];
	if (in->memfd_name && !patch_reachable(p->pid, in->path, in->st, why, sizeof(why))) {
		err = memfd_copy(p, t, in, &in->memfd, &mst);
		if (err)
			return err;
		snprintf(via, sizeof(via), "/proc/self/fd/%ld", in->memfd);
		snprintf(mapped, sizeof(mapped), "/memfd:%s", in->memfd_name);
		open_as = via;
		mapped_as = mapped;
		id = &mst;
		hp_info("pid %d: %s %s: loading a copy (%s)", p->pid, in->path, why, mapped);
	}

	struct placement place = { .span = in->span, .align = in->align, .dev = id->st_dev,
				   .ino = id->st_ino };
	struct remote_hook hook = { .at_syscall = place_at_syscall, .arg = &place };
	in->was_mapped = patch_file_mapped(p, in->st);
	place.addr = placement_hint(p, in);
	err = remote_dlopen(p, objs, t, open_as, place.addr ? &hook : NULL, &in->handle,
			    deadline + 5000000000ull);
	if (!err && place.addr)
		hp_debug("pid %d: %s placed at 0x%" PRIx64 " (hint %s)", p->pid, in->path,
			 place.addr, place.given ? "given" : "not used");
	if (err == -HOTPATCH_E_DLOPEN && (in->memfd >= 0 || !in->was_mapped)) {
		/*
		 * A failed dlopen (a seccomp filter refusing PROT_EXEC, say) can
		 * leave the file's first mapping behind, forgotten by the loader:
		 * unmap what maps our file now when nothing did before.
		 */
		hp_err_save(&saved);
		patch_unmap_file(p, t, id);
		hp_err_restore(&saved);
	}
	if (!err)
		err = proc_read(p, in->handle, &in->l_addr, sizeof(in->l_addr)); /* link_map.l_addr */
	if (!err)
		err = patch_verify_mapping(p, mapped_as, id, in->l_addr);
	if (err && in->handle && !t->gone) {
		/* Loaded, but not the file we checked: unload it at once (its constructor ran). */
		hp_err_save(&saved);
		int r = remote_dlclose(p, objs, t, in->handle, deadline + 5000000000ull);
		if (r && !patch_target_gone(p, r))
			hp_warn("pid %d: could not unload %s again", p->pid, in->path);
		hp_err_restore(&saved);
		if (r)
			in->memfd = -1;	/* still loaded: its name must stay unique */
		in->handle = 0;
	}
	if (err && in->memfd >= 0 && !t->gone) {
		remote_close(p, t, in->memfd);
		in->memfd = -1;
	}
	return err;
}

/* ---- remote helpers ---- */

static int find_runtime_fn(struct proc *p, struct objects *objs, const char *const *names,
			   uint64_t *addr)
{
	/* Every object and name is a probe: only finding none is an error. */
	hp_err_quiet_begin();
	for (const char *const *n = names; *n; n++) {
		for (size_t i = 0; i < objs->n; i++) {
			struct object *o = &objs->v[i];
			struct elf_file *ef;
			struct elf_sym sym;
			if (!o->runtime || o->is_ld || object_elf(o, &ef))
				continue;
			if (!elf_file_find(ef, *n, NULL, ELF_SYM_FUNC, &sym)) {
				*addr = sym.value + o->bias;
				hp_err_quiet_end();
				return 0;
			}
		}
	}
	hp_err_quiet_end();
	return hp_err(HOTPATCH_E_NOTSUP, "pid %d: no %s in the target's C library", p->pid, names[0]);
}

int remote_dlopen(struct proc *p, struct objects *objs, struct thread *t, const char *path,
		  const struct remote_hook *hook, uint64_t *handle, uint64_t deadline)
{
	static const char *const dlopen_names[] = { "dlopen", "__libc_dlopen_mode", NULL };
	static const char *const dlerror_names[] = { "dlerror", NULL };
	uint64_t fn, args[2] = { REMOTE_DATA, 2 /* RTLD_NOW */ };
	int err = find_runtime_fn(p, objs, dlopen_names, &fn);
	if (err)
		return err;
	err = proc_remote_call_hooked(p, t, fn, args, 2, path, strlen(path) + 1, handle, deadline,
				      hook);
	if (err)
		return err;
	if (*handle)
		return 0;
	char msg[512] = "unknown error";
	uint64_t s = 0;
	/* Asking dlerror() why is a probe: the failure is the dlopen's. */
	hp_err_quiet_begin();
	if (!find_runtime_fn(p, objs, dlerror_names, &fn) &&
	    !proc_remote_call(p, t, fn, NULL, 0, NULL, 0, &s, deadline) && s) {
		proc_read(p, s, msg, sizeof(msg) - 1);
		msg[sizeof(msg) - 1] = 0;
	}
	hp_err_quiet_end();
	return hp_err(HOTPATCH_E_DLOPEN, "pid %d: dlopen of %s failed: %s", p->pid, path, msg);
}

int remote_dlclose(struct proc *p, struct objects *objs, struct thread *t, uint64_t handle,
		   uint64_t deadline)
{
	static const char *const names[] = { "dlclose", "__libc_dlclose", NULL };
	uint64_t fn, ret = 0;
	int err = find_runtime_fn(p, objs, names, &fn);
	if (!err)
		err = proc_remote_call(p, t, fn, &handle, 1, NULL, 0, &ret, deadline);
	if (!err && (int)ret != 0)
		err = hp_err(HOTPATCH_E_DLOPEN, "pid %d: dlclose(0x%llx) failed", p->pid,
			     (unsigned long long)handle);
	return err;
}

/*
 * The free address nearest to 'near' for 'len' bytes, all of them within
 * rel32 reach of it with a page of slack, a guard page from either
 * neighbour; 0 if there is none.
 */
uint64_t gap_near(const struct map *maps, size_t nmaps, uint64_t near, size_t len)
{
	const uint64_t reach = (1ull << 31) - len - 2 * 4096;
	uint64_t lo = near > reach ? near - reach : 65536, hi = near + reach, best = 0, bestd = UINT64_MAX;

	for (size_t i = 0; i + 1 <= nmaps; i++) {
		uint64_t gs = maps[i].end;
		uint64_t ge = i + 1 < nmaps ? maps[i + 1].start : 0x7ffffffff000ull;
		if (ge <= gs || ge - gs < len + 2 * 4096)
			continue;
		/* Leave a guard page on each side so we never touch a neighbour. */
		uint64_t cs = gs + 4096, ce = ge - 4096 - len;
		if (ce < lo || cs > hi)
			continue;
		uint64_t c = near < cs ? cs : near > ce ? ce : near & ~4095ull;
		if (c < lo)
			c = (lo + 4095) & ~4095ull;
		if (c > hi || c < cs || c > ce)
			continue;
		uint64_t d = c > near ? c - near : near - c;
		if (d < bestd) {
			bestd = d;
			best = c;
		}
	}
	return best;
}

int remote_mmap_near(struct proc *p, struct thread *t, uint64_t near, size_t len, uint64_t *addr)
{
	int err = proc_maps_refresh(p);
	if (err)
		return err;
	uint64_t best = gap_near(p->maps, p->nmaps, near, len);
	if (!best)
		return hp_err(HOTPATCH_E_NOTSUP, "pid %d: no free address within 2 GiB of 0x%llx for a jump island",
			      p->pid, (unsigned long long)near);
	long r;
	uint64_t args[6] = { best, len, PROT_READ | PROT_EXEC,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, (uint64_t)-1, 0 };
	err = proc_remote_syscall(p, t, SYS_mmap, args, 6, NULL, 0, &r);
	if (err)
		return err;
	if (r < 0 && r > -4096)
		return hp_err((int)-r, "pid %d: mmap of a jump island in target: %s", p->pid, strerror((int)-r));
	if ((uint64_t)r != best) {
		/* A kernel without MAP_FIXED_NOREPLACE took it as a hint: not where we need it. */
		remote_munmap(p, t, (uint64_t)r, len);
		return hp_err(HOTPATCH_E_NOTSUP, "pid %d: could not map a jump island at 0x%llx", p->pid,
			      (unsigned long long)best);
	}
	*addr = best;
	return 0;
}

void remote_close(struct proc *p, struct thread *t, long fd)
{
	uint64_t a[1] = { (uint64_t)fd };
	long ignored;

	proc_remote_syscall(p, t, SYS_close, a, 1, NULL, 0, &ignored);
}

int remote_munmap(struct proc *p, struct thread *t, uint64_t addr, size_t len)
{
	long r;
	uint64_t args[2] = { addr, len };
	int err = proc_remote_syscall(p, t, SYS_munmap, args, 2, NULL, 0, &r);
	if (!err && r < 0)
		err = hp_err((int)-r, "pid %d: munmap in target: %s", p->pid, strerror((int)-r));
	return err;
}

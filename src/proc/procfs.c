/* SPDX-License-Identifier: MIT */
/* Every /proc read of src/proc: the one stat parser, status fields, task lists, maps text. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/kcmp.h>

#include "proc/proc.h"
#include "proc/procfs.h"

/* ---- pure parsers ---- */

uint64_t procfs_stat_num(const char *text, int field)
{
	const char *q = strrchr(text, ')');	/* comm may hold anything */
	for (int f = 2; q && f < field; f++)
		q = strchr(q + 1, ' ');
	return q ? strtoull(q + 1, NULL, 10) : 0;
}

int procfs_stat_parse(const char *text, struct procfs_stat *st)
{
	/* The state follows the last ')': comm may hold one. */
	const char *rp = strrchr(text, ')');
	memset(st, 0, sizeof(*st));
	if (!rp || rp[1] != ' ' || !rp[2] || rp[2] == ' ')
		return -EINVAL;
	st->state = rp[2];
	st->flags = (unsigned long)procfs_stat_num(text, 9);
	st->starttime = procfs_stat_num(text, 22);
	st->startstack = procfs_stat_num(text, 28);
	return 0;
}

long procfs_status_num(const char *text, const char *key)
{
	const char *s = strstr(text, key);
	if (!s)
		return -1;
	return strtol(s + strlen(key), NULL, 10);
}

long procfs_syscall_nr(const char *text)
{
	/* "NR args... sp pc" while blocked in a syscall, "-1 sp pc" outside one, "running". */
	if (text[0] < '0' || text[0] > '9')
		return -1;
	return strtol(text, NULL, 10);
}

int procfs_syscall_parse(const char *text, long *nr, uint64_t args[6], uint64_t *sp, uint64_t *pc)
{
	uint64_t v[8];
	char *end;
	if (text[0] < '0' || text[0] > '9')
		return -EINVAL;
	*nr = strtol(text, &end, 10);
	for (int i = 0; i < 8; i++) {
		/* Every field after the number is " 0x..." (the kernel's %lx with a 0x prefix). */
		if (end[0] != ' ' || end[1] != '0' || end[2] != 'x')
			return -EINVAL;
		v[i] = strtoull(end + 1, &end, 16);
	}
	if (*end && *end != '\n')
		return -EINVAL;
	memcpy(args, v, 6 * sizeof(*args));
	*sp = v[6];
	*pc = v[7];
	return 0;
}

/* ---- readers ---- */

static void path_of(char *path, size_t len, pid_t pid, pid_t tid, const char *name)
{
	if (tid)
		snprintf(path, len, "/proc/%d/task/%d/%s", pid, tid, name);
	else
		snprintf(path, len, "/proc/%d/%s", pid, name);
}

static int read_path(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, len - 1);
	int err = errno;
	close(fd);
	if (n < 0)
		return -err;
	buf[n] = 0;
	return (int)n;
}

int procfs_read(pid_t pid, pid_t tid, const char *name, char *buf, size_t len)
{
	char path[96];
	path_of(path, sizeof(path), pid, tid, name);
	return read_path(path, buf, len);
}

int procfs_read_all(pid_t pid, const char *name, char **out, size_t *outlen)
{
	char path[96];
	path_of(path, sizeof(path), pid, 0, name);
	*out = NULL;
	*outlen = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap);
	for (;;) {
		if (!buf) {
			close(fd);
			return -ENOMEM;
		}
		if (len + 1 >= cap) {
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				buf = NULL;
				continue;
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t r = read(fd, buf + len, cap - 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	buf[len] = 0;
	*out = buf;
	*outlen = len;
	return 0;
}

int procfs_stat(pid_t pid, pid_t tid, struct procfs_stat *st)
{
	char buf[1024];
	int n = procfs_read(pid, tid, "stat", buf, sizeof(buf));
	if (n <= 0) {
		memset(st, 0, sizeof(*st));
		return n < 0 ? n : -EINVAL;
	}
	return procfs_stat_parse(buf, st);
}

long procfs_status(pid_t pid, pid_t tid, const char *key)
{
	char buf[4096];
	if (procfs_read(pid, tid, "status", buf, sizeof(buf)) <= 0)
		return -1;
	return procfs_status_num(buf, key);
}

void procfs_comm(pid_t pid, char *buf, size_t len)
{
	if (procfs_read(pid, 0, "comm", buf, len) <= 0)
		hp_strlcpy(buf, "?", len);
	buf[strcspn(buf, "\n")] = 0;
}

/* An exited thread stays listed (state Z/X) until reaped; seizing it fails with EPERM. */
bool procfs_thread_dead(pid_t pid, pid_t tid)
{
	struct procfs_stat st;
	return procfs_stat(pid, tid, &st) || st.state == 'Z' || st.state == 'X';
}

long procfs_task_count(pid_t pid)
{
	char path[64];
	struct stat st;
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	if (stat(path, &st) || st.st_nlink < 2)
		return -1;
	return (long)st.st_nlink - 2;
}

int procfs_tasks(pid_t pid, pid_t **tids, size_t *n)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	DIR *d = opendir(path);
	if (!d)
		return -errno;
	size_t cap = 64, cnt = 0;
	pid_t *v = malloc(cap * sizeof(*v));
	struct dirent *de;
	while (v && (de = readdir(d))) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		if (cnt == cap) {
			pid_t *nv = realloc(v, 2 * cap * sizeof(*v));
			if (!nv) {
				free(v);
				v = NULL;
				break;
			}
			v = nv;
			cap *= 2;
		}
		v[cnt++] = (pid_t)atoi(de->d_name);
	}
	closedir(d);
	if (!v)
		return -ENOMEM;
	*tids = v;
	*n = cnt;
	return 0;
}

long procfs_tracer_of(pid_t pid)
{
	pid_t *tids = NULL;
	size_t n = 0;
	long tracer = 0;

	if (procfs_tasks(pid, &tids, &n))
		return 0;
	for (size_t i = 0; i < n && tracer <= 0; i++)
		tracer = procfs_status(pid, tids[i], "TracerPid:");
	free(tids);
	return tracer > 0 ? tracer : 0;
}

int procfs_ptrace_scope(void)
{
	char scope[16];
	if (read_path("/proc/sys/kernel/yama/ptrace_scope", scope, sizeof(scope)) <= 0)
		return 0;
	return atoi(scope);
}

/*
 * Where our mount namespace has the cgroup hierarchy of a line of
 * /proc/PID/cgroup: the cgroup2 mount for "0::", else the v1 mount whose
 * super options name the controller. From /proc/self/mountinfo.
 */
static bool cgroup_mount(const char *controller, char *out, size_t len)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096];
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		/* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTS */
		char root[1024], mnt[1024], fstype[64], super[1024] = "";
		const char *dash = strstr(line, " - ");
		if (!dash || sscanf(line, "%*s %*s %*s %1023s %1023s", root, mnt) != 2 ||
		    sscanf(dash + 3, "%63s %*s %1023s", fstype, super) < 1 || strcmp(root, "/"))
			continue;
		if (controller ? !strcmp(fstype, "cgroup") && strstr(super, controller)
			       : !strcmp(fstype, "cgroup2")) {
			snprintf(out, len, "%s", mnt);
			found = true;
		}
	}
	fclose(f);
	return found;
}

bool procfs_frozen(pid_t pid, char *where, size_t len)
{
	char buf[4096], path[2300], mnt[1024], state[256];

	if (procfs_read(pid, 0, "cgroup", buf, sizeof(buf)) <= 0)
		return false;
	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c2 = 0;
		const char *ctl = c1 + 1, *cg = c2 + 1;
		bool v2 = !strncmp(line, "0:", 2) && !*ctl;
		if (!v2 && !strstr(ctl, "freezer"))
			continue;
		if (!cgroup_mount(v2 ? NULL : "freezer", mnt, sizeof(mnt)))
			continue;
		snprintf(path, sizeof(path), "%s%s/%s", mnt, cg, v2 ? "cgroup.events" : "freezer.state");
		if (read_path(path, state, sizeof(state)) <= 0)
			continue;
		if (v2 ? strstr(state, "frozen 1") != NULL
		       : (!strncmp(state, "FROZEN", 6) || !strncmp(state, "FREEZING", 8))) {
			snprintf(where, len, "%s%s: %s", mnt, cg, v2 ? "frozen 1" : strtok(state, "\n"));
			return true;
		}
	}
	return false;
}

/* ---- the proc.h functions that are /proc reads ---- */

uint64_t proc_stat_field(struct proc *p, int field)
{
	char buf[2048];
	ssize_t n;

	if (p->statfd >= 0) {
		n = pread(p->statfd, buf, sizeof(buf) - 1, 0);
		if (n > 0)
			buf[n] = 0;
	} else {
		n = procfs_read(p->pid, 0, "stat", buf, sizeof(buf));
	}
	if (n <= 0)
		return 0;
	return procfs_stat_num(buf, field);
}

int proc_tasks(struct proc *p, pid_t **tids, size_t *n)
{
	int err = procfs_tasks(p->pid, tids, n);
	if (err == -ENOMEM)
		return err;
	if (err) {
		p->exited = true;
		return hp_err(HOTPATCH_E_EXITED, "pid %d: process exited", p->pid);
	}
	return 0;
}

long proc_blocked_syscall(struct proc *p, pid_t tid)
{
	char buf[256];
	if (procfs_read(p->pid, tid, "syscall", buf, sizeof(buf)) <= 0)
		return -1;
	return procfs_syscall_nr(buf);
}

pid_t proc_mm_parent(pid_t pid)
{
	long ppid = procfs_status(pid, 0, "PPid:");
	if (ppid <= 0)
		return 0;
	return syscall(SYS_kcmp, (pid_t)ppid, pid, KCMP_VM, 0, 0) == 0 ? (pid_t)ppid : 0;
}

bool proc_seccomp_filtered(struct proc *p)
{
	return procfs_status(p->pid, 0, "Seccomp:") == 2;
}

int proc_maps_refresh(struct proc *p)
{
	char *buf;
	size_t len;
	int err = procfs_read_all(p->pid, "maps", &buf, &len);
	if (err == -ENOMEM)
		return err;
	if (err)
		return hp_err(HOTPATCH_E_EXITED, "pid %d: cannot read maps: %s", p->pid, strerror(-err));
	free(p->maps);
	p->maps = NULL;
	p->nmaps = 0;
	err = maps_parse(buf, len, &p->maps, &p->nmaps);
	free(buf);
	if (!err && !p->nmaps)
		return hp_err(HOTPATCH_E_EXITED, "pid %d: process exited", p->pid);
	return err;
}

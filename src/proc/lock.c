/* SPDX-License-Identifier: MIT */
/* The per-target lock: one hotpatch at a time changes a given process. */
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "proc/internal.h"
#include "proc/procfs.h"

/*
 * One hotpatch at a time per target. Between its phases an operation lets
 * the target's threads run untraced, so ptrace alone does not keep a second
 * invocation out, and two interleaved transactions would corrupt each
 * other's state. The lock is an abstract unix socket named after the target
 * (pid and start time): bind() is exclusive, and the kernel drops it when we
 * exit, however we exit. Scope: our network namespace.
 */
static int proc_lock(pid_t pid, unsigned wait_ms, int *lockfd)
{
	struct procfs_stat st;
	struct sockaddr_un a = { .sun_family = AF_UNIX };

	*lockfd = -1;
	/* starttime: the pid may be reused, the pair is not (0 when unreadable) */
	procfs_stat(pid, 0, &st);
	unsigned long long start = st.starttime;
	int n = snprintf(a.sun_path + 1, sizeof(a.sun_path) - 1, "hotpatch/%d/%llu", (int)pid, start);
	socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		hp_debug("pid %d: no lock (socket: %s)", pid, strerror(errno));
		return 0;
	}
	uint64_t deadline = hp_now_ns() + (uint64_t)wait_ms * 1000000ull;
	bool told = false;
	while (bind(fd, (struct sockaddr *)&a, len)) {
		int err = errno;
		if (err != EADDRINUSE) {
			hp_debug("pid %d: no lock (bind: %s)", pid, strerror(err));
			close(fd);
			return 0;
		}
		if (hp_now_ns() >= deadline || hp_interrupt_pending()) {
			long holder = procfs_tracer_of(pid);
			close(fd);
			if (holder)
				return hp_err(HOTPATCH_E_TRACED,
					      "pid %d: already being patched by pid %ld (hotpatch)", pid,
					      holder);
			return hp_err(HOTPATCH_E_TRACED,
				      "pid %d: another hotpatch is working on it", pid);
		}
		if (!told) {
			hp_info("pid %d: waiting for another hotpatch to finish", pid);
			told = true;
		}
		struct timespec ts = { 0, 5000000 };
		nanosleep(&ts, NULL);
	}
	*lockfd = fd;
	return 0;
}

int proc_open_locked(pid_t pid, unsigned wait_ms, struct proc **out)
{
	int lockfd;
	*out = NULL;
	if (pid <= 0)
		return hp_err(HOTPATCH_E_NOPROC, "pid %d: no such process", pid);
	/*
	 * A vfork child runs in its parent's memory until it execs: a dlopen in
	 * it would rewrite the parent's heap and loader state under the parent's
	 * running threads. It is no process of its own to patch.
	 */
	pid_t parent = proc_mm_parent(pid);
	if (parent)
		return hp_err(HOTPATCH_E_NOTSUP,
			      "pid %d: shares its memory with its parent %d (a vfork child before exec): patch %d instead",
			      pid, parent, parent);
	int err = proc_lock(pid, wait_ms, &lockfd);
	if (err)
		return err;
	err = proc_open(pid, out);
	if (err) {
		if (lockfd >= 0)
			close(lockfd);
		return err;
	}
	(*out)->lockfd = lockfd;
	return 0;
}


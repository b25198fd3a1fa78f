/* SPDX-License-Identifier: MIT */
/* Attaching, stopping and resuming every thread of a target; memory and registers. */
#include <dirent.h>
#include <elf.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/kcmp.h>
#include <sys/syscall.h>

#include "proc/proc.h"
#include "proc/ptrace.h"

#define PF_KTHREAD 0x00200000
/* How long a thread may take to reach a ptrace-stop once interrupted. */
#define STOP_TIMEOUT_NS (2000ull * 1000000)

static int read_small(const char *path, char *buf, size_t len)
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

static long status_field(const char *status, const char *key)
{
	const char *s = strstr(status, key);
	if (!s)
		return -1;
	return strtol(s + strlen(key), NULL, 10);
}

static void comm_of(pid_t pid, char *buf, size_t len)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	if (read_small(path, buf, len) <= 0)
		hp_strlcpy(buf, "?", len);
	buf[strcspn(buf, "\n")] = 0;
}

/*
 * State letter of /proc/PID[/task/TID]/stat and the address of the stack's
 * start (field 28): it changes when the process execs (a new, randomized stack).
 */
static char task_state(pid_t pid, pid_t tid, uint64_t *startstack)
{
	char path[80], buf[1024];
	if (tid)
		snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", pid, tid);
	else
		snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (read_small(path, buf, sizeof(buf)) <= 0)
		return 0;
	/* The state follows the last ')': comm may hold one. */
	const char *rp = strrchr(buf, ')');
	if (!rp || rp[1] != ' ')
		return 0;
	if (startstack) {
		unsigned long long ss = 0;
		/* fields 3 (state) .. 28 (startstack) */
		if (sscanf(rp + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u "
			   "%*d %*d %*d %*d %*d %*d %*u %*u %*d %*u %*u %*u %llu", &ss) == 1)
			*startstack = ss;
	}
	return rp[2];
}

uint64_t proc_stat_field(struct proc *p, int field)
{
	char path[64], buf[2048];
	ssize_t n;

	if (p->statfd >= 0) {
		n = pread(p->statfd, buf, sizeof(buf) - 1, 0);
	} else {
		snprintf(path, sizeof(path), "/proc/%d/stat", p->pid);
		n = read_small(path, buf, sizeof(buf));
	}
	if (n <= 0)
		return 0;
	buf[n] = 0;
	const char *q = strrchr(buf, ')');	/* comm may hold anything */
	for (int f = 2; q && f < field; f++)
		q = strchr(q + 1, ' ');
	return q ? strtoull(q + 1, NULL, 10) : 0;
}

/* An exited thread stays listed (state Z/X) until reaped; seizing it fails with EPERM. */
static bool thread_dead(pid_t pid, pid_t tid)
{
	char st = task_state(pid, tid, NULL);
	return !st || st == 'Z' || st == 'X';
}

/* Explain why ptrace is refused, naming the reason (issue: clear EPERM messages). */
static int perm_error(pid_t pid, int err)
{
	char buf[4096], path[64], scope[16] = "";
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if (read_small(path, buf, sizeof(buf)) > 0) {
		long tracer = status_field(buf, "TracerPid:");
		if (tracer > 0) {
			char comm[64];
			comm_of((pid_t)tracer, comm, sizeof(comm));
			return hp_err(HOTPATCH_E_TRACED, "pid %d: already traced by pid %ld (%s)", pid,
				      tracer, comm);
		}
		long uid = status_field(buf, "Uid:");
		if (uid >= 0 && (uid_t)uid != geteuid() && geteuid() != 0)
			return hp_err(HOTPATCH_E_PERM,
				      "pid %d: not permitted: owned by uid %ld, we are uid %d", pid,
				      uid, (int)geteuid());
	}
	if (read_small("/proc/sys/kernel/yama/ptrace_scope", scope, sizeof(scope)) > 0 &&
	    atoi(scope) > 0 && geteuid() != 0)
		return hp_err(HOTPATCH_E_PERM,
			      "pid %d: not permitted: kernel.yama.ptrace_scope=%d (needs root or CAP_SYS_PTRACE)",
			      pid, atoi(scope));
	return hp_err(HOTPATCH_E_PERM, "pid %d: not permitted to trace: %s", pid, strerror(err));
}

/* reader: for list and check, which only read memory: another tracer is no obstacle. */
static int open_proc(pid_t pid, bool reader, struct proc **out)
{
	char path[64], buf[4096];
	int err;

	*out = NULL;
	if (pid <= 0)
		return hp_err(HOTPATCH_E_NOPROC, "pid %d: no such process", pid);
	if (pid == getpid())
		return hp_err(HOTPATCH_E_PERM, "pid %d: refusing to patch hotpatch itself", pid);
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (read_small(path, buf, sizeof(buf)) < 0)
		return hp_err(HOTPATCH_E_NOPROC, "pid %d: no such process", pid);
	/* Field 9 (flags) follows "pid (comm) state ppid pgrp session tty tpgid"; comm may hold spaces. */
	const char *rp = strrchr(buf, ')');
	unsigned long flags = 0;
	if (rp && sscanf(rp + 2, "%*c %*d %*d %*d %*d %*d %lu", &flags) == 1 && (flags & PF_KTHREAD))
		return hp_err(HOTPATCH_E_KTHREAD, "pid %d: is a kernel thread, nothing to patch", pid);
	char state = rp ? rp[2] : 0;
	/* A thread id that is not a thread-group leader names a thread, not a process. */
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if (read_small(path, buf, sizeof(buf)) > 0) {
		long tgid = status_field(buf, "Tgid:");
		if (tgid > 0 && tgid != pid)
			return hp_err(HOTPATCH_E_NOPROC,
				      "pid %d: is a thread of process %ld; give the process id", pid,
				      tgid);
		/* Exited, not yet reaped (a leader gone by pthread_exit with threads left is alive). */
		if ((state == 'Z' || state == 'X') && status_field(buf, "Threads:") <= 1)
			return hp_err(HOTPATCH_E_EXITED,
				      "pid %d: is a zombie: it has exited and waits for its parent (pid %ld) to reap it",
				      pid, status_field(buf, "PPid:"));
		long tracer = status_field(buf, "TracerPid:");
		if (tracer > 0 && !reader)
			return perm_error(pid, EPERM);
	}

	struct proc *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->pid = pid;
	p->lockfd = -1;
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	p->memfd = open(path, (reader ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (p->memfd < 0) {
		err = errno;
		free(p);
		if (err == ENOENT || err == ESRCH)
			return hp_err(HOTPATCH_E_NOPROC, "pid %d: no such process", pid);
		return perm_error(pid, err);
	}
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	p->statfd = open(path, O_RDONLY | O_CLOEXEC);
	task_state(pid, 0, &p->startstack);
	pt_wait_init(&p->old_sigmask);
	*out = p;
	return 0;
}

int proc_open(pid_t pid, struct proc **out)
{
	return open_proc(pid, false, out);
}

int proc_open_reader(pid_t pid, struct proc **out)
{
	return open_proc(pid, true, out);
}

static int list_tasks(struct proc *p, pid_t **tids, size_t *n);

/* pid of whoever traces a thread of pid (0: nobody). */
static long tracer_of(pid_t pid)
{
	char path[80], buf[4096];
	pid_t *tids = NULL;
	size_t n = 0;
	long tracer = 0;
	struct proc tmp = { .pid = pid };

	if (list_tasks(&tmp, &tids, &n)) {
		hp_err_clear();
		return 0;
	}
	for (size_t i = 0; i < n && !tracer; i++) {
		snprintf(path, sizeof(path), "/proc/%d/task/%d/status", pid, tids[i]);
		if (read_small(path, buf, sizeof(buf)) > 0)
			tracer = status_field(buf, "TracerPid:");
	}
	free(tids);
	return tracer > 0 ? tracer : 0;
}

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
	char path[64], sbuf[1024];
	unsigned long long start = 0;
	struct sockaddr_un a = { .sun_family = AF_UNIX };

	*lockfd = -1;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (read_small(path, sbuf, sizeof(sbuf)) > 0) {
		const char *rp = strrchr(sbuf, ')');
		/* field 22, starttime: the pid may be reused, the pair is not */
		if (rp)
			sscanf(rp + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u "
			       "%*d %*d %*d %*d %*d %*d %llu", &start);
	}
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
			long holder = tracer_of(pid);
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

pid_t proc_mm_parent(pid_t pid)
{
	char path[64], buf[4096];
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	long ppid = read_small(path, buf, sizeof(buf)) > 0 ? status_field(buf, "PPid:") : -1;
	if (ppid <= 0)
		return 0;
	return syscall(SYS_kcmp, (pid_t)ppid, pid, KCMP_VM, 0, 0) == 0 ? (pid_t)ppid : 0;
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

void proc_close(struct proc *p)
{
	if (!p)
		return;
	if (p->lockfd >= 0)
		close(p->lockfd);
	for (size_t i = 0; i < p->nthreads; i++) {
		/*
		 * A programming error, but the target must not pay for it: let the
		 * thread go (its registers are its own by now) and say so.
		 */
		if (p->threads[i]->attached) {
			hp_warn("pid %d: BUG: thread %d still attached at close; releasing it", p->pid,
				p->threads[i]->tid);
			p->threads[i]->parked = false;
			proc_release_thread(p, p->threads[i]);
		}
		free(p->threads[i]);
	}
	if (p->memfd >= 0)
		close(p->memfd);
	if (p->statfd >= 0)
		close(p->statfd);
	pt_wait_fini(&p->old_sigmask);
	free(p->threads);
	free(p->maps);
	free(p);
}

struct thread *proc_thread(struct proc *p, pid_t tid)
{
	for (size_t i = 0; i < p->nthreads; i++)
		if (p->threads[i]->tid == tid)
			return p->threads[i];
	return NULL;
}

static struct thread *thread_add(struct proc *p, pid_t tid)
{
	if (p->nthreads == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 16;
		struct thread **v = realloc(p->threads, cap * sizeof(*v));
		if (!v)
			return NULL;
		p->threads = v;
		p->cap = cap;
	}
	struct thread *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->tid = tid;
	p->threads[p->nthreads++] = t;
	return t;
}

size_t proc_nlive(const struct proc *p)
{
	size_t n = 0;
	for (size_t i = 0; i < p->nthreads; i++)
		n += !p->threads[i]->gone;
	return n;
}

static bool is_stop_signal(int sig)
{
	return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

/*
 * Digest one wait status of an attached thread. Returns 1 when t is now in a
 * ptrace-stop, 0 when it went away.
 */
static int thread_note_status(struct proc *p, struct thread *t, int status)
{
	if (WIFEXITED(status) || WIFSIGNALED(status)) {
		t->gone = true;
		t->attached = false;
		t->stopped = false;
		if (t->tid == p->pid)
			p->exited = true;
		return 0;
	}
	if (!WIFSTOPPED(status))
		return 1;
	int sig = WSTOPSIG(status), event = status >> 16;
	t->stopped = true;
	t->regs_valid = false;
	if (event == PTRACE_EVENT_STOP) {
		/* Group-stop of a seized tracee reports the stop signal; our INTERRUPT reports SIGTRAP. */
		if (is_stop_signal(sig))
			t->was_stopped = true;
		else
			t->interrupted = true;
	} else if (event == 0) {
		/* Signal-delivery-stop: the signal is ours to re-inject on resume. */
		if (t->pending_sig && t->pending_sig != sig)
			hp_warn("pid %d: thread %d: second signal %d while holding %d", p->pid, t->tid,
				sig, t->pending_sig);
		t->pending_sig = sig;
	}
	return 1;
}

/* Wait until attached thread t is in a ptrace-stop. */
static int thread_wait_stop(struct proc *p, struct thread *t, uint64_t deadline)
{
	while (t->attached && !t->stopped) {
		int status;
		pid_t r = pt_wait(t->tid, &status, deadline);
		if (r == 0) {
			/* A zombie (a leader that called pthread_exit) never stops: it is no thread. */
			char path[64], st[512];
			snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", p->pid, t->tid);
			const char *rp = read_small(path, st, sizeof(st)) > 0 ? strrchr(st, ')') : NULL;
			if (rp && (rp[2] == 'Z' || rp[2] == 'X')) {
				t->gone = true;
				t->attached = false;
				return 0;
			}
			return hp_err(HOTPATCH_E_TIMEOUT, "pid %d: thread %d did not stop (state %c)",
				      p->pid, t->tid, rp ? rp[2] : '?');
		}
		if (r < 0) {
			/* ECHILD: it exited and was reaped by the kernel (non-leader threads). */
			t->gone = true;
			t->attached = false;
			return 0;
		}
		thread_note_status(p, t, status);
	}
	return 0;
}

static int list_tasks(struct proc *p, pid_t **tids, size_t *n)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", p->pid);
	DIR *d = opendir(path);
	if (!d) {
		p->exited = true;
		return hp_err(HOTPATCH_E_EXITED, "pid %d: process exited", p->pid);
	}
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

/*
 * Every thread of the process is one we hold: the kernel's count of them
 * (the task directory's link count is 2 + threads) equals the number of
 * ours that are stopped. A stopped thread cannot exit nor be replaced by
 * a new one, so this proves what a second readdir would, in one stat; any
 * doubt (a zombie leader, a thread that left) means a rescan.
 */
static bool all_held(struct proc *p)
{
	char path[64];
	struct stat st;
	size_t held = 0;

	for (size_t i = 0; i < p->nthreads; i++) {
		const struct thread *t = p->threads[i];
		if (t->attached && t->stopped)
			held++;
		else if (!t->gone)
			return false;
	}
	snprintf(path, sizeof(path), "/proc/%d/task", p->pid);
	return stat(path, &st) == 0 && st.st_nlink >= 2 && st.st_nlink - 2 == held;
}

/*
 * Each PTRACE_INTERRUPT or detach wakes a thread of the target, and on a
 * machine with few CPUs the scheduler hands the CPU to it at once: two
 * context switches per thread, inside the pause. For the loops that only
 * issue those requests we run as SCHED_FIFO (priority 1), so the woken
 * threads wait for a free CPU instead of preempting us: measured on 2 CPUs,
 * 257 threads resume in 0.7 ms instead of 2.1 ms, 9 threads ~20 us sooner. Only when we are
 * SCHED_OTHER and allowed to (root, CAP_SYS_NICE); our own policy and nice
 * value come back right after.
 */
#define BOOST_MIN_THREADS 128

static bool boost(void)
{
	struct sched_param sp = { .sched_priority = 1 };

	if (sched_getscheduler(0) != SCHED_OTHER)
		return false;
	return sched_setscheduler(0, SCHED_FIFO | SCHED_RESET_ON_FORK, &sp) == 0;
}

static void unboost(bool boosted)
{
	struct sched_param sp = { .sched_priority = 0 };

	if (boosted)
		sched_setscheduler(0, SCHED_OTHER, &sp);
}

int proc_hold_all(struct proc *p)
{
	return proc_hold_all_cb(p, NULL, NULL);
}

int proc_hold_all_cb(struct proc *p, proc_stop_fn fn, void *arg)
{
	uint64_t deadline = hp_now_ns() + STOP_TIMEOUT_NS;
	bool first = true;
	int err = 0;

	for (size_t i = 0; i < p->nthreads; i++)
		p->threads[i]->seen_by_hold = false;
	for (;;) {
		pid_t *tids = NULL;
		size_t n = 0, added = 0;
		err = list_tasks(p, &tids, &n);
		if (err)
			break;
		for (size_t i = 0; i < n; i++) {
			struct thread *t = proc_thread(p, tids[i]);
			if (t && t->attached)
				continue;
			if (!t) {
				t = thread_add(p, tids[i]);
				if (!t) {
					err = -ENOMEM;
					break;
				}
			} else {
				/* A gone thread's id, reused by a new thread: start afresh. */
				pid_t tid = t->tid;
				memset(t, 0, sizeof(*t));
				t->tid = tid;
			}
			int r = pt_seize(t->tid, PTRACE_O_TRACESYSGOOD);
			if (r == -ESRCH || (r == -EPERM && thread_dead(p->pid, t->tid))) {
				/* Exited between readdir and seize, or exiting: the kernel refuses those. */
				t->gone = true;
				continue;
			}
			if (r) {
				if (r == -EPERM)
					hp_debug("pid %d: seize of thread %d: EPERM", p->pid, t->tid);
				err = (r == -EPERM) ? perm_error(p->pid, EPERM)
						    : hp_err(r, "pid %d: cannot attach thread %d: %s",
							     p->pid, t->tid, strerror(-r));
				break;
			}
			t->attached = true;
			t->stopped = false;
			t->interrupt_sent = false;
			added++;
		}
		free(tids);
		/*
		 * Seizing does not stop a thread: seize them all first, then
		 * interrupt them all, so the threads stopped first do not wait
		 * for the seize of the others (one syscall less per thread in
		 * the pause).
		 */
		/*
		 * Interrupt them all (boosted only for many: the two extra system
		 * calls cost more than they save below ~100 threads, measured),
		 * then let them use every CPU to reach their stops.
		 */
		bool boosted = added >= BOOST_MIN_THREADS && boost();
		for (size_t i = 0; !err && i < p->nthreads; i++) {
			struct thread *t = p->threads[i];
			if (!t->attached || t->stopped || t->interrupt_sent)
				continue;
			if (first && !p->first_stop_ns) {
				p->first_stop_ns = hp_now_ns();
				first = false;
			}
			int r = pt_interrupt(t->tid);
			if (r && r != -ESRCH)
				err = hp_err(r, "pid %d: cannot interrupt thread %d", p->pid, t->tid);
			t->interrupt_sent = true;
		}
		unboost(boosted);
		if (first && !p->first_stop_ns) {
			/*
			 * Nobody to interrupt: every thread was stopped already (the
			 * one thread of a one-thread target, borrowed for dlopen).
			 * The stop-the-world still starts here, for timing.pause_ns.
			 */
			p->first_stop_ns = hp_now_ns();
			first = false;
		}
		if (err)
			break;
		for (size_t i = 0; i < p->nthreads && !err; i++) {
			struct thread *t = p->threads[i];
			err = thread_wait_stop(p, t, deadline);
			/* Work on it now, while the threads after it are still on their way. */
			if (!err && fn && !t->seen_by_hold && t->attached && t->stopped) {
				t->seen_by_hold = true;
				fn(arg, p, t);
			}
		}
		if (err)
			break;
		if (p->exited) {
			err = hp_err(HOTPATCH_E_EXITED, "pid %d: process exited", p->pid);
			break;
		}
		/* Stable: every thread we know is stopped and a rescan found nobody new. */
		if (!added || all_held(p))
			break;
	}
	if (!err) {
		/* Everything is stopped: if the image changed meanwhile, all we know is stale. */
		uint64_t ss = proc_stat_field(p, 28);
		if (ss && p->startstack && ss != p->startstack) {
			p->execed = true;
			err = hp_err(HOTPATCH_E_EXITED, "pid %d: process called exec", p->pid);
		}
	}
	if (err) {
		proc_release_all(p, NULL);
		return err;
	}
	p->held = true;
	for (size_t i = 0; i < p->nthreads; i++)
		if (p->threads[i]->was_stopped)
			p->was_group_stopped = true;
	return 0;
}

int proc_tasks(struct proc *p, pid_t **tids, size_t *n)
{
	return list_tasks(p, tids, n);
}

long proc_blocked_syscall(struct proc *p, pid_t tid)
{
	char path[64], buf[256];
	snprintf(path, sizeof(path), "/proc/%d/task/%d/syscall", p->pid, tid);
	/* "NR args... sp pc" while blocked in a syscall, "-1 sp pc" outside one, "running". */
	if (read_small(path, buf, sizeof(buf)) <= 0 || buf[0] < '0' || buf[0] > '9')
		return -1;
	return strtol(buf, NULL, 10);
}

int proc_hold_one(struct proc *p, pid_t tid, struct thread **out)
{
	struct thread *t = proc_thread(p, tid);
	*out = NULL;
	if (p->held || (t && t->attached))
		BUG("proc_hold_one(%d) with threads held", tid);
	if (!t && !(t = thread_add(p, tid)))
		return -ENOMEM;
	t->gone = false;
	int err = pt_seize(tid, PTRACE_O_TRACESYSGOOD);
	if (!err) {
		t->attached = true;
		t->stopped = false;
		err = pt_interrupt(tid);
		if (!err)
			err = thread_wait_stop(p, t, hp_now_ns() + STOP_TIMEOUT_NS);
		if (!err && !t->attached)
			err = -ESRCH;	/* exited meanwhile */
	}
	if (err) {
		proc_release_thread(p, t);
		t->gone = true;
		return err == -EPERM ? perm_error(p->pid, EPERM) : err;
	}
	*out = t;
	return 0;
}

/*
 * System calls that return -EINTR, instead of a -ERESTART* code, when merely
 * woken by our PTRACE_INTERRUPT: without help the target would see EINTR from
 * a stop that was never a signal (gdb leaves exactly this behind). Each of
 * them has done nothing when it returns EINTR, so running it again is exact.
 */
static bool eintr_syscall(long nr)
{
	switch (nr) {
	case SYS_epoll_wait:
	case SYS_epoll_pwait:
#ifdef SYS_epoll_pwait2
	case SYS_epoll_pwait2:
#endif
	case SYS_io_getevents:
	case SYS_semop:
	case SYS_semtimedop:
	case SYS_rt_sigtimedwait:
	case SYS_mq_timedreceive:
	case SYS_mq_timedsend:
		return true;
	default:
		return false;
	}
}

/*
 * A signal is pending for the thread and not blocked by it: then EINTR is
 * real. Asked through ptrace (its mask, its queue and the process's), not
 * /proc/PID/task/TID/status: inside the pause, three small calls (~4 us)
 * cost less than formatting that file (~13 us, per epoll thread). Any doubt
 * counts as pending. Blind spot: a standard signal the kernel could not
 * queue (RLIMIT_SIGPENDING exhausted) is pending without a queue entry;
 * then the call restarts after the handler has run, as if the signal had
 * come just before it, instead of returning EINTR.
 */
static bool signal_pending_for(struct proc *p, pid_t tid)
{
	siginfo_t si[8];
	uint64_t blocked;

	(void)p;
	if (pt_getsigmask(tid, &blocked))
		return true;
	for (int shared = 0; shared < 2; shared++) {
		int n = pt_peeksiginfo(tid, shared, si, (int)ARRAY_SIZE(si));
		if (n < 0 || n == (int)ARRAY_SIZE(si))
			return true;
		for (int i = 0; i < n; i++)
			if (si[i].si_signo < 1 || si[i].si_signo > 64 ||
			    !(blocked & (1ull << (si[i].si_signo - 1))))
				return true;
	}
	return false;
}

static void restart_interrupted_syscall(struct proc *p, struct thread *t)
{
	struct user_regs_struct regs;
	uint8_t insn[2];

	if (!t->interrupted || t->pending_sig)
		return;
	/* The registers read for unwinding are current unless something set others since. */
	if (t->regs_valid)
		regs = t->regs;
	else if (pt_getregs(t->tid, &regs))
		return;
	if ((long)regs.orig_rax < 0 || (long)regs.rax != -EINTR || !eintr_syscall((long)regs.orig_rax))
		return;
	if (pread(p->memfd, insn, 2, (off_t)(regs.rip - 2)) != 2 || insn[0] != 0x0f || insn[1] != 0x05)
		return;
	if (signal_pending_for(p, t->tid))
		return;
	regs.rip -= 2;			/* back onto the syscall instruction */
	regs.rax = regs.orig_rax;	/* with its number: it runs again on resume */
	if (pt_setregs(t->tid, &regs) == 0)
		hp_debug("pid %d: thread %d: syscall %lld restarted (it would have seen EINTR)", p->pid,
			 t->tid, (long long)regs.orig_rax);
}

int proc_release_thread(struct proc *p, struct thread *t)
{
	int err = 0;
	if (!t->attached)
		return 0;
	if (!t->stopped) {
		/* Must be in a ptrace-stop to detach: interrupt it first. */
		if (pt_interrupt(t->tid) == 0)
			thread_wait_stop(p, t, hp_now_ns() + STOP_TIMEOUT_NS);
	}
	if (t->attached) {
		restart_interrupted_syscall(p, t);
		err = pt_detach(t->tid, t->pending_sig);
		if (err && err != -ESRCH)
			hp_warn("pid %d: thread %d: detach: %s", p->pid, t->tid, strerror(-err));
	}
	t->attached = false;
	t->stopped = false;
	t->interrupted = false;
	t->pending_sig = 0;
	t->regs_valid = false;
	return err == -ESRCH ? 0 : err;
}

int proc_resume_thread(struct proc *p, struct thread *t)
{
	if (!t->attached || !t->stopped)
		return 0;
	restart_interrupted_syscall(p, t);
	int err = pt_cont(t->tid, t->pending_sig);
	if (err == -ESRCH) {
		/* SIGKILLed in its stop: it is on its way out. */
		t->gone = true;
		t->attached = false;
		err = 0;
	}
	t->stopped = false;
	t->interrupted = false;
	t->interrupt_sent = false;
	t->pending_sig = 0;
	t->regs_valid = false;
	return err;
}

struct thread *proc_adopt_thread(struct proc *p, pid_t tid)
{
	struct thread *t = proc_thread(p, tid);
	if (!t)
		t = thread_add(p, tid);
	else
		memset(t, 0, sizeof(*t));
	if (t) {
		t->tid = tid;
		t->attached = true;
		t->stopped = true;
	}
	return t;
}

int proc_release_all(struct proc *p, struct thread *keep)
{
	int err = 0;
	bool boosted = boost();
	for (size_t i = 0; i < p->nthreads; i++) {
		struct thread *t = p->threads[i];
		if (t == keep || t->parked)
			continue;
		int r = proc_release_thread(p, t);
		if (r && !err)
			err = r;
	}
	/* The pause ends with the last resume, not when the scheduler gives us the CPU back. */
	if (p->held && p->first_stop_ns) {
		p->pause_ns += hp_now_ns() - p->first_stop_ns;
		p->first_stop_ns = 0;
	}
	unboost(boosted);
	p->held = false;
	return err;
}

bool proc_vanished(struct proc *p)
{
	char path[64], buf[4096];
	uint64_t ss = 0;

	if (p->execed)
		return true;
	char st = task_state(p->pid, 0, &ss);
	if (st == 'Z') {
		/* A leader that ended with pthread_exit() is a zombie while its threads run on. */
		snprintf(path, sizeof(path), "/proc/%d/status", p->pid);
		if (read_small(path, buf, sizeof(buf)) > 0 && status_field(buf, "Threads:") > 1)
			return p->exited;
	}
	if (!st || st == 'Z' || st == 'X') {
		p->exited = true;
		return true;
	}
	/* Alive, but the image we worked on is gone: a thread called execve(). */
	if ((ss && p->startstack && ss != p->startstack) || p->exited) {
		p->execed = true;
		return true;
	}
	return false;
}

bool proc_seccomp_filtered(struct proc *p)
{
	char path[64], buf[4096];
	snprintf(path, sizeof(path), "/proc/%d/status", p->pid);
	return read_small(path, buf, sizeof(buf)) > 0 && status_field(buf, "Seccomp:") == 2;
}

bool proc_wait_vanished(struct proc *p, int err, unsigned ms)
{
	if (proc_vanished(p))
		return true;
	if (err != -ESRCH && err != -HOTPATCH_E_EXITED)
		return false;
	/* A thread vanished under us: an exit or exec is in progress; it completes quickly. */
	for (uint64_t end = hp_now_ns() + ms * 1000000ull; hp_now_ns() < end;) {
		struct timespec ts = { 0, 2000000 };
		nanosleep(&ts, NULL);
		if (proc_vanished(p))
			return true;
	}
	return false;
}

void proc_abandon(struct proc *p)
{
	if (p)
		proc_release_all(p, NULL);
}

int proc_read(struct proc *p, uint64_t addr, void *buf, size_t len)
{
	size_t done = 0;
	while (done < len) {
		ssize_t n = pread(p->memfd, (char *)buf + done, len - done, (off_t)(addr + done));
		if (n <= 0) {
			int err = n < 0 ? errno : EIO;
			if (err == EINTR)
				continue;
			return hp_err(err, "pid %d: cannot read %zu bytes at 0x%llx: %s", p->pid, len,
				      (unsigned long long)addr, strerror(err));
		}
		done += (size_t)n;
	}
	return 0;
}

int proc_write(struct proc *p, uint64_t addr, const void *buf, size_t len)
{
	size_t done = 0;
	while (done < len) {
		ssize_t n = pwrite(p->memfd, (const char *)buf + done, len - done,
				   (off_t)(addr + done));
		if (n <= 0) {
			int err = n < 0 ? errno : EIO;
			if (err == EINTR)
				continue;
			return hp_err(err, "pid %d: cannot write %zu bytes at 0x%llx: %s", p->pid,
				      len, (unsigned long long)addr, strerror(err));
		}
		done += (size_t)n;
	}
	return 0;
}

int thread_get_regs(struct proc *p, struct thread *t)
{
	if (t->regs_valid)
		return 0;
	int err = pt_getregs(t->tid, &t->regs);
	if (err)
		return hp_err(err, "pid %d: thread %d: cannot read registers: %s", p->pid, t->tid,
			      strerror(-err));
	t->regs_valid = true;
	return 0;
}

int thread_set_regs(struct proc *p, struct thread *t, const struct user_regs_struct *regs)
{
	int err = pt_setregs(t->tid, regs);
	if (err)
		return hp_err(err, "pid %d: thread %d: cannot write registers: %s", p->pid, t->tid,
			      strerror(-err));
	t->regs = *regs;
	t->regs_valid = true;
	return 0;
}

#ifndef NT_X86_XSTATE
#define NT_X86_XSTATE 0x202
#endif

int thread_get_xstate(struct thread *t, struct xstate *xs)
{
	/*
	 * The kernel shortens iov_len to the real xstate size (11008 bytes with
	 * AVX-512 + AMX). Save and restore exactly that: injected code may
	 * clobber any vector register, and the thread may be mid-AVX loop.
	 */
	size_t cap = 64 * 1024;
	xs->buf = calloc(1, cap);
	if (!xs->buf)
		return -ENOMEM;
	struct iovec iov = { xs->buf, cap };
	int err = pt_getregset(t->tid, NT_X86_XSTATE, &iov);
	if (err) {
		free(xs->buf);
		xs->buf = NULL;
		return err;
	}
	xs->len = iov.iov_len;
	return 0;
}

int thread_set_xstate(struct thread *t, const struct xstate *xs)
{
	struct iovec iov = { xs->buf, xs->len };
	return pt_setregset(t->tid, NT_X86_XSTATE, &iov);
}

void xstate_release(struct xstate *xs)
{
	free(xs->buf);
	xs->buf = NULL;
	xs->len = 0;
}

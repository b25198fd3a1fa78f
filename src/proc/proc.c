/* SPDX-License-Identifier: MIT */
/* A target: opening and closing it, its thread table, its memory and registers. */
#include <fcntl.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "arch/arch.h"
#include "proc/internal.h"
#include "proc/procfs.h"
#include "proc/ptrace.h"

/* Explain why ptrace is refused, naming the reason (issue: clear EPERM messages). */
int proc_perm_error(pid_t pid, int err)
{
	char buf[4096];
	if (procfs_read(pid, 0, "status", buf, sizeof(buf)) > 0) {
		long tracer = procfs_status_num(buf, "TracerPid:");
		if (tracer == getpid())
			return hp_err(HOTPATCH_E_TIMEOUT,
				      "pid %d: a thread we seized earlier never reached a stop (state D: frozen, or in uninterruptible sleep)",
				      pid);
		if (tracer > 0) {
			char comm[64];
			procfs_comm((pid_t)tracer, comm, sizeof(comm));
			return hp_err(HOTPATCH_E_TRACED, "pid %d: already traced by pid %ld (%s)", pid,
				      tracer, comm);
		}
		long uid = procfs_status_num(buf, "Uid:");
		if (uid >= 0 && (uid_t)uid != geteuid() && geteuid() != 0)
			return hp_err(HOTPATCH_E_PERM,
				      "pid %d: not permitted: owned by uid %ld, we are uid %d", pid,
				      uid, (int)geteuid());
	}
	int scope = procfs_ptrace_scope();
	if (scope > 0 && geteuid() != 0)
		return hp_err(HOTPATCH_E_PERM,
			      "pid %d: not permitted: kernel.yama.ptrace_scope=%d (needs root or CAP_SYS_PTRACE)",
			      pid, scope);
	return hp_err(HOTPATCH_E_PERM, "pid %d: not permitted to trace: %s", pid, strerror(err));
}

/* reader: for list and check, which only read memory: another tracer is no obstacle. */
static int open_proc(pid_t pid, bool reader, struct proc **out)
{
	char path[64], buf[4096];
	struct procfs_stat st;
	int err;

	*out = NULL;
	if (pid <= 0)
		return hp_err(HOTPATCH_E_NOPROC, "pid %d: no such process", pid);
	if (pid == getpid())
		return hp_err(HOTPATCH_E_PERM, "pid %d: refusing to patch hotpatch itself", pid);
	err = procfs_stat(pid, 0, &st);
	if (err && err != -EINVAL)
		return hp_err(HOTPATCH_E_NOPROC, "pid %d: no such process", pid);
	if (st.flags & PROCFS_PF_KTHREAD)
		return hp_err(HOTPATCH_E_KTHREAD, "pid %d: is a kernel thread, nothing to patch", pid);
	char state = st.state;
	/* A thread id that is not a thread-group leader names a thread, not a process. */
	if (procfs_read(pid, 0, "status", buf, sizeof(buf)) > 0) {
		long tgid = procfs_status_num(buf, "Tgid:");
		if (tgid > 0 && tgid != pid)
			return hp_err(HOTPATCH_E_NOPROC,
				      "pid %d: is a thread of process %ld; give the process id", pid,
				      tgid);
		/* Exited, not yet reaped (a leader gone by pthread_exit with threads left is alive). */
		if ((state == 'Z' || state == 'X') && procfs_status_num(buf, "Threads:") <= 1)
			return hp_err(HOTPATCH_E_EXITED,
				      "pid %d: is a zombie: it has exited and waits for its parent (pid %ld) to reap it",
				      pid, procfs_status_num(buf, "PPid:"));
		long tracer = procfs_status_num(buf, "TracerPid:");
		if (tracer > 0 && !reader)
			return proc_perm_error(pid, EPERM);
	}
	/* Frozen, no thread would reach a stop (nor run a dlopen): say so now, not after a timeout. */
	char frozen[2400];
	if (!reader && procfs_frozen(pid, frozen, sizeof(frozen)))
		return hp_err(HOTPATCH_E_BUSY, "pid %d: frozen by the cgroup freezer (%s): thaw it first",
			      pid, frozen);

	struct proc *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->pid = pid;
	p->lockfd = -1;
	p->pagemap_fd = -1;
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	p->memfd = open(path, (reader ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (p->memfd < 0) {
		err = errno;
		free(p);
		if (err == ENOENT || err == ESRCH)
			return hp_err(HOTPATCH_E_NOPROC, "pid %d: no such process", pid);
		return proc_perm_error(pid, err);
	}
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	p->statfd = open(path, O_RDONLY | O_CLOEXEC);
	if (procfs_stat(pid, 0, &st) == 0)
		p->startstack = st.startstack;
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
	if (p->pagemap_fd >= 0)
		close(p->pagemap_fd);
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

struct thread *proc_thread_add(struct proc *p, pid_t tid)
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

struct thread *proc_adopt_thread(struct proc *p, pid_t tid)
{
	struct thread *t = proc_thread(p, tid);
	if (!t)
		t = proc_thread_add(p, tid);
	else
		memset(t, 0, sizeof(*t));
	if (t) {
		t->tid = tid;
		t->attached = true;
		t->stopped = true;
	}
	return t;
}

bool proc_vanished(struct proc *p)
{
	struct procfs_stat s;

	if (p->execed)
		return true;
	procfs_stat(p->pid, 0, &s);	/* all zero when unreadable */
	char st = s.state;
	uint64_t ss = s.startstack;
	if (st == 'Z') {
		/* A leader that ended with pthread_exit() is a zombie while its threads run on. */
		if (procfs_status(p->pid, 0, "Threads:") > 1)
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

uint64_t proc_code_mask(struct proc *p)
{
	int type;
	size_t size, off;

	if (p->code_mask_read || !arch_code_mask_regset(&type, &size, &off))
		return p->code_mask;
	for (size_t i = 0; i < p->nthreads; i++) {
		const struct thread *t = p->threads[i];
		uint8_t buf[64];
		struct iovec iov = { buf, size < sizeof(buf) ? size : sizeof(buf) };
		if (t->gone || !t->stopped)
			continue;
		p->code_mask_read = true;
		hp_err_quiet_begin();
		/* Unreadable: a CPU without pointer authentication, whose return addresses are plain. */
		if (!pt_getregset(t->tid, type, &iov) && iov.iov_len >= off + 8)
			memcpy(&p->code_mask, buf + off, 8);
		hp_err_quiet_end();
		hp_debug("pid %d: code address mask %#llx", p->pid, (unsigned long long)p->code_mask);
		break;
	}
	return p->code_mask;
}

const char *proc_thread_live_state(struct proc *p, struct thread *t)
{
	int n;
	const int *types = arch_live_state_regsets(&n);
	const char *what = NULL;

	(void)p;
	hp_err_quiet_begin();
	for (int i = 0; i < n && !what; i++) {
		uint8_t head[16];
		struct iovec iov = { head, sizeof(head) };
		/* Only the header is copied (the kernel fills at most iov_len bytes). */
		if (!pt_getregset(t->tid, types[i], &iov))
			what = arch_live_state(types[i], head, iov.iov_len);
	}
	hp_err_quiet_end();
	return what;
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

/*
 * The extended register state is every set arch_ext_regsets() names (x86_64: the whole
 * xstate; aarch64: FP/SIMD, SVE at the thread's vector length, TLS, PAC, MTE), each kept as
 * the kernel reports it (it shortens iov_len to the real size: 11008 bytes with AVX-512 +
 * AMX) behind a 16-byte header {index, length}, and restored in the list's order. Injected
 * code may clobber any vector register, and the thread may be mid-vector loop.
 */
int thread_get_xstate(struct thread *t, struct xstate *xs)
{
	int n;
	const struct arch_regset_desc *d = arch_ext_regsets(&n);
	size_t cap = 0, pos = 0;

	for (int i = 0; i < n; i++)
		cap += 16 + ((d[i].max_size + 15) & ~(size_t)15);
	xs->buf = calloc(1, cap);
	if (!xs->buf)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		uint8_t *at = (uint8_t *)xs->buf + pos;
		struct iovec iov = { at + 16, d[i].max_size };
		int err = pt_getregset(t->tid, d[i].type, &iov);
		if (err && d[i].optional)
			continue;	/* a CPU without the feature */
		if (err) {
			xstate_release(xs);
			return err;
		}
		const uint64_t hdr[2] = { (uint64_t)i, iov.iov_len };
		memcpy(at, hdr, sizeof(hdr));
		pos += 16 + ((iov.iov_len + 15) & ~(size_t)15);
	}
	xs->len = pos;
	return 0;
}

int thread_set_xstate(struct thread *t, const struct xstate *xs)
{
	int n;
	const struct arch_regset_desc *d = arch_ext_regsets(&n);

	for (size_t pos = 0; pos + 16 <= xs->len;) {
		uint64_t hdr[2];
		memcpy(hdr, (const uint8_t *)xs->buf + pos, sizeof(hdr));
		if (hdr[0] >= (uint64_t)n)
			return -EINVAL;
		struct iovec iov = { (uint8_t *)xs->buf + pos + 16, hdr[1] };
		if (d[hdr[0]].writable) {
			int err = pt_setregset(t->tid, d[hdr[0]].type, &iov);
			if (err)
				return err;
		}
		pos += 16 + ((hdr[1] + 15) & ~(size_t)15);
	}
	return 0;
}

void xstate_release(struct xstate *xs)
{
	free(xs->buf);
	xs->buf = NULL;
	xs->len = 0;
}

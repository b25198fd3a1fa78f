/* SPDX-License-Identifier: MIT */
/*
 * hotpatchd - applies the patches registered in the patch directory
 * (`hotpatch install`) to every process of their target binary: the running
 * ones at start and on SIGHUP, and each new one as soon as the kernel reports
 * its exec through the process-events connector (a periodic rescan when the
 * connector is unavailable).
 *
 * One thread, one loop: the library's ptrace calls for a target must all come
 * from one thread. What is applied is read from each target's own state
 * (hotpatch_list), never remembered here: a restarted daemon applies nothing
 * twice. A process that cannot be patched is logged and retried with backoff,
 * a bounded number of times; the library leaves it exactly as it was found.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <sys/socket.h>
/* The ptrace poison, after linux/cn_proc.h (whose event union has a member named ptrace). */
#include "common/noptrace.h"

#include "common/macros.h"
#include "libhotpatch.h"
#include "cli/registry.h"

#define MAX_ONLY 16
#define NS_PER_MS UINT64_C(1000000)

static struct {
	const char *dir;
	const char *only[MAX_ONLY];	/* --only-exe: canonical paths */
	unsigned nonly;
	unsigned timeout_ms;		/* per apply */
	unsigned retries;		/* attempts per process before giving up */
	unsigned settle_ms;		/* longest wait for the loader before trying anyway */
	unsigned rescan_ms;		/* 0: default (60 s with the connector, 1 s without) */
	bool no_connector;
	int verbose;
	bool use_syslog;
} cfg = { .timeout_ms = 5000, .retries = 8, .settle_ms = 200 };

/* ---- logging: stderr always, syslog unless stderr already goes to the journal ---- */

static const char *prefix(int prio)
{
	return prio == LOG_ERR ? "<3>" : prio == LOG_WARNING ? "<4>" : prio == LOG_DEBUG ? "<7>" : "<6>";
}

HP_PRINTF(2, 3)
static void logmsg(int prio, const char *fmt, ...)
{
	static const char *const tag[] = { [LOG_ERR] = "error: ", [LOG_WARNING] = "warning: " };
	char buf[2048];
	va_list ap;

	if (prio == LOG_DEBUG && cfg.verbose < 1)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* "<N>" lets journald keep the priority of a line read from stderr. */
	fprintf(stderr, "%shotpatchd: %s%s\n", !cfg.use_syslog ? prefix(prio) : "",
		prio <= LOG_WARNING && prio >= LOG_ERR ? tag[prio] : "", buf);
	if (cfg.use_syslog)
		syslog(prio, "%s", buf);
}

static void lib_log(enum hotpatch_log_level level, const char *msg, void *ctx)
{
	(void)ctx;
	logmsg(level == HOTPATCH_LOG_ERROR	? LOG_ERR
	       : level == HOTPATCH_LOG_WARN ? LOG_WARNING
					    : LOG_DEBUG,
	       "%s", msg);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- signals: a self-pipe wakes the loop ---- */

static int sigpipe_fd[2] = { -1, -1 };
static volatile sig_atomic_t got_term, got_hup;

static void on_signal(int sig)
{
	int saved = errno;
	char c = (char)sig;

	if (sig == SIGHUP) {
		got_hup = 1;
	} else {
		got_term = sig;
		/* an apply in progress stops waiting, undoes its work and fails */
		hotpatch_interrupt();
	}
	if (write(sigpipe_fd[1], &c, 1) < 0) {
		/* the pipe is full: the loop wakes anyway */
	}
	errno = saved;
}

static int setup_signals(void)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP };
	struct sigaction sa = { .sa_handler = on_signal };

	if (pipe2(sigpipe_fd, O_CLOEXEC | O_NONBLOCK))
		return -errno;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

/* ---- the process-events connector ---- */

static int connector_open(char *why, size_t size)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = CN_IDX_PROC };
	struct {
		struct nlmsghdr h;
		struct cn_msg m;
		enum proc_cn_mcast_op op;
	} __attribute__((packed)) msg;
	int fd, rcv = 4 << 20;

	fd = socket(PF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_CONNECTOR);
	if (fd < 0) {
		snprintf(why, size, "socket(NETLINK_CONNECTOR): %s", strerror(errno));
		return -1;
	}
	/* A burst of execs while an apply holds the loop must not overflow the queue. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof(rcv)))
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		snprintf(why, size, "bind(CN_IDX_PROC): %s", strerror(errno));
		close(fd);
		return -1;
	}
	memset(&msg, 0, sizeof(msg));
	msg.h.nlmsg_len = sizeof(msg);
	msg.h.nlmsg_type = NLMSG_DONE;
	msg.h.nlmsg_pid = (unsigned)getpid();
	msg.m.id.idx = CN_IDX_PROC;
	msg.m.id.val = CN_VAL_PROC;
	msg.m.len = sizeof(msg.op);
	msg.op = PROC_CN_MCAST_LISTEN;
	if (send(fd, &msg, sizeof(msg), 0) < 0) {
		snprintf(why, size, "PROC_CN_MCAST_LISTEN: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* ---- registered patches ---- */

static struct reg registry;
static struct reg_bid_cache bids;

static bool registered_for(const char *bid)
{
	for (size_t i = 0; i < registry.n; i++)
		if (!strcmp(registry.v[i].target, bid) && !registry.v[i].err)
			return true;
	return false;
}

static void reload(void)
{
	char msg[1024];
	size_t ntargets = 0;
	struct reg r;
	int err;

	err = reg_check_perms(cfg.dir, msg, sizeof(msg));
	if (err == -ENOENT) {
		err = 0;	/* no directory yet: nothing installed */
	} else if (err) {
		logmsg(LOG_ERR, "%s: no patch loaded from it", msg);
		reg_release(&registry);
		return;
	}
	err = reg_load(cfg.dir, &r, msg, sizeof(msg));
	if (err) {
		logmsg(LOG_ERR, "%s: keeping the previous list", msg);
		return;
	}
	reg_release(&registry);
	registry = r;
	for (size_t i = 0; i < r.n; i++) {
		if (r.v[i].err)
			logmsg(LOG_ERR, "%s: %s: skipped", r.v[i].path, hotpatch_strerror(r.v[i].err));
		if (!i || strcmp(r.v[i].target, r.v[i - 1].target))
			ntargets++;
	}
	logmsg(LOG_INFO, "%zu patch%s for %zu binar%s in %s", r.n, r.n == 1 ? "" : "es", ntargets,
	       ntargets == 1 ? "y" : "ies", cfg.dir);
}

/* ---- processes ---- */

/* Start time (clock ticks since boot) of pid: tells a reused pid apart. 0 if gone. */
static uint64_t start_time(pid_t pid)
{
	char path[64], buf[1024];
	unsigned long long st = 0;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	/* field 22; comm (field 2) may hold spaces and parentheses: start after the last ')' */
	const char *p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d "
			 "%*d %*d %*d %llu",
			 &st) != 1)
		return 0;
	return st;
}

/* Is pid's executable one we may touch, and does a patch target it? Its build-id in *bid. */
static bool wanted(pid_t pid, char *exe, size_t exesz, const char **bid)
{
	char link[64];
	ssize_t n;

	if (pid == getpid() || !registry.n)
		return false;
	snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
	n = readlink(link, exe, exesz - 1);
	if (n < 0)
		return false;
	exe[n] = 0;
	if (cfg.nonly) {
		bool ok = false;

		for (unsigned i = 0; i < cfg.nonly && !ok; i++)
			ok = !strcmp(exe, cfg.only[i]);
		if (!ok)
			return false;
	}
	return !reg_pid_build_id(&bids, pid, bid) && registered_for(*bid);
}

struct job {
	pid_t pid;
	uint64_t start;		/* start_time(): the same process */
	uint64_t exec_ns;	/* exec (connector timestamp) or discovery, CLOCK_MONOTONIC */
	uint64_t next_ns;	/* when to look at it again */
	unsigned attempts;	/* failed applies so far */
	bool settled;		/* the loader is done (or we stopped waiting for it) */
	uint64_t settled_ns;	/* when */
	bool from_exec;
	char exe[PATH_MAX];
	char bid[HOTPATCH_BUILD_ID_MAX];
};

static struct job *jobs;
static size_t njobs, capjobs;

/* Processes given up on (pid, start), until SIGHUP or their next exec. */
static struct {
	pid_t pid;
	uint64_t start;
} *gaveup;
static size_t ngaveup, capgaveup;

static bool given_up(pid_t pid, uint64_t start)
{
	for (size_t i = 0; i < ngaveup; i++)
		if (gaveup[i].pid == pid && gaveup[i].start == start)
			return true;
	return false;
}

static void give_up(const struct job *j)
{
	if (ngaveup == capgaveup) {
		size_t c = capgaveup ? 2 * capgaveup : 16;
		void *v = realloc(gaveup, c * sizeof(*gaveup));

		if (!v)
			return;
		gaveup = v;
		capgaveup = c;
	}
	gaveup[ngaveup].pid = j->pid;
	gaveup[ngaveup++].start = j->start;
}

static void forget_given_up(pid_t pid)
{
	for (size_t i = 0; i < ngaveup;)
		if (gaveup[i].pid == pid)
			gaveup[i] = gaveup[--ngaveup];
		else
			i++;
}

static void add_job(pid_t pid, uint64_t exec_ns, bool from_exec)
{
	char exe[PATH_MAX];
	const char *bid;
	uint64_t st;
	struct job *j;

	/* A new image: whatever was pending for the old one is void. */
	for (size_t i = 0; from_exec && i < njobs; i++)
		if (jobs[i].pid == pid) {
			jobs[i] = jobs[--njobs];
			break;
		}
	if (from_exec)
		forget_given_up(pid);
	if (!wanted(pid, exe, sizeof(exe), &bid))
		return;
	st = start_time(pid);
	if (!st || given_up(pid, st))
		return;
	for (size_t i = 0; i < njobs; i++)
		if (jobs[i].pid == pid) {
			if (jobs[i].start == st)
				return;	/* already being handled */
			jobs[i] = jobs[--njobs];	/* a reused pid */
			break;
		}
	if (njobs == capjobs) {
		size_t c = capjobs ? 2 * capjobs : 16;
		struct job *v = realloc(jobs, c * sizeof(*v));

		if (!v) {
			logmsg(LOG_ERR, "pid %d: out of memory", (int)pid);
			return;
		}
		jobs = v;
		capjobs = c;
	}
	j = &jobs[njobs++];
	memset(j, 0, sizeof(*j));
	j->pid = pid;
	j->start = st;
	j->exec_ns = exec_ns;
	j->next_ns = now_ns();
	j->from_exec = from_exec;
	/* Found by a rescan, it may have just exec'd too: the same wait for the loader. */
	j->settled = false;
	snprintf(j->exe, sizeof(j->exe), "%s", exe);
	snprintf(j->bid, sizeof(j->bid), "%s", bid);
	logmsg(LOG_DEBUG, "pid %d %s: %s, build-id %s", (int)pid, exe,
	       from_exec ? "exec" : "running", bid);
}

/*
 * Has the dynamic loader finished in pid? The patch needs libc's dlopen, and
 * a thread inside ld.so is no place to run it. Without stopping the process:
 * its main thread blocks in a system call whose pc is not in ld.so (the
 * loader's own calls, mmap and openat, do not block).
 */
static bool loader_done(pid_t pid)
{
	char path[64], buf[512], line[4400];
	unsigned long long pc = 0, lo, hi;
	bool in_ld = false, found = false;
	ssize_t n;
	FILE *f;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/syscall", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return true;	/* cannot tell: let the library decide */
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return true;
	buf[n] = 0;
	if (!strncmp(buf, "running", 7))
		return false;
	/* "NR a1 a2 a3 a4 a5 a6 sp pc", or "-1 sp pc" when blocked outside a system call */
	const char *last = strrchr(buf, ' ');
	if (!last || sscanf(last + 1, "%llx", &pc) != 1)
		return true;
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return true;
	while (!found && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%llx-%llx", &lo, &hi) != 2 || pc < lo || pc >= hi)
			continue;
		found = true;
		in_ld = strstr(line, "/ld-linux") != NULL;
	}
	fclose(f);
	return found && !in_ld;
}

static bool applied(const struct hotpatch_patch *v, unsigned n, const char *build_id)
{
	for (unsigned i = 0; i < n; i++)
		if (!strcmp(v[i].build_id, build_id))
			return true;
	return false;
}

/* Backoff before attempt k+1: 2, 8, 32, 128, 512 ms, then 2 s. */
static uint64_t backoff_ns(unsigned k)
{
	uint64_t ms = 2ull << (2 * (k > 5 ? 5 : k - 1));

	return (ms > 2000 ? 2000 : ms) * NS_PER_MS;
}

/* Work on one job. Returns true when it is finished (patched, gone, or given up). */
static bool run_job(struct job *j)
{
	HOTPATCH_OPTS(opts, .timeout_ms = cfg.timeout_ms);
	struct hotpatch_patch *v = NULL;
	uint64_t t = now_ns();
	unsigned n = 0, done = 0;
	int err = 0;

	const char *bid;

	if (start_time(j->pid) != j->start)
		return true;	/* exited (or the pid was reused: its exec brings a new job) */
	/* Still the image the job is for (an exec since brings its own job, if wanted). */
	if (reg_pid_build_id(&bids, j->pid, &bid) || strcmp(bid, j->bid))
		return true;
	if (!j->settled) {
		if (!loader_done(j->pid) && t - j->exec_ns < cfg.settle_ms * NS_PER_MS) {
			j->next_ns = t + 200000;	/* 0.2 ms */
			return false;
		}
		j->settled = true;
		j->settled_ns = t;
	}
	err = hotpatch_list(j->pid, &v, &n);
	if (err) {
		if (err == -HOTPATCH_E_NOPROC || err == -HOTPATCH_E_EXITED) {
			return true;
		}
		goto failed;
	}
	for (size_t i = 0; i < registry.n; i++) {
		const struct reg_entry *e = &registry.v[i];
		struct hotpatch_result res = { 0 };
		uint64_t t0;

		if (strcmp(e->target, j->bid) || e->err || applied(v, n, e->build_id))
			continue;
		if (got_term)
			break;
		t0 = now_ns();
		err = hotpatch_apply(j->pid, e->path, &opts, &res);
		if (err == -HOTPATCH_E_APPLIED)
			err = 0;	/* someone else was quicker: the target's state says so */
		else if (!err)
			logmsg(LOG_INFO,
			       "pid %d %s: applied %s (id %s) as patch %u, %.3f ms after %s "
			       "(loader wait %.3f ms, apply %.3f ms, attempt %u) window_us=%" PRIu64,
			       (int)j->pid, j->exe, e->path, e->build_id, res.patch.id,
			       (double)(now_ns() - j->exec_ns) / 1e6, j->from_exec ? "exec" : "discovery",
			       (double)(j->settled_ns - j->exec_ns) / 1e6, (double)(now_ns() - t0) / 1e6,
			       j->attempts + 1,
			       (now_ns() - j->exec_ns) / 1000);
		hotpatch_result_release(&res);
		if (err == -HOTPATCH_E_NOPROC || err == -HOTPATCH_E_EXITED) {
			hotpatch_list_free(v, n);
			return true;
		}
		if (err)
			break;	/* the next patches may stack on this one: keep the order */
		done++;
	}
	hotpatch_list_free(v, n);
	if (!err)
		return true;
failed:
	j->attempts++;
	if (err == -HOTPATCH_E_INTR && got_term)
		return true;
	if (j->attempts >= cfg.retries) {
		logmsg(LOG_ERR, "pid %d %s: %s; giving up after %u attempts (SIGHUP retries)",
		       (int)j->pid, j->exe, *hotpatch_errmsg() ? hotpatch_errmsg() : hotpatch_strerror(err),
		       j->attempts);
		give_up(j);
		return true;
	}
	j->next_ns = now_ns() + backoff_ns(j->attempts);
	logmsg(LOG_WARNING, "pid %d %s: %s; attempt %u of %u, next in %" PRIu64 " ms", (int)j->pid,
	       j->exe, *hotpatch_errmsg() ? hotpatch_errmsg() : hotpatch_strerror(err), j->attempts,
	       cfg.retries, (j->next_ns - now_ns()) / NS_PER_MS);
	return false;
}

static void run_due_jobs(void)
{
	for (size_t i = 0; i < njobs && !got_term;) {
		if (jobs[i].next_ns > now_ns()) {
			i++;
			continue;
		}
		if (run_job(&jobs[i]))
			jobs[i] = jobs[--njobs];
		else
			i++;
	}
}

static void rescan(void)
{
	struct dirent *de;
	DIR *d;

	/* Forget given-up processes that are gone (their pid may come back as another). */
	for (size_t i = 0; i < ngaveup;)
		if (start_time(gaveup[i].pid) != gaveup[i].start)
			gaveup[i] = gaveup[--ngaveup];
		else
			i++;
	if (!registry.n)
		return;
	d = opendir("/proc");
	if (!d) {
		logmsg(LOG_ERR, "cannot read '/proc': %s", strerror(errno));
		return;
	}
	while ((de = readdir(d))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (*end || pid <= 0 || pid > INT_MAX)
			continue;
		add_job((pid_t)pid, now_ns(), false);
	}
	closedir(d);
}

/* Read every pending connector message; returns false if events were lost. */
static bool read_events(int fd)
{
	char buf[8192] __attribute__((aligned(8)));
	bool lost = false;

	for (;;) {
		ssize_t len = recv(fd, buf, sizeof(buf), 0);

		if (len < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS) {
				lost = true;
				continue;
			}
			break;	/* EAGAIN: drained */
		}
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)len);
		     h = NLMSG_NEXT(h, len)) {
			struct cn_msg *m = NLMSG_DATA(h);
			struct proc_event ev;

			if (h->nlmsg_type == NLMSG_ERROR || h->nlmsg_type == NLMSG_NOOP)
				continue;
			if (m->id.idx != CN_IDX_PROC || m->id.val != CN_VAL_PROC)
				continue;
			/* The event follows a 20-byte header: copy it out, aligned. */
			memset(&ev, 0, sizeof(ev));
			memcpy(&ev, m->data, m->len < sizeof(ev) ? m->len : sizeof(ev));
			if (ev.what == PROC_EVENT_EXEC)
				add_job(ev.event_data.exec.process_tgid, ev.timestamp_ns, true);
		}
	}
	return !lost;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: hotpatchd [--dir DIR] [--only-exe PATH]... [--timeout MS] [--retries N]\n"
		"                 [--settle-ms MS] [--rescan-ms MS] [--no-connector] [-v]\n"
		"\n"
		"Apply the patches registered with 'hotpatch install' to every process of\n"
		"their binary: running ones at start and on SIGHUP (which also re-reads the\n"
		"directory), new ones at exec. Runs in the foreground; SIGTERM stops it.\n"
		"\n"
		"  --dir DIR        patch directory (default $HOTPATCH_DIR, else " REG_DEFAULT_DIR ")\n"
		"  --only-exe PATH  touch only processes whose executable is PATH (repeatable)\n"
		"  --timeout MS     bound of one apply (default 5000)\n"
		"  --retries N      attempts per process before giving up (default 8)\n"
		"  --settle-ms MS   longest wait for the dynamic loader after exec (default 200)\n"
		"  --rescan-ms MS   rescan /proc this often (default 60000, or 1000 without\n"
		"                   the process-events connector)\n"
		"  --no-connector   do not use the process-events connector (rescan only)\n"
		"  -v               debug lines\n");
}

static bool parse_num(const char *s, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || !*s || v > UINT_MAX || *s == '-')
		return false;
	*out = (unsigned)v;
	return true;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "only-exe", required_argument, NULL, 'o' },
		{ "timeout", required_argument, NULL, 't' },
		{ "retries", required_argument, NULL, 'r' },
		{ "settle-ms", required_argument, NULL, 's' },
		{ "rescan-ms", required_argument, NULL, 'R' },
		{ "no-connector", no_argument, NULL, 'N' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	char why[256] = "disabled by --no-connector";
	uint64_t next_rescan;
	unsigned rescan_ms;
	int c, nl = -1;

	while ((c = getopt_long(argc, argv, "vh", lo, NULL)) != -1) {
		char canon[PATH_MAX];
		bool ok = true;

		switch (c) {
		case 'd':
			cfg.dir = optarg;
			break;
		case 'o':
			if (cfg.nonly == MAX_ONLY || !realpath(optarg, canon)) {
				fprintf(stderr, "hotpatchd: --only-exe '%s': %s\n", optarg,
					cfg.nonly == MAX_ONLY ? "too many" : strerror(errno));
				return 2;
			}
			cfg.only[cfg.nonly++] = strdup(canon);
			break;
		case 't':
			ok = parse_num(optarg, &cfg.timeout_ms) && cfg.timeout_ms;
			break;
		case 'r':
			ok = parse_num(optarg, &cfg.retries) && cfg.retries;
			break;
		case 's':
			ok = parse_num(optarg, &cfg.settle_ms);
			break;
		case 'R':
			ok = parse_num(optarg, &cfg.rescan_ms) && cfg.rescan_ms;
			break;
		case 'N':
			cfg.no_connector = true;
			break;
		case 'v':
			cfg.verbose++;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
		if (!ok) {
			fprintf(stderr, "hotpatchd: invalid value '%s' of '%s'\n", optarg,
				argv[optind - 1]);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "hotpatchd: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	cfg.dir = reg_dir(cfg.dir);
	setvbuf(stderr, NULL, _IOLBF, 0);
	cfg.use_syslog = !getenv("JOURNAL_STREAM");
	if (cfg.use_syslog)
		openlog("hotpatchd", LOG_PID, LOG_DAEMON);
	hotpatch_set_log(lib_log, NULL, cfg.verbose >= 2 ? HOTPATCH_LOG_DEBUG : HOTPATCH_LOG_WARN);
	if (setup_signals()) {
		logmsg(LOG_ERR, "cannot set up signals: %s", strerror(errno));
		return 1;
	}

	if (!cfg.no_connector)
		nl = connector_open(why, sizeof(why));
	rescan_ms = cfg.rescan_ms ? cfg.rescan_ms : nl >= 0 ? 60000 : 1000;
	if (nl < 0)
		logmsg(LOG_WARNING,
		       "process-events connector unavailable (%s): new processes are found by "
		       "rescanning /proc every %u ms",
		       why, rescan_ms);
	reload();
	/* Listen first, then scan: a process started in between is seen at least once. */
	rescan();
	next_rescan = now_ns() + rescan_ms * NS_PER_MS;
	logmsg(LOG_INFO, "ready: %s, rescan every %u ms%s",
	       nl >= 0 ? "exec events from the kernel" : "no exec events", rescan_ms,
	       cfg.nonly ? ", limited by --only-exe" : "");

	while (!got_term) {
		struct pollfd pfd[2] = { { sigpipe_fd[0], POLLIN, 0 }, { nl, POLLIN, 0 } };
		uint64_t t = now_ns(), wake = next_rescan;
		struct timespec ts;
		char drain[64];

		for (size_t i = 0; i < njobs; i++)
			if (jobs[i].next_ns < wake)
				wake = jobs[i].next_ns;
		wake = wake > t ? wake - t : 0;
		ts.tv_sec = (time_t)(wake / 1000000000ull);
		ts.tv_nsec = (long)(wake % 1000000000ull);
		if (ppoll(pfd, nl >= 0 ? 2 : 1, &ts, NULL) < 0 && errno != EINTR) {
			logmsg(LOG_ERR, "poll: %s", strerror(errno));
			break;
		}
		while (read(sigpipe_fd[0], drain, sizeof(drain)) > 0)
			;
		if (got_term)
			break;
		if (got_hup) {
			got_hup = 0;
			logmsg(LOG_INFO, "SIGHUP: re-reading %s", cfg.dir);
			reload();
			ngaveup = 0;
			rescan();
		}
		if (nl >= 0 && (pfd[1].revents & POLLIN) && !read_events(nl)) {
			logmsg(LOG_WARNING, "exec events were lost (queue overflow): rescanning /proc");
			rescan();
		}
		if (now_ns() >= next_rescan) {
			rescan();
			next_rescan = now_ns() + rescan_ms * NS_PER_MS;
		}
		run_due_jobs();
	}
	logmsg(LOG_INFO, "stopping on signal %d", (int)got_term);
	if (nl >= 0)
		close(nl);
	free(jobs);
	free(gaveup);
	reg_release(&registry);
	reg_bid_cache_release(&bids);
	for (unsigned i = 0; i < cfg.nonly; i++)
		free((void *)cfg.only[i]);
	return 0;
}

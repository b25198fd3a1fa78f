/* SPDX-License-Identifier: MIT */
/*
 * The floor of a stop-the-world, for `make bench`: the cheapest stop and
 * resume of every thread of a process that ptrace allows, nothing else.
 *
 *   floor PID REPS   prints "floor us=MEDIAN min=MIN max=MAX threads=N seize_us=S"
 *
 * Each rep: PTRACE_SEIZE every thread (untimed: hotpatch's stw_us starts
 * after its seizes too), then timed: PTRACE_INTERRUPT every thread, wait for
 * each one's stop, PTRACE_CONT every thread. Then (untimed) stop and detach
 * them all, and let the target run 50 ms before the next rep. No /proc read,
 * no register read, no scheduling change inside the timed part. A signal that
 * arrives meanwhile is re-injected. The span timed is the one hotpatch's
 * timing.stw_us covers: first interrupt to last resume.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAXT 4096

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int tasks(pid_t pid, pid_t *tids)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	DIR *d = opendir(path);
	struct dirent *de;
	int n = 0;
	if (!d)
		return -1;
	while ((de = readdir(d)) && n < MAXT)
		if (de->d_name[0] >= '0' && de->d_name[0] <= '9')
			tids[n++] = atoi(de->d_name);
	closedir(d);
	return n;
}

/* Wait for tid's stop; the signal to re-inject (0 for our own interrupt's event-stop). */
static int wait_stop(pid_t tid)
{
	int st;
	if (waitpid(tid, &st, __WALL) != tid || !WIFSTOPPED(st))
		return -1;
	return (st >> 16) == PTRACE_EVENT_STOP ? 0 : WSTOPSIG(st);
}

static int cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	static pid_t tids[MAXT];
	static int sig[MAXT];
	if (argc != 3) {
		fprintf(stderr, "usage: floor PID REPS\n");
		return 2;
	}
	pid_t pid = atoi(argv[1]);
	int reps = atoi(argv[2]), n = 0;
	uint64_t *us = calloc((size_t)reps, sizeof(*us)), seize = 0;
	if (!us || reps < 1)
		return 2;
	for (int r = 0; r < reps; r++) {
		n = tasks(pid, tids);
		if (n <= 0) {
			fprintf(stderr, "floor: pid %d: no threads\n", pid);
			return 1;
		}
		uint64_t s0 = now_ns();
		for (int i = 0; i < n; i++)
			if (ptrace(PTRACE_SEIZE, tids[i], 0, 0)) {
				fprintf(stderr, "floor: seize %d: %s\n", tids[i], strerror(errno));
				return 1;
			}
		uint64_t t0 = now_ns();
		for (int i = 0; i < n; i++)
			ptrace(PTRACE_INTERRUPT, tids[i], 0, 0);
		for (int i = 0; i < n; i++)
			sig[i] = wait_stop(tids[i]);
		for (int i = 0; i < n; i++)
			ptrace(PTRACE_CONT, tids[i], 0, (void *)(long)(sig[i] > 0 ? sig[i] : 0));
		uint64_t t1 = now_ns();
		us[r] = (t1 - t0) / 1000;
		seize += (t0 - s0) / 1000;
		/* Untimed: leave the target as found. */
		for (int i = 0; i < n; i++)
			ptrace(PTRACE_INTERRUPT, tids[i], 0, 0);
		for (int i = 0; i < n; i++) {
			int s = wait_stop(tids[i]);
			ptrace(PTRACE_DETACH, tids[i], 0, (void *)(long)(s > 0 ? s : 0));
		}
		struct timespec ts = { 0, 50000000 };
		nanosleep(&ts, NULL);
	}
	qsort(us, (size_t)reps, sizeof(*us), cmp);
	printf("floor us=%llu min=%llu max=%llu threads=%d seize_us=%llu\n",
	       (unsigned long long)us[reps / 2], (unsigned long long)us[0],
	       (unsigned long long)us[reps - 1], n, (unsigned long long)(seize / (uint64_t)reps));
	free(us);
	return 0;
}

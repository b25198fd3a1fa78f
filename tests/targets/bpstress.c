/* SPDX-License-Identifier: MIT */
/*
 * bpstress.c - everything that can meet a software breakpoint, at once.
 * The test replaces work(); caller() calls it, so a thread found inside
 * work() is run out to caller()'s return site, where an int3 stands while:
 *  - three "hot" threads call caller(0) back to back (they run into it all the time),
 *  - a "slow" thread calls caller(300) (300 ms inside work(): always found there),
 *  - a "forker" forks a child every 2 ms that calls caller(0) 200 times and exits 7,
 *  - a "vforker" vforks a child that calls caller(0) and _exit(7)s, every 2 ms,
 *  - a "spawner" starts a thread every 2 ms that calls caller(0) 200 times and ends.
 * A child that does not exit 7 (killed by a SIGTRAP it met in its copy of the
 * code, say) is reported as "BUG ...". The main thread prints every 20 ms
 * "tick N work=V forks=F vforks=W spawns=S"; work() returns 4, the patch's 300.
 * Arguments: "stuck": the slow thread never leaves work() (an interrupt test);
 * "calm": only the slow thread and the ticking main thread run (several
 * targets at once without starving the machine).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/wait.h>

#include "tgt.h"

static volatile unsigned long sink;
static volatile unsigned long forks, vforks, spawns;
static int stuck;

HP_FN int work(int ms)
{
	if (ms)
		msleep(stuck ? 1000000 : ms);
	return 4 + hp_zero;
}

HP_FN int caller(int ms)
{
	int r = work(ms);
	return r + hp_zero;
}

static void *hot(void *arg)
{
	(void)arg;
	for (;;)
		sink += (unsigned long)caller(0);
}

static void *slow(void *arg)
{
	(void)arg;
	for (;;)
		sink += (unsigned long)caller(300);
}

static void reap(pid_t c, const char *what)
{
	int st;
	while (waitpid(c, &st, 0) < 0)
		if (errno != EINTR) {
			say("BUG %s %d: waitpid: %d", what, (int)c, errno);
			return;
		}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 7)
		say("BUG %s %d ended with status 0x%x (signal %d)", what, (int)c, st,
		    WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

static void *forker(void *arg)
{
	(void)arg;
	for (;;) {
		pid_t c = fork();
		if (c == 0) {
			for (int i = 0; i < 200; i++)
				sink += (unsigned long)caller(0);
			_exit(7);
		}
		if (c < 0) {
			say("BUG fork: %d", errno);
			msleep(100);
			continue;
		}
		reap(c, "forked child");
		forks++;
		msleep(2);
	}
}

static void *vforker(void *arg)
{
	(void)arg;
	for (;;) {
		pid_t c = vfork();
		if (c == 0) {
			/* Shares our memory: runs through the same int3 as a thread would. */
			caller(0);
			_exit(7);
		}
		if (c < 0) {
			say("BUG vfork: %d", errno);
			msleep(100);
			continue;
		}
		reap(c, "vforked child");
		vforks++;
		msleep(2);
	}
}

static void *brief(void *arg)
{
	(void)arg;
	for (int i = 0; i < 200; i++)
		sink += (unsigned long)caller(0);
	return NULL;
}

static void *spawner(void *arg)
{
	(void)arg;
	for (;;) {
		pthread_t t;
		if (pthread_create(&t, NULL, brief, NULL) == 0) {
			pthread_join(t, NULL);
			spawns++;
		}
		msleep(2);
	}
}

int main(int argc, char **argv)
{
	void *(*fns[])(void *) = { hot, hot, hot, slow, forker, vforker, spawner };
	pthread_t t;

	bool calm = false;
	for (int i = 1; i < argc; i++) {
		stuck |= !strcmp(argv[i], "stuck");
		calm |= !strcmp(argv[i], "calm");
	}
	if (calm) {
		fns[0] = slow;
		fns[1] = NULL;
	}
	for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]) && fns[i]; i++)
		if (pthread_create(&t, NULL, fns[i], NULL)) {
			say("ERROR pthread_create");
			return 1;
		}
	say("ready pid %d", (int)getpid());
	for (unsigned n = 1;; n++) {
		say("tick %u work=%d forks=%lu vforks=%lu spawns=%lu", n, caller(0), forks, vforks,
		    spawns);
		msleep(20);
	}
}

/* SPDX-License-Identifier: MIT */
/*
 * sigfork.c - the PostgreSQL postmaster's pattern: the main loop blocks in
 * select(), and a signal handler (SIGUSR1 here, SIGCHLD there) forks the
 * children from inside the handler. A child never returns from it: for its
 * whole life its stack holds a signal frame over libc's select. The child
 * prints "child N value=V" every 20 ms (V = value(): 4, the patch's 300),
 * blocking in poll() in between; the parent prints "parent value=V" on each
 * select timeout (50 ms).
 */
#define _GNU_SOURCE
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/select.h>

#include "tgt.h"

HP_FN int value(void)
{
	return 4 + hp_zero;
}

HP_FN static void child_main(void)
{
	say("child pid %d", (int)getpid());
	for (unsigned n = 1;; n++) {
		say("child %u value=%d", n, value());
		poll(NULL, 0, 20);
	}
}

static void on_usr1(int sig)
{
	(void)sig;
	pid_t c = fork();
	if (c == 0)
		child_main();	/* never returns: the handler's frames stay below it */
}

int main(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGCHLD, SIG_IGN);
	say("ready pid %d", (int)getpid());
	for (;;) {
		struct timeval tv = { 0, 50000 };
		select(0, NULL, NULL, NULL, &tv);
		say("parent value=%d", value());
	}
}

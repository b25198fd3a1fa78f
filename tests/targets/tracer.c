/* SPDX-License-Identifier: MIT */
/*
 * tracer.c - a minimal well-behaved tracer: PTRACE_SEIZEs PID (without
 * stopping it), prints "seized PID by TRACERPID", then passes every stop on
 * (signals are re-injected) until a line arrives on stdin, stdin reaches EOF
 * after having been open, SIGTERM arrives, or 60 s pass; then it detaches.
 * Used to test "target already traced".
 *
 *	tracer PID [--no-stdin]
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>

#include "tgt.h"

static volatile sig_atomic_t quit;

static void on_term(int sig)
{
	(void)sig;
	quit = 1;
}

/* Only there to interrupt waitpid() (no SA_RESTART). */
static void on_alarm(int sig)
{
	(void)sig;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_term };
	struct sigaction al = { .sa_handler = on_alarm };
	int use_stdin = !(argc > 2 && !strcmp(argv[2], "--no-stdin"));
	time_t end = time(NULL) + 60;
	pid_t pid;

	if (argc < 2) {
		fprintf(stderr, "usage: tracer PID [--no-stdin]\n");
		return 2;
	}
	pid = atoi(argv[1]);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGALRM, &al, NULL);
	if (ptrace(PTRACE_SEIZE, pid, 0, 0)) {
		say("ERROR seize %d: %s", (int)pid, strerror(errno));
		return 1;
	}
	say("seized %d by %d", (int)pid, (int)getpid());
	while (!quit && time(NULL) < end) {
		struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
		int status;
		pid_t w;

		if (use_stdin && poll(&pfd, 1, 0) > 0) {
			char c;

			/* a line or EOF: either way the test is done with us */
			if (read(STDIN_FILENO, &c, 1) >= 0)
				break;
		}
		alarm(1);	/* bound the wait so stdin and the deadline are checked */
		w = waitpid(pid, &status, __WALL);
		alarm(0);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			break;	/* the tracee is gone */
		}
		if (WIFEXITED(status) || WIFSIGNALED(status))
			return 0;
		if (WIFSTOPPED(status)) {
			int sig = WSTOPSIG(status);

			/* group-stop / PTRACE_EVENT_STOP: do not inject anything */
			if ((status >> 16) == PTRACE_EVENT_STOP || sig == SIGTRAP)
				sig = 0;
			ptrace(PTRACE_CONT, pid, 0, sig);
		}
	}
	ptrace(PTRACE_DETACH, pid, 0, 0);	/* fails while running: exiting detaches anyway */
	say("released %d", (int)pid);
	return 0;
}

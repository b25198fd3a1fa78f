/* SPDX-License-Identifier: MIT */
/*
 * altstack.c - a thread inside victim() is interrupted by a signal whose
 * handler runs on a sigaltstack and blocks there: the frame of victim() is
 * on the thread's own stack, the thread's sp on the alternate one. The
 * alternate stack is a thread-local array, so it sits just below the thread
 * pointer, among the thread's own stack words: only the signal frame tells
 * that the interrupted context lies elsewhere.
 *
 * argv[1]: a FIFO; the handler reads one byte from it, then returns.
 * Prints "in handler tid T" once blocked, then, after the release,
 * "tick N victim(1)=V" every 20 ms; original 2.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>

#include "tgt.h"

static const char *fifo;
static __thread char alt[32768] __attribute__((aligned(16)));
static volatile int signalled;

static void on_usr1(int sig)
{
	char c;
	int fd;

	(void)sig;
	say("in handler tid %d", (int)gettid());
	while ((fd = open(fifo, O_RDONLY)) < 0 && errno == EINTR)
		;
	while (fd >= 0 && read(fd, &c, 1) < 0 && errno == EINTR)
		;
	if (fd >= 0)
		close(fd);
}

HP_FN int victim(int x)
{
	if (!signalled) {
		signalled = 1;
		pthread_kill(pthread_self(), SIGUSR1);
	}
	return x + 1 + hp_zero;
}

static void *worker(void *arg)
{
	stack_t ss = { .ss_sp = alt, .ss_size = sizeof(alt) };

	(void)arg;
	if (sigaltstack(&ss, NULL)) {
		say("ERROR sigaltstack: %s", strerror(errno));
		return NULL;
	}
	for (unsigned n = 1;; n++) {
		say("tick %u victim(1)=%d", n, victim(1));
		msleep(20);
	}
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	pthread_t t;

	if (argc < 2) {
		say("ERROR usage: altstack FIFO");
		return 2;
	}
	fifo = argv[1];
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sa.sa_flags = SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL) || pthread_create(&t, NULL, worker, NULL)) {
		say("ERROR setup");
		return 1;
	}
	say("ready pid %d", (int)getpid());
	for (;;)
		pause();
}

/* SPDX-License-Identifier: MIT */
/*
 * tgt.h - helpers shared by the integration test targets.
 *
 * Targets report every event as one line on stdout and the scripts in
 * tests/integration synchronise on those lines. Several threads print, so a
 * line is formatted first and written with a single write(2): lines never
 * interleave and need no stdio buffer flushing.
 */
#ifndef TGT_H
#define TGT_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/*
 * Functions that tests replace: kept out of line, and noipa so that callers
 * make no assumption about which registers they clobber (GCC -fipa-ra); the
 * interaction with IPA-RA is tested on its own.
 */
#define HP_FN __attribute__((noinline, noipa))

/*
 * Always 0, but the compiler cannot know it: adding it keeps tiny functions
 * comfortably longer than a 5-byte jump, and keeps results from being folded.
 */
static volatile int hp_zero __attribute__((unused));

__attribute__((format(printf, 1, 2), unused))
static void say(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	for (char *p = buf; n > 0;) {
		ssize_t w = write(STDOUT_FILENO, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			_exit(111);	/* the test lost our output: nothing sensible left to do */
		p += w;
		n -= w;
	}
}

/* Sleep ms milliseconds, resuming after signal handlers. */
__attribute__((unused))
static void msleep(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Tick period: argv[1] in milliseconds, default 20. */
__attribute__((unused))
static long tick_ms(int argc, char **argv)
{
	long ms = argc > 1 ? atol(argv[1]) : 20;

	return ms > 0 ? ms : 20;
}

#endif /* TGT_H */

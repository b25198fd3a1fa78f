/* SPDX-License-Identifier: MIT */
/* slow_v2.c - busy target: slow(3) becomes 300, and stays slow (150 ms) like the original. */
#include <errno.h>
#include <time.h>
#include <hotpatch.h>

static int slow_v2(int x)
{
	struct timespec ts = { 0, 150 * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
	return x * 100;
}

HOTPATCH_REPLACE(slow, slow_v2);

/*
 * For svc_qemu: QEMU's qemu_coroutine_yield wrapped (counting yields, calling the original), so
 * a coroutine that parks through it (the QMP dispatcher, after every command) has the wrapper's
 * frame on its own stack.
 */
#include <hotpatch.h>
#include <stdio.h>
#include <unistd.h>

static void yield_v2(void);
HOTPATCH_WRAP(qemu_coroutine_yield, yield_v2, yield_orig);

static unsigned long yields;

static void say(const char *what, unsigned long n)
{
	char b[64];
	int len = snprintf(b, sizeof(b), "hotpatch-%s %lu\n", what, n);
	if (write(2, b, (size_t)len) < 0)
		return;
}

static void yield_v2(void)
{
	unsigned long n = ++yields;
	say("yield", n);
	yield_orig();
	say("back", n);
}

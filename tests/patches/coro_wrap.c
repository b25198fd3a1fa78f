/* For coro_*: co_yield wrapped, so the coroutine parks with the wrapper's frame on its stack. */
#include <hotpatch.h>
#include <stdio.h>
#include <unistd.h>

static int co_yield_v2(int v);
HOTPATCH_WRAP(co_yield, co_yield_v2, co_yield_orig);

static int co_yield_v2(int v)
{
	int r = co_yield_orig(v);
	/* Back from the park: still in the patch's code. */
	char buf[64];
	int n = snprintf(buf, sizeof(buf), "wrapper back %d\n", v);
	if (write(1, buf, (size_t)n) < 0)
		return r;
	return r + 1000;
}

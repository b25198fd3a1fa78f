/* For coro_*: co_loop replaced; the coroutine never leaves it, so this can never take effect. */
#include <hotpatch.h>

HOTPATCH_IMPORT(co_yield, int(int));
static void co_loop_v2(void);
HOTPATCH_REPLACE(co_loop, co_loop_v2);

static void co_loop_v2(void)
{
	for (;;)
		co_yield(-1);
}

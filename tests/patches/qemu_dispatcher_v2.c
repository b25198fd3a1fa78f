/* For svc_qemu: a REPLACE of the function the QMP dispatcher coroutine never leaves. */
#include <hotpatch.h>

static void dispatcher_v2(void *data);
HOTPATCH_REPLACE(monitor_qmp_dispatcher_co, dispatcher_v2);

static void dispatcher_v2(void *data)
{
	(void)data;
	for (;;)
		;
}

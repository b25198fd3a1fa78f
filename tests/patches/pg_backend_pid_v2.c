/* SPDX-License-Identifier: MIT */
/* PostgreSQL's pg_backend_pid() (SQL: SELECT pg_backend_pid()) answering 424242. */
#include <stdint.h>

#include <hotpatch.h>

static uintptr_t pg_backend_pid_v2(void *fcinfo)
{
	(void)fcinfo;
	return 424242;
}
HOTPATCH_REPLACE(pg_backend_pid, pg_backend_pid_v2);

/*
 * Patch for tests/integration/svc_memcached.sh. Debian's memcached exports no
 * symbol of its own, so the patch works on the C library it calls:
 *  - sendmsg (WRAP): every response of every worker thread goes through it;
 *    the wrapper counts calls and sends through the original.
 *  - getrusage (REPLACE): memcached's "stats" command reports it. While
 *    patched, rusage_user reads 4242.000000 (a marker) and rusage_system
 *    reads the number of sendmsg calls counted so far: a side channel the
 *    test reads back over the memcached protocol itself.
 */
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <hotpatch.h>

static unsigned long sends;

static ssize_t sendmsg_v2(int fd, const struct msghdr *msg, int flags);
HOTPATCH_WRAP_IN("libc.so.6", sendmsg, sendmsg_v2, orig_sendmsg);

static ssize_t sendmsg_v2(int fd, const struct msghdr *msg, int flags)
{
	__atomic_fetch_add(&sends, 1, __ATOMIC_RELAXED);
	return orig_sendmsg(fd, msg, flags);
}

static int getrusage_v2(int who, struct rusage *ru)
{
	long r = syscall(SYS_getrusage, who, ru);

	if (r)
		return (int)r;
	ru->ru_utime.tv_sec = 4242;
	ru->ru_utime.tv_usec = 0;
	ru->ru_stime.tv_sec = (time_t)__atomic_load_n(&sends, __ATOMIC_RELAXED);
	ru->ru_stime.tv_usec = 0;
	return 0;
}
HOTPATCH_REPLACE_IN("libc.so.6", getrusage, getrusage_v2);

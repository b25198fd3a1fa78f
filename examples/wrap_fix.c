/*
 * Security fix for examples/wrap_target.c, applied to the running service:
 *
 *	hotpatch build --target ./wrap_target wrap_fix.c     (or cc -shared -fPIC ...)
 *	hotpatch apply $(pidof wrap_target) wrap_fix.so
 *
 * HOTPATCH_WRAP keeps the original lookup() callable through 'lookup_orig':
 * the fix only adds the missing bounds check in front of it, so the patch
 * does not have to copy (and keep in sync) the rest of the function.
 */
#include <hotpatch.h>

#define NPRICES 4

static int lookup_fixed(int idx);

/* Replace lookup() by lookup_fixed(); lookup_orig points at the old code. */
HOTPATCH_WRAP(lookup, lookup_fixed, lookup_orig);

static int lookup_fixed(int idx)
{
	if (idx < 0 || idx >= NPRICES)
		return -1;		/* the request the old code answered with the secret */
	return lookup_orig(idx);	/* everything else: exactly the old behaviour */
}

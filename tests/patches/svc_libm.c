/*
 * Patch for tests/integration/svc_python_libm.sh: two libm functions reached
 * from Python's math module. cbrt is an ordinary function; expm1 is an
 * STT_GNU_IFUNC whose resolver picked __expm1_fma or __expm1_sse2 in the target,
 * so the jump must go over that implementation, not over the resolver.
 */
#include <hotpatch.h>

static double cbrt_v2(double x)
{
	return -x;
}

static double expm1_v2(double x)
{
	return 1000.0 + x;
}

HOTPATCH_REPLACE_IN("libm.so.6", cbrt, cbrt_v2);
HOTPATCH_REPLACE_IN("libm.so.6", expm1, expm1_v2);

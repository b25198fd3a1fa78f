/* For auth_wrap_loop: a branch in spin_sum targets the bytes a WRAP would displace. */
#include <hotpatch.h>

static int spin_v2(int n);
HOTPATCH_WRAP(spin_sum, spin_v2, spin_orig);

static int spin_v2(int n)
{
	return n > 3 ? -1 : spin_orig(n);
}

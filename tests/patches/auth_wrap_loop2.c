/*
 * For auth_wrap_loop: spin_sum2's loop head is at offset 8. Wrappable with a
 * 5-byte jump (to an island when the patch is out of rel32 reach), not with
 * a 14-byte absolute one.
 */
#include <hotpatch.h>

static int spin2_v2(int n);
HOTPATCH_WRAP(spin_sum2, spin2_v2, spin2_orig);

static int spin2_v2(int n)
{
	return spin2_orig(n) * 10;
}

/*
 * For ipara_stack: a new formula (plain sum). Pure arithmetic: at -O2 it
 * writes no register 'run' keeps its state in (r10, r11), which is what
 * --force-regs asserts.
 */
#include <hotpatch.h>

static long mix_v2(long a, long b, long c, long d, long e, long f, long g, long h)
{
	return a + b + c + d + e + f + g + h;
}
HOTPATCH_REPLACE(mix, mix_v2);

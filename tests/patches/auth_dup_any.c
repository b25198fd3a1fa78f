/* For auth_dup: 'parse' exists in dup_a.c and dup_b.c: ambiguous without a file. */
#include <hotpatch.h>

static int parse_v2(int x)
{
	return x + 900;
}
HOTPATCH_REPLACE(parse, parse_v2);

/* For auth_dup: replace only the 'parse' of dup_b.c. */
#include <hotpatch.h>

static int parse_v2(int x)
{
	return x + 900;
}
HOTPATCH_REPLACE_FILE("dup_b.c", parse, parse_v2);

/* For auth_lib: HOTPATCH_REPLACE_IN an object the target has not loaded. */
#include <hotpatch.h>

static int price_with_tax_v2(int cents)
{
	return cents;
}
HOTPATCH_REPLACE_IN("libnothere.so.1", price_with_tax, price_with_tax_v2);

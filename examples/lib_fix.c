/*
 * Fix for the VAT bug of examples/libshop.c, in every process that has
 * libshop.so.1 loaded:
 *
 *	hotpatch build lib_fix.c
 *	hotpatch apply --all-of /path/to/shop lib_fix.so
 *
 * HOTPATCH_REPLACE_IN names the object by its DT_SONAME or file name, so the
 * main executable (or another library) defining a 'price_with_tax' of its own
 * is never touched. Every caller reaches the fix: calls into a shared library
 * go through its PLT/GOT to the entry point, where the jump is written.
 */
#include <hotpatch.h>

static int price_with_tax_v2(int cents)
{
	return cents + cents * 20 / 100;
}
HOTPATCH_REPLACE_IN("libshop.so.1", price_with_tax, price_with_tax_v2);

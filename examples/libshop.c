/*
 * A shared library with a bug, for examples/lib_fix.c: price_with_tax()
 * applies 12% instead of 20% VAT. Built as libshop.so.1 (its DT_SONAME):
 *
 *	cc -shared -fPIC -O2 -g -Wl,-soname,libshop.so.1 -o libshop.so.1 libshop.c
 */
int price_with_tax(int cents)
{
	return cents + cents * 12 / 100;	/* BUG: VAT is 20% */
}

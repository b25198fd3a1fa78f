/* tl.c - the test library: a value and a count of its calls (the library's own state). */
#include "tl.h"

static volatile int zero;
static int calls;

int tl_value(int n)
{
	calls++;
	return n * 2 + zero;
}

int tl_calls(void)
{
	return calls;
}

/* The other static 'parse' (see auth_dup.c). */
static __attribute__((noinline)) int parse(int x)
{
	return x + 200;
}

int b_parse(int x)
{
	return parse(x);
}

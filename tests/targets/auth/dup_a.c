/* One of two static functions named 'parse' (see auth_dup.c). */
static __attribute__((noinline)) int parse(int x)
{
	return x + 100;
}

int a_parse(int x)
{
	return parse(x);
}

// A template both objects instantiate for long: each object has a copy in its COMDAT group.
template <typename T> __attribute__((noinline)) T clampv(T v, T lo, T hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

long percent(long part, long whole);

#include "clamp.h"

__attribute__((noinline)) long percent(long part, long whole)
{
	return clampv<long>(part * 100 / whole, 0, 100);
}

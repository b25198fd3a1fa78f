// A small C++ service: a virtual method, an exception thrown and caught, a template instantiated
// in two objects (a COMDAT group in each), std::string.
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <unistd.h>

struct Shape {
	virtual ~Shape() {}
	virtual long area() const = 0;
};

struct Rect : Shape {
	long w, h;
	Rect(long w_, long h_) : w(w_), h(h_) {}
	long area() const override;
};

__attribute__((noinline)) long Rect::area() const
{
	return w * h;
}

#include "clamp.h"

__attribute__((noinline)) long parse(const std::string &s)
{
	if (s.empty())
		throw std::invalid_argument("empty");
	return std::stol(s);
}

__attribute__((noinline)) std::string describe(const std::string &in)
{
	try {
		long v = parse(in);
		return "value " + std::to_string(clampv<long>(v, 0, 100));
	} catch (const std::exception &e) {
		return std::string("error ") + e.what();
	}
}

int main(int argc, char **argv)
{
	Shape *s = new Rect(argc + 2, 4);
	unsigned us = argc > 1 ? atoi(argv[1]) * 1000 : 100000;
	printf("ready\n");
	fflush(stdout);
	for (long i = 0;; i++) {
		printf("tick %ld area=%ld [%s] [%s] [%s] pct=%ld\n", i, s->area(), describe("42").c_str(),
		       describe("").c_str(), describe("x").c_str(), percent(7, 8));
		fflush(stdout);
		usleep(us);
	}
}

/* A small compression service linked against libz.so: the running process of tests/creator/zlib_bound.sh. */
/*
 * Listens on 127.0.0.1:PORT (argv[1]), one request line per connection:
 *   "deflate LEVEL MEMLEVEL N": deflate N pseudo-random bytes in one call into
 *   a buffer of exactly deflateBound() bytes, inflate it back and compare.
 *   Answers "ok SIZE BOUND" (the stream ended inside the bound and round-trips),
 *   "short BOUND" (the bound was too small: deflate() did not finish) or
 *   "error ...".
 * Single-threaded: every request goes through the library's deflateBound(),
 * deflate() and inflate() of the process's own libz.so.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

static void answer(int fd, const char *line)
{
	int level, memlevel;
	unsigned long n;
	char out[256];
	static unsigned char src[1 << 16], back[1 << 16];

	if (sscanf(line, "deflate %d %d %lu", &level, &memlevel, &n) != 3 || n > sizeof(src)) {
		snprintf(out, sizeof(out), "error bad request\n");
		goto send;
	}
	unsigned x = 12345;
	for (unsigned long i = 0; i < n; i++) { /* incompressible bytes */
		x = x * 1103515245u + 12345u;
		src[i] = (unsigned char)(x >> 16);
	}
	z_stream z;
	memset(&z, 0, sizeof(z));
	if (deflateInit2(&z, level, Z_DEFLATED, 15, memlevel, Z_DEFAULT_STRATEGY) != Z_OK) {
		snprintf(out, sizeof(out), "error deflateInit2\n");
		goto send;
	}
	uLong bound = deflateBound(&z, n);
	unsigned char *dst = malloc(bound ? bound : 1);
	z.next_in = src;
	z.avail_in = (uInt)n;
	z.next_out = dst;
	z.avail_out = (uInt)bound;
	int rc = deflate(&z, Z_FINISH);
	uLong size = z.total_out;
	deflateEnd(&z);
	if (rc != Z_STREAM_END) {
		snprintf(out, sizeof(out), "short %lu\n", bound);
	} else {
		uLongf bn = sizeof(back);
		if (uncompress(back, &bn, dst, size) != Z_OK || bn != n || memcmp(back, src, n))
			snprintf(out, sizeof(out), "error round trip\n");
		else
			snprintf(out, sizeof(out), "ok %lu %lu\n", size, bound);
	}
	free(dst);
send:
	if (write(fd, out, strlen(out)) < 0)
		perror("write");
}

int main(int argc, char **argv)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int one = 1, s = socket(AF_INET, SOCK_STREAM, 0);

	if (argc != 2 || s < 0)
		return 2;
	a.sin_port = htons((unsigned short)atoi(argv[1]));
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) || listen(s, 64)) {
		perror("bind");
		return 1;
	}
	printf("zserve %s: zlib %s\n", argv[1], zlibVersion());
	fflush(stdout);
	for (;;) {
		char line[128];
		size_t len = 0;
		ssize_t r;
		int c = accept(s, NULL, NULL);
		if (c < 0)
			continue;
		while (len < sizeof(line) - 1 && (r = read(c, line + len, sizeof(line) - 1 - len)) > 0) {
			len += (size_t)r;
			if (memchr(line, '\n', len))
				break;
		}
		line[len] = 0;
		answer(c, line);
		close(c);
	}
}

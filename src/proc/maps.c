/* SPDX-License-Identifier: MIT */
/* /proc/PID/maps text: parsed once per phase (read by procfs.c); the parser never trusts its input (fuzzed). */
#include <string.h>
#include <sys/mman.h>

#include "proc/proc.h"

static bool parse_hex(const char **s, const char *end, uint64_t *v)
{
	const char *p = *s;
	uint64_t x = 0;
	int digits = 0;
	while (p < end && digits < 17) {
		char c = *p;
		int d = (c >= '0' && c <= '9') ? c - '0' :
			(c >= 'a' && c <= 'f') ? c - 'a' + 10 :
			(c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
		if (d < 0)
			break;
		x = (x << 4) | (uint64_t)d;
		p++;
		digits++;
	}
	if (!digits || digits > 16)
		return false;
	*v = x;
	*s = p;
	return true;
}

static bool expect(const char **s, const char *end, char c)
{
	if (*s >= end || **s != c)
		return false;
	(*s)++;
	return true;
}

/* One line: "start-end perms offset major:minor inode   path" */
/* One line into *m; its path is copied to pool (room for the line and a NUL). */
static bool parse_line(const char *s, const char *end, struct map *m, char *pool)
{
	uint64_t v, maj, min;
	memset(m, 0, sizeof(*m));
	m->path = pool;
	if (!parse_hex(&s, end, &m->start) || !expect(&s, end, '-') ||
	    !parse_hex(&s, end, &m->end) || !expect(&s, end, ' ') || end - s < 5)
		return false;
	if (s[0] == 'r')
		m->prot |= PROT_READ;
	if (s[1] == 'w')
		m->prot |= PROT_WRITE;
	if (s[2] == 'x')
		m->prot |= PROT_EXEC;
	m->shared = s[3] == 's';
	s += 4;
	if (!expect(&s, end, ' ') || !parse_hex(&s, end, &m->offset) || !expect(&s, end, ' ') ||
	    !parse_hex(&s, end, &maj) || !expect(&s, end, ':') || !parse_hex(&s, end, &min) ||
	    !expect(&s, end, ' '))
		return false;
	m->dev_major = (unsigned)maj;
	m->dev_minor = (unsigned)min;
	v = 0;
	while (s < end && *s >= '0' && *s <= '9' && v < (1ull << 60))
		v = v * 10 + (uint64_t)(*s++ - '0');
	m->inode = v;
	while (s < end && *s == ' ')
		s++;
	size_t len = (size_t)(end - s);
	static const char deleted[] = " (deleted)";
	if (len >= sizeof(deleted) - 1 && !memcmp(end - (sizeof(deleted) - 1), deleted, sizeof(deleted) - 1)) {
		m->deleted = true;
		len -= sizeof(deleted) - 1;
	}
	memcpy(pool, s, len);
	pool[len] = 0;
	return m->start < m->end;
}

/*
 * One allocation: the entries, then their paths. An entry is a few dozen
 * bytes and its path only as long as it is: a target with 257 threads has
 * 500+ mappings, and a fixed PATH_MAX per entry cost megabytes (and their
 * page faults) at every refresh.
 */
int maps_parse(const char *text, size_t len, struct map **out, size_t *n)
{
	const char *s = text, *end = text + len;
	size_t lines = 1, cnt = 0;

	for (const char *q = text; q < end && (q = memchr(q, '\n', (size_t)(end - q))); q++)
		lines++;
	char *blk = malloc(lines * sizeof(struct map) + len + lines);
	if (!blk)
		return -ENOMEM;
	struct map *v = (struct map *)blk;
	char *pool = blk + lines * sizeof(struct map);
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *le = nl ? nl : end;
		if (le > s && parse_line(s, le, &v[cnt], pool)) {
			pool += strlen(pool) + 1;
			cnt++;
		}
		s = nl ? nl + 1 : end;
	}
	*out = v;
	*n = cnt;
	return 0;
}

const struct map *proc_map_find(const struct proc *p, uint64_t addr)
{
	size_t lo = 0, hi = p->nmaps;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (addr < p->maps[mid].start)
			hi = mid;
		else if (addr >= p->maps[mid].end)
			lo = mid + 1;
		else
			return &p->maps[mid];
	}
	return NULL;
}

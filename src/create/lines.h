/* SPDX-License-Identifier: MIT */
/* Line numbers for the Creator: the diff's hunks, and the program's line table (lines.c). */
#ifndef HP_CREATE_LINES_H
#define HP_CREATE_LINES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct diffmap;

/* Read the hunks of a unified diff, by file basename. */
int diffmap_read(const char *path, struct diffmap **out);
void diffmap_free(struct diffmap *m);
/* Where old line 'line' of file is after the diff; -1 if the diff touches it (inside a hunk). */
long diffmap_line(const struct diffmap *m, const char *file, long line);
/* Does the diff name file (by basename)? */
bool diffmap_has(const struct diffmap *m, const char *file);
/* Does the diff touch a file that a compile may include (anything but .c files, tests, docs)? */
bool diffmap_may_include(const struct diffmap *m);
/* Does the diff touch a line of file in [lo, hi]? */
bool diffmap_touches(const struct diffmap *m, const char *file, long lo, long hi);
/*
 * The lines of source 'file' (basename) that the code of the program at link-time
 * [addr, addr+size) comes from (DWARF line table), by body: the function's own code and each
 * instance of a function inlined into it (DWARF inlined_subroutine) is one body, which spans its
 * declaration line to its last line. A function that inlines a helper defined far from it covers
 * two short spans, not all the lines between them. lo/hi: the lowest and highest line over all.
 */
#define LINE_BODIES_MAX 64
struct line_bodies {
	long lo, hi;
	size_t n;
	struct {
		long lo, hi;
	} b[LINE_BODIES_MAX];
};
/* -ENOENT if no code comes from file. */
int prog_lines(const char *prog, uint64_t addr, uint64_t size, const char *file,
	       struct line_bodies *lb);
/* Does the diff touch a line of any body of lb? */
bool diffmap_touches_bodies(const struct diffmap *m, const char *file,
			    const struct line_bodies *lb);

#endif

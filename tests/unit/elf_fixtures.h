/* SPDX-License-Identifier: MIT */
/*
 * Shared by test_elf.c and test_patchfile.c: paths of the fixtures built by
 * tests/build.mk (build/tests/fixtures, found next to the test binary's own
 * directory so the tests run from any working directory), temporary
 * directories and crafted ELF headers.
 */
#ifndef ELF_FIXTURES_H
#define ELF_FIXTURES_H

#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <elf.h>

static inline const char *fx(const char *name)
{
	static char bufs[8][PATH_MAX];
	static unsigned next;
	char exe[1024]; /* well below PATH_MAX: the fixture name is appended */
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n <= 0)
		abort();
	exe[n] = 0;
	*strrchr(exe, '/') = 0;
	char *b = bufs[next++ % 8];
	snprintf(b, PATH_MAX, "%s/../fixtures/%s", exe, name);
	char *real = realpath(b, NULL);
	if (real) {
		snprintf(b, PATH_MAX, "%s", real);
		free(real);
	}
	return b;
}

static inline void *fx_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)n);
		if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		}
		*len = (size_t)n;
	}
	fclose(f);
	return buf;
}

static inline int fx_write(const char *path, const void *buf, size_t len)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	size_t w = fwrite(buf, 1, len, f);
	return fclose(f) == 0 && w == len ? 0 : -1;
}

static inline int fx_copy(const char *from, const char *to)
{
	size_t len = 0;
	void *buf = fx_slurp(from, &len);
	int r = buf ? fx_write(to, buf, len) : -1;
	free(buf);
	return r;
}

/* mkdir -p */
static inline void fx_mkdirs(const char *path)
{
	char tmp[PATH_MAX];
	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p == '/') {
			*p = 0;
			mkdir(tmp, 0755);
			*p = '/';
		}
	}
	mkdir(tmp, 0755);
}

static inline char *fx_tmpdir(void)
{
	char *t = strdup("/tmp/hp-elf-test.XXXXXX");
	if (!t || !mkdtemp(t))
		abort();
	return t;
}

static inline int fx_rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static inline void fx_rmtree(char *dir)
{
	nftw(dir, fx_rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(dir);
}

/* A minimal ELF header of the given class and machine, nothing else. */
static inline size_t fx_craft_header(unsigned char *buf, int cls, unsigned machine)
{
	memset(buf, 0, 64);
	memcpy(buf, ELFMAG, SELFMAG);
	buf[EI_CLASS] = (unsigned char)cls;
	buf[EI_DATA] = ELFDATA2LSB;
	buf[EI_VERSION] = EV_CURRENT;
	if (cls == ELFCLASS32) {
		Elf32_Ehdr *h = (Elf32_Ehdr *)buf;
		h->e_type = ET_DYN;
		h->e_machine = (Elf32_Half)machine;
		h->e_version = EV_CURRENT;
		h->e_ehsize = sizeof(*h);
		return sizeof(*h);
	}
	Elf64_Ehdr *h = (Elf64_Ehdr *)buf;
	h->e_type = ET_DYN;
	h->e_machine = (Elf64_Half)machine;
	h->e_version = EV_CURRENT;
	h->e_ehsize = sizeof(*h);
	return sizeof(*h);
}

#endif

/* SPDX-License-Identifier: MIT */
/*
 * seed_patch.c - the same fix "seed style", the way hot patching is often
 * first done by hand: a plain shared object whose constructor, once loaded
 * into the target (`hotpatch load PID seed_patch.so`), finds func with
 * dlsym(RTLD_DEFAULT, ...) (so the target must be linked with -rdynamic),
 * makes its page writable and writes a jump to func_v2 over its entry.
 *
 * What it does not do, and `hotpatch apply` does: check that no thread is
 * running inside func, write the jump while every thread is stopped, keep the
 * page from ever being writable and executable, record the original bytes so
 * the change can be reverted, refuse functions too small for the jump.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int func_v2(int x)
{
	return x < 0 ? -1 : x * 100;
}

/* Make [addr, addr + len) writable, copy, restore read+execute. */
static int poke(void *addr, const void *src, size_t len)
{
	uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t start = (uintptr_t)addr & ~(pg - 1);
	uintptr_t end = ((uintptr_t)addr + len + pg - 1) & ~(pg - 1);

	if (mprotect((void *)start, end - start, PROT_READ | PROT_WRITE | PROT_EXEC))
		return -1;
	memcpy(addr, src, len);
	__builtin___clear_cache((char *)addr, (char *)addr + len);
	return mprotect((void *)start, end - start, PROT_READ | PROT_EXEC);
}

/*
 * func_v2 lives near the libraries (0x7f...), func in the executable
 * (0x55...): too far for a 5-byte "jmp rel32". Put a 14-byte absolute jump
 * on a page mapped close to func, and jump there.
 */
static void *island_near(uintptr_t addr, uintptr_t to)
{
	unsigned char jmp[14] = { 0xff, 0x25, 0, 0, 0, 0 };	/* jmp *0(%rip) */
	uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);

	memcpy(jmp + 6, &to, sizeof(to));
	for (uintptr_t d = 16 << 20; d < (1UL << 30); d += 16 << 20) {
		uintptr_t hint = ((addr + d) & ~(pg - 1));
		void *p = mmap((void *)hint, pg, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);

		if (p == MAP_FAILED)
			continue;
		memcpy(p, jmp, sizeof(jmp));
		if (mprotect(p, pg, PROT_READ | PROT_EXEC) == 0)
			return p;
		munmap(p, pg);
	}
	return NULL;
}

__attribute__((constructor)) static void seed(void)
{
	unsigned char *func = dlsym(RTLD_DEFAULT, "func");
	unsigned char e9[5] = { 0xe9 };
	uintptr_t to = (uintptr_t)&func_v2;
	int64_t rel;

	if (!func) {
		fprintf(stderr, "seed_patch: 'func' not found (target not linked with -rdynamic?)\n");
		return;
	}
	rel = (int64_t)(to - ((uintptr_t)func + 5));
	if (rel != (int32_t)rel) {
		void *isl = island_near((uintptr_t)func, to);

		if (!isl) {
			fprintf(stderr, "seed_patch: no room for a jump island near 'func'\n");
			return;
		}
		rel = (int64_t)((uintptr_t)isl - ((uintptr_t)func + 5));
	}
	memcpy(e9 + 1, &(int32_t){ (int32_t)rel }, 4);
	if (poke(func, e9, sizeof(e9)))
		perror("seed_patch: mprotect");
	else
		fprintf(stderr, "seed_patch: func at %p now jumps to func_v2 at %p\n", (void *)func,
			(void *)to);
}

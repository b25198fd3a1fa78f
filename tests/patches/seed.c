/* SPDX-License-Identifier: MIT */
/*
 * seed.c - a "seed-style" patch for `hotpatch load`: no descriptors, a
 * constructor finds func with dlsym(RTLD_DEFAULT) (the target is built with
 * -rdynamic), makes its page writable for a moment and writes an absolute
 * jump "ff 25 00 00 00 00 <addr64>" to func_v2, then restores the protection
 * (no page stays writable and executable). func(3) becomes 300.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int func_v2(int x)
{
	return x * 100;
}

__attribute__((constructor)) static void seed(void)
{
	unsigned char jmp[14] = { 0xff, 0x25, 0, 0, 0, 0 };
	uintptr_t to = (uintptr_t)&func_v2, page = (uintptr_t)sysconf(_SC_PAGESIZE);
	const ElfW(Sym) *sym = NULL;
	Dl_info info;
	void *func = dlsym(RTLD_DEFAULT, "func");
	uintptr_t start, end;

	if (!func || !dladdr1(func, &info, (void **)&sym, RTLD_DL_SYMENT) || !sym) {
		fprintf(stderr, "seed: 'func' not found\n");
		return;
	}
	if (sym->st_size < sizeof(jmp)) {
		fprintf(stderr, "seed: 'func' is %lu bytes, too small\n", (unsigned long)sym->st_size);
		return;
	}
	memcpy(jmp + 6, &to, sizeof(to));
	start = (uintptr_t)func & ~(page - 1);
	end = ((uintptr_t)func + sizeof(jmp) + page - 1) & ~(page - 1);
	/*
	 * Writable and executable for a moment: other code on this page may be
	 * running right now (the seed way's weakness; hotpatch writes through
	 * /proc/PID/mem instead). The 14 bytes are not written atomically either.
	 */
	if (mprotect((void *)start, end - start, PROT_READ | PROT_WRITE | PROT_EXEC)) {
		perror("seed: mprotect");
		return;
	}
	memcpy(func, jmp, sizeof(jmp));
	__builtin___clear_cache((char *)func, (char *)func + sizeof(jmp));
	if (mprotect((void *)start, end - start, PROT_READ | PROT_EXEC))
		perror("seed: mprotect");
}

/* SPDX-License-Identifier: MIT */
/*
 * Patch descriptor reader on real patches built by tests/build.mk with
 * include/hotpatch.h, on patches it must refuse, and on corrupted copies.
 * Addresses are cross-checked against the symbols of the same file read by
 * the ELF layer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <gelf.h>
#include <libelf.h>

#include "common/common.h"
#include "elf/elf.h"
#include "elf_fixtures.h"
#include "hotpatch.h"

#define DESC_SIZE sizeof(struct hotpatch_desc)

static const struct patch_desc *by_symbol(const struct patch_file *pf, const char *sym)
{
	const struct patch_desc *found = NULL;

	for (unsigned i = 0; i < pf->ndesc; i++) {
		if (!strcmp(pf->desc[i].symbol, sym)) {
			if (found)
				fail_msg("'%s' listed twice", sym);
			found = &pf->desc[i];
		}
	}
	if (!found)
		fail_msg("no descriptor for '%s'", sym);
	return found;
}

static uint64_t sym_value(const char *path, const char *name)
{
	struct elf_file *ef;
	struct elf_sym s;

	hp_err_clear();
	if (elf_file_open(path, NULL, &ef))
		fail_msg("%s", hotpatch_errmsg());
	if (elf_file_find(ef, name, NULL, ELF_SYM_ANY, &s))
		fail_msg("%s", hotpatch_errmsg());
	elf_file_free(ef);
	return s.value;
}

/* .hotpatch: file offset, address and size, read independently with libelf. */
static void hotpatch_section(const void *buf, size_t len, GElf_Shdr *out, size_t *shdr_off)
{
	Elf *elf = elf_memory((char *)buf, len);
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	GElf_Ehdr eh;

	assert_non_null(elf);
	assert_int_equal(elf_getshdrstrndx(elf, &shstrndx), 0);
	assert_non_null(gelf_getehdr(elf, &eh));
	while ((scn = elf_nextscn(elf, scn))) {
		assert_non_null(gelf_getshdr(scn, out));
		if (!strcmp(elf_strptr(elf, shstrndx, out->sh_name), ".hotpatch")) {
			*shdr_off = eh.e_shoff + elf_ndxscn(scn) * eh.e_shentsize;
			elf_end(elf);
			return;
		}
	}
	fail_msg("no .hotpatch");
}

/* The descriptors of fx_patch.c, whatever order the compiler emitted them in. */
static void check_full_patch(const char *path, const struct patch_file *pf)
{
	const struct patch_desc *d;

	assert_int_equal(pf->ndesc, 6);
	assert_string_equal(pf->pin, "0123456789abcdef0123456789abcdef01234567");
	assert_int_equal(strlen(pf->build_id), 40);

	d = by_symbol(pf, "func");
	assert_int_equal(d->kind, HOTPATCH_KIND_REPLACE);
	assert_string_equal(d->object, "");
	assert_string_equal(d->file, "");
	assert_string_equal(d->addr_name, "func_v2");
	assert_int_equal(d->addr_vaddr, sym_value(path, "func_v2"));
	assert_int_equal(d->aux_vaddr, 0);

	/* exported_v2 is preemptible: R_X86_64_64 against its symbol in the .so */
	d = by_symbol(pf, "lib_fn");
	assert_int_equal(d->kind, HOTPATCH_KIND_REPLACE);
	assert_string_equal(d->object, "libfx.so.1");
	assert_string_equal(d->addr_name, "exported_v2");
	assert_int_equal(d->addr_vaddr, sym_value(path, "exported_v2"));

	d = by_symbol(pf, "slow_fn");
	assert_int_equal(d->kind, HOTPATCH_KIND_WRAP);
	assert_string_equal(d->addr_name, "wrapped");
	assert_int_equal(d->addr_vaddr, sym_value(path, "wrapped"));
	assert_int_equal(d->aux_vaddr, sym_value(path, "slow_fn_orig"));

	d = by_symbol(pf, "hits");
	assert_int_equal(d->kind, HOTPATCH_KIND_IMPORT);
	assert_string_equal(d->addr_name, "hits");
	assert_int_equal(d->addr_vaddr, sym_value(path, "hits"));

	d = by_symbol(pf, "global_fn");
	assert_int_equal(d->kind, HOTPATCH_KIND_IMPORT);
	assert_int_equal(d->addr_vaddr, sym_value(path, "global_fn"));

	d = by_symbol(pf, "helper");
	assert_int_equal(d->kind, HOTPATCH_KIND_REPLACE);
	assert_string_equal(d->file, "fx_dup_a.c");
	assert_string_equal(d->addr_name, "func_v2");

	/* descriptors are consecutive array slots of .hotpatch (7 with the pin) */
	size_t len = 0;
	void *buf = fx_slurp(path, &len);
	GElf_Shdr sh;
	size_t shoff;
	assert_non_null(buf);
	hotpatch_section(buf, len, &sh, &shoff);
	assert_int_equal(sh.sh_size, 7 * DESC_SIZE);
	for (unsigned i = 0; i < pf->ndesc; i++) {
		uint64_t v = pf->desc[i].desc_vaddr;
		assert_true(v >= sh.sh_addr && v < sh.sh_addr + sh.sh_size);
		assert_int_equal((v - sh.sh_addr) % DESC_SIZE, 0);
		for (unsigned j = 0; j < i; j++)
			assert_true(pf->desc[j].desc_vaddr != v);
	}
	free(buf);
}

static void test_full_patch(void **state)
{
	struct patch_file pf;
	(void)state;

	hp_err_clear();
	assert_int_equal(patch_file_read(fx("fx_patch.so"), &pf), 0);
	check_full_patch(fx("fx_patch.so"), &pf);
	patch_file_release(&pf);
	assert_null(pf.desc);
	assert_int_equal(pf.ndesc, 0);
}

/* In a non-PIE executable the fields hold the addresses, with no relocation. */
static void test_no_reloc(void **state)
{
	struct patch_file pf;
	(void)state;

	hp_err_clear();
	assert_int_equal(patch_file_read(fx("fx_patch_exec"), &pf), 0);
	check_full_patch(fx("fx_patch_exec"), &pf);
	assert_true(by_symbol(&pf, "func")->addr_vaddr > 0x400000);
	patch_file_release(&pf);
}

static void test_read_mem_same(void **state)
{
	struct patch_file a, b;
	size_t len = 0;
	(void)state;

	void *buf = fx_slurp(fx("fx_patch.so"), &len);
	assert_non_null(buf);
	hp_err_clear();
	assert_int_equal(patch_file_read(fx("fx_patch.so"), &a), 0);
	assert_int_equal(patch_file_read_mem(buf, len, "mem", &b), 0);
	assert_int_equal(a.ndesc, b.ndesc);
	assert_string_equal(a.pin, b.pin);
	assert_string_equal(a.build_id, b.build_id);
	assert_memory_equal(a.desc, b.desc, a.ndesc * sizeof(*a.desc));
	patch_file_release(&a);
	patch_file_release(&b);
	free(buf);
}

static int read_err(const char *name, char *msg, size_t size)
{
	struct patch_file pf;

	hp_err_clear();
	int err = patch_file_read(fx(name), &pf);
	snprintf(msg, size, "%s", hotpatch_errmsg());
	if (!err)
		patch_file_release(&pf);
	else
		assert_null(pf.desc);
	return err;
}

static void assert_contains(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		fail_msg("'%s' not in '%s'", needle, hay);
}

static void test_refused(void **state)
{
	char msg[1024], want[PATH_MAX + 128];
	(void)state;

	assert_int_equal(read_err("fx_nodesc.so", msg, sizeof(msg)), -HOTPATCH_E_NODESC);
	snprintf(want, sizeof(want),
		 "%s: no hotpatch descriptors (.hotpatch section); to inject a plain shared "
		 "object use 'hotpatch load'",
		 fx("fx_nodesc.so"));
	assert_string_equal(msg, want);

	assert_int_equal(read_err("fx_bad_DUP.so", msg, sizeof(msg)), -HOTPATCH_E_BADDESC);
	assert_contains(msg, "'func' is replaced twice");
	assert_int_equal(read_err("fx_bad_PINS.so", msg, sizeof(msg)), -HOTPATCH_E_BADDESC);
	assert_contains(msg, "two different build-id pins");
	assert_int_equal(read_err("fx_bad_HEX.so", msg, sizeof(msg)), -HOTPATCH_E_BADDESC);
	assert_contains(msg, "build-id '12xz' is not hex");
	assert_int_equal(read_err("fx_bad_UNDEF.so", msg, sizeof(msg)), -HOTPATCH_E_BADDESC);
	assert_contains(msg, "undefined symbol");
	assert_int_equal(read_err("fx_bad_PINONLY.so", msg, sizeof(msg)), -HOTPATCH_E_NODESC);

	/* one symbol replaced in two different objects is fine */
	struct patch_file pf;
	hp_err_clear();
	assert_int_equal(patch_file_read(fx("fx_bad_OK_SAMENAME.so"), &pf), 0);
	assert_int_equal(pf.ndesc, 2);
	assert_string_equal(pf.desc[0].symbol, "func");
	assert_string_equal(pf.desc[1].symbol, "func");
	assert_true(strcmp(pf.desc[0].object, pf.desc[1].object) != 0);
	assert_string_equal(pf.pin, "");
	patch_file_release(&pf);

	/* descriptor version 2: fixups; a version-1 descriptor still reads, but holds no fixup */
	hp_err_clear();
	assert_int_equal(patch_file_read(fx("fx_bad_OK_FIXUP.so"), &pf), 0);
	assert_int_equal(pf.ndesc, 3);
	const struct patch_desc *d1 = by_symbol(&pf, "func");
	assert_int_equal(d1->kind, HOTPATCH_KIND_REPLACE);
	assert_int_equal(d1->addr_vaddr, sym_value(fx("fx_bad_OK_FIXUP.so"), "v2"));
	const struct patch_desc *d2 = by_symbol(&pf, "stats");
	assert_int_equal(d2->kind, HOTPATCH_KIND_PC32);
	assert_string_equal(d2->file, "store.c");
	assert_int_equal(d2->addend, -0x150);
	assert_int_equal(d2->addr_vaddr, sym_value(fx("fx_bad_OK_FIXUP.so"), "v3") + 3);
	const struct patch_desc *d3 = by_symbol(&pf, "other");
	assert_int_equal(d3->kind, HOTPATCH_KIND_ABS64);
	assert_int_equal(d3->addend, 16);
	assert_int_equal(d3->addr_vaddr, sym_value(fx("fx_bad_OK_FIXUP.so"), "table") + 8);
	patch_file_release(&pf);
	assert_int_equal(read_err("fx_bad_V1FIXUP.so", msg, sizeof(msg)), -HOTPATCH_E_BADDESC);
	assert_contains(msg, "unknown kind 5 (version 1)");

	/* not a patch at all */
	char *dir = fx_tmpdir();
	char path[PATH_MAX];
	unsigned char hdr[64];
	snprintf(path, sizeof(path), "%s/missing.so", dir);
	hp_err_clear();
	assert_int_equal(patch_file_read(path, &pf), -ENOENT);
	snprintf(path, sizeof(path), "%s/text.so", dir);
	assert_int_equal(fx_write(path, "not an elf file\n", 16), 0);
	hp_err_clear();
	assert_int_equal(patch_file_read(path, &pf), -HOTPATCH_E_NOTELF);
	snprintf(want, sizeof(want), "%s: not an ELF file", path);
	assert_string_equal(hotpatch_errmsg(), want);
	snprintf(path, sizeof(path), "%s/elf32.so", dir);
	assert_int_equal(fx_write(path, hdr, fx_craft_header(hdr, ELFCLASS32, EM_386)), 0);
	hp_err_clear();
	assert_int_equal(patch_file_read(path, &pf), -HOTPATCH_E_ARCH);
	assert_contains(hotpatch_errmsg(), "wrong architecture (ELF32 / machine 3)");
	fx_rmtree(dir);
}

/* Corrupt one descriptor of a copy of fx_patch.so in memory. */
static int read_corrupted(size_t off_in_desc, const void *bytes, size_t n, bool in_shdr)
{
	struct patch_file pf;
	size_t len = 0, shoff;
	GElf_Shdr sh;
	unsigned char *buf = fx_slurp(fx("fx_patch.so"), &len);

	assert_non_null(buf);
	hotpatch_section(buf, len, &sh, &shoff);
	if (in_shdr)
		memcpy(buf + shoff + off_in_desc, bytes, n);
	else
		memcpy(buf + sh.sh_offset + DESC_SIZE + off_in_desc, bytes, n);
	hp_err_clear();
	int err = patch_file_read_mem(buf, len, "corrupt.so", &pf);
	if (!err)
		patch_file_release(&pf);
	free(buf);
	return err;
}

static void test_corrupted(void **state)
{
	uint32_t magic = 0x12345678;
	uint16_t version = 9, kind = 7, zero16 = 0;
	uint64_t size = 7 * DESC_SIZE - 1, far = 0x7fff00000000ull;
	(void)state;

	assert_int_equal(read_corrupted(0, &magic, 4, false), -HOTPATCH_E_BADDESC);
	assert_string_equal(hotpatch_errmsg(), "corrupt.so: descriptor 1: bad magic 0x12345678");
	assert_int_equal(read_corrupted(4, &version, 2, false), -HOTPATCH_E_BADDESC);
	assert_contains(hotpatch_errmsg(), "version 9");
	assert_int_equal(read_corrupted(6, &kind, 2, false), -HOTPATCH_E_BADDESC);
	assert_contains(hotpatch_errmsg(), "unknown kind 7");
	assert_int_equal(read_corrupted(6, &zero16, 2, false), -HOTPATCH_E_BADDESC);
	/* sh_size of .hotpatch */
	assert_int_equal(read_corrupted(offsetof(Elf64_Shdr, sh_size), &size, 8, true),
			 -HOTPATCH_E_BADDESC);
	assert_contains(hotpatch_errmsg(), "not a multiple of 48");
	/* section data beyond the end of the file */
	assert_int_equal(read_corrupted(offsetof(Elf64_Shdr, sh_offset), &far, 8, true),
			 -HOTPATCH_E_BADDESC);
	assert_contains(hotpatch_errmsg(), "beyond the end of the file");
	/*
	 * Moved away from its relocations: ld leaves the R_X86_64_RELATIVE values in
	 * the file too, but the field of the R_X86_64_64 one (lib_fn -> exported_v2)
	 * reads as NULL.
	 */
	uint64_t addr = 0x100000;
	assert_int_equal(read_corrupted(offsetof(Elf64_Shdr, sh_addr), &addr, 8, true),
			 -HOTPATCH_E_BADDESC);
	assert_contains(hotpatch_errmsg(), "no new function");
	/* sanity: an unchanged copy reads fine */
	assert_int_equal(read_corrupted(0, &(uint32_t){HOTPATCH_DESC_MAGIC}, 4, false), 0);
}

/*
 * A deterministic taste of the fuzzer: truncations and random byte flips of
 * a real patch must give 0 or an error, never a crash (run under ASan by
 * `make fuzz` for the real thing).
 */
static void test_mutations(void **state)
{
	size_t len = 0;
	unsigned char *orig = fx_slurp(fx("fx_patch.so"), &len);
	unsigned char *buf = malloc(len);
	uint64_t rng = 0x9e3779b97f4a7c15ull;
	unsigned ok = 0, bad = 0;
	struct patch_file pf;
	(void)state;

	assert_non_null(orig);
	assert_non_null(buf);
	for (size_t cut = 0; cut < len; cut += 13) {
		hp_err_clear();
		int err = patch_file_read_mem(orig, cut, "cut.so", &pf);
		assert_true(err < 0);
		assert_null(pf.desc);
	}
	for (int round = 0; round < 3000; round++) {
		memcpy(buf, orig, len);
		int flips = 1 + round % 8;
		for (int k = 0; k < flips; k++) {
			rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
			/* half of the flips land in the headers, where they hurt most */
			size_t at = (rng >> 16) % (k % 2 ? len : 0x200 < len ? 0x200 : len);
			buf[at] = (unsigned char)(rng >> 8);
		}
		hp_err_clear();
		int err = patch_file_read_mem(buf, len, "mut.so", &pf);
		if (err == 0) {
			assert_true(pf.ndesc > 0 && pf.ndesc <= 7);
			ok++;
		} else {
			assert_null(pf.desc);
			bad++;
		}
		patch_file_release(&pf);
	}
	print_message("mutations: %u read, %u refused\n", ok, bad);
	assert_true(ok > 0 && bad > 0);
	free(buf);
	free(orig);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_full_patch),	  cmocka_unit_test(test_no_reloc),
	    cmocka_unit_test(test_read_mem_same), cmocka_unit_test(test_refused),
	    cmocka_unit_test(test_corrupted),	  cmocka_unit_test(test_mutations),
	};
	elf_version(EV_CURRENT);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: MIT */
/*
 * ELF layer on real binaries built by tests/build.mk from tests/fixtures/:
 * symbol lookup in .dynsym/.symtab/separate debuginfo, ambiguity and source
 * file selection, compiler clones, gaps, inlined callers, open errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/common.h"
#include "elf/elf.h"
#include "elf_fixtures.h"

static struct elf_file *open_ok(const char *path)
{
	struct elf_file *ef = NULL;

	hp_err_clear();
	int err = elf_file_open(path, NULL, &ef);
	if (err)
		fail_msg("open %s: %d %s", path, err, hotpatch_errmsg());
	return ef;
}

static int find(struct elf_file *ef, const char *name, const char *src, enum elf_sym_kind kind,
		struct elf_sym *s)
{
	hp_err_clear();
	memset(s, 0xa5, sizeof(*s));
	return elf_file_find(ef, name, src, kind, s);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && !strcmp(s + a - b, suffix);
}

static void assert_contains(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		fail_msg("'%s' not in '%s'", needle, hay);
}

static void test_open_errors(void **state)
{
	struct elf_file *ef = (struct elf_file *)1;
	char path[PATH_MAX], msg[PATH_MAX + 64];
	unsigned char hdr[64];
	char *dir = fx_tmpdir();
	(void)state;

	snprintf(path, sizeof(path), "%s/missing", dir);
	hp_err_clear();
	assert_int_equal(elf_file_open(path, NULL, &ef), -ENOENT);
	assert_null(ef);
	snprintf(msg, sizeof(msg), "%s: no such file", path);
	assert_string_equal(hotpatch_errmsg(), msg);

	snprintf(path, sizeof(path), "%s/text", dir);
	assert_int_equal(fx_write(path, "#!/bin/sh\necho not elf\n", 23), 0);
	hp_err_clear();
	assert_int_equal(elf_file_open(path, "/usr/bin/shown", &ef), -HOTPATCH_E_NOTELF);
	assert_string_equal(hotpatch_errmsg(), "/usr/bin/shown: not an ELF file");

	snprintf(path, sizeof(path), "%s/empty", dir);
	assert_int_equal(fx_write(path, "", 0), 0);
	hp_err_clear();
	assert_int_equal(elf_file_open(path, NULL, &ef), -HOTPATCH_E_NOTELF);

	snprintf(path, sizeof(path), "%s/elf32", dir);
	assert_int_equal(fx_write(path, hdr, fx_craft_header(hdr, ELFCLASS32, EM_386)), 0);
	hp_err_clear();
	assert_int_equal(elf_file_open(path, NULL, &ef), -HOTPATCH_E_ARCH);
	snprintf(msg, sizeof(msg), "%s: wrong architecture (ELF32 / machine 3)", path);
	assert_string_equal(hotpatch_errmsg(), msg);

	snprintf(path, sizeof(path), "%s/arm64", dir);
	assert_int_equal(fx_write(path, hdr, fx_craft_header(hdr, ELFCLASS64, EM_AARCH64)), 0);
	hp_err_clear();
	assert_int_equal(elf_file_open(path, NULL, &ef), -HOTPATCH_E_ARCH);
	snprintf(msg, sizeof(msg), "%s: wrong architecture (ELF64 / machine 183)", path);
	assert_string_equal(hotpatch_errmsg(), msg);

	/* the same header with x86_64 is accepted: the check above is on the machine */
	assert_int_equal(fx_write(path, hdr, fx_craft_header(hdr, ELFCLASS64, EM_X86_64)), 0);
	hp_err_clear();
	assert_int_equal(elf_file_open(path, NULL, &ef), 0);
	elf_file_free(ef);
	fx_rmtree(dir);
}

static void test_properties(void **state)
{
	char id[HOTPATCH_BUILD_ID_MAX], id2[HOTPATCH_BUILD_ID_MAX];
	(void)state;

	struct elf_file *ef = open_ok(fx("fx_syms"));
	assert_true(elf_file_is_dyn(ef));
	assert_null(elf_file_soname(ef));
	assert_int_equal(elf_file_first_load_vaddr(ef), 0);
	assert_string_equal(elf_file_display(ef), fx("fx_syms"));
	assert_int_equal(elf_file_build_id(ef, id), 0);
	assert_int_equal(strlen(id), 40);
	assert_int_equal(strspn(id, "0123456789abcdef"), 40);
	elf_file_free(ef);

	/* strip keeps the note: same build-id */
	ef = open_ok(fx("fx_syms_bare"));
	assert_int_equal(elf_file_build_id(ef, id2), 0);
	assert_string_equal(id, id2);
	elf_file_free(ef);

	ef = open_ok(fx("fx_nodesc.so"));
	assert_string_equal(elf_file_soname(ef), "libfxnodesc.so.1");
	elf_file_free(ef);

	ef = open_ok(fx("fx_patch_exec"));
	assert_false(elf_file_is_dyn(ef));
	assert_int_equal(elf_file_first_load_vaddr(ef), 0x400000);
	elf_file_free(ef);
}

static void test_find_symtab(void **state)
{
	struct elf_sym s, t;
	uint8_t b[16];
	(void)state;

	struct elf_file *ef = open_ok(fx("fx_syms"));

	assert_int_equal(find(ef, "global_fn", NULL, ELF_SYM_FUNC, &s), 0);
	assert_string_equal(s.name, "global_fn");
	assert_int_equal(s.type, STT_FUNC);
	assert_int_equal(s.bind, STB_GLOBAL);
	assert_false(s.from_debuginfo);
	assert_true(s.value > 0 && s.size > 0);
	/* a global has no STT_FILE: DWARF is asked only when a source file is wanted (cost) */
	assert_string_equal(s.file, "");
	assert_int_equal(find(ef, "global_fn", "fx_syms.c", ELF_SYM_FUNC, &s), 0);
	assert_true(ends_with(s.file, "fx_syms.c"));

	assert_int_equal(find(ef, "static_fn", NULL, ELF_SYM_FUNC, &s), 0);
	assert_int_equal(s.bind, STB_LOCAL);
	assert_true(ends_with(s.file, "fx_syms.c"));
	assert_true(s.size > 0);
	/* symbolize agrees, from inside the function */
	assert_int_equal(elf_file_symbolize(ef, s.value + s.size - 1, &t), 0);
	assert_string_equal(t.name, "static_fn");
	assert_int_equal(t.value, s.value);

	/* kinds */
	assert_int_equal(find(ef, "global_counter", NULL, ELF_SYM_OBJECT, &s), 0);
	assert_int_equal(s.type, STT_OBJECT);
	assert_int_equal(s.size, sizeof(int));
	assert_int_equal(find(ef, "static_counter", NULL, ELF_SYM_ANY, &s), 0);
	assert_int_equal(s.bind, STB_LOCAL);
	assert_int_equal(find(ef, "global_counter", NULL, ELF_SYM_FUNC, &s), -HOTPATCH_E_NOSYM);
	assert_int_equal(find(ef, "global_fn", NULL, ELF_SYM_OBJECT, &s), -HOTPATCH_E_NOSYM);

	/* IFUNC is a function (its value is the resolver) */
	assert_int_equal(find(ef, "picked", NULL, ELF_SYM_FUNC, &s), 0);
	assert_int_equal(s.type, STT_GNU_IFUNC);
	assert_int_equal(find(ef, "resolve_picked", NULL, ELF_SYM_FUNC, &t), 0);
	assert_int_equal(s.value, t.value);

	/* aliases in .dynsym and .symtab are one symbol */
	struct elf_file *so = open_ok(fx("fx_patch.so"));
	assert_int_equal(find(so, "exported_v2", NULL, ELF_SYM_FUNC, &s), 0);
	assert_int_equal(s.bind, STB_GLOBAL);
	elf_file_free(so);

	/* undefined symbols of .dynsym are not definitions */
	assert_int_equal(find(ef, "printf", NULL, ELF_SYM_ANY, &s), -HOTPATCH_E_NOSYM);

	/* elf_file_read: the asm function gap_a is exactly 'ret' then int3 padding */
	assert_int_equal(find(ef, "gap_a", NULL, ELF_SYM_FUNC, &s), 0);
	assert_int_equal(elf_file_read(ef, s.value, b, 4), 0);
	assert_int_equal(b[0], 0xc3);
	assert_int_equal(b[1], 0xcc);
	assert_int_equal(b[3], 0xcc);
	assert_int_equal(elf_file_read(ef, 0x7fffffff0000ull, b, 4), -EFAULT);

	/* not found: the message names the tables searched */
	char msg[PATH_MAX + 64];
	assert_int_equal(find(ef, "no_such_fn", NULL, ELF_SYM_FUNC, &s), -HOTPATCH_E_NOSYM);
	snprintf(msg, sizeof(msg), "'no_such_fn' not found in %s (.dynsym, .symtab)",
		 fx("fx_syms"));
	assert_string_equal(hotpatch_errmsg(), msg);
	elf_file_free(ef);
}

static void test_gap_after(void **state)
{
	struct elf_sym s;
	(void)state;

	struct elf_file *ef = open_ok(fx("fx_syms"));
	/* gap_a: 1 byte, then 15 bytes up to the zero-size label gap_mark */
	assert_int_equal(find(ef, "gap_a", NULL, ELF_SYM_FUNC, &s), 0);
	assert_int_equal(s.size, 1);
	assert_int_equal(s.value % 64, 0);
	assert_int_equal(s.gap_after, 15);
	/* gap_b: 2 bytes at +32, then 14 bytes to the end of section fxgap */
	assert_int_equal(find(ef, "gap_b", NULL, ELF_SYM_FUNC, &s), 0);
	assert_int_equal(s.size, 2);
	assert_int_equal(s.gap_after, 14);
	/* padding belongs to no function */
	assert_int_equal(elf_file_symbolize(ef, s.value + 3, &s), -ENOENT);
	elf_file_free(ef);
}

static void test_clones_and_cold(void **state)
{
	struct elf_sym s;
	uint64_t ranges[4][2];
	(void)state;

	struct elf_file *ef = open_ok(fx("fx_syms"));
	assert_int_equal(find(ef, "clone_cp", NULL, ELF_SYM_FUNC, &s), -HOTPATCH_E_NOSYM);
	assert_contains(hotpatch_errmsg(), "'clone_cp' exists only as compiler clone(s) "
					   "clone_cp.constprop.0");
	assert_contains(hotpatch_errmsg(),
			"a clone may have another signature: name it explicitly");
	assert_int_equal(find(ef, "clone_sra", NULL, ELF_SYM_FUNC, &s), -HOTPATCH_E_NOSYM);
	assert_contains(hotpatch_errmsg(), "clone_sra.isra.0");

	char names[4][HOTPATCH_NAME_MAX];
	assert_int_equal(elf_file_clones(ef, "clone_sra", names, 4), 1);
	assert_string_equal(names[0], "clone_sra.isra.0");
	assert_int_equal(elf_file_clones(ef, "with_cold", names, 4), 0);
	assert_int_equal(elf_file_clones(ef, "global_fn", names, 4), 0);

	/* a clone named exactly is found */
	assert_int_equal(find(ef, "clone_sra.isra.0", NULL, ELF_SYM_FUNC, &s), 0);
	assert_string_equal(s.name, "clone_sra.isra.0");
	assert_int_equal(find(ef, "clone_cp.constprop.0", NULL, ELF_SYM_FUNC, &s), 0);

	/* with_cold is the hot entry, never with_cold.cold */
	struct elf_sym cold;
	assert_int_equal(find(ef, "with_cold", NULL, ELF_SYM_FUNC, &s), 0);
	assert_string_equal(s.name, "with_cold");
	assert_int_equal(find(ef, "with_cold.cold", NULL, ELF_SYM_FUNC, &cold), 0);
	assert_true(cold.value != s.value);
	assert_int_equal(elf_file_cold_parts(ef, "with_cold", ranges, 4), 1);
	assert_int_equal(ranges[0][0], cold.value);
	assert_int_equal(ranges[0][1], cold.value + cold.size);
	assert_true(ranges[0][0] < s.value || ranges[0][0] >= s.value + s.size);
	assert_int_equal(elf_file_cold_parts(ef, "global_fn", ranges, 4), 0);
	assert_int_equal(elf_file_cold_parts(ef, "with", ranges, 4), 0);
	elf_file_free(ef);
}

static void test_ambiguous_and_srcfile(void **state)
{
	struct elf_sym a, b, s;
	char msg[1024];
	(void)state;

	struct elf_file *ef = open_ok(fx("fx_dup"));
	assert_int_equal(find(ef, "helper", NULL, ELF_SYM_FUNC, &s), -HOTPATCH_E_AMBIG);
	snprintf(msg, sizeof(msg), "%s", hotpatch_errmsg());
	assert_contains(msg, "'helper' is ambiguous in ");
	assert_contains(msg, "helper (fx_dup_a.c) at 0x");
	assert_contains(msg, "helper (fx_dup_b.c) at 0x");

	assert_int_equal(find(ef, "helper", "fx_dup_a.c", ELF_SYM_FUNC, &a), 0);
	assert_true(!strcmp(a.file, "fx_dup_a.c"));
	/* STT_FILE says "fx_dup_b.c", the DWARF compile unit the path given to gcc */
	assert_int_equal(find(ef, "helper", "tests/fixtures/fx_dup_b.c", ELF_SYM_FUNC, &b), 0);
	assert_true(!strcmp(b.file, "fx_dup_b.c"));
	assert_true(a.value != b.value);
	char addr[32];
	snprintf(addr, sizeof(addr), "at 0x%" PRIx64, a.value);
	assert_contains(msg, addr);
	snprintf(addr, sizeof(addr), "at 0x%" PRIx64, b.value);
	assert_contains(msg, addr);
	/* each is the function the disassembly of its caller calls: symbolize agrees */
	assert_int_equal(elf_file_symbolize(ef, b.value, &s), 0);
	assert_string_equal(s.file, b.file);

	assert_int_equal(find(ef, "helper", "fixtures/fx_dup_b.c", ELF_SYM_FUNC, &s), 0);
	assert_int_equal(s.value, b.value);
	/* a partial basename is no match */
	assert_int_equal(find(ef, "helper", "dup_b.c", ELF_SYM_FUNC, &s), -HOTPATCH_E_NOSYM);
	assert_contains(hotpatch_errmsg(), "'helper' not found in source file 'dup_b.c'");
	assert_contains(hotpatch_errmsg(), "fx_dup_a.c");

	/* data too */
	assert_int_equal(find(ef, "counter", NULL, ELF_SYM_OBJECT, &s), -HOTPATCH_E_AMBIG);
	assert_int_equal(find(ef, "counter", "fx_dup_b.c", ELF_SYM_OBJECT, &s), 0);

	/* globals: the file comes from DWARF */
	assert_int_equal(find(ef, "run_a", "fx_dup_a.c", ELF_SYM_FUNC, &s), 0);
	assert_int_equal(find(ef, "run_a", "fx_dup_b.c", ELF_SYM_FUNC, &s), -HOTPATCH_E_NOSYM);
	elf_file_free(ef);
}

/* Lookups that need the symbols of fx_syms, whatever file they come from. */
static void check_debuginfo_syms(struct elf_file *ef, const char *debug_path)
{
	struct elf_file *full = open_ok(fx("fx_syms"));
	struct elf_sym s, ref;
	char want[PATH_MAX + 32];

	assert_int_equal(find(full, "static_fn", NULL, ELF_SYM_FUNC, &ref), 0);
	assert_int_equal(find(ef, "static_fn", NULL, ELF_SYM_FUNC, &s), 0);
	assert_true(s.from_debuginfo);
	assert_int_equal(s.value, ref.value);
	assert_int_equal(s.size, ref.size);
	assert_true(ends_with(s.file, "fx_syms.c"));

	assert_int_equal(find(full, "global_fn", NULL, ELF_SYM_FUNC, &ref), 0);
	assert_int_equal(find(ef, "global_fn", NULL, ELF_SYM_FUNC, &s), 0);
	assert_int_equal(s.value, ref.value);

	/* gap_mark exists only in the debuginfo: it still bounds the gap */
	assert_int_equal(find(ef, "gap_a", NULL, ELF_SYM_FUNC, &s), 0);
	assert_int_equal(s.gap_after, 15);

	assert_int_equal(find(ef, "clone_cp", NULL, ELF_SYM_FUNC, &s), -HOTPATCH_E_NOSYM);
	assert_contains(hotpatch_errmsg(), "clone_cp.constprop.0");
	assert_int_equal(find(ef, "no_such_fn", NULL, ELF_SYM_FUNC, &s), -HOTPATCH_E_NOSYM);
	snprintf(want, sizeof(want), "(.dynsym, debuginfo %s)", debug_path);
	assert_contains(hotpatch_errmsg(), want);

	assert_int_equal(elf_file_symbolize(ef, ref.value + 1, &s), 0);
	assert_string_equal(s.name, "global_fn");

	char callers[4][HOTPATCH_NAME_MAX];
	assert_int_equal(elf_file_inlined_callers(ef, "inl_sq", callers, 4), 2);
	elf_file_free(full);
}

static void test_debuglink(void **state)
{
	char bin[PATH_MAX], dbg[PATH_MAX], root[1024];
	struct elf_sym s;
	(void)state;

	/* beside the file */
	struct elf_file *ef = open_ok(fx("fx_syms_dl"));
	check_debuginfo_syms(ef, fx("fx_syms.debug"));
	elf_file_free(ef);

	/* in .debug/ beside it; 'path' is elsewhere, the lookup follows 'display' */
	char *dir = fx_tmpdir();
	snprintf(bin, sizeof(bin), "%s/bin/app", dir);
	snprintf(dbg, sizeof(dbg), "%s/bin/.debug/fx_syms.debug", dir);
	fx_mkdirs(dbg);
	rmdir(dbg);
	assert_int_equal(fx_copy(fx("fx_syms_dl"), bin), 0);
	assert_int_equal(fx_copy(fx("fx_syms.debug"), dbg), 0);
	hp_err_clear();
	assert_int_equal(elf_file_open(fx("fx_syms_dl"), bin, &ef), 0);
	check_debuginfo_syms(ef, dbg);
	elf_file_free(ef);

	/* under ROOT/<dir of the file>/ */
	assert_int_equal(unlink(dbg), 0);
	snprintf(root, sizeof(root), "%s/root", dir);
	snprintf(dbg, sizeof(dbg), "%s%s/bin/fx_syms.debug", root, dir);
	fx_mkdirs(dbg);
	rmdir(dbg);
	assert_int_equal(fx_copy(fx("fx_syms.debug"), dbg), 0);
	setenv("HOTPATCH_DEBUG_ROOT", root, 1);
	ef = open_ok(bin);
	check_debuginfo_syms(ef, dbg);
	elf_file_free(ef);

	/* no debuginfo anywhere: only .dynsym, which has none of these */
	unsetenv("HOTPATCH_DEBUG_ROOT");
	ef = open_ok(bin);
	assert_int_equal(find(ef, "static_fn", NULL, ELF_SYM_FUNC, &s), -HOTPATCH_E_NOSYM);
	char want[PATH_MAX + 256];
	snprintf(want, sizeof(want),
		 "'static_fn' not found in %s (.dynsym; stripped, and no separate debuginfo by "
		 "build-id under /usr/lib/debug or by .gnu_debuglink)", bin);
	assert_string_equal(hotpatch_errmsg(), want);
	char callers[4][HOTPATCH_NAME_MAX];
	assert_int_equal(elf_file_inlined_callers(ef, "inl_sq", callers, 4), 0);
	elf_file_free(ef);
	fx_rmtree(dir);
}

static void test_build_id_path(void **state)
{
	char id[HOTPATCH_BUILD_ID_MAX], dbg[PATH_MAX];
	struct elf_sym s;
	(void)state;

	char *root = fx_tmpdir();
	struct elf_file *ef = open_ok(fx("fx_syms_bare"));
	assert_int_equal(elf_file_build_id(ef, id), 0);
	elf_file_free(ef);
	snprintf(dbg, sizeof(dbg), "%s/.build-id/%.2s/%s.debug", root, id, id + 2);
	fx_mkdirs(dbg);
	rmdir(dbg);
	setenv("HOTPATCH_DEBUG_ROOT", root, 1);

	/* a debug file of another build at that path is refused (build-id differs) */
	assert_int_equal(fx_copy(fx("fx_dup"), dbg), 0);
	ef = open_ok(fx("fx_syms_bare"));
	assert_int_equal(find(ef, "static_fn", NULL, ELF_SYM_FUNC, &s), -HOTPATCH_E_NOSYM);
	elf_file_free(ef);

	assert_int_equal(fx_copy(fx("fx_syms.debug"), dbg), 0);
	ef = open_ok(fx("fx_syms_bare"));
	check_debuginfo_syms(ef, dbg);
	elf_file_free(ef);
	unsetenv("HOTPATCH_DEBUG_ROOT");
	fx_rmtree(root);
}

/* glibc exports old versions beside the default one: realpath@GLIBC_2.2.5, realpath@@GLIBC_2.3 */
static void test_symbol_versions(void **state)
{
	const char *libc = "/lib/x86_64-linux-gnu/libc.so.6";
	struct elf_sym s;
	(void)state;

	if (access(libc, R_OK))
		skip();
	struct elf_file *ef = open_ok(libc);
	assert_string_equal(elf_file_soname(ef), "libc.so.6");
	assert_int_equal(find(ef, "realpath", NULL, ELF_SYM_FUNC, &s), 0);
	/* the compat version is a 33-byte wrapper; the default is the real function */
	assert_true(s.size > 100);
	assert_int_equal(find(ef, "memcpy", NULL, ELF_SYM_FUNC, &s), 0);
	assert_int_equal(s.type, STT_GNU_IFUNC);
	elf_file_free(ef);
}

static bool has_name(char (*names)[HOTPATCH_NAME_MAX], int n, const char *want)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(names[i], want))
			return true;
	return false;
}

static void test_inlined_callers(void **state)
{
	char callers[8][HOTPATCH_NAME_MAX];
	(void)state;

	struct elf_file *ef = open_ok(fx("fx_syms"));
	int n = elf_file_inlined_callers(ef, "inl_sq", callers, 8);
	assert_int_equal(n, 2);
	assert_true(has_name(callers, n, "caller_one"));
	assert_true(has_name(callers, n, "caller_two"));
	assert_int_equal(elf_file_inlined_callers(ef, "inl_sq", callers, 1), 1);
	/* noipa functions are never inlined; unknown names have no instances */
	assert_int_equal(elf_file_inlined_callers(ef, "global_fn", callers, 8), 0);
	assert_int_equal(elf_file_inlined_callers(ef, "no_such_fn", callers, 8), 0);
	elf_file_free(ef);

	/* DWARF without any inlined instance */
	ef = open_ok(fx("fx_nodesc.so"));
	assert_int_equal(elf_file_inlined_callers(ef, "plain_fn", callers, 8), 0);
	elf_file_free(ef);
}

/* Stripped, no debuginfo: a function's extent from its call-frame entry (ifunc implementations). */
static void test_fde_range(void **state)
{
	struct elf_sym s;
	uint64_t start = 0, end = 0;
	(void)state;

	struct elf_file *full = open_ok(fx("fx_syms"));
	assert_int_equal(find(full, "static_fn", NULL, ELF_SYM_FUNC, &s), 0);
	elf_file_free(full);

	struct elf_file *ef = open_ok(fx("fx_syms_bare"));
	assert_int_equal(elf_file_symbolize(ef, s.value, &(struct elf_sym){ 0 }), -ENOENT);
	assert_int_equal(elf_file_fde_range(ef, s.value, &start, &end), 0);
	assert_int_equal(start, s.value);
	assert_int_equal(end, s.value + s.size);
	/* from inside the function too */
	assert_int_equal(elf_file_fde_range(ef, s.value + s.size - 1, &start, &end), 0);
	assert_int_equal(start, s.value);
	/* no code there */
	assert_int_equal(elf_file_fde_range(ef, 0x10, &start, &end), -ENOENT);
	elf_file_free(ef);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_open_errors),	    cmocka_unit_test(test_properties),
	    cmocka_unit_test(test_find_symtab),	    cmocka_unit_test(test_gap_after),
	    cmocka_unit_test(test_clones_and_cold), cmocka_unit_test(test_ambiguous_and_srcfile),
	    cmocka_unit_test(test_debuglink),	    cmocka_unit_test(test_build_id_path),
	    cmocka_unit_test(test_inlined_callers), cmocka_unit_test(test_symbol_versions),
	    cmocka_unit_test(test_fde_range),
	};
	/* a developer's own debuginfo root must not change the results */
	unsetenv("HOTPATCH_DEBUG_ROOT");
	return cmocka_run_group_tests(tests, NULL, NULL);
}

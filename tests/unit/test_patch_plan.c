/* SPDX-License-Identifier: MIT */
/*
 * What the patch layer decides before it touches a target, on real files:
 * the patch-file policy and identity (src/patch/inject.c), the register
 * analysis on the functions of a real ELF fixture (ipara.c), and the notes
 * listing what a jump does not reach (plan.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>

#include <cmocka.h>

#include "patch/plan.h"
#include "elf_fixtures.h"

static void test_file_policy(void **unused)
{
	char *dir = fx_tmpdir(), path[PATH_MAX], canon[PATH_MAX];
	struct stat st;
	(void)unused;

	snprintf(path, sizeof(path), "%s/p.so", dir);
	assert_int_equal(fx_copy(fx("fx_patch.so"), path), 0);
	assert_int_equal(chmod(path, 0644), 0);
	hp_err_clear();
	assert_int_equal(patch_file_check(path, canon, &st), 0);
	assert_string_equal(canon, path);
	/* Writable by the group or by others: anyone could change the code we load. */
	assert_int_equal(chmod(path, 0664), 0);
	assert_int_equal(patch_file_check(path, canon, &st), -HOTPATCH_E_FILEPERM);
	assert_non_null(strstr(hotpatch_errmsg(), "writable by group"));
	hp_err_clear();
	assert_int_equal(chmod(path, 0646), 0);
	assert_int_equal(patch_file_check(path, canon, &st), -HOTPATCH_E_FILEPERM);
	assert_non_null(strstr(hotpatch_errmsg(), "writable by others"));
	hp_err_clear();
	/* Owned by someone else (as root we can make it so). */
	assert_int_equal(chmod(path, 0644), 0);
	if (geteuid() == 0 && chown(path, 12345, 0) == 0) {
		assert_int_equal(patch_file_check(path, canon, &st), -HOTPATCH_E_FILEPERM);
		assert_non_null(strstr(hotpatch_errmsg(), "owned by uid 12345"));
		hp_err_clear();
	}
	/* Not a regular file; no file at all. */
	assert_int_equal(patch_file_check(dir, canon, &st), -HOTPATCH_E_NOTELF);
	hp_err_clear();
	snprintf(path, sizeof(path), "%s/none.so", dir);
	assert_int_equal(patch_file_check(path, canon, &st), -ENOENT);
	assert_non_null(strstr(hotpatch_errmsg(), "no such file"));
	hp_err_clear();
	fx_rmtree(dir);
}

static void test_content_id(void **unused)
{
	char *dir = fx_tmpdir(), a[PATH_MAX], b[PATH_MAX];
	char ida[64] = "", idb[64] = "", idc[64] = "";
	(void)unused;

	snprintf(a, sizeof(a), "%s/a.so", dir);
	snprintf(b, sizeof(b), "%s/b.so", dir);
	assert_int_equal(fx_copy(fx("fx_nodesc.so"), a), 0);
	assert_int_equal(fx_copy(fx("fx_nodesc.so"), b), 0);
	/* The same bytes under another path: the same identity. */
	patch_content_id(a, ida, sizeof(ida));
	patch_content_id(b, idb, sizeof(idb));
	assert_int_equal(strncmp(ida, "content:", 8), 0);
	assert_int_equal(strlen(ida), 8 + 16);
	assert_string_equal(ida, idb);
	/* One byte changed: another identity. */
	size_t len = 0;
	uint8_t *buf = fx_slurp(b, &len);
	assert_non_null(buf);
	buf[len - 1] ^= 1;
	assert_int_equal(fx_write(b, buf, len), 0);
	free(buf);
	patch_content_id(b, idc, sizeof(idc));
	assert_string_not_equal(ida, idc);
	/* Unreadable: left as it was. */
	char none[64] = "unchanged";
	snprintf(a, sizeof(a), "%s/none.so", dir);
	patch_content_id(a, none, sizeof(none));
	assert_string_equal(none, "unchanged");
	fx_rmtree(dir);
}

/* The file identity behind every inode/device match: on this process's own mapping of a fixture. */
static void test_map_is_file(void **unused)
{
	const char *path = fx("fx_patch.so");
	struct stat st, other;
	(void)unused;

	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(stat(fx("fx_nodesc.so"), &other), 0);
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	void *p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
	assert_ptr_not_equal(p, MAP_FAILED);
	close(fd);

	FILE *f = fopen("/proc/self/maps", "r");
	static char text[1 << 18];
	size_t len = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	struct map *m;
	size_t n;
	assert_int_equal(maps_parse(text, len, &m, &n), 0);
	const struct map *mine = NULL;
	for (size_t i = 0; i < n; i++)
		if (m[i].start == (uint64_t)(uintptr_t)p)
			mine = &m[i];
	assert_non_null(mine);
	assert_true(map_is_file(mine, &st));
	assert_false(map_is_file(mine, &other));
	/* Same inode number on another device is another file. */
	struct stat moved = st;
	moved.st_dev = st.st_dev + 1;
	assert_false(map_is_file(mine, &moved));
	free(m);
	munmap(p, 4096);
}

static uint32_t R(int reg)
{
	return 1u << reg;
}

static void clobbers_of(struct elf_file *ef, const char *name, uint32_t *written, bool *stack_args)
{
	struct elf_sym s;
	hp_err_clear();
	if (elf_file_find(ef, name, NULL, ELF_SYM_FUNC, &s))
		fail_msg("%s", hotpatch_errmsg());
	ipara_clobbers(ef, s.value, written, stack_args);
}

static void test_ipara(void **unused)
{
	struct elf_file *ef;
	uint32_t w;
	bool stack;
	const uint32_t args = R(ARCH_REG_RCX) | R(ARCH_REG_RDX) | R(ARCH_REG_RSI) | R(ARCH_REG_R8) |
			      R(ARCH_REG_R9) | R(ARCH_REG_R10) | R(ARCH_REG_R11);
	(void)unused;

	assert_int_equal(elf_file_open(fx("fx_syms"), NULL, &ef), 0);
	/* x ^ global_counter, and x * 3 + static_counter: results in eax, nothing else written. */
	clobbers_of(ef, "static_fn", &w, &stack);
	assert_true(w & R(ARCH_REG_RAX));
	assert_int_equal(w & args, 0);
	assert_int_equal(w & R(ARCH_REG_XMM0), 0);
	assert_false(stack);
	clobbers_of(ef, "global_fn", &w, &stack);
	assert_true(w & R(ARCH_REG_RAX));
	assert_int_equal(w & args, 0);
	/* Calls abort() through the PLT: cannot see through, so everything. */
	clobbers_of(ef, "with_cold", &w, &stack);
	assert_int_equal(w, ARCH_REGS_CALLER_SAVED);
	/* No ELF to look at: everything. */
	ipara_clobbers(NULL, 0x1000, &w, &stack);
	assert_int_equal(w, ARCH_REGS_CALLER_SAVED);
	/* Probing leaves no message behind, and keeps one recorded before it. */
	assert_string_equal(hotpatch_errmsg(), "");
	hp_err(EIO, "the real failure");
	ipara_clobbers(ef, 1, &w, &stack);	/* no symbol there: a failed probe */
	assert_int_equal(w, ARCH_REGS_CALLER_SAVED);
	assert_string_equal(hotpatch_errmsg(), "the real failure");
	hp_err_clear();
	elf_file_free(ef);
}

static void test_quiet_scope(void **unused)
{
	(void)unused;
	hp_err_clear();
	hp_err_quiet_begin();
	assert_int_equal(hp_err(ENOENT, "probe 1"), -ENOENT);
	hp_err_quiet_begin();
	assert_int_equal(hp_err_force(HOTPATCH_E_NOSYM, "probe 2"), -HOTPATCH_E_NOSYM);
	hp_err_quiet_end();
	assert_int_equal(hp_err(EIO, "probe 3"), -EIO);
	hp_err_quiet_end();
	assert_string_equal(hotpatch_errmsg(), "");
	assert_false(hp_err_set());
	/* Out of the scope, the first message wins again. */
	hp_err(EIO, "first");
	hp_err(EIO, "second");
	assert_string_equal(hotpatch_errmsg(), "first");
	hp_err_clear();
}

static void test_note_names(void **unused)
{
	char names[5][HOTPATCH_NAME_MAX] = { "main", "handle_request", "worker_loop", "b", "c" };
	char note[256] = "";
	char small[40] = "";
	(void)unused;

	note_names(note, sizeof(note), "inlined into", names, 2);
	assert_string_equal(note, "inlined into main, handle_request");
	note_names(note, sizeof(note), "has clones", names + 2, 1);
	assert_string_equal(note, "inlined into main, handle_request; has clones worker_loop");
	/* As many names as fit, then how many more. */
	note_names(small, sizeof(small), "inlined into", names, 5);
	assert_string_equal(small, "inlined into main and 4 more");
	assert_true(strlen(small) < sizeof(small));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_file_policy),
		cmocka_unit_test(test_content_id),
		cmocka_unit_test(test_map_is_file),
		cmocka_unit_test(test_ipara),
		cmocka_unit_test(test_note_names),
		cmocka_unit_test(test_quiet_scope),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

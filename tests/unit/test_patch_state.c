/* SPDX-License-Identifier: MIT */
/*
 * The state kept in the target (src/patch/state.c), encoded and decoded
 * without a target: records built from the descriptors of the real patch
 * fixture (fx_patch.so), round trips, corrupted images, and the queries on
 * a decoded state (state_find, stacked_over). Public records: func_from_desc
 * and patch_record_copy (src/patch/ops.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "patch/patch.h"
#include "elf_fixtures.h"

/* Two patches of fx_patch.so's functions and three islands, as apply would record them. */
static void build_state(struct state *st, struct patch_file *pf)
{
	hp_err_clear();
	if (patch_file_read(fx("fx_patch.so"), pf))
		fail_msg("%s", hotpatch_errmsg());
	memset(st, 0, sizeof(*st));
	st->next_id = 7;
	st->patches = calloc(2, sizeof(*st->patches));
	st->islands = calloc(3, sizeof(*st->islands));
	assert_non_null(st->patches);
	assert_non_null(st->islands);
	for (unsigned k = 0; k < 2; k++) {
		struct hotpatch_patch *hp = &st->patches[st->npatches++];
		hp->id = 5 + k;
		hp->applied_at = 1700000000 + k;
		hp->handle = 0x55550000ull + k;
		snprintf(hp->path, sizeof(hp->path), "%s", fx("fx_patch.so"));
		snprintf(hp->build_id, sizeof(hp->build_id), "%s", pf->build_id);
		snprintf(hp->pin, sizeof(hp->pin), "%s", pf->pin);
		hp->funcs = calloc(pf->ndesc + 1, sizeof(*hp->funcs));
		assert_non_null(hp->funcs);
		for (unsigned i = 0; i < pf->ndesc; i++) {
			if (pf->desc[i].kind == HOTPATCH_KIND_IMPORT)
				continue;
			struct hotpatch_func *f = &hp->funcs[hp->nfuncs++];
			func_from_desc(f, &pf->desc[i]);
			f->addr = 0x401000 + 0x100 * i + 0x10000 * k;
			f->size = 0x40 + i;
			f->new_addr = 0x7f0000001000ull + pf->desc[i].addr_vaddr;
			f->island = k ? 0x400000000ull + 16 * i : 0;
			f->jump_off = i & 1 ? 4 : 0;
			f->jump_len = f->wrap ? 5 : 14;
			for (unsigned b = 0; b < 16; b++) {
				f->orig[b] = (uint8_t)(0x90 + b + i);
				f->jump[b] = (uint8_t)(0xe9 + b * 3 + k);
			}
			f->preserved_regs = k ? 0x6u : 0;
		}
	}
	for (unsigned i = 0; i < 3; i++)
		st->islands[st->nislands++] = (struct island_rec){ 5 + i % 2, 0x400000000ull + 4096 * i, 4096 };
}

static void assert_same_func(const struct hotpatch_func *a, const struct hotpatch_func *b)
{
	assert_string_equal(a->name, b->name);
	assert_string_equal(a->object, b->object);
	assert_string_equal(a->new_name, b->new_name);
	assert_int_equal(a->addr, b->addr);
	assert_int_equal(a->size, b->size);
	assert_int_equal(a->new_addr, b->new_addr);
	assert_int_equal(a->island, b->island);
	assert_int_equal(a->jump_len, b->jump_len);
	assert_int_equal(a->jump_off, b->jump_off);
	assert_int_equal(a->preserved_regs, b->preserved_regs);
	assert_int_equal(a->wrap, b->wrap);
	assert_memory_equal(a->orig, b->orig, 16);
	assert_memory_equal(a->jump, b->jump, 16);
}

static void test_roundtrip(void **unused)
{
	struct state st, back;
	struct patch_file pf;
	uint8_t *buf;
	size_t len;
	(void)unused;

	build_state(&st, &pf);
	assert_int_equal(st.patches[0].nfuncs, 4);	/* func, lib_fn, slow_fn (wrap), helper */
	assert_int_equal(state_encode(&st, &buf, &len), 0);
	memset(&back, 0, sizeof(back));
	assert_int_equal(state_decode(1, buf, len, &back), 0);
	assert_int_equal(back.next_id, 7);
	assert_int_equal(back.npatches, 2);
	assert_int_equal(back.nislands, 3);
	for (unsigned k = 0; k < 2; k++) {
		const struct hotpatch_patch *a = &st.patches[k], *b = &back.patches[k];
		assert_int_equal(a->id, b->id);
		assert_int_equal(a->applied_at, b->applied_at);
		assert_int_equal(a->handle, b->handle);
		assert_string_equal(a->path, b->path);
		assert_string_equal(a->build_id, b->build_id);
		assert_string_equal(a->pin, b->pin);
		assert_string_equal(b->pin, "0123456789abcdef0123456789abcdef01234567");
		assert_int_equal(a->nfuncs, b->nfuncs);
		for (unsigned i = 0; i < a->nfuncs; i++)
			assert_same_func(&a->funcs[i], &b->funcs[i]);
	}
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(back.islands[i].patch_id, st.islands[i].patch_id);
		assert_int_equal(back.islands[i].addr, st.islands[i].addr);
		assert_int_equal(back.islands[i].len, st.islands[i].len);
	}
	/* What a descriptor says survives too: the wrap flag of slow_fn, the replacement's name. */
	bool wrap_seen = false;
	for (unsigned i = 0; i < back.patches[1].nfuncs; i++)
		if (!strcmp(back.patches[1].funcs[i].name, "slow_fn")) {
			assert_true(back.patches[1].funcs[i].wrap);
			assert_string_equal(back.patches[1].funcs[i].new_name, "wrapped");
			wrap_seen = true;
		}
	assert_true(wrap_seen);
	/* Encoding the decoded state gives the same bytes. */
	uint8_t *buf2;
	size_t len2;
	assert_int_equal(state_encode(&back, &buf2, &len2), 0);
	assert_int_equal(len2, len);
	assert_memory_equal(buf, buf2, len);
	free(buf);
	free(buf2);
	state_release(&back);
	state_release(&st);
	patch_file_release(&pf);
}

static void test_empty(void **unused)
{
	struct state st = { .next_id = 1 }, back;
	uint8_t *buf;
	size_t len;
	(void)unused;

	assert_int_equal(state_encode(&st, &buf, &len), 0);
	memset(&back, 0, sizeof(back));
	assert_int_equal(state_decode(1, buf, len, &back), 0);
	assert_int_equal(back.npatches, 0);
	assert_int_equal(back.nislands, 0);
	assert_int_equal(back.next_id, 1);
	state_release(&back);
	free(buf);
}

/* The header's size field sits after the 8-byte magic. */
#define HDR_SIZE_OFF 8

static void test_corrupt(void **unused)
{
	struct state st, back;
	struct patch_file pf;
	uint8_t *buf;
	size_t len;
	(void)unused;

	build_state(&st, &pf);
	assert_int_equal(state_encode(&st, &buf, &len), 0);

	/* Truncated: shorter than the header says. */
	memset(&back, 0, sizeof(back));
	hp_err_clear();
	assert_int_equal(state_decode(42, buf, len - 1, &back), -HOTPATCH_E_STATE);
	assert_non_null(strstr(hotpatch_errmsg(), "pid 42: state region is inconsistent"));
	state_release(&back);
	/* Shorter than a header. */
	assert_int_equal(state_decode(42, buf, 7, &back), -HOTPATCH_E_STATE);
	state_release(&back);

	/* A size that does not match the counts. */
	uint32_t size;
	memcpy(&size, buf + HDR_SIZE_OFF, 4);
	size += 8;
	memcpy(buf + HDR_SIZE_OFF, &size, 4);
	assert_int_equal(state_decode(42, buf, len, &back), -HOTPATCH_E_STATE);
	state_release(&back);
	size -= 8;
	memcpy(buf + HDR_SIZE_OFF, &size, 4);

	/* Bad magic. */
	buf[0] ^= 0xff;
	hp_err_clear();
	assert_int_equal(state_decode(42, buf, len, &back), -HOTPATCH_E_STATE);
	assert_non_null(strstr(hotpatch_errmsg(), "bad magic"));
	state_release(&back);
	buf[0] ^= 0xff;

	/* Restored: decodes again. */
	assert_int_equal(state_decode(42, buf, len, &back), 0);
	state_release(&back);
	free(buf);
	state_release(&st);
	patch_file_release(&pf);
}

/*
 * The state lives in the target's memory: a record claiming more functions
 * for a patch than its header said, or a patch id nobody has, is not
 * trusted (ASan catches a write past the funcs array).
 */
static void test_untrusted_records(void **unused)
{
	struct state st, back;
	struct patch_file pf;
	uint8_t *buf;
	size_t len;
	(void)unused;

	build_state(&st, &pf);
	/* Patch 5 says 1 function; its 4 records are all still encoded, as is a jump_len of 200. */
	unsigned n0 = st.patches[0].nfuncs;
	st.patches[0].funcs[0].jump_len = 200;
	assert_int_equal(state_encode(&st, &buf, &len), 0);
	/* rec_patch of patch 5 starts after the 32-byte header: id, then nfuncs. */
	uint32_t one = 1;
	memcpy(buf + 32 + 4, &one, 4);
	memset(&back, 0, sizeof(back));
	assert_int_equal(state_decode(1, buf, len, &back), 0);
	assert_int_equal(back.patches[0].nfuncs, 1);
	assert_int_equal(back.patches[0].funcs[0].jump_len, 16);	/* clamped to the array */
	assert_int_equal(back.patches[1].nfuncs, st.patches[1].nfuncs);
	state_release(&back);
	/* A record of patch 99, which is not there: dropped. */
	uint32_t ninety_nine = 99;
	memcpy(buf + 32, &ninety_nine, 4);	/* patch 5 is now patch 99, its records say 5 */
	assert_int_equal(state_decode(1, buf, len, &back), 0);
	assert_int_equal(back.patches[0].id, 99);
	assert_int_equal(back.patches[0].nfuncs, 0);
	assert_int_equal(back.npatches, 2);
	(void)n0;
	state_release(&back);
	free(buf);
	state_release(&st);
	patch_file_release(&pf);
}

static void test_find_and_stacked(void **unused)
{
	struct state st;
	struct patch_file pf;
	const char *fn = NULL;
	(void)unused;

	build_state(&st, &pf);
	assert_ptr_equal(state_find(&st, "6"), &st.patches[1]);
	assert_ptr_equal(state_find_id(&st, 5), &st.patches[0]);
	assert_null(state_find(&st, "8"));
	/* By path: the latest patch of that path. */
	assert_ptr_equal(state_find(&st, fx("fx_patch.so")), &st.patches[1]);
	/* Different addresses: nothing stacked. */
	assert_null(stacked_over(&st, &st.patches[0], &fn));
	/* Patch 6 replaces the second function of patch 5 again. */
	st.patches[1].funcs[2].addr = st.patches[0].funcs[1].addr;
	assert_ptr_equal(stacked_over(&st, &st.patches[0], &fn), &st.patches[1]);
	assert_string_equal(fn, st.patches[0].funcs[1].name);
	/* The later patch is never stacked under the earlier one. */
	assert_null(stacked_over(&st, &st.patches[1], &fn));
	state_release(&st);
	patch_file_release(&pf);
}

static void test_record_copy(void **unused)
{
	struct state st;
	struct patch_file pf;
	struct hotpatch_patch copy;
	(void)unused;

	build_state(&st, &pf);
	st.patches[0].nimports = 2;
	assert_int_equal(patch_record_copy(&st.patches[0], &copy), 0);
	assert_ptr_not_equal(copy.funcs, st.patches[0].funcs);
	assert_int_equal(copy.nfuncs, st.patches[0].nfuncs);
	assert_int_equal(copy.nimports, 0);	/* not kept in the state */
	assert_null(copy.imports);
	for (unsigned i = 0; i < copy.nfuncs; i++)
		assert_same_func(&copy.funcs[i], &st.patches[0].funcs[i]);
	/* The copy is its own: releasing it leaves the original intact. */
	char name[HOTPATCH_NAME_MAX];
	snprintf(name, sizeof(name), "%s", copy.funcs[0].name);
	hotpatch_patch_release(&copy);
	assert_string_equal(st.patches[0].funcs[0].name, name);
	state_release(&st);
	patch_file_release(&pf);
}

static void test_func_from_desc(void **unused)
{
	struct patch_file pf;
	(void)unused;

	assert_int_equal(patch_file_read(fx("fx_patch.so"), &pf), 0);
	for (unsigned i = 0; i < pf.ndesc; i++) {
		const struct patch_desc *d = &pf.desc[i];
		struct hotpatch_func f;
		memset(&f, 0, sizeof(f));
		func_from_desc(&f, d);
		assert_string_equal(f.name, d->symbol);
		assert_string_equal(f.object, d->object);
		assert_string_equal(f.new_name, d->addr_name);
		assert_string_equal(f.orig_var, d->aux_name);
		assert_string_equal(f.file, d->file);
		assert_int_equal(f.wrap, d->kind == HOTPATCH_KIND_WRAP);
		if (!strcmp(d->symbol, "lib_fn"))
			assert_string_equal(f.object, "libfx.so.1");
		if (!strcmp(d->symbol, "helper"))
			assert_string_equal(f.file, "fx_dup_a.c");
		if (!strcmp(d->symbol, "slow_fn"))
			assert_string_equal(f.orig_var, "slow_fn_orig");
	}
	patch_file_release(&pf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_corrupt),
		cmocka_unit_test(test_untrusted_records),
		cmocka_unit_test(test_find_and_stacked),
		cmocka_unit_test(test_record_copy),
		cmocka_unit_test(test_func_from_desc),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: MIT */
/* Public queries that touch no target: a file's build-id, a patch's symbols against a binary, a vfork child's parent. */
#include <string.h>

#include "arch/arch.h"
#include "patch/patch.h"

int hotpatch_build_id(const char *path, char *hex, size_t len)
{
	char buf[HOTPATCH_BUILD_ID_MAX] = "";
	struct elf_file *ef;
	int err;

	hp_err_clear();
	if (len)
		hex[0] = 0;
	if (len < HOTPATCH_BUILD_ID_MAX)
		return hp_err(EINVAL, "build-id of %s: a buffer of %zu bytes, %d needed", path, len,
			      HOTPATCH_BUILD_ID_MAX);
	err = elf_file_open(path, NULL, &ef);
	if (err)
		return err;
	err = elf_file_build_id(ef, buf);	/* -ENOENT: none, no message */
	elf_file_free(ef);
	if (err && err != -ENOENT)
		return err;
	hp_strlcpy(hex, err ? "" : buf, len);
	return 0;
}

int hotpatch_check_symbols(const char *patch_path, const char *binary_path,
			   hotpatch_symbol_fn fn, void *ctx)
{
	struct patch_file pf = { 0 };
	struct elf_file *bin = NULL;
	struct hp_err_catch first = { .code = 0 };
	int err;

	hp_err_clear();
	err = patch_file_read(patch_path, &pf);
	if (!err)
		err = elf_file_open(binary_path, NULL, &bin);
	if (err)
		goto out;
	for (unsigned i = 0; i < pf.ndesc; i++) {
		const struct patch_desc *d = &pf.desc[i];
		struct hotpatch_symbol s = {
			.sz = sizeof(s),
			.symbol = d->symbol,
			.object = d->object,
			.file = d->file,
			.import = patch_desc_is_import(d->kind),
			.checked = !*d->object,
			.message = "",
		};
		struct hp_err_catch c;
		struct elf_sym sym;

		if (s.checked) {
			/* A lookup is a probe: its message goes to fn, the first one to the caller. */
			hp_err_catch_begin(&c);
			s.err = elf_file_find(bin, d->symbol, *d->file ? d->file : NULL,
					      s.import ? ELF_SYM_ANY : ELF_SYM_FUNC, &sym);
			hp_err_catch_end(&c);
			if (s.err && !*c.msg)
				snprintf(c.msg, sizeof(c.msg), "'%s': %s in '%s'", d->symbol,
					 hotpatch_strerror(s.err), binary_path);
			if (s.err)
				s.message = c.msg;
			if (s.err && !first.code)
				first = c;
		}
		if (fn)
			fn(&s, ctx);
	}
	if (first.code)
		err = hp_err(first.code, "%s", first.msg);
out:
	patch_file_release(&pf);
	elf_file_free(bin);
	return err;
}

int hotpatch_mm_parent(pid_t pid, pid_t *parent)
{
	hp_err_clear();
	*parent = 0;
	if (pid <= 0)
		return hp_err(EINVAL, "pid %d: no such process", (int)pid);
	*parent = proc_mm_parent(pid);
	return 0;
}

const char *hotpatch_reg_name(unsigned bit)
{
	return arch_reg_name(bit);
}

const char *hotpatch_jump_desc(const struct hotpatch_func *fn, char *buf, size_t size)
{
	size_t n = fn->jump_len < sizeof(fn->jump) ? fn->jump_len : sizeof(fn->jump);
	return arch_jump_desc(fn->jump, n, buf, size);
}

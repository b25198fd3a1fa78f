/* SPDX-License-Identifier: MIT */
/* Generation of the patch .so from the compared objects (gen.c). */
#ifndef HP_CREATE_GEN_H
#define HP_CREATE_GEN_H

#include <stddef.h>

#include "create/create.h"
#include "create/objdiff.h"

struct elf_file;

/*
 * Write the patch out: the changed and new functions of every unit with
 * their strings, jump tables and .cold parts, their references to the
 * program turned into fixups, a REPLACE per changed function and a build-id
 * pin. Refusals go to the report (and fail the call).
 */
int gen_patch(struct unit *u, size_t nu, struct elf_file *prog, const char *prog_path,
	      const char *work, const char *out, struct create_report *r);

#endif

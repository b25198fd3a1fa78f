/* SPDX-License-Identifier: MIT */
/* The calls benchmark's patch: each replacement is the same code as the function it replaces. */
#include <hotpatch.h>

static long cb_impl(long x) { return x ^ 1; }
static long (*volatile cb)(long) = cb_impl;

static long pc_small_v2(long x) { return x + 1; }
static long pc_clob_v2(long x) { return cb(x) + 1; }
static long pc_tiny_v2(long x) { return cb(x); }
static long lib_clob_v2(long x) { return cb(x) + 1; }

HOTPATCH_REPLACE(pc_small, pc_small_v2);	/* writes only rax: register-preserving island */
HOTPATCH_REPLACE(pc_clob, pc_clob_v2);		/* clobbers everything: plain jump */
HOTPATCH_REPLACE(pc_tiny, pc_tiny_v2);		/* too short for ff25: e9 to an island */
HOTPATCH_REPLACE_IN("libbench_lib.so", lib_clob, lib_clob_v2);	/* near the patch: e9 */

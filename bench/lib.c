/* SPDX-License-Identifier: MIT */
/*
 * Shared library of the calls benchmark: dlopen() maps a patch next to the
 * libraries, so a library function is redirected by a plain e9 rel32 jump.
 */
static long lib_cb_impl(long x) { return x ^ 1; }
long (*volatile lib_cb)(long) = lib_cb_impl;

__attribute__((noipa)) long lib_clob(long x) { return lib_cb(x) + 1; }
__attribute__((noipa)) long lib_clob_ref(long x) { return lib_cb(x) + 1; }

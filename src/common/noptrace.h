/* SPDX-License-Identifier: MIT */
/*
 * The ptrace poison for every file outside src/proc: the Makefile includes
 * this header first (-include) in each of them, so a raw ptrace() there, or
 * an #include <sys/ptrace.h> (which declares it), fails to compile. Tracing
 * goes through the gateway src/proc/ptrace.c and its callers in src/proc
 * (proc/ptrace.h poisons the identifier after its own declarations there).
 * `make poison-check` proves it on every build of the tests.
 */
#ifndef HP_NOPTRACE_H
#define HP_NOPTRACE_H
#pragma GCC poison ptrace
#endif

/* SPDX-License-Identifier: MIT */
/* Internal helpers shared by every layer: errors, logging, small utilities. */
#ifndef HP_COMMON_H
#define HP_COMMON_H

#include "common/macros.h"
#include "libhotpatch.h"

#include "common/err.h"

/* hotpatch_interrupt() was called: waits for the target's progress end early. */
bool hp_interrupt_pending(void);

void hp_log(enum hotpatch_log_level lvl, const char *fmt, ...) HP_PRINTF(2, 3);
/*
 * A wait (started at start_ns, given up at deadline_ns) is still going on:
 * report it to the progress callback, rate-limited. hp_progress_done() ends it.
 */
void hp_progress(pid_t pid, pid_t tid, const char *function, uint64_t start_ns,
		 uint64_t deadline_ns);
void hp_progress_done(void);
#define hp_warn(...)  hp_log(HOTPATCH_LOG_WARN, __VA_ARGS__)
#define hp_info(...)  hp_log(HOTPATCH_LOG_INFO, __VA_ARGS__)
#define hp_debug(...) hp_log(HOTPATCH_LOG_DEBUG, __VA_ARGS__)

/* Monotonic clock in nanoseconds. */
uint64_t hp_now_ns(void);

/* Bytes to lowercase hex (out must hold 2*n+1). */
void hp_hex(const uint8_t *in, size_t n, char *out);

/* strlcpy semantics: always terminates, returns strlen(src). */
size_t hp_strlcpy(char *dst, const char *src, size_t size);

#endif

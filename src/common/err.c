/* SPDX-License-Identifier: MIT */
#include <signal.h>
#include <string.h>
#include <time.h>

#include "common/common.h"

static const char *const hp_messages[] = {
#define HOTPATCH__MSG(code, name, msg) [code - HOTPATCH_E_BASE] = msg,
	HOTPATCH_ERRORS(HOTPATCH__MSG)
#undef HOTPATCH__MSG
};
/* A missing entry or a merged pair of strings breaks this. */
_Static_assert(ARRAY_SIZE(hp_messages) == HOTPATCH_E_END - HOTPATCH_E_BASE,
	       "HOTPATCH_ERRORS codes must be contiguous");

const char *hotpatch_version(unsigned *number)
{
	if (number)
		*number = HOTPATCH_VERSION_NUMBER;
	return HOTPATCH_VERSION;
}

const char *hotpatch_strerror(int err)
{
	if (err < 0)
		err = -err;
	if (err >= HOTPATCH_E_BASE && err < HOTPATCH_E_END)
		return hp_messages[err - HOTPATCH_E_BASE];
	return strerror(err);
}

static volatile sig_atomic_t hp_interrupted;

void hotpatch_interrupt(void)
{
	hp_interrupted = 1;
}

bool hp_interrupt_pending(void)
{
	return hp_interrupted;
}

static __thread char hp_msg[1024];
static __thread bool hp_msg_set;
static __thread unsigned hp_quiet;
static __thread struct hp_err_catch *hp_catch;	/* the innermost catch scope */

const char *hotpatch_errmsg(void)
{
	return hp_msg_set ? hp_msg : "";
}

void hp_err_clear(void)
{
	hp_msg_set = false;
	hp_msg[0] = 0;
}

void hp_err_save(struct hp_err_saved *s)
{
	s->set = hp_msg_set;
	memcpy(s->msg, hp_msg, sizeof(s->msg));
}

void hp_err_restore(const struct hp_err_saved *s)
{
	hp_msg_set = s->set;
	memcpy(hp_msg, s->msg, sizeof(hp_msg));
}

bool hp_err_set(void)
{
	return hp_msg_set;
}

void hp_err_quiet_begin(void)
{
	hp_quiet++;
}

void hp_err_quiet_end(void)
{
	if (!hp_quiet || (hp_catch && hp_quiet == hp_catch->depth))
		BUG("hp_err_quiet_end without hp_err_quiet_begin");
	hp_quiet--;
}

void hp_err_catch_begin(struct hp_err_catch *c)
{
	c->msg[0] = 0;
	c->code = 0;
	c->depth = hp_quiet;
	c->outer = hp_catch;
	hp_catch = c;
}

void hp_err_catch_end(struct hp_err_catch *c)
{
	if (hp_catch != c || hp_quiet != c->depth)
		BUG("hp_err_catch_end out of order");
	hp_catch = c->outer;
}

static int hp_verr(bool force, int code, const char *fmt, va_list ap)
{
	if (code < 0)
		code = -code;
	/* The innermost scope decides: a quiet scope opened after the catch, or the catch. */
	if (hp_quiet > (hp_catch ? hp_catch->depth : 0) || hp_catch) {
		char msg[1024];
		vsnprintf(msg, sizeof(msg), fmt, ap);
		hp_log(HOTPATCH_LOG_DEBUG, "probe: %s (%s)", msg, hotpatch_strerror(code));
		if (hp_catch && hp_quiet == hp_catch->depth && (force || !hp_catch->code)) {
			hp_strlcpy(hp_catch->msg, msg, sizeof(hp_catch->msg));
			hp_catch->code = -code;
		}
		return -code;
	}
	if (force || !hp_msg_set) {
		vsnprintf(hp_msg, sizeof(hp_msg), fmt, ap);
		hp_msg_set = true;
		/*
		 * Not "error:": many of these are handled and retried (a wait
		 * slice that ran out, a thread that exited). The failure of the
		 * operation, if any, is what the caller reports at the end.
		 */
		hp_log(HOTPATCH_LOG_DEBUG, "step failed (%s), may be retried: %s",
		       hotpatch_strerror(code), hp_msg);
	}
	return -code;
}

int hp_err(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = hp_verr(false, code, fmt, ap);
	va_end(ap);
	return r;
}

int hp_err_force(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = hp_verr(true, code, fmt, ap);
	va_end(ap);
	return r;
}

static hotpatch_log_fn hp_log_fn;
static void *hp_log_ctx;
static enum hotpatch_log_level hp_log_max = HOTPATCH_LOG_WARN;

void hotpatch_set_log(hotpatch_log_fn fn, void *ctx, enum hotpatch_log_level max_level)
{
	hp_log_fn = fn;
	hp_log_ctx = ctx;
	hp_log_max = max_level;
}

void hp_log(enum hotpatch_log_level lvl, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	if (lvl > hp_log_max || !hp_log_fn)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	hp_log_fn(lvl, buf, hp_log_ctx);
}

static hotpatch_progress_fn hp_progress_fn;
static void *hp_progress_ctx;
static struct hotpatch_progress hp_last;	/* the last report, for the final "done" */
static uint64_t hp_progress_next;		/* no report before this time */

void hotpatch_set_progress(hotpatch_progress_fn fn, void *ctx)
{
	hp_progress_fn = fn;
	hp_progress_ctx = ctx;
}

void hp_progress(pid_t pid, pid_t tid, const char *function, uint64_t start_ns,
		 uint64_t deadline_ns)
{
	uint64_t now = hp_now_ns();

	if (!hp_progress_fn || now < start_ns + 250000000ull || now < hp_progress_next)
		return;
	hp_progress_next = now + 100000000ull;
	hp_last = (struct hotpatch_progress){
		.sz = sizeof(hp_last),
		.pid = pid,
		.tid = tid,
		.function = function,
		.elapsed_ms = (unsigned)((now - start_ns) / 1000000),
		.limit_ms = deadline_ns > start_ns ? (unsigned)((deadline_ns - start_ns) / 1000000) : 0,
	};
	hp_progress_fn(&hp_last, hp_progress_ctx);
}

void hp_progress_done(void)
{
	hp_progress_next = 0;
	if (!hp_progress_fn || !hp_last.sz)
		return;
	hp_last.done = true;
	hp_last.function = NULL;	/* the name may not outlive the wait */
	hp_progress_fn(&hp_last, hp_progress_ctx);
	memset(&hp_last, 0, sizeof(hp_last));
}

uint64_t hp_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void hp_hex(const uint8_t *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = 0;
}

size_t hp_strlcpy(char *dst, const char *src, size_t size)
{
	size_t len = strlen(src);
	if (size) {
		size_t n = len < size - 1 ? len : size - 1;
		memcpy(dst, src, n);
		dst[n] = 0;
	}
	return len;
}

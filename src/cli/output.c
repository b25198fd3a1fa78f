/* SPDX-License-Identifier: MIT */
/* Human and JSON renderings of library results, and the syslog audit line. */
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>
#include <paths.h>
#include <stdlib.h>
#include <syslog.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/macros.h"
#include "libhotpatch.h"
#include "cli/cli.h"

int cli_exit_code(int err)
{
	switch (err < 0 ? -err : err) {
	case 0:
		return EXIT_OK;
	case HOTPATCH_E_BUSY:
	case HOTPATCH_E_TIMEOUT:
	case HOTPATCH_E_UNSAFE:
		return EXIT_BUSY;
	case EPERM:
	case HOTPATCH_E_PERM:
	case HOTPATCH_E_TRACED:
	case HOTPATCH_E_FILEPERM:
		return EXIT_PERM;
	default:
		return EXIT_FAIL;
	}
}

const char *cli_code_name(int err)
{
	static const char *const names[] = {
#define CLI__NAME(code, name, msg) [code - HOTPATCH_E_BASE] = #name,
		HOTPATCH_ERRORS(CLI__NAME)
#undef CLI__NAME
	};
	const char *s;

	if (err < 0)
		err = -err;
	if (err >= HOTPATCH_E_BASE && err < HOTPATCH_E_END)
		return names[err - HOTPATCH_E_BASE];
	s = strerrorname_np(err);
	return s ? s : "EUNKNOWN";
}

void cli_msg(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, size, fmt, ap);
	va_end(ap);
}

/* Bits of hotpatch_func.preserved_regs: the architecture's caller-saved registers. */
const char *cli_reg_name(unsigned bit)
{
	return hotpatch_reg_name(bit);
}

/*
 * Iterator over the set bits of a preserved_regs mask, lowest first: clears the bit from *left
 * and returns its register name, or "bit<sep><number>" (kept in buf) for a bit this CLI has no
 * name for; NULL when no bit is left. The text and JSON renderings both walk the mask with it.
 */
static const char *next_reg(uint32_t *left, const char *sep, char *buf, size_t size)
{
	unsigned b;

	if (!*left)
		return NULL;
	b = (unsigned)__builtin_ctz(*left);
	*left &= *left - 1;
	if (cli_reg_name(b))
		return cli_reg_name(b);
	snprintf(buf, size, "bit%s%u", sep, b);
	return buf;
}

/* Names of the set bits, comma-separated ("rax, xmm0", "bit 30" for unknown bits). */
static void regs_str(uint32_t regs, char *buf, size_t size)
{
	const char *name;
	size_t len = 0;
	char tmp[16];

	buf[0] = 0;
	while (len < size && (name = next_reg(&regs, " ", tmp, sizeof(tmp))))
		len += (size_t)snprintf(buf + len, size - len, "%s%s", len ? ", " : "", name);
}

void cli_jump_desc(const struct hotpatch_func *fn, char *buf, size_t size)
{
	if (fn->island)
		snprintf(buf, size, "island 0x%" PRIx64, fn->island);
	else if (fn->jump_len && hotpatch_jump_desc(fn, buf, size))
		return;
	else if (!fn->jump_len)
		snprintf(buf, size, "jump chosen at apply");
	else
		snprintf(buf, size, "%u-byte jump", fn->jump_len);
}

static const char *or_unknown(const char *s)
{
	return *s ? s : "?";
}

void out_func(FILE *f, const struct hotpatch_func *fn)
{
	char jump[64], regs[256];

	cli_jump_desc(fn, jump, sizeof(jump));
	fprintf(f, "  %s -> %s at 0x%" PRIx64 " (%s)\n", fn->name, or_unknown(fn->new_name),
		fn->addr, jump);
	if (fn->wrap)
		fprintf(f, "    wraps the original%s%s\n", *fn->orig_var ? ", reachable via " : "",
			fn->orig_var);
	if (fn->preserved_regs) {
		regs_str(fn->preserved_regs, regs, sizeof(regs));
		fprintf(f, "    preserves %s for callers that rely on them\n", regs);
	}
	if (*fn->note)
		fprintf(f, "    note: %s\n", fn->note);
}

static void time_str(int64_t t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0 || !gmtime_r(&tt, &tm) || !strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, size, "unknown");
}

void out_list_patch(FILE *f, const struct hotpatch_patch *p)
{
	char when[64];

	time_str(p->applied_at, when, sizeof(when));
	fprintf(f, "patch %u %s build-id %s applied %s\n", p->id, p->path,
		*p->build_id ? p->build_id : "none", when);
	for (unsigned i = 0; i < p->nfuncs; i++) {
		const struct hotpatch_func *fn = &p->funcs[i];

		fprintf(f, "  %s (%s) 0x%" PRIx64 " -> %s\n", fn->name, or_unknown(fn->object),
			fn->addr, or_unknown(fn->new_name));
	}
}

void out_info(FILE *f, const struct hotpatch_patch *p)
{
	fprintf(f, "patch %s build-id %s\n", p->path, *p->build_id ? p->build_id : "none");
	for (unsigned i = 0; i < p->nfuncs; i++) {
		const struct hotpatch_func *fn = &p->funcs[i];

		fprintf(f, "  %s %s", fn->wrap ? "wraps" : "replaces", fn->name);
		if (*fn->object)
			fprintf(f, " in %s", fn->object);
		if (*fn->file)
			fprintf(f, " file %s", fn->file);
		fprintf(f, " with %s", or_unknown(fn->new_name));
		if (fn->wrap && *fn->orig_var)
			fprintf(f, " (orig via %s)", fn->orig_var);
		fputc('\n', f);
	}
	for (unsigned i = 0; i < p->nimports; i++)
		fprintf(f, "  imports %s\n", p->imports[i]);
	if (*p->pin)
		fprintf(f, "  pins build-id %s\n", p->pin);
}

static void json_func(struct json *j, const struct hotpatch_func *fn)
{
	unsigned n = fn->jump_len < sizeof(fn->jump) ? fn->jump_len : sizeof(fn->jump);
	uint32_t regs = fn->preserved_regs;
	const char *name;
	char tmp[16];

	json_begin_object(j, NULL);
	json_string(j, "name", fn->name);
	json_string(j, "object", fn->object);
	json_string(j, "file", fn->file);
	json_string(j, "new_name", fn->new_name);
	json_hex_u64(j, "addr", fn->addr);
	json_uint(j, "size", fn->size);
	json_hex_u64(j, "new_addr", fn->new_addr);
	json_hex_u64(j, "island", fn->island);
	json_uint(j, "jump_off", fn->jump_off);
	json_hex_bytes(j, "jump", fn->jump, n);
	json_hex_bytes(j, "orig", fn->orig, n);
	json_begin_array(j, "preserved_regs");
	while ((name = next_reg(&regs, "", tmp, sizeof(tmp))))
		json_string(j, NULL, name);
	json_end_array(j);
	json_bool(j, "wrap", fn->wrap);
	json_string(j, "orig_var", fn->orig_var);
	json_string(j, "note", fn->note);
	json_end_object(j);
}

static void json_patch_fields(struct json *j, const struct hotpatch_patch *p)
{
	json_uint(j, "id", p->id);
	json_string(j, "path", p->path);
	json_string(j, "build_id", p->build_id);
	json_string(j, "pin", p->pin);
	json_int(j, "applied_at", p->applied_at);
	json_hex_u64(j, "handle", p->handle);
	json_begin_array(j, "functions");
	for (unsigned i = 0; i < p->nfuncs; i++)
		json_func(j, &p->funcs[i]);
	json_end_array(j);
	json_begin_array(j, "imports");
	for (unsigned i = 0; i < p->nimports; i++)
		json_string_len(j, NULL, p->imports[i], strnlen(p->imports[i], HOTPATCH_NAME_MAX));
	json_end_array(j);
}

void json_patch(struct json *j, const char *key, const struct hotpatch_patch *p)
{
	json_begin_object(j, key);
	json_patch_fields(j, p);
	json_end_object(j);
}

/* A reverted patch, and whether its code stays loaded (retained). */
void json_patch_retained(struct json *j, const struct hotpatch_patch *p, bool retained)
{
	json_begin_object(j, NULL);
	json_patch_fields(j, p);
	json_bool(j, "retained", retained);
	json_end_object(j);
}

/* Nanoseconds as a microsecond number with three decimals, exact. */
static void json_us(struct json *j, const char *key, uint64_t ns)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%" PRIu64 ".%03" PRIu64, ns / 1000, ns % 1000);
	json_number(j, key, buf);
}

void json_timing(struct json *j, const char *key, const struct hotpatch_timing *t)
{
	json_begin_object(j, key);
	json_us(j, "total_us", t->total_ns);
	json_us(j, "pause_us", t->pause_ns);
	json_us(j, "dlopen_us", t->dlopen_ns);
	json_us(j, "stw_us", t->stw_ns);
	json_uint(j, "threads", t->threads);
	json_end_object(j);
}

void json_error(struct json *j, int err, const char *msg)
{
	json_begin_object(j, "error");
	json_string(j, "code", cli_code_name(err));
	json_int(j, "errno", err > 0 ? -err : err);
	json_string(j, "message", msg);
	json_end_object(j);
}

/* A syslog field value: quotes and backslashes escaped, control characters dropped. */
static void syslog_quote(const char *s, char *buf, size_t size)
{
	size_t n = 0;

	for (; *s && n + 3 < size; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c == 0x7f)
			c = ' ';
		if (c == '"' || c == '\\')
			buf[n++] = '\\';
		buf[n++] = (char)c;
	}
	buf[n] = 0;
}

/*
 * Can syslog(3) deliver? It writes to /dev/log and drops the record without
 * a word when nothing listens there (a container, a host without a syslog
 * daemon or journald). Tried once per run, as syslog(3) does: a datagram
 * socket, then a stream one. 0, or the errno of the failure.
 */
static int syslog_reachable(void)
{
	static int cached = -1;
	static const int types[] = { SOCK_DGRAM, SOCK_STREAM };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (cached >= 0)
		return cached;
	cli_msg(sa.sun_path, sizeof(sa.sun_path), "%s", _PATH_LOG);
	cached = ENOENT;
	for (size_t i = 0; i < ARRAY_SIZE(types) && cached; i++) {
		int fd = socket(AF_UNIX, types[i] | SOCK_CLOEXEC, 0);

		if (fd < 0) {
			cached = errno;
			continue;
		}
		cached = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) ? errno : 0;
		close(fd);
	}
	return cached;
}

void cli_syslog(const char *op, pid_t pid, const char *path, const char *build_id, unsigned id,
		int err, const char *reason)
{
	const char *audit = getenv("HOTPATCH_AUDIT");
	char line[2048], q[1200];
	int e;

	if (audit && !strcmp(audit, "off"))
		return;
	if (!err) {
		snprintf(line, sizeof(line), "%s pid=%d patch=%s build-id=%s result=ok id=%u", op,
			 (int)pid, path, *build_id ? build_id : "none", id);
	} else {
		syslog_quote(reason, q, sizeof(q));
		snprintf(line, sizeof(line), "%s pid=%d patch=%s build-id=%s result=error reason=\"%s\"",
			 op, (int)pid, path, *build_id ? build_id : "none", q);
	}
	/* Not lost without a word: on stderr, where the operator sees it. */
	if (audit && !strcmp(audit, "stderr"))
		fprintf(stderr, "hotpatch: audit: %s\n", line);
	else if ((e = syslog_reachable()))
		fprintf(stderr, "hotpatch: audit record not kept (no syslog at %s: %s): %s\n", _PATH_LOG,
			strerror(e), line);
	else
		syslog(LOG_NOTICE, "%s", line);
}

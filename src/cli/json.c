/* SPDX-License-Identifier: MIT */
#include <inttypes.h>
#include <string.h>

#include "common/macros.h"
#include "libhotpatch.h"
#include "cli/json.h"

void json_init(struct json *j, FILE *f)
{
	memset(j, 0, sizeof(*j));
	j->f = f;
}

/*
 * Length of the well-formed UTF-8 sequence at s (at most n bytes), or 0.
 * Overlong forms, surrogates and code points above U+10FFFF are not
 * well-formed (RFC 3629): a JSON parser would reject or mangle them.
 */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	uint32_t cp;
	size_t len;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

void json_write_escaped(FILE *f, const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	fputc('"', f);
	while (i < len) {
		unsigned char c = s[i];
		size_t n;

		switch (c) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\b':
			fputs("\\b", f);
			break;
		case '\f':
			fputs("\\f", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\r':
			fputs("\\r", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		default:
			if (c < 0x20 || c == 0x7f) {
				fprintf(f, "\\u%04x", c);
				break;
			}
			n = utf8_len(s + i, len - i);
			if (!n) {
				/* Not text: keep the byte value visible rather than fail. */
				fprintf(f, "\\u%04x", c);
				break;
			}
			fwrite(s + i, 1, n, f);
			i += n;
			continue;
		}
		i++;
	}
	fputc('"', f);
}

/* Comma and key before a value; checks that keys are used where they belong. */
static void json_prefix(struct json *j, const char *key)
{
	if (j->depth == 0) {
		if (key)
			BUG("json: key '%s' at top level", key);
		return;
	}
	if (j->in_obj[j->depth] != (key != NULL))
		BUG("json: %s", key ? "key inside an array" : "value without key in an object");
	if (!j->first[j->depth])
		fputc(',', j->f);
	j->first[j->depth] = false;
	if (key) {
		json_write_escaped(j->f, key, strlen(key));
		fputc(':', j->f);
	}
}

void json_raw(struct json *j, const char *key, const char *text, size_t len)
{
	json_prefix(j, key);
	fwrite(text, 1, len, j->f);
}

static void json_begin(struct json *j, const char *key, bool obj)
{
	json_prefix(j, key);
	if (j->depth == JSON_MAX_DEPTH)
		BUG("json: nesting deeper than %d", JSON_MAX_DEPTH);
	j->depth++;
	j->first[j->depth] = true;
	j->in_obj[j->depth] = obj;
	fputc(obj ? '{' : '[', j->f);
}

static void json_end(struct json *j, bool obj)
{
	if (j->depth == 0 || j->in_obj[j->depth] != obj)
		BUG("json: unbalanced %s", obj ? "object" : "array");
	j->depth--;
	fputc(obj ? '}' : ']', j->f);
	if (j->depth == 0)
		fputc('\n', j->f);
}

void json_begin_object(struct json *j, const char *key)
{
	json_begin(j, key, true);
}

void json_end_object(struct json *j)
{
	json_end(j, true);
}

void json_begin_array(struct json *j, const char *key)
{
	json_begin(j, key, false);
}

void json_end_array(struct json *j)
{
	json_end(j, false);
}

void json_string_len(struct json *j, const char *key, const char *s, size_t len)
{
	json_prefix(j, key);
	json_write_escaped(j->f, s, len);
}

void json_string(struct json *j, const char *key, const char *s)
{
	json_string_len(j, key, s, strlen(s));
}

void json_int(struct json *j, const char *key, int64_t v)
{
	json_prefix(j, key);
	fprintf(j->f, "%" PRId64, v);
}

void json_uint(struct json *j, const char *key, uint64_t v)
{
	json_prefix(j, key);
	fprintf(j->f, "%" PRIu64, v);
}

void json_bool(struct json *j, const char *key, bool v)
{
	json_prefix(j, key);
	fputs(v ? "true" : "false", j->f);
}

void json_null(struct json *j, const char *key)
{
	json_prefix(j, key);
	fputs("null", j->f);
}

void json_number(struct json *j, const char *key, const char *num)
{
	json_prefix(j, key);
	fputs(num, j->f);
}

void json_hex_u64(struct json *j, const char *key, uint64_t v)
{
	json_prefix(j, key);
	fprintf(j->f, "\"0x%" PRIx64 "\"", v);
}

void json_hex_bytes(struct json *j, const char *key, const uint8_t *b, size_t n)
{
	json_prefix(j, key);
	fputc('"', j->f);
	for (size_t i = 0; i < n; i++)
		fprintf(j->f, "%02x", b[i]);
	fputc('"', j->f);
}

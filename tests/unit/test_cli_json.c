/* SPDX-License-Identifier: MIT */
/* The CLI's JSON writer: string escaping and document structure, byte for byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli/json.h"

/* Output of json_write_escaped(s[0..len)), as a malloc'ed string. */
static char *escape(const char *s, size_t len)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);

	assert_non_null(f);
	json_write_escaped(f, s, len);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static void check(const char *in, size_t len, const char *want)
{
	char *got = escape(in, len);

	assert_string_equal(got, want);
	free(got);
}

#define CHECK(lit, want) check(lit, sizeof(lit) - 1, want)

static void test_plain(void **state)
{
	(void)state;
	CHECK("", "\"\"");
	CHECK("func_v2", "\"func_v2\"");
	CHECK("/usr/bin/app (deleted)", "\"/usr/bin/app (deleted)\"");
	/* '/' needs no escape and gets none */
	CHECK("a/b", "\"a/b\"");
}

static void test_quote_backslash(void **state)
{
	(void)state;
	CHECK("say \"hi\"", "\"say \\\"hi\\\"\"");
	CHECK("C:\\path\\", "\"C:\\\\path\\\\\"");
	CHECK("\\\"", "\"\\\\\\\"\"");
}

static void test_control(void **state)
{
	(void)state;
	CHECK("a\nb\tc\rd", "\"a\\nb\\tc\\rd\"");
	CHECK("\b\f", "\"\\b\\f\"");
	CHECK("\x01\x1f", "\"\\u0001\\u001f\"");
	CHECK("\x7f", "\"\\u007f\"");
	CHECK("\x1b[31mred", "\"\\u001b[31mred\"");
	/* an embedded NUL is data, not the end */
	CHECK("a\0b", "\"a\\u0000b\"");
}

static void test_utf8_valid(void **state)
{
	(void)state;
	CHECK("caf\xc3\xa9", "\"caf\xc3\xa9\"");			/* U+00E9 */
	CHECK("\xe2\x82\xac", "\"\xe2\x82\xac\"");			/* U+20AC */
	CHECK("\xf0\x9d\x84\x9e", "\"\xf0\x9d\x84\x9e\"");		/* U+1D11E */
	CHECK("\xef\xbf\xbf", "\"\xef\xbf\xbf\"");			/* U+FFFF */
	CHECK("\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\"");		/* U+10FFFF */
}

static void test_utf8_invalid(void **state)
{
	(void)state;
	/* bytes that are no UTF-8 become \u00XX, one per byte */
	CHECK("\xff", "\"\\u00ff\"");
	CHECK("a\xfe" "b", "\"a\\u00feb\"");
	/* lone continuation byte */
	CHECK("\x80", "\"\\u0080\"");
	/* overlong encodings of '/' and NUL */
	CHECK("\xc0\xaf", "\"\\u00c0\\u00af\"");
	CHECK("\xc1\x80", "\"\\u00c1\\u0080\"");
	CHECK("\xe0\x80\xaf", "\"\\u00e0\\u0080\\u00af\"");
	CHECK("\xf0\x80\x80\xaf", "\"\\u00f0\\u0080\\u0080\\u00af\"");
	/* UTF-16 surrogate U+D800 */
	CHECK("\xed\xa0\x80", "\"\\u00ed\\u00a0\\u0080\"");
	/* above U+10FFFF */
	CHECK("\xf4\x90\x80\x80", "\"\\u00f4\\u0090\\u0080\\u0080\"");
	/* truncated sequences: at the end, and followed by ASCII */
	CHECK("\xe2\x82", "\"\\u00e2\\u0082\"");
	CHECK("\xe2\x82x", "\"\\u00e2\\u0082x\"");
	/* a valid sequence right after an invalid byte is kept */
	CHECK("\xff\xc3\xa9", "\"\\u00ff\xc3\xa9\"");
}

/* The length bounds the string: a sequence cut by the length is invalid. */
static void test_len_bound(void **state)
{
	(void)state;
	check("\xc3\xa9", 1, "\"\\u00c3\"");
	check("abc", 2, "\"ab\"");
}

static void doc_begin(struct json *j, FILE **f, char **buf, size_t *size)
{
	*buf = NULL;
	*f = open_memstream(buf, size);
	assert_non_null(*f);
	json_init(j, *f);
}

static void test_document(void **state)
{
	static const uint8_t jump[] = { 0xe9, 0x10, 0x20, 0x30, 0x40 };
	struct json j;
	char *buf;
	size_t size;
	FILE *f;

	(void)state;
	doc_begin(&j, &f, &buf, &size);
	json_begin_object(&j, NULL);
	json_uint(&j, "version", 1);
	json_string(&j, "k\"ey", "v\n");
	json_int(&j, "neg", INT64_MIN);
	json_uint(&j, "big", UINT64_MAX);
	json_bool(&j, "t", true);
	json_bool(&j, "f", false);
	json_null(&j, "n");
	json_number(&j, "us", "12.345");
	json_hex_u64(&j, "addr", 0x55d0c0001139ull);
	json_hex_u64(&j, "zero", 0);
	json_hex_bytes(&j, "jump", jump, sizeof(jump));
	json_hex_bytes(&j, "none", jump, 0);
	json_begin_array(&j, "empty");
	json_end_array(&j);
	json_begin_array(&j, "list");
	json_string(&j, NULL, "rax");
	json_begin_object(&j, NULL);
	json_end_object(&j);
	json_begin_array(&j, NULL);
	json_int(&j, NULL, 1);
	json_int(&j, NULL, 2);
	json_end_array(&j);
	json_end_array(&j);
	json_end_object(&j);
	assert_int_equal(fclose(f), 0);
	assert_string_equal(buf, "{\"version\":1,\"k\\\"ey\":\"v\\n\",\"neg\":-9223372036854775808,"
				 "\"big\":18446744073709551615,\"t\":true,\"f\":false,\"n\":null,"
				 "\"us\":12.345,\"addr\":\"0x55d0c0001139\",\"zero\":\"0x0\","
				 "\"jump\":\"e910203040\",\"none\":\"\",\"empty\":[],"
				 "\"list\":[\"rax\",{},[1,2]]}\n");
	free(buf);
}

/* A top-level array closes the document too; a second document starts fresh. */
static void test_top_array(void **state)
{
	struct json j;
	char *buf;
	size_t size;
	FILE *f;

	(void)state;
	doc_begin(&j, &f, &buf, &size);
	json_begin_array(&j, NULL);
	json_end_array(&j);
	json_begin_object(&j, NULL);
	json_string_len(&j, "s", "a\0b", 3);
	json_end_object(&j);
	assert_int_equal(fclose(f), 0);
	assert_string_equal(buf, "[]\n{\"s\":\"a\\u0000b\"}\n");
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),	     cmocka_unit_test(test_quote_backslash),
		cmocka_unit_test(test_control),	     cmocka_unit_test(test_utf8_valid),
		cmocka_unit_test(test_utf8_invalid), cmocka_unit_test(test_len_bound),
		cmocka_unit_test(test_document),     cmocka_unit_test(test_top_array),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

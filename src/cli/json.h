/* SPDX-License-Identifier: MIT */
/*
 * A small streaming JSON writer for the CLI's --json output: compact, one
 * document per line. Strings are written as given when they are valid UTF-8;
 * control characters, quotes and backslashes are escaped, and a byte that is
 * not part of a valid UTF-8 sequence (a file name is any byte string) is
 * written as \u00XX, so the output is always valid JSON.
 *
 * Inside an object every value needs a key; inside an array and at the top
 * level the key must be NULL. Misuse is a programmer error (BUG).
 */
#ifndef HP_CLI_JSON_H
#define HP_CLI_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 16

struct json {
	FILE *f;
	unsigned depth;			  /* 0 = top level */
	bool first[JSON_MAX_DEPTH + 1];	  /* nothing written yet in this container */
	bool in_obj[JSON_MAX_DEPTH + 1]; /* container is an object (else array) */
};

void json_init(struct json *j, FILE *f);

/* Closing the outermost container ends the document with a newline. */
void json_begin_object(struct json *j, const char *key);
void json_end_object(struct json *j);
void json_begin_array(struct json *j, const char *key);
void json_end_array(struct json *j);

void json_string(struct json *j, const char *key, const char *s);
void json_string_len(struct json *j, const char *key, const char *s, size_t len);
void json_int(struct json *j, const char *key, int64_t v);
void json_uint(struct json *j, const char *key, uint64_t v);
void json_bool(struct json *j, const char *key, bool v);
void json_null(struct json *j, const char *key);
/* An already formatted JSON number ("12.5"); the caller guarantees its syntax. */
void json_number(struct json *j, const char *key, const char *num);
/* v as a string "0x1a2b" (JSON numbers lose precision above 2^53). */
void json_hex_u64(struct json *j, const char *key, uint64_t v);
/* Bytes as one lowercase hex string without separators: "e9fc0f0000". */
void json_hex_bytes(struct json *j, const char *key, const uint8_t *b, size_t n);

/* A value already written as JSON text elsewhere (a whole object), spliced in as is. */
void json_raw(struct json *j, const char *key, const char *text, size_t len);

/* Write s[0..len) as a quoted JSON string. */
void json_write_escaped(FILE *f, const char *s, size_t len);

#endif

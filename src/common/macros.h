/* SPDX-License-Identifier: MIT */
/* Plain C macros every layer uses (the CLI and the daemon too): no declaration of the library's internals. */
#ifndef HP_MACROS_H
#define HP_MACROS_H

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define HP_PRINTF(f, a) __attribute__((format(printf, f, a)))

/* Programmer error: never a target's or user's fault. */
#define BUG(...)                                                                           \
	do {                                                                               \
		fprintf(stderr, "hotpatch: BUG at %s:%d: ", __FILE__, __LINE__);           \
		fprintf(stderr, __VA_ARGS__);                                              \
		fputc('\n', stderr);                                                       \
		abort();                                                                   \
	} while (0)

#endif

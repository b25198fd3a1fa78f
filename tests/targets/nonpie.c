/* SPDX-License-Identifier: MIT */
/* nonpie.c - pie.c built with -no-pie (fixed addresses, ET_EXEC). */
#include "pie.c"

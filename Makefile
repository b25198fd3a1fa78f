# hotpatch - GNU Make build. `make`, `make check`, `make demo`, `make bench`, `make install`.
# SPDX-License-Identifier: MIT

PREFIX   ?= /usr/local
DESTDIR  ?=
CC       ?= cc
CLANG    ?= clang
B        := build

CSTD     := -std=gnu11
WARN     := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-missing-field-initializers
OPT      ?= -O2 -g
CPPFLAGS += -Iinclude -Isrc -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -DHOTPATCH_PREFIX=\"$(PREFIX)\"
CFLAGS   += $(CSTD) $(OPT) $(WARN) -fno-strict-aliasing
LIBS     := -lelf -ldw -lZydis -lpthread
SAN      := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

LIB_SRC  := $(sort $(wildcard src/common/*.c src/proc/*.c src/elf/*.c src/unwind/*.c \
                              src/patch/*.c src/arch/x86_64/*.c src/create/*.c))
CLI_SRC  := $(sort $(wildcard src/cli/*.c))
HDRS     := $(wildcard include/*.h src/*/*.h src/arch/*/*.h)

LIB_OBJ  := $(LIB_SRC:%.c=$(B)/obj/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(B)/obj/%.o)
ASAN_LIB_OBJ := $(LIB_SRC:%.c=$(B)/asan/obj/%.o)
ASAN_CLI_OBJ := $(CLI_SRC:%.c=$(B)/asan/obj/%.o)

.PHONY: all deps check check-creator unit integration demo bench install clean fuzz format tests-build
all: $(B)/hotpatch $(B)/libhotpatch.a $(B)/asan/hotpatch

deps:
	@scripts/install-deps.sh

$(B)/obj/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(B)/asan/obj/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(SAN) -c $< -o $@

$(B)/libhotpatch.a: $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(B)/asan/libhotpatch.a: $(ASAN_LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(B)/hotpatch: $(CLI_OBJ) $(B)/libhotpatch.a
	$(CC) $(CFLAGS) -o $@ $(CLI_OBJ) $(B)/libhotpatch.a $(LIBS)

$(B)/asan/hotpatch: $(ASAN_CLI_OBJ) $(B)/asan/libhotpatch.a
	$(CC) $(CFLAGS) $(SAN) -o $@ $(ASAN_CLI_OBJ) $(B)/asan/libhotpatch.a $(LIBS)

# ---- tests ----
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/unit/%)
$(B)/tests/unit/%: tests/unit/%.c $(B)/libhotpatch.a $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(B)/libhotpatch.a $(LIBS) -lcmocka

# Test targets and patches; per-file extra flags come from tests/build.mk.
TARGET_SRC := $(sort $(wildcard tests/targets/*.c))
PATCH_SRC  := $(sort $(wildcard tests/patches/*.c))
TARGET_BIN := $(TARGET_SRC:tests/targets/%.c=$(B)/tests/targets/%)
PATCH_SO   := $(PATCH_SRC:tests/patches/%.c=$(B)/tests/patches/%.so)
TARGET_CFLAGS ?= -O2 -g -fno-omit-frame-pointer
-include tests/build.mk

$(B)/tests/targets/%: tests/targets/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(TARGET_CFLAGS) $(CFLAGS_$*) -Itests/targets -o $@ $< $(LDFLAGS_$*) -lpthread

$(B)/tests/patches/%.so: tests/patches/%.c include/hotpatch.h
	@mkdir -p $(dir $@)
	$(CC) -shared -fPIC -O2 -Wall -Wextra -Werror -Iinclude $(PCFLAGS_$*) -o $@ $<
	@chmod 644 $@

tests-build: $(UNIT_BIN) $(TARGET_BIN) $(PATCH_SO) $(EXTRA_TEST_DEPS)

check: deps all tests-build
	@tests/run.sh

# The Creator on real Debian programs (minutes: apt-get source, three builds each).
check-creator: deps all
	@for t in tests/creator/*.sh; do [ "$$t" = tests/creator/lib.sh ] && continue; \
		echo "== $$t"; HOTPATCH=$(CURDIR)/$(B)/hotpatch ROOT=$(CURDIR) bash $$t; \
		rc=$$?; [ $$rc -eq 0 ] || [ $$rc -eq 77 ] || exit 1; done

unit: $(UNIT_BIN)
	@tests/run.sh unit

integration: all tests-build
	@tests/run.sh integration

demo: deps $(B)/hotpatch
	@examples/demo.sh

bench: deps all tests-build
	@bench/run.sh

fuzz: deps
	@tests/fuzz/run.sh $(or $(FUZZ_SECONDS),60)

format:
	clang-format -i $(LIB_SRC) $(CLI_SRC) $(HDRS)

install: $(B)/hotpatch $(B)/libhotpatch.a
	install -Dm755 $(B)/hotpatch $(DESTDIR)$(PREFIX)/bin/hotpatch
	install -Dm644 $(B)/libhotpatch.a $(DESTDIR)$(PREFIX)/lib/libhotpatch.a
	install -Dm644 include/hotpatch.h $(DESTDIR)$(PREFIX)/include/hotpatch.h
	install -Dm644 include/libhotpatch.h $(DESTDIR)$(PREFIX)/include/libhotpatch.h
	@if [ -f docs/hotpatch.1 ]; then install -Dm644 docs/hotpatch.1 $(DESTDIR)$(PREFIX)/share/man/man1/hotpatch.1; fi
	@if [ -f scripts/hotpatch.bash-completion ]; then install -Dm644 scripts/hotpatch.bash-completion \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/hotpatch; fi
	@mkdir -p $(DESTDIR)$(PREFIX)/lib/pkgconfig
	sed -e 's|@PREFIX@|$(PREFIX)|' scripts/libhotpatch.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/libhotpatch.pc

clean:
	rm -rf $(B)

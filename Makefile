# hotpatch - GNU Make build. `make`, `make check`, `make demo`, `make bench`, `make install`,
# `make uninstall`, `make deb` (Debian packages into build/deb/).
# SPDX-License-Identifier: MIT

# Install layout (GNU conventions; a distribution sets LIBDIR=$(PREFIX)/lib/<multiarch>).
PREFIX   ?= /usr/local
DESTDIR  ?=
BINDIR   ?= $(PREFIX)/bin
SBINDIR  ?= $(PREFIX)/sbin
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
LIBDIR   ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
DATADIR  ?= $(PREFIX)/share
MANDIR   ?= $(DATADIR)/man
DOCDIR   ?= $(DATADIR)/doc/hotpatch
BASHCOMPDIR ?= $(DATADIR)/bash-completion/completions
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
CC       ?= cc
CLANG    ?= clang
B        := build

# One version, in include/libhotpatch.h; the shared library's soname follows its major number.
VER_PART  = $(shell sed -n 's/^\#define HOTPATCH_VERSION_$(1) \([0-9]*\).*/\1/p' include/libhotpatch.h)
VERSION  := $(call VER_PART,MAJOR).$(call VER_PART,MINOR).$(call VER_PART,PATCH)
SOVERSION := $(call VER_PART,MAJOR)
SONAME   := libhotpatch.so.$(SOVERSION)

# CFLAGS, CPPFLAGS and LDFLAGS from the environment or the command line (a distribution's
# hardening flags) are kept; the project's own flags are added around them, so -Werror stays.
# OPT is the optimisation used when no CFLAGS is given. CFLAGS and CPPFLAGS are `override`
# variables: a rule that needs more adds them with `override CFLAGS += ...`.
CSTD     := -std=gnu11
WARN     := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-missing-field-initializers
OPT      ?= -O2 -g
CFLAGS   ?= $(OPT)
override CPPFLAGS := -Iinclude -Isrc -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 \
	-DHOTPATCH_PREFIX=\"$(PREFIX)\" $(CPPFLAGS)
override CFLAGS := $(CSTD) $(CFLAGS) $(WARN) -fno-strict-aliasing
LDFLAGS  ?=
# The CPU backend under src/arch/ follows the compiler's target triple (CC=aarch64-linux-gnu-gcc
# with a sysroot builds src/arch/aarch64, decoding with capstone; x86_64 decodes with zydis).
ARCH     ?= $(firstword $(subst -, ,$(shell $(CC) -dumpmachine)))
ifeq ($(ARCH),aarch64)
DECODER_LIB := -lcapstone
else
ARCH     := x86_64
DECODER_LIB := -lZydis
endif
LIBS     := -lelf -ldw $(DECODER_LIB) -lpthread
SAN      := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

LIB_SRC  := $(sort $(wildcard src/common/*.c src/proc/*.c src/elf/*.c src/unwind/*.c \
                              src/patch/*.c src/arch/$(ARCH)/*.c src/create/*.c))
CLI_SRC  := $(sort $(wildcard src/cli/*.c))
HDRS     := $(wildcard include/*.h src/*/*.h src/arch/*/*.h)

LIB_OBJ  := $(LIB_SRC:%.c=$(B)/obj/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(B)/obj/%.o)
ASAN_LIB_OBJ := $(LIB_SRC:%.c=$(B)/asan/obj/%.o)
ASAN_CLI_OBJ := $(CLI_SRC:%.c=$(B)/asan/obj/%.o)

SHLIB    := $(B)/libhotpatch.so.$(VERSION)
PROGS    := $(B)/hotpatch $(B)/libhotpatch.a $(SHLIB) $(B)/$(SONAME) $(B)/libhotpatch.so

.PHONY: all progs deps check check-aarch64 check-creator unit poison-check layers-check integration demo bench install uninstall deb clean fuzz format \
	tests-build
all: $(PROGS) $(B)/asan/hotpatch

# What is installed, without the sanitizer build (`make progs` is what a package builds).
progs: $(PROGS)

deps:
	@scripts/install-deps.sh

# Every file outside src/proc is compiled with raw ptrace() poisoned (src/common/noptrace.h):
# tracing goes through src/proc's gateway only. `make poison-check` proves it. A file of
# POISON_LATE includes the header itself, after a system header that names a member 'ptrace'
# (linux/cn_proc.h's event union).
POISON_LATE := src/daemon/hotpatchd.c
NOPTRACE  = $(if $(filter src/proc/% $(POISON_LATE),$<),,-include src/common/noptrace.h)

$(B)/obj/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(NOPTRACE) $(CFLAGS) -c $< -o $@

# The library objects serve the static and the shared library: position-independent.
$(LIB_OBJ): override CFLAGS += -fPIC

$(B)/asan/obj/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(NOPTRACE) $(CFLAGS) $(SAN) -c $< -o $@

$(B)/libhotpatch.a: $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

# The shared library exports hotpatch_* only, under the version node of scripts/libhotpatch.map.
$(SHLIB): $(LIB_OBJ) scripts/libhotpatch.map
	$(CC) -shared $(CFLAGS) $(LDFLAGS) -Wl,-soname,$(SONAME) \
		-Wl,--version-script=scripts/libhotpatch.map -Wl,--no-undefined -o $@ $(LIB_OBJ) $(LIBS)
$(B)/$(SONAME) $(B)/libhotpatch.so: $(SHLIB)
	ln -sf $(notdir $<) $@

$(B)/asan/libhotpatch.a: $(ASAN_LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

# The command links the library statically: the Creator's entry points (create_run, cc_main)
# are not exported by the shared library; everything else it calls is public (make layers-check).
$(B)/hotpatch: $(CLI_OBJ) $(B)/libhotpatch.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(CLI_OBJ) $(B)/libhotpatch.a $(LIBS)

$(B)/asan/hotpatch: $(ASAN_CLI_OBJ) $(B)/asan/libhotpatch.a
	$(CC) $(CFLAGS) $(SAN) $(LDFLAGS) -o $@ $(ASAN_CLI_OBJ) $(B)/asan/libhotpatch.a $(LIBS)

# ---- hotpatchd (src/daemon): the library and the CLI's patch-directory code ----
DAEMON_OBJ := $(patsubst %.c,%.o,$(sort $(wildcard src/daemon/*.c)) src/cli/registry.c)
all: $(B)/hotpatchd $(B)/asan/hotpatchd
$(B)/hotpatchd: $(DAEMON_OBJ:%=$(B)/obj/%) $(B)/libhotpatch.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)
$(B)/asan/hotpatchd: $(DAEMON_OBJ:%=$(B)/asan/obj/%) $(B)/asan/libhotpatch.a
	$(CC) $(CFLAGS) $(SAN) $(LDFLAGS) -o $@ $^ $(LIBS)
progs: $(B)/hotpatchd

# ---- tests ----
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/unit/%)
$(B)/tests/unit/%: tests/unit/%.c $(B)/libhotpatch.a $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(B)/libhotpatch.a $(LIBS) -lcmocka
# The aarch64 backend's pure functions, built for the host (capstone decodes arm64 anywhere).
UNIT_BIN += $(B)/tests/unit/test_aarch64
A64_UNIT_SRC := src/arch/aarch64/jump.c src/arch/aarch64/decode.c src/common/err.c
$(B)/tests/unit/test_aarch64: tests/unit/aarch64/test_aarch64.c $(A64_UNIT_SRC) $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -DHP_ARCH_AARCH64 $(CFLAGS) -o $@ $< $(A64_UNIT_SRC) -lcapstone -lcmocka

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

tests-build: $(UNIT_BIN) $(TARGET_BIN) $(PATCH_SO) $(EXTRA_TEST_DEPS) poison-check layers-check

check: deps all tests-build
	@tests/run.sh

# The aarch64 backend in a real arm64 kernel (qemu-system-aarch64, TCG), two CPU models;
# scripts/aarch64/ and docs/aarch64.md. Host packages, then the arm64 kernel, busybox and sysroot
# (cached under build/aarch64), the cross-built guest tests, the boots.
A64      := $(B)/aarch64
A64_CC   := aarch64-linux-gnu-gcc
A64_FLAGS := $(CSTD) -O2 -g $(WARN) -Iinclude -Isrc -D_GNU_SOURCE -I$(A64)/sysroot/usr/include
A64_LDFLAGS := -L$(A64)/sysroot/usr/lib/aarch64-linux-gnu -L$(A64)/sysroot/lib/aarch64-linux-gnu \
	-Wl,-rpath-link,$(A64)/sysroot/usr/lib/aarch64-linux-gnu -Wl,-rpath-link,$(A64)/sysroot/lib/aarch64-linux-gnu
A64_ARCH := $(sort $(wildcard src/arch/aarch64/*.c))
A64_HDRS := src/arch/arch.h $(wildcard src/arch/aarch64/*.h)
# The integration targets and patches the guest's command tests use (tests/targets, tests/patches:
# portable C, cross-built as they are).
A64_TARGETS := pie busy storm stress coro fault_target rollback
A64_PATCHES := pie_v2 func100 func1000 slow_v2 coro_wrap coro_loop_v2 fault_ctor_crash fault_v2 \
	fault_stuck_v2 fault_hold rollback_v2
A64_TESTS := $(A64)/tests/hello $(A64)/tests/inject $(A64)/tests/target $(A64)/tests/patch.so \
	$(A64)/tests/codegen $(A64)/tests/vecspin $(A64_TARGETS:%=$(A64)/tests/%) \
	$(A64_PATCHES:%=$(A64)/tests/%.so) $(A64)/tests/libbti.so $(A64)/tests/btitgt $(A64)/tests/bti_patch.so \
	$(A64)/tests/deep $(A64)/tests/deep_patch.so
.PHONY: aarch64-deps aarch64-tests aarch64-hotpatch
aarch64-deps:
	@scripts/aarch64/deps.sh
	@scripts/aarch64/sysroot.sh
$(A64)/tests/hello: tests/aarch64/hello.c
	@mkdir -p $(dir $@)
	$(A64_CC) $(A64_FLAGS) -o $@ $<
$(A64)/tests/inject: tests/aarch64/inject.c $(A64_ARCH) $(A64_HDRS)
	@mkdir -p $(dir $@)
	$(A64_CC) $(A64_FLAGS) -o $@ $< src/arch/aarch64/jump.c src/arch/aarch64/call.c src/arch/aarch64/regs.c
$(A64)/tests/codegen: tests/aarch64/codegen.c $(A64_ARCH) $(A64_HDRS) src/common/err.c
	@mkdir -p $(dir $@)
	$(A64_CC) $(A64_FLAGS) $(A64_LDFLAGS) -o $@ $< src/arch/aarch64/jump.c src/arch/aarch64/decode.c \
		src/arch/aarch64/regs.c src/common/err.c -lcapstone
# The target's functions start with BTI c / PACIASP (-mbranch-protection=standard).
$(A64)/tests/target: tests/aarch64/target.c
	@mkdir -p $(dir $@)
	$(A64_CC) -O2 -g -mbranch-protection=standard -o $@ $<
$(A64)/tests/vecspin: tests/aarch64/vecspin.c
	@mkdir -p $(dir $@)
	$(A64_CC) -O2 -g -o $@ $<
$(A64)/tests/patch.so: tests/aarch64/patch.c
	@mkdir -p $(dir $@)
	$(A64_CC) -O2 -shared -fPIC -mbranch-protection=standard -o $@ $<
# Built as Ubuntu and Fedora build for arm64: -mbranch-protection=standard (BTI landing pads and
# pac-ret, return addresses signed on the stack; PACIASP is a NOP hint on cortex-a72).
A64_BRANCH := -mbranch-protection=standard
$(A64_TARGETS:%=$(A64)/tests/%): $(A64)/tests/%: tests/targets/%.c tests/targets/tgt.h
	@mkdir -p $(dir $@)
	$(A64_CC) $(CSTD) $(TARGET_CFLAGS) $(A64_BRANCH) -Itests/targets -o $@ $< -lpthread
$(A64_PATCHES:%=$(A64)/tests/%.so): $(A64)/tests/%.so: tests/patches/%.c include/hotpatch.h
	@mkdir -p $(dir $@)
	$(A64_CC) -shared -fPIC -O2 $(A64_BRANCH) -Wall -Wextra -Werror -Iinclude -o $@ $<
	@chmod 644 $@
# A BTI-marked library (every object of it built with -mbranch-protection: no start files, since
# Debian's carry no BTI property), so the loader maps its code PROT_BTI; a target calling it
# through pointers; a patch replacing its PACIASP and BTI c functions.
$(A64)/tests/libbti.so: tests/aarch64/btilib.c
	@mkdir -p $(dir $@)
	$(A64_CC) -O2 -g -shared -fPIC -mbranch-protection=standard -nostartfiles -o $@ $<
# The target's own code: pac-ret too (its threads sleep under frames with signed return addresses).
$(A64)/tests/btitgt: tests/aarch64/btitgt.c $(A64)/tests/libbti.so
	@mkdir -p $(dir $@)
	$(A64_CC) $(TARGET_CFLAGS) $(A64_BRANCH) -o $@ $< -L$(A64)/tests -lbti -Wl,-rpath,/tests
$(A64)/tests/bti_patch.so: tests/aarch64/bti_patch.c include/hotpatch.h
	@mkdir -p $(dir $@)
	$(A64_CC) -shared -fPIC -O2 -mbranch-protection=standard -Wall -Wextra -Werror -Iinclude -o $@ $<
	@chmod 644 $@
# A busy function two frames up, whose only return address is signed (tests/aarch64/pacret.sh).
$(A64)/tests/deep: tests/aarch64/deep.c tests/targets/tgt.h
	@mkdir -p $(dir $@)
	$(A64_CC) $(CSTD) $(TARGET_CFLAGS) $(A64_BRANCH) -Itests/targets -o $@ $< -lpthread
$(A64)/tests/deep_patch.so: tests/aarch64/deep_patch.c include/hotpatch.h
	@mkdir -p $(dir $@)
	$(A64_CC) -shared -fPIC -O2 $(A64_BRANCH) -Wall -Wextra -Werror -Iinclude -o $@ $<
	@chmod 644 $@
# The command itself, cross-built in its own build directory: a failure fails check-aarch64
# (every command test in the guest would otherwise be skipped, 77).
A64_SYSROOT_FLAGS := CPPFLAGS=-I$(CURDIR)/$(A64)/sysroot/usr/include \
	LDFLAGS="$(patsubst -L%,-L$(CURDIR)/%,$(filter -L%,$(A64_LDFLAGS))) \
	$(patsubst -Wl$(comma)-rpath-link$(comma)%,-Wl$(comma)-rpath-link$(comma)$(CURDIR)/%,$(filter -Wl%,$(A64_LDFLAGS)))"
comma := ,
aarch64-hotpatch:
	@rm -f $(A64)/tests/hotpatch
	@if $(MAKE) --no-print-directory -s B=$(A64)/build CC=$(A64_CC) $(A64_SYSROOT_FLAGS) \
		$(A64)/build/hotpatch > $(A64)/hotpatch-build.log 2>&1; then \
		cp $(A64)/build/hotpatch $(A64)/tests/hotpatch; \
	else tail -n 20 $(A64)/hotpatch-build.log; \
		echo "aarch64: the hotpatch command does not cross-build (see $(A64)/hotpatch-build.log)"; exit 1; fi
aarch64-tests: aarch64-deps
	@$(MAKE) --no-print-directory $(A64_TESTS) aarch64-hotpatch
check-aarch64: aarch64-tests
	@scripts/aarch64/run.sh

# The Creator on real Debian programs (minutes: apt-get source, three builds each).
# CREATOR_CASES="memcached_sasl zlib_bound" runs only those (CI: redis alone builds for ~15 min).
CREATOR_CASES ?=
check-creator: deps all
	@for t in $(if $(CREATOR_CASES),$(CREATOR_CASES:%=tests/creator/%.sh),tests/creator/*.sh); do \
		case $$t in */lib.sh|*/real.sh) continue;; esac; \
		echo "== $$t"; s=$$(date +%s); HOTPATCH=$(CURDIR)/$(B)/hotpatch ROOT=$(CURDIR) bash $$t; \
		rc=$$?; echo "== $$t: exit $$rc, $$(($$(date +%s) - s)) s"; \
		[ $$rc -eq 0 ] || [ $$rc -eq 77 ] || exit 1; done

unit: $(UNIT_BIN) poison-check layers-check
	@tests/run.sh unit

# The command and the daemon call the library through its public API only (libhotpatch.h);
# the Creator's entry points are the one exception (tests/layers_check.sh says why).
layers-check: $(B)/libhotpatch.a $(CLI_OBJ) $(DAEMON_OBJ:%=$(B)/obj/%)
	@tests/layers_check.sh $(B)/libhotpatch.a $(CLI_OBJ) $(DAEMON_OBJ:%=$(B)/obj/%)

# The poison holds: a raw ptrace() call compiled as a file outside src/proc is refused (and the
# same file compiles without it, so it is the poison that refuses it); the Makefile gives the
# poison to every object outside src/proc; nothing there reaches ptrace through syscall(2).
poison-check:
	@tests/poison_check.sh "$(CC) $(CPPFLAGS) $(CFLAGS)" $(POISON_LATE)

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

# The man page names installed paths: its /usr/local/... defaults are rewritten to the layout.
MAN_SED := -e 's|/usr/local/share/doc/hotpatch|$(DOCDIR)|g' -e 's|/usr/local/include|$(INCLUDEDIR)|g' \
	   -e 's|/usr/local/lib|$(LIBDIR)|g'
DOCS     := README.md $(wildcard docs/*.md)
SCHEMAS  := $(wildcard docs/schema/*.json)
EXAMPLES := $(wildcard examples/*.c examples/*.sh)
INC      := include/hotpatch.h include/libhotpatch.h

install: progs
	install -Dm755 $(B)/hotpatch $(DESTDIR)$(BINDIR)/hotpatch
	install -Dm755 $(B)/hotpatchd $(DESTDIR)$(SBINDIR)/hotpatchd
	install -d $(DESTDIR)$(SYSTEMDUNITDIR)
	sed -e 's|@PREFIX@|$(PREFIX)|' scripts/hotpatchd.service.in \
		> $(DESTDIR)$(SYSTEMDUNITDIR)/hotpatchd.service
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(PKGCONFIGDIR) \
		$(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(DOCDIR)
	install -m644 $(SHLIB) $(DESTDIR)$(LIBDIR)/
	ln -sf $(notdir $(SHLIB)) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libhotpatch.so
	install -m644 $(B)/libhotpatch.a $(DESTDIR)$(LIBDIR)/libhotpatch.a
	install -m644 $(INC) $(DESTDIR)$(INCLUDEDIR)/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' \
		-e 's|@VERSION@|$(VERSION)|' scripts/libhotpatch.pc.in > $(DESTDIR)$(PKGCONFIGDIR)/libhotpatch.pc
	sed $(MAN_SED) docs/hotpatch.1 > $(DESTDIR)$(MANDIR)/man1/hotpatch.1
	install -d $(DESTDIR)$(MANDIR)/man8
	sed $(MAN_SED) docs/hotpatchd.8 > $(DESTDIR)$(MANDIR)/man8/hotpatchd.8
	install -m644 scripts/hotpatch.bash-completion $(DESTDIR)$(BASHCOMPDIR)/hotpatch
	install -m644 $(DOCS) $(DESTDIR)$(DOCDIR)/
	@if [ -n "$(SCHEMAS)" ]; then install -d $(DESTDIR)$(DOCDIR)/schema && \
		install -m644 $(SCHEMAS) $(DESTDIR)$(DOCDIR)/schema/; fi
	install -d $(DESTDIR)$(DOCDIR)/examples
	install -m644 $(EXAMPLES) $(DESTDIR)$(DOCDIR)/examples/

# Removes exactly what install wrote (same variables), then the directories left empty.
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/hotpatch $(DESTDIR)$(SBINDIR)/hotpatchd \
		$(DESTDIR)$(SYSTEMDUNITDIR)/hotpatchd.service $(DESTDIR)$(LIBDIR)/libhotpatch.so.$(VERSION) \
		$(DESTDIR)$(LIBDIR)/$(SONAME) $(DESTDIR)$(LIBDIR)/libhotpatch.so \
		$(DESTDIR)$(LIBDIR)/libhotpatch.a $(INC:include/%=$(DESTDIR)$(INCLUDEDIR)/%) \
		$(DESTDIR)$(PKGCONFIGDIR)/libhotpatch.pc $(DESTDIR)$(MANDIR)/man1/hotpatch.1 \
		$(DESTDIR)$(MANDIR)/man8/hotpatchd.8 \
		$(DESTDIR)$(BASHCOMPDIR)/hotpatch
	rm -rf $(DESTDIR)$(DOCDIR)

# Debian packages (hotpatch with hotpatchd, libhotpatch0, libhotpatch-dev) from a copy of this tree, so the
# packaging's `make clean` leaves build/ alone. Then lintian, which must report no error.
DEB_DIR := $(B)/deb
deb:
	rm -rf $(DEB_DIR) && mkdir -p $(DEB_DIR)/src
	tar --exclude=./build --exclude=./.git -cf - . | tar -xf - -C $(DEB_DIR)/src
	cd $(DEB_DIR)/src && DEB_BUILD_OPTIONS="nocheck noddebs parallel=2 $(DEB_BUILD_OPTIONS)" \
		dpkg-buildpackage -b -us -uc
	@if command -v lintian >/dev/null; then \
		echo "lintian $(DEB_DIR)/*.changes"; lintian --fail-on error $(DEB_DIR)/*.changes; \
	fi
	@ls -l $(DEB_DIR)/*.deb

clean:
	rm -rf $(B)

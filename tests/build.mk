# unwind: tests/unit/test_unwind runs unwind_child built twice, with frame
# pointers (TARGET_CFLAGS default) and without. -z now: no lazy PLT binding, so
# a thread is never caught resolving read() inside ld.so on its way to block.
LDFLAGS_unwind_child := -Wl,-z,now
build/tests/targets/unwind_child_nofp: tests/targets/unwind_child.c
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(TARGET_CFLAGS) -fomit-frame-pointer -Itests/targets -o $@ $< \
		$(LDFLAGS_unwind_child) -lpthread
EXTRA_TEST_DEPS += build/tests/targets/unwind_child_nofp
build/tests/unit/test_unwind: | build/tests/targets/unwind_child build/tests/targets/unwind_child_nofp
# end unwind
# Per-file flags and extra rules of the test build (included by the Makefile).
# Several areas append here: keep each area's lines in its own commented block.

# ---- ELF layer (src/elf): fixtures of tests/unit/test_elf.c and test_patchfile.c ----
# Real binaries built from tests/fixtures/*.c: a PIE without -rdynamic, copies of it
# stripped with separate debuginfo (.gnu_debuglink beside it; build-id lookup is done by
# the test under a temporary HOTPATCH_DEBUG_ROOT), two static functions of one name,
# patches using every descriptor kind and patches that must be refused.
FX := $(B)/tests/fixtures
FX_CC := $(CC) -std=gnu11 -O2 -g -Wall -Wextra -Werror
FX_BAD := DUP PINS HEX UNDEF PINONLY OK_SAMENAME V1FIXUP OK_FIXUP
ELF_FIXTURES := $(addprefix $(FX)/,fx_syms fx_syms.debug fx_syms_dl fx_syms_bare fx_dup \
		  fx_patch.so fx_patch_exec fx_nodesc.so fx_nobid) $(FX_BAD:%=$(FX)/fx_bad_%.so)
EXTRA_TEST_DEPS += $(ELF_FIXTURES)
$(B)/tests/unit/test_elf $(B)/tests/unit/test_patchfile $(B)/tests/unit/test_patch_query: | $(ELF_FIXTURES)

$(FX)/fx_syms: tests/fixtures/fx_syms.c
	@mkdir -p $(dir $@)
	$(FX_CC) -fPIE -pie -o $@ $<
$(FX)/fx_syms.debug: $(FX)/fx_syms
	objcopy --only-keep-debug $< $@
# stripped, with a .gnu_debuglink to fx_syms.debug beside it
$(FX)/fx_syms_dl: $(FX)/fx_syms $(FX)/fx_syms.debug
	strip --strip-all -o $@ $<
	objcopy --add-gnu-debuglink=$(FX)/fx_syms.debug $@
# without its GNU build-id note (hotpatch_build_id: "")
$(FX)/fx_nobid: $(FX)/fx_syms
	objcopy --remove-section=.note.gnu.build-id $< $@
# stripped, no debuglink: debuginfo only by build-id
$(FX)/fx_syms_bare: $(FX)/fx_syms
	strip --strip-all -o $@ $<
$(FX)/fx_dup: tests/fixtures/fx_dup_main.c tests/fixtures/fx_dup_a.c tests/fixtures/fx_dup_b.c
	@mkdir -p $(dir $@)
	$(FX_CC) -fPIE -pie -o $@ $^
$(FX)/fx_patch.so: tests/fixtures/fx_patch.c include/hotpatch.h
	@mkdir -p $(dir $@)
	$(FX_CC) -shared -fPIC -Iinclude -o $@ $<
$(FX)/fx_patch_exec: tests/fixtures/fx_patch.c include/hotpatch.h
	@mkdir -p $(dir $@)
	$(FX_CC) -fno-pie -no-pie -DWITH_MAIN -Iinclude -o $@ $<
$(FX)/fx_nodesc.so: tests/fixtures/fx_nodesc.c
	@mkdir -p $(dir $@)
	$(FX_CC) -shared -fPIC -Wl,-soname,libfxnodesc.so.1 -o $@ $<
$(FX)/fx_bad_OK_SAMENAME.so: FX_BAD_DEF = -DOK_SAMENAME
$(FX)/fx_bad_OK_FIXUP.so: FX_BAD_DEF = -DOK_FIXUP
$(FX)/fx_bad_%.so: tests/fixtures/fx_bad.c include/hotpatch.h
	@mkdir -p $(dir $@)
	$(FX_CC) -shared -fPIC -Iinclude $(or $(FX_BAD_DEF),-DBAD_$*) -o $@ $<
# ---- end ELF layer ----
# ---- cli (src/cli): unit tests that link CLI objects, which build/libhotpatch.a does not contain ----
CLI_JSON_TEST_OBJ := $(B)/obj/src/cli/json.o
CLI_ARGS_TEST_OBJ := $(B)/obj/src/cli/args.o $(B)/obj/src/cli/output.o $(B)/obj/src/cli/json.o
$(B)/tests/unit/test_cli_json: tests/unit/test_cli_json.c $(CLI_JSON_TEST_OBJ) $(B)/libhotpatch.a $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(CLI_JSON_TEST_OBJ) $(B)/libhotpatch.a $(LIBS) -lcmocka
$(B)/tests/unit/test_cli_args: tests/unit/test_cli_args.c $(CLI_ARGS_TEST_OBJ) $(B)/libhotpatch.a $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(CLI_ARGS_TEST_OBJ) $(B)/libhotpatch.a $(LIBS) -lcmocka
# ---- end cli ----
# Per-file flags and extra rules for test targets/patches (included by the Makefile).
# Several areas append here: only ADD lines, each area in its own commented block.

# ---- integration: targets and patches of tests/integration/*.sh ----
# pie: a PIE without -rdynamic (func/sfunc only in .symtab); nonpie: the same source as ET_EXEC.
CFLAGS_pie     := -fPIE
LDFLAGS_pie    := -pie
CFLAGS_nonpie  := -fno-pie
LDFLAGS_nonpie := -no-pie
# libdemo.c is a library: the generic rule builds a harmless build/tests/targets/libdemo from it,
# the shlib target links the copy with the soname it is patched by.
CFLAGS_libdemo := -shared -fPIC -Wl,-soname,libhpdemo.so
$(B)/tests/targets/libhpdemo.so: tests/targets/libdemo.c tests/targets/tgt.h
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(TARGET_CFLAGS) -shared -fPIC -Wl,-soname,libhpdemo.so -Itests/targets -o $@ $<
$(B)/tests/targets/shlib: $(B)/tests/targets/libhpdemo.so
LDFLAGS_shlib  := -L$(B)/tests/targets -lhpdemo -Wl,-rpath,$(abspath $(B)/tests/targets)
# ambig: two static dup_fn in two files (the second lives outside the targets wildcard).
$(B)/tests/targets/ambig: tests/targets/extra/ambig_b.c
LDFLAGS_ambig  := tests/targets/extra/ambig_b.c
# seedtgt: the seed-style patch finds func with dlsym(RTLD_DEFAULT).
LDFLAGS_seedtgt := -rdynamic
# Every target includes tgt.h.
$(TARGET_BIN): tests/targets/tgt.h
EXTRA_TEST_DEPS += $(B)/tests/targets/libhpdemo.so
# ---- end integration ----
# ---- authoring (patch authoring, issue 6; IPA-RA, issue 10): tests/integration/auth_*.sh, ipara_*.sh ----
# auth_static: a copy stripped with a .gnu_debuglink to auth_static.debug beside it, and a copy
# stripped bare (its debuginfo is found by build-id under a temporary HOTPATCH_DEBUG_ROOT).
TT := $(B)/tests/targets
AUTH_BIN := $(TT)/auth_static.debug $(TT)/auth_static_dl $(TT)/auth_static_bare
$(TT)/auth_static.debug: $(TT)/auth_static
	objcopy --only-keep-debug $< $@
$(TT)/auth_static_dl: $(TT)/auth_static $(TT)/auth_static.debug
	strip --strip-all -o $@ $<
	cd $(TT) && objcopy --add-gnu-debuglink=auth_static.debug $(notdir $@)
$(TT)/auth_static_bare: $(TT)/auth_static
	strip --strip-all -o $@ $<
# auth_dup: two static 'parse' in two files (extra sources live in tests/targets/auth/, which
# the tests/targets/*.c wildcard does not see).
$(TT)/auth_dup: tests/targets/auth_dup.c tests/targets/auth/dup_a.c tests/targets/auth/dup_b.c
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(TARGET_CFLAGS) -o $@ $^
# IPA-RA targets: plain -O2 like a distribution build (no noipa, no frame pointer).
$(TT)/ipara_loop: tests/targets/ipara_loop.c
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) -O2 -g -o $@ $<
$(TT)/ipara_stack: tests/targets/ipara_stack.c
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) -O2 -g -o $@ $<
# examples/: the programs and fixes of docs/writing-patches.md, built into build/examples.
EX := $(B)/examples
AUTH_EX := $(EX)/wrap_target $(EX)/wrap_fix.so $(EX)/libshop.so.1 $(EX)/shop $(EX)/lib_fix.so
$(EX)/wrap_target: examples/wrap_target.c
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) -O2 -g -o $@ $<
$(EX)/libshop.so.1: examples/libshop.c
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) -shared -fPIC -O2 -g -Wl,-soname,libshop.so.1 -o $@ $<
$(EX)/shop: examples/shop.c $(EX)/libshop.so.1
	$(CC) $(CSTD) -O2 -g -o $@ $^ -Wl,-rpath,'$$ORIGIN'
$(EX)/%.so: examples/%.c include/hotpatch.h
	@mkdir -p $(dir $@)
	$(CC) -shared -fPIC -O2 -Wall -Wextra -Werror -Iinclude -o $@ $<
	@chmod 644 $@
EXTRA_TEST_DEPS += $(AUTH_BIN) $(AUTH_EX)
# ---- end authoring ----
# ---- patch layer (src/patch): unit tests on real ELF fixtures ----
$(B)/tests/unit/test_patch_state $(B)/tests/unit/test_patch_plan: | $(ELF_FIXTURES)
# ---- end patch layer ----

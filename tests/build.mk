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

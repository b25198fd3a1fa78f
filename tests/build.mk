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

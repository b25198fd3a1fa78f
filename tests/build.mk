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

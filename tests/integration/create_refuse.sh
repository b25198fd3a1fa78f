#!/bin/bash
# create_refuse: what the Creator must refuse, each with exit 1, a report line naming the
# variable/function and the reason, and no patch file:
#  - a changed initial value of an existing static variable (limit 10 -> 20);
#  - a new thread-local variable;
#  - a changed layout of a struct the changed code uses (a field added to struct stats);
#  - a new constructor (.init_array);
#  - a changed signature of a global function (discount(n) -> discount(n, m));
#  - an LTO build (objects hold GIMPLE, not code);
#  - a program that the source does not reproduce (fidelity): built with -O1, rebuilt with -O2
#    (DW_AT_producer); built from a calc.c whose discount() differs (the bytes).
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/creator/lib.sh"
need
command -v make >/dev/null || skip "make not installed"
command -v patch >/dev/null || skip "patch not installed"
SRC=$WORK/src
cp -r "$CR/prog" "$SRC"
make -s -C "$SRC" >"$WORK/make.out" 2>&1 || die "cannot build the test program"

refused() {	# refused NAME [ARGS...] -- REGEX...: one create, every REGEX in its report
	local name=$1 re args=()
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do args+=("$1"); shift; done
	shift
	rm -f "$WORK/$name.so"
	creator_create "$name" "${args[@]}"
	expect_rc 1
	printf '%s\n' "$ERR" | grep -qE '^refused ' || die "$name: no 'refused' line"
	for re; do
		printf '%s\n' "$ERR" | grep -qE -- "$re" || die "$name: report does not match /$re/"
	done
	printf '%s\n' "$ERR" | grep -qE '^hotpatch: create: refused: [0-9]+ reasons?, no patch written' ||
		die "$name: no final error line"
	[ ! -e "$WORK/$name.so" ] || die "$name: a patch file was written"
}

refused initval -- 'limit \(store.c\)' 'initial value of the variable changed'
refused tls -- 'depth \(store.c\)' 'new thread-local variable'
refused layout -- 'struct stats \(store.c\)' 'layout changed \(size:member@offset/size: 344:.* -> 352:'
refused ctor -- 'constructors or destructors changed'
refused sig -- 'discount \(calc.c\)' 'signature changed .* code outside the patch can call it'
refused body --build 'make CC="$HOTPATCH_CC" CFLAGS="-O2 -g -flto"' -- 'LTO object'

# fidelity: the running binary was built with -O1; the source rebuilt as given (-O2) differs
rm -rf "$SRC"
cp -r "$CR/prog" "$SRC"
make -s -C "$SRC" CFLAGS="-O1 -g" >"$WORK/make.out" 2>&1 || die "cannot build the test program"
refused body -- "compiler or flags differ from PROG's DW_AT_producer: PROG has '-O1', the rebuild '-O2'"
rm -rf "$SRC"
cp -r "$CR/prog" "$SRC"
sed -i 's/return n + zero;/return n + 1 + zero;/' "$SRC/calc.c"
make -s -C "$SRC" >"$WORK/make.out" 2>&1 || die "cannot build the test program"
cp "$CR/prog/calc.c" "$SRC/calc.c"
refused body -- 'discount \(calc.c\)' 'the original build does not reproduce .*prog: (size|byte)'
# bad input: usage (2), and one error line naming the thing (1)
hp create --source "$SRC" --binary "$SRC/prog"
expect_rc 2
printf '%s\n' "$ERR" | grep -q -- '--source, --diff and --binary are required' || die "usage message"
hp create --source "$WORK/nonexistent" --diff "$CR/body.patch" --binary "$SRC/prog"
expect_rc 1
err_line 'nonexistent: not a directory'
hp create --source "$SRC" --diff "$CR/body.patch" --binary "$WORK/nonexistent"
expect_rc 1
err_line 'nonexistent: no such file'
strip -o "$WORK/stripped" "$SRC/prog"
hp create --source "$SRC" --diff "$CR/body.patch" --binary "$WORK/stripped"
expect_rc 1
err_line 'stripped: no symbol table and no debuginfo found'
printf -- '--- a/calc.c\n+++ b/calc.c\n@@ -1,1 +1,1 @@\n-no such line\n+x\n' >"$WORK/bad.patch"
hp create --source "$SRC" --diff "$WORK/bad.patch" --binary "$SRC/prog" -o "$WORK/bad.so"
expect_rc 1
printf '%s\n' "$ERR" | grep -q 'bad.patch does not apply to .*src (see .*build-patched.log)' ||
	die "no 'does not apply' message"
[ ! -e "$WORK/bad.so" ] || die "a patch file was written"
echo PASS

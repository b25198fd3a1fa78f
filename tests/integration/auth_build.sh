#!/bin/bash
# Patch authoring (issue 6): `hotpatch build --target BINARY`.
# - builds examples/wrap_fix.c, pins the target's GNU build-id (seen by `hotpatch info`),
#   leaves a file the Loader accepts (not group/other writable);
# - refuses at build time a patch naming a symbol the target lacks, and leaves no output;
# - a compile error fails with exit 1 and no output;
# - the built patch applies to the running target (fix observed) and is refused, by
#   build-id, on another program.
. "$(dirname "$0")/../lib.sh"

EX=$ROOT/build/examples
for f in "$EX/wrap_target" "$EX/shop"; do [ -e "$f" ] || skip "missing $f"; done
command -v "${CC:-cc}" >/dev/null || skip "no C compiler"
BID=$(readelf -n "$EX/wrap_target" | awk '/Build ID/ { print $3 }')
[ -n "$BID" ] || die "wrap_target has no build-id"

note "build with --target: pinned"
hp build -o "$WORK/fix.so" --target "$EX/wrap_target" "$ROOT/examples/wrap_fix.c"
expect_rc 0
[ "$OUT" = "built $WORK/fix.so, pinned to build-id $BID of $EX/wrap_target" ] || die "bad report: $OUT"
[ -f "$WORK/fix.so" ] || die "no output file"
[ -z "$(find "$WORK/fix.so" -perm /022)" ] || die "output is group/other writable"
hp info "$WORK/fix.so"
expect_rc 0
echo "$OUT" | grep -q "^  pins build-id $BID$" || die "info shows no pin"
echo "$OUT" | grep -q "^  wraps lookup with lookup_fixed" || die "info shows no wrap"

note "a symbol the target does not have: refused at build time, nothing left"
hp build -o "$WORK/missing.so" --target "$EX/wrap_target" "$ROOT/tests/patches/auth_build_missing.c"
expect_rc 1
echo "$ERR" | grep -q "'no_such_function' not found in .*wrap_target" || die "missing symbol not named"
[ -e "$WORK/missing.so" ] && die "a patch that failed its checks was left behind"

note "a compile error: exit 1, no output"
printf '#include <hotpatch.h>\nthis is not C;\n' >"$WORK/broken.c"
hp build -o "$WORK/broken.so" "$WORK/broken.c"
expect_rc 1
echo "$ERR" | grep -q "hotpatch: cannot compile '$WORK/broken.c'" || die "no compile error line"
[ -e "$WORK/broken.so" ] && die "output left after a compile error"

note "the built patch applies to the target it was built for"
start svc "$EX/wrap_target"
S=$PID
wait_line "$WORK/svc.out" '^request [0-9]+ idx 4 -> 4242$'
hp apply "$S" "$WORK/fix.so"
expect_rc 0
from=$(lines "$WORK/svc.out")
wait_line "$WORK/svc.out" '^request [0-9]+ idx 4 -> -1$' 5 $((from + 1)) || die "fix not active"
grep -E '^request [0-9]+ idx 4 -> 4242$' <(tail -n +$((from + 2)) "$WORK/svc.out") && die "leak after the fix"
hp list "$S"
echo "$OUT" | grep -q "fix.so build-id" || die "not listed"

note "and is refused on another program (build-id pin)"
start shop "$EX/shop"
wait_line "$WORK/shop.out" '^tick 0 '
hp apply "$PID" "$WORK/fix.so"
expect_rc 1
echo "$ERR" | grep -q "build-id mismatch: patch wants $BID" || die "pin not enforced"
alive "$S"
alive "$PID"
echo "PASS"

#!/bin/bash
# CI's bounded fuzzing: build the libFuzzer harnesses (tests/fuzz/fuzz_*.c)
# and run each over its seed corpus plus a fixed number of mutations (about
# 10 s in all once built). Any crash, leak or sanitizer report fails. Runs
# once: it does not depend on which hotpatch binary is under test.
. "$(dirname "$0")/../lib.sh"

case $HOTPATCH in
*/asan/*) skip "fuzz smoke runs in the first pass only" ;;
esac
set +e
"$ROOT/tests/fuzz/run.sh" --smoke
rc=$?
set -e
[ $rc -eq 77 ] && skip "no clang with libFuzzer"
[ $rc -eq 0 ] || die "fuzzing found a problem (see build/fuzz/*.log)"
echo PASS

#!/bin/bash
# `hotpatch load` of a library whose constructor dereferences NULL: the fault
# is caught in the borrowed thread, reported (exit 1, the message names the
# signal and address), the thread restored; the target runs on untraced, and
# a later apply still works. (What stays done: see README, Limitations.)
. "$(dirname "$0")/../lib.sh"

[ -x "$HOTPATCH" ] || skip "no $HOTPATCH"
start tgt "$T/fault_target" stuck
wait_line "$WORK/tgt.out" '^tick' 10

hp load "$PID" "$P/fault_ctor_crash.so"
expect_rc 1
[ "$(wc -l <<<"$ERR")" -eq 1 ] || die "expected one stderr line"
grep -qE "^hotpatch: pid $PID: thread [0-9]+: remote call crashed: signal 11 \(Segmentation fault\) at pc 0x[0-9a-f]+, address \(nil\)" <<<"$ERR" ||
	die "message does not name the signal: $ERR"
# A second copy (a new object for the loader): the same report, as JSON.
chmod 755 "$WORK"
cp "$P/fault_ctor_crash.so" "$WORK/crash2.so"
hp load --json "$PID" "$WORK/crash2.so"
expect_rc 1
grep -q '"code":"FAULT"' <<<"$OUT" || die "no FAULT code in JSON: $OUT"

note "the target runs on, untraced, old code"
n=$(lines "$WORK/tgt.out")
wait_line "$WORK/tgt.out" '^tick .* a=1 b=1' 5 "$n"
alive "$PID"
no_wx "$PID"

note "and can still be patched and reverted"
hp apply "$PID" "$P/fault_v2.so"
expect_rc 0
n=$(lines "$WORK/tgt.out")
wait_line "$WORK/tgt.out" '^tick .* a=2 b=2' 5 "$n"
hp revert "$PID" --all
expect_rc 0
n=$(lines "$WORK/tgt.out")
wait_line "$WORK/tgt.out" '^tick .* a=1 b=1' 5 "$n"
alive "$PID"
echo PASS

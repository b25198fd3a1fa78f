#!/bin/bash
# thread_churn: threads are created and exit continuously (two spawners, 4 short-lived threads
# each, join, repeat) while 10 apply + revert cycles run: threads appearing or vanishing during
# attach, stop and resume are no error; the main thread's output switches every time; every
# short-lived thread only ever sees old or new values; threads are still being created after.
. "$(dirname "$0")/../lib.sh"
BIN=$T/churn
PATCH=$P/func100.so
need "$BIN" "$PATCH"

spawned() { _after "$O" 0 | grep '^tick' | tail -1 | sed 's/.*spawned=//'; }

start_target churn "$BIN"
expect_next "$O" 0 3 'func\(3\)=4 ' '^tick'
s0=$(spawned)

cycle_apply_revert 10 "$PID" "$O" "$PATCH" 'func\(3\)=300 ' 'func\(3\)=4 '
no_errors "$O"
s1=$(spawned)
expect_next "$O" "$(lines "$O")" 3 '^tick' '^tick'
s2=$(spawned)
note "threads spawned: $s0 at start, $s1 after the cycles, $s2 a few ticks later"
[ "$s1" -gt "$s0" ] || die "no thread was created during the cycles"
[ "$s2" -gt "$s1" ] || die "threads are no longer being created"
no_errors "$O"
echo PASS

#!/bin/bash
# apply_threads: 8 threads call func back to back (most of the time one of them is inside it).
# After apply, every thread reports it sees the new value ("thread K new"), and no thread ever
# sees a value that is neither old nor new, or the old value again after the new one (each
# thread checks every single call).
. "$(dirname "$0")/../lib.sh"
BIN=$T/threads
PATCH=$P/func100.so
need "$BIN" "$PATCH"

start_target threads "$BIN"
for k in 0 1 2 3 4 5 6 7; do
	grep -q "^thread $k start" "$O" || die "thread $k did not start"
done
expect_next "$O" "$(lines "$O")" 2 '^tick' '^tick'
grep -q '^thread [0-9] new' "$O" && die "a thread saw the new value before apply"
no_errors "$O"

hp apply "$PID" "$PATCH"
expect_rc 0
alive "$PID"
no_wx "$PID"
for k in 0 1 2 3 4 5 6 7; do
	wait_line "$O" "^thread $k new" 10 || die "thread $k never saw the new value"
done
# a few more ticks of every thread checking every call
expect_next "$O" "$(lines "$O")" 5 '^tick' '^tick'
no_errors "$O"
alive "$PID"
no_wx "$PID"
echo PASS

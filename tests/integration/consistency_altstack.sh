#!/bin/bash
# consistency_altstack: a thread is inside victim() when a signal arrives; its handler runs on a
# sigaltstack (a thread-local array, just below the thread pointer) and blocks there. The frame
# of victim() is on the thread's own stack, not on the stack the thread now runs on: only the
# signal frame leads to it. apply --timeout 800 must see the thread inside victim (exit 3, the
# thread and the function named) and leave the target untouched; once the handler returns and
# victim has been left, the same apply succeeds and the target's output switches.
# (Regression guard for the stack-word shortcut of the consistency check: it must not clear a
# thread whose stack holds a signal frame.)
. "$(dirname "$0")/../lib.sh"
BIN=$T/altstack
PATCH=$P/altstack_v2.so
need "$BIN" "$PATCH"

FIFO=$WORK/release
mkfifo "$FIFO"
start alt "$BIN" "$FIFO"
O=$WORK/alt.out
wait_line "$O" '^in handler tid [0-9]+' 10 || die "the handler did not run"
wait_line "$O" '^ready' 10 || die "altstack did not start"
tid=$(sed -n 's/^in handler tid \([0-9]*\).*/\1/p' "$O" | head -1)

hp apply --timeout 800 "$PID" "$PATCH"
expect_rc 3
err_line "\b$tid\b" "'victim'"
alive "$PID"
no_wx "$PID"
not_mapped "$PID" "$PATCH"

# release the handler: victim returns its old value, then the thread ticks outside it
from=$(lines "$O")
echo x >"$FIFO"
expect_next "$O" "$from" 2 'victim\(1\)=2$' '^tick'

from=$(lines "$O")
hp apply "$PID" "$PATCH"
expect_rc 0
wait_stable "$O" "$from" 'victim\(1\)=100$'
all_lines "$O" '^tick' 'victim\(1\)=(2|100)$'
alive "$PID"
no_wx "$PID"
echo PASS

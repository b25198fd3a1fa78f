#!/bin/bash
# fork_inherit: a child forked after its parent was patched inherits the patch (its memory
# is a copy, the record of what is applied included): `list` shows it in the child, the child
# runs the new code, and `revert` in the child undoes it there only; the parent keeps it.
. "$(dirname "$0")/../lib.sh"
BIN=$T/sigfork
PATCH=$P/sigfork_v2.so
need "$BIN" "$PATCH"

start_target sigfork "$BIN"
hp apply --timeout 3000 "$PID" "$PATCH"
expect_rc 0
from=$(lines "$O")
wait_line "$O" '^parent value=300$' 5 "$from" || die "the parent does not run the patch"
kill -USR1 "$PID"
wait_line "$O" '^child pid [0-9]+$' 5 || die "no child forked"
CHILD=$(sed -n 's/^child pid \([0-9]*\)$/\1/p' "$O" | head -1)
PIDS+=("$CHILD")
wait_line "$O" '^child 2 value=300$' 5 || die "the child did not inherit the patch"
hp list "$CHILD"
expect_rc 0
echo "$OUT" | grep -q "patch 1 .*sigfork_v2.so" || die "list in the child does not show the inherited patch"
hp revert --timeout 3000 "$CHILD" --all
expect_rc 0
from=$(lines "$O")
wait_line "$O" '^child [0-9]+ value=4$' 5 "$from" || die "revert in the child did not take"
code_same "$CHILD" "$BIN"
not_mapped "$CHILD" "$PATCH"
wait_line "$O" '^parent value=300$' 5 "$(lines "$O")" || die "the parent lost its patch"
hp list "$PID"
echo "$OUT" | grep -q "sigfork_v2.so" || die "the parent's record is gone"
alive "$PID"
alive "$CHILD"
echo PASS

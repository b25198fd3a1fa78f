#!/bin/bash
# revert_rollback: a thread never leaves the patch (block_v2 spins), so every revert --timeout 60
# restores the entries, waits, gives up with exit 3 and puts the jumps back. Meanwhile three
# threads run hot()'s restored first bytes non-stop; one may be stopped between two of those
# instructions, where a jump written back would leave it executing the tail of the jump (it
# crashed the target ~1 revert in 30). 30 reverts: each must exit 3 naming the thread, the target
# must live on with the patch still listed and hot(2) still returning the new value.
. "$(dirname "$0")/../lib.sh"
BIN=$T/rollback
PATCH=$P/rollback_v2.so
need "$BIN" "$PATCH"

start_target rb "$BIN"
expect_next "$O" 0 2 'hot\(2\)=9$' '^tick'
from=$(lines "$O")
hp apply "$PID" "$PATCH"
expect_rc 0
wait_stable "$O" "$from" 'hot\(2\)=6$'

for i in $(seq 30); do
	hp revert --timeout 60 "$PID" --all >/dev/null
	expect_rc 3
	err_line 'still inside' "'block'|patch code|jump island|first bytes"
	alive "$PID"
done
hp list "$PID"
expect_rc 0
out_has '^patch 1 .*rollback_v2\.so'
unchanged "$O" 'hot\(2\)=6$' 3
alive "$PID"
no_wx "$PID"
echo PASS

#!/bin/bash
# stuck_function: a thread never leaves stuck_fn (spins inside on a flag). apply --timeout 500
# must give up in bounded time with exit 3 and one stderr line naming the blocking thread's id
# and the function; nothing changes: stuck_fn keeps returning the old value to the main thread,
# the patch is not left mapped or listed, the target runs on untraced, no W+X mapping.
. "$(dirname "$0")/../lib.sh"
BIN=$T/stuck
PATCH=$P/stuck_v2.so
need "$BIN" "$PATCH"

ORIG='stuck_fn\(3\)=4$'
start_target stuck "$BIN"
wait_line "$O" '^spinning tid [0-9]+' 5 || die "no spinning thread"
tid=$(sed -n 's/^spinning tid \([0-9]*\).*/\1/p' "$O" | head -1)
expect_next "$O" "$(lines "$O")" 2 "$ORIG" '^tick'

t0=$(date +%s%N)
hp apply --timeout 500 "$PID" "$PATCH"
ms=$((($(date +%s%N) - t0) / 1000000))
note "apply gave up after $ms ms"
expect_rc 3
err_line "\b$tid\b" 'stuck_fn'
[ "$ms" -lt 4000 ] || die "apply --timeout 500 took $ms ms"
alive "$PID"
no_wx "$PID"
unchanged "$O" "$ORIG" 3
not_mapped "$PID" "$PATCH"
hp list "$PID"
expect_rc 0
out_has "^pid $PID: no patches"
[ "$(awk '/^State:/{print $2}' /proc/"$PID"/task/"$tid"/status)" = R ] ||
	die "the spinning thread is not running any more"
echo PASS

#!/bin/bash
# stress: 10 apply + revert cycles against a target that checks, continuously and on every
# return value, what a Loader can break without crashing anything: 4 threads calling func (old
# or new value only); syscalls interrupted by the stops (clock_nanosleep relative 50 ms,
# read() on a pipe, epoll_wait 50 ms, pthread_cond_timedwait: EINTR, 516 or a short sleep is an
# error); 16 vector registers (ymm) and MXCSR held across a long loop (clobbered by injected code
# = error); SIGRTMIN queued at ~1 kHz with increasing values (every value must arrive exactly
# once, in order). At the end: zero ERROR lines and received == sent.
. "$(dirname "$0")/../lib.sh"
BIN=$T/stress
PATCH=$P/func100.so
need "$BIN" "$PATCH"

start_target stress "$BIN" "$WORK/stop"
wait_line "$O" '^vector thread uses' 5 || die "no vector thread"
wait_line "$O" '^uring: ' 5 || die "no io_uring thread"
note "$(grep '^uring: ' "$O")"
expect_next "$O" 0 2 'func\(3\)=4 ' '^tick'

cycle_apply_revert 10 "$PID" "$O" "$PATCH" 'func\(3\)=300 ' 'func\(3\)=4 ' no_errors "$O"
# let every checking thread complete at least one more round after the last operation
expect_next "$O" "$(lines "$O")" 4 '^tick' '^tick'
touch "$WORK/stop"
wait_line "$O" '^final ' 15 || die "no final line"
no_errors "$O"
final=$(grep '^final ' "$O")
sent=$(sed -n 's/.* sent=\([0-9]*\).*/\1/p' <<<"$final")
recv=$(sed -n 's/.* recv=\([0-9]*\).*/\1/p' <<<"$final")
bad=$(sed -n 's/.* sigerrors=\([0-9]*\).*/\1/p' <<<"$final")
note "signals sent $sent, received $recv, out of order $bad"
[ "$sent" -gt 0 ] || die "no signal sent"
[ "$bad" -eq 0 ] || die "$bad signals lost, duplicated or out of order"
[ "$recv" -eq "$sent" ] || die "sent $sent signals, received $recv"
alive "$PID"
no_wx "$PID"
echo PASS

#!/bin/bash
# A target stopped with SIGSTOP before hotpatch comes stays stopped (State T)
# afterwards: patched (dlopen runs in a thread whose stack is safe; none of its
# own code runs), or refused at once when a stopped thread sits inside a
# replaced function (it would have to run to leave it). After SIGCONT it runs
# the expected code.
. "$(dirname "$0")/../lib.sh"

[ -x "$HOTPATCH" ] || skip "no $HOTPATCH"

state() { awk '/^State:/{print $2}' /proc/"$1"/status; }
# stopped_quiet PID FILE: stopped, untraced, and printing nothing for 200 ms.
stopped_quiet() {
	[ "$(state "$1")" = T ] || die "pid $1 not stopped: $(state "$1")"
	alive "$1" stopped
	local n
	n=$(lines "$2")
	sleep 0.2
	[ "$(lines "$2")" -eq "$n" ] || die "pid $1 printed while stopped"
}
stop_wait() {
	kill -STOP "$1"
	for _ in $(seq 100); do [ "$(state "$1")" = T ] && return 0; sleep 0.01; done
	die "pid $1 did not stop"
}

# Two threads: main ticks, the other sits in fault_stuck(); both in group-stop.
start tgt "$T/fault_target" stuck
wait_line "$WORK/tgt.out" '^tick' 10
stop_wait "$PID"

note "apply to a stopped process: done, still stopped"
hp apply "$PID" "$P/fault_v2.so"
expect_rc 0
stopped_quiet "$PID" "$WORK/tgt.out"
no_wx "$PID"
n=$(lines "$WORK/tgt.out")
kill -CONT "$PID"
wait_line "$WORK/tgt.out" '^tick .* a=2 b=2' 5 "$n"
tail -n +$((n + 1)) "$WORK/tgt.out" | grep -q 'a=1' && die "old code ran after SIGCONT"
alive "$PID"

note "revert in a stopped process: done, still stopped"
stop_wait "$PID"
hp revert "$PID" --all
expect_rc 0
stopped_quiet "$PID" "$WORK/tgt.out"
n=$(lines "$WORK/tgt.out")
kill -CONT "$PID"
wait_line "$WORK/tgt.out" '^tick .* a=1 b=1' 5 "$n"
alive "$PID"

note "a stopped thread inside a replaced function: refused at once, exit 3, still stopped"
stop_wait "$PID"
t0=$(date +%s%N)
hp apply --timeout 5000 "$PID" "$P/fault_stuck_v2.so"
ms=$((($(date +%s%N) - t0) / 1000000))
expect_rc 3
grep -qE "^hotpatch: pid $PID: thread [0-9]+ is stopped \(SIGSTOP\) inside 'fault_stuck'" <<<"$ERR" ||
	die "message does not name the stopped thread: $ERR"
[ "$ms" -lt 4000 ] || die "took $ms ms: waited for a thread that cannot move"
stopped_quiet "$PID" "$WORK/tgt.out"
grep -q fault_stuck_v2 /proc/"$PID"/maps && die "refused patch still mapped"
hp list "$PID"
grep -q "no patches" <<<"$OUT" || die "refused patch recorded"
n=$(lines "$WORK/tgt.out")
kill -CONT "$PID"
wait_line "$WORK/tgt.out" '^tick .* a=1 b=1' 5 "$n"
alive "$PID"

note "a single-threaded stopped target: patched, still stopped"
start one "$T/fault_target" tick
wait_line "$WORK/one.out" '^tick' 10
stop_wait "$PID"
hp apply "$PID" "$P/fault_v2.so"
expect_rc 0
stopped_quiet "$PID" "$WORK/one.out"
n=$(lines "$WORK/one.out")
kill -CONT "$PID"
wait_line "$WORK/one.out" '^tick .* a=2 b=2' 5 "$n"
alive "$PID"
echo PASS

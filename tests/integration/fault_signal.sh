#!/bin/bash
# SIGINT, SIGTERM and SIGHUP sent to hotpatch while it waits for a thread
# (apply: a thread never leaves a replaced function; revert: a thread stays
# inside the patch's code) make it stop waiting, undo, and exit 1 at once
# (long before --timeout) with "interrupted". The target is then untraced and
# running, all old (apply undone, patch unloaded) or all new (revert rolled
# back), with no breakpoint left behind (a stray one would kill it: SIGTRAP).
. "$(dirname "$0")/../lib.sh"

[ -x "$HOTPATCH" ] || skip "no $HOTPATCH"

# bg_hp ARGS...: start hotpatch in the background; sets HPID.
bg_hp() {
	"$HOTPATCH" "$@" >"$WORK/bg.stdout" 2>"$WORK/bg.stderr" &
	HPID=$!
}
# traced_by PID TRACER: some thread of PID is traced by TRACER.
traced_by() { grep -qs "^TracerPid:[[:space:]]*$2\$" /proc/"$1"/task/*/status; }
# finish SIG T0: wait (bounded) for hotpatch; check it was interrupted, fast.
finish() {
	local sig=$1 t0=$2 rc ms
	for _ in $(seq 300); do kill -0 "$HPID" 2>/dev/null || break; sleep 0.01; done
	kill -0 "$HPID" 2>/dev/null && die "hotpatch still running 3 s after SIG$sig"
	set +e
	wait "$HPID"
	rc=$?
	set -e
	ms=$((($(date +%s%N) - t0) / 1000000))
	echo "SIG$sig: hotpatch -> $rc after ${ms} ms: $(cat "$WORK/bg.stderr")"
	[ "$rc" -eq 1 ] || die "expected exit 1, got $rc"
	grep -qE "^hotpatch: pid $PID: interrupted while waiting for thread [0-9]+ to leave '[^']+'" \
		"$WORK/bg.stderr" || die "no 'interrupted' message"
	[ "$(wc -l <"$WORK/bg.stderr")" -eq 1 ] || die "expected one stderr line"
	grep -qE 'AddressSanitizer|runtime error:' "$WORK/bg.stderr" && die "sanitizer report"
	return 0
}

for sig in INT TERM HUP; do
	note "SIG$sig during apply, waiting for a stuck thread (--timeout 10000)"
	start "tgt$sig" "$T/fault_target" stuck
	out=$WORK/tgt$sig.out
	wait_line "$out" '^tick' 10
	bg_hp apply --timeout 10000 "$PID" "$P/fault_stuck_v2.so"
	# dlopen done: what follows is the wait for the stuck thread.
	for _ in $(seq 500); do grep -q fault_stuck_v2 /proc/"$PID"/maps && break; sleep 0.01; done
	grep -q fault_stuck_v2 /proc/"$PID"/maps || die "patch never mapped"
	sleep 0.2
	t0=$(date +%s%N)
	kill -s "$sig" "$HPID"
	finish "$sig" "$t0"
	alive "$PID"
	grep -q fault_stuck_v2 /proc/"$PID"/maps && die "patch left mapped after the undo"
	n=$(lines "$out")
	wait_line "$out" '^tick' 5 "$n"
	sleep 0.1	# the stuck thread went round its loop ~100 times: a stray breakpoint would have fired
	alive "$PID"
	tail -n +$((n + 1)) "$out" | grep -vqE 'a=1 b=1' && die "new code ran"
	no_wx "$PID"
	hp list "$PID"
	grep -q "no patches" <<<"$OUT" || die "interrupted apply left a record"
	kill -9 "$PID"

	note "SIG$sig during revert, waiting for a thread inside the patch (--timeout 10000)"
	hold=$WORK/hold$sig
	FAULT_HOLD=$hold start "rev$sig" "$T/fault_target" tick
	out=$WORK/rev$sig.out
	wait_line "$out" '^tick' 10
	touch "$hold"
	hp apply "$PID" "$P/fault_hold.so"
	expect_rc 0
	n=$(lines "$out")
	sleep 0.1	# the main thread enters fault_a_hold at its next tick and stays
	[ "$(lines "$out")" -le "$((n + 1))" ] || die "main thread did not get stuck in the patch"
	bg_hp revert --timeout 10000 "$PID" --all
	for _ in $(seq 500); do traced_by "$PID" "$HPID" && break; sleep 0.01; done
	traced_by "$PID" "$HPID" || die "revert never attached"
	sleep 0.3
	t0=$(date +%s%N)
	kill -s "$sig" "$HPID"
	finish "$sig" "$t0"
	alive "$PID"
	hp list "$PID"
	grep -q "^patch 1 " <<<"$OUT" || die "interrupted revert lost the patch record"
	n=$(lines "$out")
	rm -f "$hold"
	wait_line "$out" '^tick' 5 "$n"
	n=$(lines "$out")
	wait_line "$out" '^tick' 5 "$n"
	tail -n +$((n + 1)) "$out" | grep -vqE 'a=2 b=2' && die "old code ran: the revert was half done"
	hp revert "$PID" --all
	expect_rc 0
	n=$(lines "$out")
	wait_line "$out" '^tick .* a=1 b=1' 5 "$n"
	alive "$PID"
	no_wx "$PID"
	kill -9 "$PID"
done
echo PASS

#!/bin/bash
# The target dies while hotpatch works on it. It exits by itself (a thread
# calls exit(0)) at 20 delays spread over an apply whose patch constructor takes
# 30 ms (so many land inside the remote dlopen); it exits while hotpatch waits
# for a thread to leave a replaced function; or it is SIGKILLed at a random
# moment. hotpatch must exit promptly (never hang, never crash, no sanitizer
# report) with one error line naming the pid, or 0 if the patch went in first;
# a target that exits by itself must end with its own status 0 (nothing we
# injected crashed it).
. "$(dirname "$0")/../lib.sh"

[ -x "$HOTPATCH" ] || skip "no $HOTPATCH"

# Length of one apply with the slow constructor: spread the deaths over it.
apply_time fault_slow_ctor.so

# run_one PATCH DELAY_US TARGET_ARGS...: start a target, apply PATCH while it dies
# (DELAY_US > 0: we SIGKILL it that long after starting hotpatch); sets TRC to its exit status.
run_one() {
	local patch=$1 delay=$2 tp
	shift 2
	start_target t "$T/fault_target" "$@"
	tp=$PID
	if [ "$delay" -gt 0 ]; then
		(sleep "$(printf '%d.%06d' $((delay / 1000000)) $((delay % 1000000)))"
		 kill -9 "$tp" 2>/dev/null) &
	fi
	apply_racing "$tp" "$P/$patch"
	set +e
	{ wait "$tp"; } 2>/dev/null
	TRC=$?
	wait
	set -e
	echo "$* ${delay}us: hotpatch -> $RC, target -> $TRC: $(cat "$WORK/hp.stderr")"
	racing_verdict "$tp"
	return "$RC"
}

note "target exits by itself during apply, 20 times"
fails=0
for i in $(seq 0 19); do
	run_one fault_slow_ctor.so 0 exit $((APPLY_US * i / 16)) || fails=$((fails + 1))
	[ "$TRC" -eq 0 ] || die "target exited with $TRC: crashed by an injected call"
done
note "$fails of 20 applies failed because the target was gone"

note "target exits while hotpatch waits for a thread inside a replaced function, 6 times"
for i in $(seq 1 6); do
	run_one fault_stuck_v2.so 0 stuck $((2 * APPLY_US + i * 100000)) && die "apply succeeded with a stuck thread"
	[ "$TRC" -eq 0 ] || die "target exited with $TRC: crashed by an injected call"
	grep -q "exited" "$WORK/hp.stderr" || die "error does not say the process exited"
done

note "target SIGKILLed during apply, 12 times"
for i in $(seq 1 12); do
	run_one fault_slow_ctor.so $((1 + RANDOM % APPLY_US)) tick || true
	[ "$TRC" -eq 137 ] || die "target ended with $TRC, not by our SIGKILL"
done
echo PASS

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

# Length of one apply with the slow constructor (ASan is slower): spread the deaths over it.
start probe "$T/fault_target" tick
wait_line "$WORK/probe.out" '^ready' 10
t0=$(date +%s%N)
hp apply "$PID" "$P/fault_slow_ctor.so" >/dev/null
expect_rc 0
apply_us=$((($(date +%s%N) - t0) / 1000))
kill -9 "$PID"
wait "$PID" 2>/dev/null || true
note "one apply takes ${apply_us} us"

# run_one PATCH DELAY_US TARGET_ARGS...: start a target, apply PATCH while it dies
# (DELAY_US > 0: we SIGKILL it that long after starting hotpatch); sets TRC to its exit status.
run_one() {
	local patch=$1 delay=$2 rc
	shift 2
	rm -f "$WORK/t.out"
	"$T/fault_target" "$@" >"$WORK/t.out" 2>&1 &
	local tp=$!
	PIDS+=("$tp")
	wait_line "$WORK/t.out" '^ready' 10
	if [ "$delay" -gt 0 ]; then
		(sleep "$(printf '%d.%06d' $((delay / 1000000)) $((delay % 1000000)))"
		 kill -9 "$tp" 2>/dev/null) &
	fi
	set +e
	timeout -k 2 15 "$HOTPATCH" apply --timeout 3000 "$tp" "$P/$patch" \
		>"$WORK/hp.stdout" 2>"$WORK/hp.stderr"
	rc=$?
	{ wait "$tp"; } 2>/dev/null
	TRC=$?
	wait
	set -e
	echo "$* ${delay}us: hotpatch -> $rc, target -> $TRC: $(cat "$WORK/hp.stderr")"
	[ "$rc" -ne 124 ] && [ "$rc" -ne 137 ] || die "hotpatch hung"
	[ "$rc" -lt 128 ] || die "hotpatch died of signal $((rc - 128))"
	grep -qE 'AddressSanitizer|runtime error:|LeakSanitizer|BUG' "$WORK/hp.stderr" &&
		die "hotpatch reported a bug"
	if [ "$rc" -ne 0 ]; then
		[ "$(wc -l <"$WORK/hp.stderr")" -eq 1 ] || die "expected one error line"
		grep -qE "^hotpatch: pid $tp: " "$WORK/hp.stderr" || die "error does not name the pid"
	fi
	return "$rc"
}

note "target exits by itself during apply, 20 times"
fails=0
for i in $(seq 0 19); do
	run_one fault_slow_ctor.so 0 exit $((apply_us * i / 16)) || fails=$((fails + 1))
	[ "$TRC" -eq 0 ] || die "target exited with $TRC: crashed by an injected call"
done
note "$fails of 20 applies failed because the target was gone"

note "target exits while hotpatch waits for a thread inside a replaced function, 6 times"
for i in $(seq 1 6); do
	run_one fault_stuck_v2.so 0 stuck $((2 * apply_us + i * 100000)) && die "apply succeeded with a stuck thread"
	[ "$TRC" -eq 0 ] || die "target exited with $TRC: crashed by an injected call"
	grep -q "exited" "$WORK/hp.stderr" || die "error does not say the process exited"
done

note "target SIGKILLed during apply, 12 times"
for i in $(seq 1 12); do
	run_one fault_slow_ctor.so $((1 + RANDOM % apply_us)) tick || true
	[ "$TRC" -eq 137 ] || die "target ended with $TRC, not by our SIGKILL"
done
echo PASS

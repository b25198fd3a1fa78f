#!/bin/bash
# A thread of the target calls execve() while hotpatch works on it (16 delays
# spread over an apply whose patch constructor takes 30 ms). hotpatch must end
# promptly: 0 if the patch went in before the exec (or into the new image when
# the exec came first), else one error line naming the pid (an exec in the
# middle is reported as such). The new image runs on, untraced, and prints
# consistent lines: both functions old or both new, never a mix.
. "$(dirname "$0")/../lib.sh"

[ -x "$HOTPATCH" ] || skip "no $HOTPATCH"

start probe "$T/fault_target" tick
wait_line "$WORK/probe.out" '^ready' 10
t0=$(date +%s%N)
hp apply "$PID" "$P/fault_slow_ctor.so" >/dev/null
expect_rc 0
apply_us=$((($(date +%s%N) - t0) / 1000))
kill -9 "$PID"
wait "$PID" 2>/dev/null || true
note "one apply takes ${apply_us} us"

exec_seen=0
for i in $(seq 0 15); do
	delay=$((apply_us * i / 12))
	rm -f "$WORK/t.out"
	"$T/fault_target" exec "$delay" >"$WORK/t.out" 2>&1 &
	tp=$!
	PIDS+=("$tp")
	wait_line "$WORK/t.out" '^ready' 10
	set +e
	timeout -k 2 15 "$HOTPATCH" apply --timeout 3000 "$tp" "$P/fault_slow_ctor.so" \
		>"$WORK/hp.stdout" 2>"$WORK/hp.stderr"
	rc=$?
	set -e
	echo "exec after ${delay}us: hotpatch -> $rc: $(cat "$WORK/hp.stderr")"
	[ "$rc" -ne 124 ] && [ "$rc" -ne 137 ] || die "hotpatch hung"
	[ "$rc" -lt 128 ] || die "hotpatch died of signal $((rc - 128))"
	grep -qE 'AddressSanitizer|runtime error:|LeakSanitizer|BUG|warning' "$WORK/hp.stderr" &&
		die "unexpected report from hotpatch"
	if [ "$rc" -ne 0 ]; then
		[ "$(wc -l <"$WORK/hp.stderr")" -eq 1 ] || die "expected one error line"
		grep -qE "^hotpatch: pid $tp: " "$WORK/hp.stderr" || die "error does not name the pid"
		grep -q "process called exec during apply" "$WORK/hp.stderr" && exec_seen=$((exec_seen + 1))
	fi
	# The new image: running, untraced, ticking consistently.
	wait_line "$WORK/t.out" '^ready' 10 1
	n=$(lines "$WORK/t.out")
	wait_line "$WORK/t.out" '^tick ' 5 "$n"
	alive "$tp"
	tail -n +2 "$WORK/t.out" | grep -E '^tick' | grep -vqE 'a=1 b=1|a=2 b=2' &&
		die "inconsistent line: $(grep -E 'a=1 b=2|a=2 b=1' "$WORK/t.out" | head -1)"
	no_wx "$tp"
	kill -9 "$tp"
	{ wait "$tp"; } 2>/dev/null || true
done
note "$exec_seen applies were interrupted by the exec and said so"
echo PASS

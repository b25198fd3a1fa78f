#!/bin/bash
# A thread of the target calls execve() while hotpatch works on it (16 delays
# spread over an apply whose patch constructor takes 30 ms). hotpatch must end
# promptly: 0 if the patch went in before the exec (or into the new image when
# the exec came first), else one error line naming the pid (an exec in the
# middle is reported as such). The new image runs on, untraced, and prints
# consistent lines: both functions old or both new, never a mix.
. "$(dirname "$0")/../lib.sh"

[ -x "$HOTPATCH" ] || skip "no $HOTPATCH"

apply_time fault_slow_ctor.so

exec_seen=0
for i in $(seq 0 15); do
	delay=$((APPLY_US * i / 12))
	start_target t "$T/fault_target" exec "$delay"
	tp=$PID
	apply_racing "$tp" "$P/fault_slow_ctor.so"
	echo "exec after ${delay}us: hotpatch -> $RC: $(cat "$WORK/hp.stderr")"
	racing_verdict "$tp"
	if grep -q 'warning' "$WORK/hp.stderr"; then die "unexpected warning from hotpatch"; fi
	if [ "$RC" -ne 0 ] && grep -q "process called exec during apply" "$WORK/hp.stderr"; then
		exec_seen=$((exec_seen + 1))
	fi
	# The new image: running, untraced, ticking consistently.
	wait_line "$O" '^ready' 10 1
	n=$(lines "$O")
	wait_line "$O" '^tick ' 5 "$n"
	alive "$tp"
	tail -n +2 "$O" | grep -E '^tick' | grep -vqE 'a=1 b=1|a=2 b=2' &&
		die "inconsistent line: $(grep -E 'a=1 b=2|a=2 b=1' "$O" | head -1)"
	no_wx "$tp"
	kill -9 "$tp"
	{ wait "$tp"; } 2>/dev/null || true
done
note "$exec_seen applies were interrupted by the exec and said so"
echo PASS

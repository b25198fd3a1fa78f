#!/bin/bash
# Two hotpatch invocations on one process at once never interleave: the second
# waits for the first (a per-target lock, bounded by its --timeout) and then
# sees its result, or gives up with exit 4 naming the other hotpatch. The
# target ends with a consistent state and output.
. "$(dirname "$0")/../lib.sh"

[ -x "$HOTPATCH" ] || skip "no $HOTPATCH"

# bg N ARGS...: hotpatch in the background, output in $WORK/bgN.*; pid in BG[N].
declare -a BG
bg() {
	local n=$1
	shift
	"$HOTPATCH" "$@" >"$WORK/bg$n.out" 2>"$WORK/bg$n.err" &
	BG[$n]=$!
}
# reap N: wait (bounded) and set RCN to its exit status.
reap() {
	local n=$1
	for _ in $(seq 1000); do kill -0 "${BG[$n]}" 2>/dev/null || break; sleep 0.01; done
	kill -0 "${BG[$n]}" 2>/dev/null && die "hotpatch $n hangs"
	set +e
	wait "${BG[$n]}"
	eval "RC$n=$?"
	set -e
	echo "hotpatch $n -> $(eval echo \$RC$n): $(head -1 "$WORK/bg$n.out") $(cat "$WORK/bg$n.err")"
	grep -qE 'AddressSanitizer|runtime error:' "$WORK/bg$n.err" && die "sanitizer report" || true
}
consistent() {
	local n
	n=$(lines "$WORK/tgt.out")
	wait_line "$WORK/tgt.out" "^tick .* $1" 5 "$n"
	n=$(lines "$WORK/tgt.out")
	wait_line "$WORK/tgt.out" '^tick' 5 "$n"
	tail -n +$((n + 1)) "$WORK/tgt.out" | grep -vq "$1" && die "inconsistent output after both"
	return 0
}

start tgt "$T/fault_target" stuck
wait_line "$WORK/tgt.out" '^tick' 10

note "two different patches at once, 5 rounds: both applied, one after the other"
for r in 1 2 3 4 5; do
	bg 1 apply "$PID" "$P/fault_slow_ctor.so"
	sleep "0.00$((r * 2))"
	bg 2 apply "$PID" "$P/fault_v2.so"
	reap 1
	reap 2
	[ "$RC1" -eq 0 ] && [ "$RC2" -eq 0 ] || die "round $r: not both applied"
	hp list "$PID"
	[ "$(grep -c '^patch ' <<<"$OUT")" -eq 2 ] || die "round $r: expected 2 patches"
	[ "$(grep -c memfd:hotpatch-state /proc/"$PID"/maps)" -eq 1 ] || die "more than one state region"
	consistent 'a=2 b=2'
	hp revert "$PID" --all
	expect_rc 0
	consistent 'a=1 b=1'
	alive "$PID"
done

note "the same patch twice at once: applied exactly once"
bg 1 apply "$PID" "$P/fault_v2.so"
bg 2 apply "$PID" "$P/fault_v2.so"
reap 1
reap 2
[ $((RC1 + RC2)) -eq 1 ] || die "expected one success and one failure"
cat "$WORK/bg1.err" "$WORK/bg2.err" | grep -q "already applied" || die "no 'already applied'"
hp list "$PID"
[ "$(grep -c '^patch ' <<<"$OUT")" -eq 1 ] || die "expected 1 patch"
consistent 'a=2 b=2'
hp revert "$PID" --all
expect_rc 0

note "the first holds on (stuck thread, --timeout 3000), the second gives up after 500 ms: exit 4"
bg 1 apply --timeout 3000 "$PID" "$P/fault_stuck_v2.so"
for _ in $(seq 500); do grep -q fault_stuck_v2 /proc/"$PID"/maps && break; sleep 0.01; done
t0=$(date +%s%N)
bg 2 apply --timeout 500 "$PID" "$P/fault_v2.so"
reap 2
ms=$((($(date +%s%N) - t0) / 1000000))
[ "$RC2" -eq 4 ] || die "second: expected exit 4"
grep -qE "^hotpatch: pid $PID: (already being patched by pid ${BG[1]} \(hotpatch\)|another hotpatch is working on it)\$" \
	"$WORK/bg2.err" || die "second: unclear message"
[ "$ms" -lt 2500 ] || die "second waited $ms ms, more than its timeout"
reap 1
[ "$RC1" -eq 3 ] || die "first: expected exit 3 (stuck thread)"
hp list "$PID"
grep -q "no patches" <<<"$OUT" || die "a patch was left applied"
consistent 'a=1 b=1'
alive "$PID"
no_wx "$PID"
echo PASS

#!/bin/sh
# tests/targets/stress.c in the guest under the hotpatch command: func100.so applied and
# reverted CYCLES times while the target's threads sit in system calls (clock_nanosleep, read,
# epoll_wait, epoll_pwait, ppoll, sigtimedwait, a condition variable), take SIGRTMIN at ~1 kHz
# in a handler, call func back to back, and spin with every vector register live (SVE z0-z31
# at full length on max, NEON v0-v31 on cortex-a72) and a non-default FPCR. The target checks
# itself: any EINTR, short sleep, wrong func(3), changed vector register or lost signal is an
# ERROR line. As tests/integration/stress.sh on x86_64.
[ -x ./hotpatch ] || { echo "hotpatch not built for aarch64"; exit 77; }
CYCLES=${CYCLES:-4}
OUT=/tmp/stress.$$.out
STOP=/tmp/stress.$$.stop
rm -f "$STOP"
# Two threads call func back to back (revert runs them out of func100's code to their return
# addresses); 1 s waits instead of 50 ms (stress.c, STRESS_WAIT_MS).
# io_uring_enter waits for ever here (STRESS_URING_FOREVER): a 1 s wait that ended and began
# again between the /proc read and the interrupt was seen once in CI (an EINTR left unrepaired).
STRESS_URING_FOREVER=1 STRESS_WAIT_MS=${WAIT_MS:-1000} STRESS_WORKERS=${WORKERS:-2} ./stress "$STOP" > "$OUT" 2>&1 &
T=$!
fail() {
	echo "FAIL: $*"
	grep '^ERROR' "$OUT" | head -20
	grep -hv 'link_map\|audit' /tmp/stress.$$.hp 2>/dev/null | tail -n 15
	tail -n 5 "$OUT"
	kill $T 2>/dev/null
	exit 1
}
# wait_new REGEX: a line matching REGEX among those written from now on (100 ms per try, 300
# tries; each try forks, which is slow in a loaded emulated guest).
wait_new() {
	n=$(wc -l < "$OUT")
	i=0
	while ! tail -n +$((n + 1)) "$OUT" | grep -q "$1"; do
		i=$((i + 1))
		[ $i -gt 300 ] && return 1
		usleep 100000
	done
}
no_errors() {
	if grep -q '^ERROR' "$OUT"; then fail "$1: the target reported errors"; fi
	kill -0 $T 2>/dev/null || fail "$1: the target died"
}
i=0
while ! grep -q '^vector thread uses' "$OUT"; do
	i=$((i + 1)); [ $i -gt 100 ] && fail "no vector thread"; usleep 100000
done
grep '^vector thread uses' "$OUT"
i=0
while ! grep -q '^uring: ' "$OUT"; do
	i=$((i + 1)); [ $i -gt 100 ] && fail "no io_uring thread"; usleep 100000
done
grep '^uring: ' "$OUT"
wait_new '^tick .* func(3)=4 ' || fail "no tick"
echo "$(date +%s) ticking: $(grep '^tick' "$OUT" | tail -n 1)"
wait_new '^vector round' || fail "no vector round"
echo "vector: $(grep '^vector round' "$OUT" | tail -n 1)"
c=1
while [ $c -le "$CYCLES" ]; do
	# Even cycles run threads to an address with BRK (HOTPATCH_BREAKPOINTS=sw), odd ones with
	# the hardware breakpoint the probe finds in the guest.
	if [ $((c % 2)) -eq 0 ]; then export HOTPATCH_BREAKPOINTS=sw; else unset HOTPATCH_BREAKPOINTS; fi
	timeout 50 ./hotpatch -vv apply $T /tests/func100.so > /tmp/stress.$$.hp 2>&1 || { cat /tmp/stress.$$.hp; fail "apply $c"; }
	cat /tmp/stress.$$.hp >> /tmp/stress.$$.log
	echo "cycle $c: applied at $(date +%s) ($(grep -c 'would have seen EINTR' /tmp/stress.$$.hp) EINTR repairs)"
	wait_new '^tick .* func(3)=300 ' || fail "cycle $c: not patched"
	no_errors "apply $c"
	timeout 50 ./hotpatch -vv revert $T --all > /tmp/stress.$$.hp 2>&1 || { cat /tmp/stress.$$.hp; fail "revert $c"; }
	cat /tmp/stress.$$.hp >> /tmp/stress.$$.log
	wait_new '^tick .* func(3)=4 ' || fail "cycle $c: not reverted"
	no_errors "revert $c"
	echo "cycle $c: reverted at $(date +%s)"
	c=$((c + 1))
done
# Every checking thread completes another round after the last operation.
wait_new '^vector round' || fail "no vector round after the last revert"
wait_new '^tick' && wait_new '^tick' || fail "no tick after the last revert"
touch "$STOP"
i=0
while ! grep -q '^final ' "$OUT"; do
	i=$((i + 1)); [ $i -gt 200 ] && fail "no final line"; usleep 100000
done
no_errors "end"
final=$(grep '^final ' "$OUT")
sent=$(echo "$final" | sed -n 's/.* sent=\([0-9]*\).*/\1/p')
recv=$(echo "$final" | sed -n 's/.* recv=\([0-9]*\).*/\1/p')
bad=$(echo "$final" | sed -n 's/.* sigerrors=\([0-9]*\).*/\1/p')
echo "signals sent $sent, received $recv, out of order $bad; $(grep -c '^vector round' "$OUT") vector rounds"
[ "$sent" -gt 0 ] || fail "no signal sent"
[ "$bad" -eq 0 ] || fail "$bad signals lost, duplicated or out of order"
[ "$recv" -eq "$sent" ] || fail "sent $sent signals, received $recv"
kill $T
# The repair at work: each is a thread that would have returned EINTR (hotpatch -vv).
echo "EINTR repairs: $(grep -c 'would have seen EINTR' /tmp/stress.$$.log); skipped (blocked again): $(grep -c 'no EINTR repair' /tmp/stress.$$.log)"
grep 'would have seen EINTR\|no EINTR repair' /tmp/stress.$$.log | sed 's/.*thread [0-9]*: //' | sort | uniq -c
echo "threads run to an address: $(grep -c 'run thread .* (sig' /tmp/stress.$$.log) with hardware breakpoints, $(grep -c 'run thread .* (int3' /tmp/stress.$$.log) with BRK"
echo "stress: $CYCLES apply/revert cycles, no ERROR"

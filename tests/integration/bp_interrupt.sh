#!/bin/bash
# bp_interrupt: hotpatch is told to stop (SIGINT, SIGTERM) while its int3 stands in the
# target's code and threads, forked and vforked children run into it (a thread never
# leaves work(), so apply waits until told to stop). Each time hotpatch must exit 1,
# and leave the target running, untraced, with the executable's code byte for byte as in
# the file: no int3 left behind, no jump. No child or thread of the target may be hurt.
. "$(dirname "$0")/../lib.sh"
BIN=$T/bpstress
PATCH=$P/bpstress_v2.so
need "$BIN" "$PATCH"
export HOTPATCH_BREAKPOINTS=sw

start_target bpstress "$BIN" stuck
wait_line "$O" '^tick [0-9]* work=4 forks=[1-9][0-9]* vforks=[1-9]' 10 || die "children do not run"

n=0
for sig in INT TERM INT INT; do
	for delay in 0 0.1; do
		n=$((n + 1))
		log=$WORK/hp$n.err
		timeout -k 5 60 "$HOTPATCH" -vv apply --timeout 30000 "$PID" "$PATCH" >/dev/null 2>"$log" &
		hpid=$!
		wait_line "$log" 'run thread [0-9]+ to 0x[0-9a-f]+ \(int3, alone 0\)' 20 ||
			die "round $n: hotpatch never ran a thread to an int3"
		sleep "$delay"
		kill -"$sig" "$hpid"
		rc=0
		wait "$hpid" || rc=$?
		grep -qE 'AddressSanitizer|runtime error:|LeakSanitizer' "$log" && { cat "$log"; die "sanitizer report"; }
		[ $rc -eq 1 ] || { tail -5 "$log"; die "round $n (SIG$sig after ${delay}s): exit $rc, expected 1"; }
		grep -qE 'interrupted' "$log" || { tail -5 "$log"; die "round $n: no 'interrupted' message"; }
		alive "$PID"
		code_same "$PID" "$BIN"
		note "round $n: SIG$sig ${delay}s after the int3 went in: exit 1, code intact"
	done
done
hp list "$PID"
expect_rc 0
echo "$OUT" | grep -q 'no patches' || die "a patch was left applied"
if grep -q '^BUG' "$O"; then
	grep '^BUG' "$O" | head >&2
	die "a child or thread of the target was hurt"
fi
alive "$PID"
echo PASS

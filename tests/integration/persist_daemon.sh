#!/bin/bash
# hotpatchd (issue 18): started on an empty patch directory, it patches a running process after
# `hotpatch install` + SIGHUP, and a new process at exec (process-events connector) before it has
# served many requests; a copy of the binary at another path (same build-id) is left alone
# (--only-exe, which keeps the test off everyone else's processes). Restarted, it applies nothing
# twice (the targets' own state says what is applied). A patch that cannot be applied is logged,
# retried a bounded number of times and given up, and its processes run on unharmed.
. "$(dirname "$0")/../lib.sh"
HOTPATCHD=$(dirname "$HOTPATCH")/hotpatchd
need "$HOTPATCHD" "$T/persist" "$P/func100.so" "$P/nosym.so"

# On failure, the daemons' logs say why.
trap 'rc=$?; set +e; [ $rc -eq 0 ] || tail -n 30 "$WORK"/d[12].out >&2 2>/dev/null; (exit $rc); cleanup' EXIT
export HOTPATCH_DIR=$WORK/reg
mkdir -p "$WORK/bin" "$WORK/reg"
cp "$T/persist" "$WORK/bin/persist"
cp "$T/persist" "$WORK/bin/decoy"	# same build-id, another path: must stay untouched
BIN=$WORK/bin/persist

# daemon NAME: start hotpatchd (log $WORK/NAME.out) and wait until it is ready.
daemon() {
	start "$1" "$HOTPATCHD" --only-exe "$BIN" --retries 2 -v
	DPID=$PID
	wait_line "$WORK/$1.out" 'ready: exec events from the kernel' 10 || die "hotpatchd did not start"
}
# stop_daemon NAME: SIGTERM, it must exit 0 by itself, saying so.
stop_daemon() {
	kill -TERM "$DPID"
	local i
	for i in $(seq 1 250); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.02; done
	kill -0 "$DPID" 2>/dev/null && die "hotpatchd did not stop on SIGTERM"
	wait "$DPID" || die "hotpatchd exited with status $?"
	grep -q 'stopping on signal 15' "$WORK/$1.out" || die "hotpatchd did not log its stop"
	! grep -qE 'AddressSanitizer|runtime error:|LeakSanitizer' "$WORK/$1.out" ||
		die "sanitizer report from hotpatchd"
}

start_target a "$BIN"
A=$PID OA=$O
start_target decoy "$WORK/bin/decoy"
C=$PID OC=$O

daemon d1
grep -q '0 patches for 0 binaries' "$WORK/d1.out" || die "expected an empty directory"
hp install --binary "$BIN" "$P/func100.so"
expect_rc 0
kill -HUP "$DPID"
# The running process: patched after the reload.
wait_stable "$OA" 0 'func=300'
wait_line "$WORK/d1.out" "pid $A .*applied .*0001-func100.so .*after discovery" 10 ||
	die "no log line for the running process"

# A new process: patched at exec; it says after how many requests.
start_target b "$BIN"
B=$PID OB=$O
wait_line "$OB" '^first new after' 10 || die "the new process was not patched"
wait_stable "$OB" 0 'func=300'
wait_line "$WORK/d1.out" "pid $B .*applied .* after exec \(loader wait" 10 ||
	die "no exec log line for the new process"
note "$(grep '^first new' "$OB")"
note "$(grep "pid $B .*applied" "$WORK/d1.out" | sed 's/.*patch 1, //')"

# The decoy (same build-id, other path) was never touched.
unchanged "$OC" 'func=4'
grep -q "pid $C " "$WORK/d1.out" && die "hotpatchd looked at the decoy"

# Restart: nothing is applied twice. A new process after the restart proves the new daemon
# handled events (and scanned the others) before we look.
stop_daemon d1
daemon d2
start_target e "$BIN"
E=$PID OE=$O
wait_line "$OE" '^first new after' 10 || die "the new daemon did not patch a new process"
for p in $A $B; do
	hp list --json "$p"
	expect_rc 0
	[ "$(echo "$OUT" | grep -o '"build_id"' | wc -l)" -eq 1 ] || die "pid $p: expected exactly 1 patch"
done
grep -qE "pid ($A|$B) .*applied" "$WORK/d2.out" && die "the restarted daemon applied a patch again"

# A patch that fails (its symbol does not exist): retried, then given up; the processes run on.
hp install --binary "$BIN" "$P/nosym.so"
expect_rc 0
kill -HUP "$DPID"
wait_line "$WORK/d2.out" "warning: pid $A .*no_such_function_xyz.*attempt 1 of 2" 10 ||
	die "the failure was not logged"
wait_line "$WORK/d2.out" "error: pid $A .*giving up after 2 attempts" 10 || die "no bounded give-up"
for p in $A $B $E; do alive "$p"; done
unchanged "$OA" 'func=300'
stop_daemon d2
for o in "$OA" "$OB" "$OC" "$OE"; do
	no_errors "$o"
	! grep -q 'old again' "$o" || die "$(basename "$o"): a patch went away"
done
echo PASS

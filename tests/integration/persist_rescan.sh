#!/bin/bash
# hotpatchd without the process-events connector (issue 18): it says so in its log and finds
# new processes by rescanning /proc, so a process started after it is still patched.
. "$(dirname "$0")/../lib.sh"
HOTPATCHD=$(dirname "$HOTPATCH")/hotpatchd
need "$HOTPATCHD" "$T/persist" "$P/func100.so"

export HOTPATCH_DIR=$WORK/reg
cp "$T/persist" "$WORK/persist"
hp install --binary "$WORK/persist" "$P/func100.so"
expect_rc 0
start d "$HOTPATCHD" --only-exe "$WORK/persist" --no-connector --rescan-ms 100
D=$PID
wait_line "$WORK/d.out" 'ready: no exec events, rescan every 100 ms' 10 || die "hotpatchd did not start"
grep -q 'warning: process-events connector unavailable (disabled by --no-connector)' "$WORK/d.out" ||
	die "the fallback was not logged"
start_target p "$WORK/persist"
wait_line "$O" '^first new after' 10 || die "a process started after the daemon was not patched"
wait_stable "$O" 0 'func=300'
wait_line "$WORK/d.out" "pid $PID .*applied .*after discovery" 10 || die "no log line"
kill -TERM "$D"
wait "$D" || die "hotpatchd exited with status $?"
no_errors "$O"
alive "$PID"
echo PASS

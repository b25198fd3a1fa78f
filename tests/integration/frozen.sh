#!/bin/bash
# frozen: a target frozen by a cgroup freezer (v2 cgroup.freeze, or the v1 freezer controller)
# runs nothing, not even into a ptrace stop. apply is refused at once with exit 3 and one line
# naming the cgroup and its state; the target is untouched (untraced, no patch, no mapping);
# once thawed, the same apply works and the target shows the new values.
. "$(dirname "$0")/../lib.sh"
BIN=$T/pie
need "$BIN" "$P/pie_v2.so"

# A cgroup of our own, in whichever freezer this machine offers.
CG= FREEZE= THAW=
v2=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
v1=$(awk '$9 == "cgroup" && $NF ~ /freezer/ { print $5; exit }' /proc/self/mountinfo)
if [ -n "$v2" ] && mkdir "$v2/hotpatch-test.$$" 2>/dev/null; then
	CG=$v2/hotpatch-test.$$
	if [ -e "$CG/cgroup.freeze" ]; then
		FREEZE="echo 1 > $CG/cgroup.freeze" THAW="echo 0 > $CG/cgroup.freeze"
	else
		rmdir "$CG"; CG=
	fi
fi
if [ -z "$CG" ] && [ -n "$v1" ] && mkdir "$v1/hotpatch-test.$$" 2>/dev/null; then
	CG=$v1/hotpatch-test.$$
	FREEZE="echo FROZEN > $CG/freezer.state" THAW="echo THAWED > $CG/freezer.state"
fi
[ -n "$CG" ] || skip "no writable cgroup freezer (v2 cgroup.freeze or v1 freezer)"
# Thaw and remove the cgroup however the test ends (lib.sh's cleanup kills the target first).
# The verdict is the status the test ended with: kept across these steps for lib.sh's cleanup.
trap 'rc=$?; exec 2>/dev/null; sh -c "$THAW"; for p in "${PIDS[@]:-}"; do kill -9 "$p"; done
      wait; rmdir "$CG"; (exit $rc); cleanup' EXIT

ORIG='func\(3\)=4 sfunc\(5\)=11$'
start_target pie "$BIN"
expect_next "$O" 0 2 "$ORIG" '^tick'
echo "$PID" >"$CG/cgroup.procs" || die "cannot move pid $PID into $CG"
sh -c "$FREEZE" || die "cannot freeze $CG"
for i in $(seq 100); do
	{ grep -q 'frozen 1' "$CG/cgroup.events" 2>/dev/null || grep -q '^FROZEN' "$CG/freezer.state" 2>/dev/null; } && break
	sleep 0.05
done

note "frozen: refused at once"
hp apply "$PID" "$P/pie_v2.so"
expect_rc 3
err_line 'frozen' "$(basename "$CG")" 'thaw'
[ "$(awk '/^TracerPid:/ { print $2 }' /proc/$PID/status)" = 0 ] || die "left traced"
not_mapped "$PID" "$P/pie_v2.so"
hp list "$PID"
out_has "^pid $PID: no patches"

note "thawed: applied"
sh -c "$THAW"
from=$(lines "$O")
apply_checked "$PID" "$P/pie_v2.so"
wait_stable "$O" "$from" 'func\(3\)=300 sfunc\(5\)=5000$'
echo PASS

#!/bin/bash
# read_only: list and check only read the target, so another tracer (a debugger) does not stop
# them: with a patch applied and the target then held by a tracer, list shows the patch and check
# says a second patch can be applied (exit 0), warning that apply is refused while traced; apply and revert are refused (exit 4, the tracer
# named) and the tracer keeps the target. Once it lets go, revert works. A zombie is reported
# as a zombie, naming its parent (exit 1), by list, check and apply alike.
. "$(dirname "$0")/../lib.sh"
need "$T/pie" "$T/tracer" "$P/pie_v2.so" "$P/func100.so"
ORIG='func\(3\)=4 sfunc\(5\)=11$'
NEW='func\(3\)=300 sfunc\(5\)=5000$'
start_target pie "$T/pie"
TPID=$PID
from=$(lines "$O")
apply_checked "$TPID" "$P/pie_v2.so"
wait_stable "$O" "$from" "$NEW"

note "a tracer holds the target"
start tracer "$T/tracer" "$TPID" --no-stdin
TRACER=$PID
wait_line "$WORK/tracer.out" "^seized $TPID by $TRACER" 5 || die "tracer did not attach"
tracer_of() { awk '/^TracerPid:/{print $2}' /proc/"$TPID"/status; }
[ "$(tracer_of)" = "$TRACER" ] || die "not traced by $TRACER"
hp list "$TPID"
expect_rc 0
out_has "^patch $ID /.*pie_v2\.so build-id"
hp list --json "$TPID"
expect_rc 0
out_has '"ok":true' "\"id\":$ID"
hp check "$TPID" "$P/func100.so"
expect_rc 0
out_has "^pid $TPID: ok: .*func100\.so can be applied"
err_line "warning: pid $TPID: traced by pid $TRACER: apply is refused"
hp apply "$TPID" "$P/func100.so"
expect_rc 4
err_line "\b$TRACER\b" 'traced'
hp revert "$TPID" "$ID"
expect_rc 4
err_line "\b$TRACER\b" 'traced'
[ "$(tracer_of)" = "$TRACER" ] || die "the tracer lost the target"
unchanged "$O" "$NEW" 2
not_mapped "$TPID" "$P/func100.so"
kill -TERM "$TRACER"
wait_line "$WORK/tracer.out" '^released' 5 || die "tracer did not let go"
from=$(lines "$O")
revert_checked "$TPID" "$ID"
wait_stable "$O" "$from" "$ORIG"

note "a zombie"
# The child exits at once; its parent prints its pid and never reaps it.
start zparent python3 -c 'import os, sys, time
pid = os.fork()
if pid == 0:
    os._exit(0)
print(pid, flush=True)
time.sleep(60)'
ZP=$PID
wait_line "$WORK/zparent.out" '^[0-9]+$' 10 || die "no zombie"
Z=$(head -1 "$WORK/zparent.out")
end=$((SECONDS + 10))
until [ "$(awk '/^State:/{print $2}' /proc/"$Z"/status 2>/dev/null)" = Z ]; do
	[ $SECONDS -le $end ] || die "pid $Z did not become a zombie"
	sleep 0.02
done
for cmd in list "check $Z $P/pie_v2.so" "apply $Z $P/pie_v2.so"; do
	set -- $cmd
	[ "$1" = list ] && set -- list "$Z"
	hp "$@"
	expect_rc 1
	err_line "^hotpatch: pid $Z: is a zombie" "parent \(pid $ZP\)"
done
echo "read_only: ok"

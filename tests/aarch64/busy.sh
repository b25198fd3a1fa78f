#!/bin/sh
# A function some thread is always inside (tests/integration/busy_function.sh, busybox sh): two
# threads of tests/targets/busy.c call slow(3) back to back, slow() sleeping 150 ms in its own
# body, staggered by 75 ms. apply (and revert) --timeout 5000 must succeed by holding each
# thread as it leaves the function (run-to its return address), and every call that STARTS after
# hotpatch returned must give the new value (300), after revert the old one (4). A call is known
# to have started after hotpatch returned when its "start T K" line comes after the output's
# length measured at that moment. HOTPATCH_BREAKPOINTS is passed through (hw, sw or the probe).
. ./hplib.sh
PATCH=/tests/slow_v2.so

start_target busy ./busy
wait_line "$O" '^result 1 1 4$' || die "the second thread did not run"

t0=$(date +%s)
hp apply -vv --timeout 5000 $PID $PATCH
from=$(lines "$O")
expect_rc 0
echo "apply took about $(($(date +%s) - t0)) s"
echo "$ERR$OUT" | grep -iE 'breakpoints|run thread|safe|wait' | head -n 8
ID=$(patch_id)
alive $PID
no_wx $PID
wait_calls "$from" 300

hp revert --timeout 5000 $PID $ID
from=$(lines "$O")
expect_rc 0
alive $PID
no_wx $PID
wait_calls "$from" 4
not_mapped $PID $PATCH
echo PASS

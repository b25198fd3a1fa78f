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

# calls_after FROM WANT: every call started after line FROM gave WANT, every other result is 4 or
# 300; prints "N0 N1", the number of such calls per thread.
calls_after() {
	after "$O" "$1" | awk -v want="$2" '
		/^start / { started[$2 " " $3] = 1 }
		/^result / {
			if (($2 " " $3) in started) {
				n[$2]++
				if ($4 != want) { print "call " $2 "/" $3 " started after hotpatch returned but gave " $4; bad = 1 }
			} else if ($4 != 4 && $4 != 300) { print "invalid result: " $0; bad = 1 }
		}
		END { if (!bad) print n[0] + 0, n[1] + 0; exit bad }'
}
# wait_calls FROM WANT: at least 2 such calls per thread, all with WANT (bounded: 15 s).
wait_calls() {
	local i=0 res
	while :; do
		res=$(calls_after "$1" "$2") || die "$res"
		set -- "$1" "$2" $res
		[ "$3" -ge 2 ] && [ "$4" -ge 2 ] && { echo "calls after line $1: $3/$4, all $2"; return 0; }
		i=$((i + 1))
		[ $i -gt 750 ] && die "only $3/$4 calls completed after line $1"
		usleep 20000
		set -- "$1" "$2"
	done
}
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

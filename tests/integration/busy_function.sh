#!/bin/bash
# busy_function: two threads call slow() back to back and slow() sleeps 150 ms inside its own body,
# staggered so that some thread is always inside it. apply (and revert) --timeout 5000 must
# still succeed, by holding each thread as it leaves the function, and must give the consistency
# guarantee: every call that STARTS after apply has returned gives the new value (and after
# revert, the old one). A call is known to have started after hotpatch returned when its
# "start T K" line comes after the output's length measured at that moment.
. "$(dirname "$0")/../lib.sh"
BIN=$T/busy
PATCH=$P/slow_v2.so
need "$BIN" "$PATCH"

# calls_after FROM WANT: check every call whose start line is after line FROM returned WANT,
# and every other result is 4 or 300; print "N0 N1", the number of such calls per thread.
calls_after() {
	_after "$O" "$1" | awk -v want="$2" '
		/^start / { started[$2 " " $3] = 1 }
		/^result / {
			if (($2 " " $3) in started) {
				n[$2]++
				if ($4 != want) { print "call " $2 "/" $3 " started after hotpatch returned but gave " $4; bad = 1 }
			} else if ($4 != 4 && $4 != 300) { print "invalid result: " $0; bad = 1 }
		}
		END { if (!bad) print n[0] + 0, n[1] + 0; exit bad }'
}

# wait_calls FROM WANT: at least 2 such calls per thread, all with WANT.
wait_calls() {
	local end=$((SECONDS + 10)) res n0 n1
	while :; do
		res=$(calls_after "$1" "$2") || die "$res"
		read -r n0 n1 <<<"$res"
		[ "$n0" -ge 2 ] && [ "$n1" -ge 2 ] && return 0
		[ $SECONDS -le $end ] || die "timeout: only $n0/$n1 calls completed after line $1"
		sleep 0.05
	done
}

start_target busy "$BIN"
wait_line "$O" '^result 1 1 4$' 5 || die "the second thread did not run"

t0=$(date +%s%N)
hp apply --timeout 5000 "$PID" "$PATCH"
from=$(lines "$O")
expect_rc 0
note "apply took $((($(date +%s%N) - t0) / 1000000)) ms"
id=$(patch_id)
alive "$PID"
no_wx "$PID"
wait_calls "$from" 300

hp revert --timeout 5000 "$PID" "$id"
from=$(lines "$O")
expect_rc 0
alive "$PID"
no_wx "$PID"
wait_calls "$from" 4
not_mapped "$PID" "$PATCH"
echo PASS

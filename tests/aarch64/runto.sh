#!/bin/sh
# Run-to with hardware breakpoints (NT_ARM_HW_BREAK) and with the BRK fallback: `hotpatch probe`
# sees a hardware breakpoint fire in the guest (TCG models the debug registers); apply and revert
# of slow_v2.so on the busy target (a thread is always inside slow()) must run threads to their
# return address, first with the probe's choice (hardware), then with HOTPATCH_BREAKPOINTS=sw
# (BRK written into the code). Each time the calls that started after hotpatch returned give the
# new value (then the old), and afterwards no thread has a hardware breakpoint slot enabled and the
# executable's code in memory is its file's (inject PID clean: no BRK, no jump left behind).
. ./hplib.sh
HP_QUIET_ERR=1
PATCH=/tests/slow_v2.so

hp probe
expect_rc 0
echo "$OUT" | grep -qi 'fire' || die "probe does not say whether breakpoints fire"

# cycle MODE WANT: apply and revert with HOTPATCH_BREAKPOINTS=MODE; the log must name WANT
# ("hardware" or "software") and show threads run to an address; then the target is clean.
cycle() {
	export HOTPATCH_BREAKPOINTS=$1
	start_target busy$1 ./busy
	wait_line "$O" '^result 1 1 4$' || die "the second thread did not run"
	hp apply -vv --timeout 5000 $PID $PATCH
	from=$(lines "$O")
	expect_rc 0
	echo "$ERR" | grep -q "breakpoints: $2" || die "not $2 breakpoints"
	echo "$ERR" | grep -q "run thread [0-9]* to 0x" || die "no thread was run to an address"
	echo "$ERR" | grep -E "breakpoints|run thread" | sed 's/^/  | /' | head -n 6
	ID=$(patch_id)
	alive $PID
	wait_calls "$from" 300
	hp revert -vv --timeout 5000 $PID $ID
	from=$(lines "$O")
	expect_rc 0
	echo "$ERR" | grep -q "run thread [0-9]* to 0x" && echo "  (revert ran threads to an address too)"
	alive $PID
	wait_calls "$from" 4
	unset HOTPATCH_BREAKPOINTS
	./inject $PID clean || die "something was left behind in pid $PID"
	kill $PID
}

note "the probe's choice"
cycle auto 'hardware'
note "HOTPATCH_BREAKPOINTS=sw"
cycle sw 'software'
echo PASS

#!/bin/bash
# bp_probe: `hotpatch probe` tells whether debug-register breakpoints fire here, and its word
# is checked against a real target: with HOTPATCH_BREAKPOINTS=hw forced, running a thread out
# of a busy function succeeds exactly when the probe said they fire (else: exit 3 after
# --timeout, target untouched); with the automatic choice it always succeeds.
. "$(dirname "$0")/../lib.sh"
BIN=$T/busy
PATCH=$P/slow_v2.so
need "$BIN" "$PATCH"

hp probe --json
expect_rc 0
fire=$(echo "$OUT" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(str(d["hw_breakpoints"]).lower()); assert d["breakpoints"] in ("hardware","software")')
note "hardware breakpoints fire: $fire"
hp probe
expect_rc 0
echo "$OUT" | grep -qE '^hardware breakpoints: (fire|do not fire) \(' || die "bad probe text"
if [ "$fire" = true ]; then want=hardware; else want=software; fi
echo "$OUT" | grep -q "^breakpoints used: $want " || die "auto did not choose $want"
HOTPATCH_BREAKPOINTS=sw hp probe --json
echo "$OUT" | grep -q '"breakpoints":"software","breakpoints_reason":"forced by HOTPATCH_BREAKPOINTS"' ||
	die "HOTPATCH_BREAKPOINTS=sw not honoured"
HOTPATCH_BREAKPOINTS=hw hp probe --json
echo "$OUT" | grep -q '"breakpoints":"hardware"' || die "HOTPATCH_BREAKPOINTS=hw not honoured"
HOTPATCH_BREAKPOINTS=bogus hp probe
expect_rc 0
echo "$ERR" | grep -q "HOTPATCH_BREAKPOINTS=bogus is not hw, sw or auto" || die "no warning for a bad value"

start_target busy "$BIN"
wait_line "$O" '^result 1 1 4$' 5 || die "the second thread did not run"
HOTPATCH_BREAKPOINTS=hw hp apply --timeout 1500 "$PID" "$PATCH"
if [ "$fire" = true ]; then
	expect_rc 0
	hp revert "$PID" --all
	expect_rc 0
else
	# The probe said they never fire: forcing them must fail the way it predicts.
	expect_rc 3
	echo "$ERR" | grep -q "is still inside 'slow'" || die "unexpected failure: $ERR"
	not_mapped "$PID" "$PATCH"
	code_same "$PID" "$BIN"
fi
alive "$PID"
hp apply --timeout 5000 "$PID" "$PATCH"
expect_rc 0
hp revert --timeout 5000 "$PID" --all
expect_rc 0
code_same "$PID" "$BIN"
alive "$PID"
echo PASS

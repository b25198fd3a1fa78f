#!/bin/sh
# Two patches stacked on one function (tests/integration/revert_list.sh's stacked part, busybox sh):
# func100 (func(3) 4 -> 300), then func1000 on top (3000); list shows both, ids increasing;
# reverting the bottom while the top is active is refused (exit 1, names the later patch) and
# changes nothing; the top reverted (300 again), then the bottom (4); each step is seen in the
# target's output, which never shows another value.
. ./hplib.sh
A=/tests/func100.so
B=/tests/func1000.so
ORIG='func\(3\)=4 sfunc\(5\)=11$'
VA='func\(3\)=300 sfunc\(5\)=11$'
VB='func\(3\)=3000 sfunc\(5\)=11$'
start_target pie ./pie
expect_next "$O" 0 2 "$ORIG" '^tick'

hp list $PID
expect_rc 0
out_has "^pid $PID: no patches"

# apply_ok PATCH REGEX / revert_ok WHAT REGEX: the call succeeds and the output switches for good.
apply_ok() {
	from=$(lines "$O")
	hp apply $PID "$1"
	expect_rc 0
	ID=$(patch_id)
	alive $PID
	no_wx $PID
	wait_stable "$O" "$from" "$2"
	mapped $PID "$1"
}
revert_ok() {
	from=$(lines "$O")
	hp revert $PID "$1"
	expect_rc 0
	out_has "^pid $PID: reverted patch"
	alive $PID
	no_wx $PID
	wait_stable "$O" "$from" "$2"
}

note "stack: func100, then func1000 on top"
apply_ok $A "$VA"
IDA=$ID
apply_ok $B "$VB"
IDB=$ID
[ "$IDB" -gt "$IDA" ] || die "ids do not increase: $IDA then $IDB"
hp list $PID
expect_rc 0
out_has "^patch $IDA /.*func100\.so" "^patch $IDB /.*func1000\.so" '^  func \(/tests/pie\) 0x[0-9a-f]+ -> '
[ "$(echo "$OUT" | grep -c '^  func (/tests/pie)')" -eq 2 ] || die "list does not show func twice"

note "the bottom cannot go first"
hp revert $PID $IDA
expect_rc 1
err_has "func1000\.so|patch $IDB"
alive $PID
unchanged "$O" "$VB" 2
mapped $PID $A
mapped $PID $B

note "revert the top, then the bottom"
revert_ok $IDB "$VA"
not_mapped $PID $B
hp list $PID
out_has "^patch $IDA /.*func100\.so"
echo "$OUT" | grep -q func1000 && die "list still shows func1000"
revert_ok $IDA "$ORIG"
not_mapped $PID $A
hp list $PID
expect_rc 0
out_has "^pid $PID: no patches"
all_lines "$O" '^tick' 'func\(3\)=(4|300|3000) sfunc\(5\)=11$'
echo "the target saw: $(grep '^tick' "$O" | sed 's/.*func(3)=\([0-9]*\).*/\1/' | uniq | tr '\n' ' ')"
echo PASS

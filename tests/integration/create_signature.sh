#!/bin/bash
# create_signature: the fix gives the static scale() of calc.c a second parameter and updates its
# callers. Every caller is in the patch (a static function whose address is never taken), so it
# is not refused: GCC makes a scale.constprop.0 clone of the new scale (new in the patch), price
# and total are replaced, and the program's price goes 52 -> 53 and total 104 -> 106.
# Then the same fix with scale() marked noclone and called with a non-constant (a recursive
# function is never cloned either, e.g. redis's
# stringmatchlen_impl): scale itself, its signature changed, is replaced with its callers; the
# .eh_frame entry that describes it is not a use of its address.
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/creator/lib.sh"
need
creator_start
creator_create sigstatic
expect_rc 0
replaced_exactly price total
out_has '^new +scale'
from=$(lines "$O")
apply_checked "$PID" "$WORK/sigstatic.so"
wait_stable "$O" "$from" 'price=53 total=106 discount=5 .* scale=500 limit=10'
hp revert "$PID" "$ID"
expect_rc 0
creator_create signoclone
expect_rc 0
replaced_exactly scale price total
from=$(lines "$O")
apply_checked "$PID" "$WORK/signoclone.so"
wait_stable "$O" "$from" 'price=53 total=106 discount=5 .* scale=500 limit=10'
echo PASS

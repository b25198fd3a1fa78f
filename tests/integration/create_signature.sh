#!/bin/bash
# create_signature: the fix gives the static scale() of calc.c a second parameter and updates its
# callers. Every caller is in the patch (a static function whose address is never taken), so it
# is not refused: GCC makes a scale.constprop.0 clone of the new scale (new in the patch), price
# and total are replaced, and the program's price goes 52 -> 53 and total 104 -> 106.
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
echo PASS

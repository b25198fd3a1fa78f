#!/bin/bash
# create_helper: a fix that adds a helper function fee() and calls it from total(). The patch
# replaces total and carries fee (a new function, reached by no jump); the program's total goes
# from 104 to 110 (= 104 + fee(5) = 6) while every other value stays.
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/creator/lib.sh"
need
creator_start
creator_create helper
expect_rc 0
replaced_exactly total
out_has '^new +fee \(calc.c\)'
from=$(lines "$O")
apply_checked "$PID" "$WORK/helper.so"
wait_stable "$O" "$from" 'price=52 total=110 discount=5 .* scale=500 limit=10'
echo PASS

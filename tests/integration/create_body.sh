#!/bin/bash
# create_body: the whole workflow on a plain body fix (discount() doubles) whose diff also adds a
# line at the top of calc.c, shifting the line numbers of every function after it. Only discount
# is replaced: where(), whose code holds its own __LINE__ (44, 45 after the diff), is reported
# ignored ("changed only by line numbers") and not replaced. check, apply, list, revert: the
# running program prints discount=5 before, 10 after apply, 5 again after revert, and its other
# values (where=44 included) never change.
# Then span.patch changes rate_of() and moves the lines of far() below it, whose code is its own
# (lines 59-64) and that of plus_zero(), inlined from above rate_of() (lines 48-50): far is
# ignored too, its lines are those two spans, which the hunk lies between, not inside.
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/creator/lib.sh"
need
creator_start
expect_next "$O" 0 2 'price=52 total=104 discount=5 .* scale=500 limit=10 where=44 visits=[0-9]+ rate=2$' '^tick'

creator_create body
expect_rc 0
replaced_exactly discount
out_has '^ignored +where \(calc.c\)' 'changed only by line numbers the diff moved \(line 44 -> 45\)'
out_has '^wrote .*body.so \(pinned to build-id [0-9a-f]+'
[ -f "$WORK/body.so" ] || die "no patch written"

hp check "$PID" "$WORK/body.so"
expect_rc 0
from=$(lines "$O")
apply_checked "$PID" "$WORK/body.so"
wait_stable "$O" "$from" 'price=52 total=104 discount=10 .* scale=500 limit=10 where=44 visits=[0-9]+ rate=2$'
hp list "$PID"
out_has 'discount'
from=$(lines "$O")
revert_checked "$PID" "$ID"
wait_stable "$O" "$from" 'price=52 total=104 discount=5 .* scale=500 limit=10 where=44 visits=[0-9]+ rate=2$'

creator_create span
expect_rc 0
replaced_exactly rate_of
out_has '^ignored +far \(calc.c\)' 'changed only by line numbers the diff moved \(line 63 -> 64\)'
echo PASS

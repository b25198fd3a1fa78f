#!/bin/bash
# create_const: the fix changes only the contents of a static const table (rates[1]: 2 -> 5);
# rate()'s code, which reads it, is byte for byte the same. The table is read-only, so the patch
# carries the new one and replaces its reader: rate goes 2 -> 5. (A writable variable's new
# initial value is refused: create_refuse.)
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/creator/lib.sh"
need
creator_start
expect_next "$O" 0 2 'rate=2$' '^tick'
creator_create const
expect_rc 0
replaced_exactly rate
out_has "reads the changed constant 'rates'" '^new-variable +rates \(store.c\)'
from=$(lines "$O")
apply_checked "$PID" "$WORK/const.so"
wait_stable "$O" "$from" 'price=52 total=104 discount=5 .* limit=10 where=44 visits=[0-9]+ rate=5$'
echo PASS

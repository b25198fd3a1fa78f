#!/bin/bash
# create_inline: a fix inside clamp(), a static inline function that exists only inlined into
# price() and total(). Both callers are replaced (clamp itself has no copy to replace): price and
# total are capped at 50.
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/creator/lib.sh"
need
creator_start
creator_create inline
expect_rc 0
replaced_exactly price total
from=$(lines "$O")
apply_checked "$PID" "$WORK/inline.so"
wait_stable "$O" "$from" 'price=50 total=50 discount=5 .* scale=500 limit=10'
echo PASS

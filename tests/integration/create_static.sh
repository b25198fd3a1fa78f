#!/bin/bash
# create_static: a fix to the static scale() of calc.c, while store.c has its own static scale().
# The patch replaces calc.c's scale only (by source file): price goes 52 -> 102 and total (which
# calls price) 104 -> 204, while store_scale (store.c's scale) stays 500.
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/creator/lib.sh"
need
creator_start
creator_create static --json
expect_rc 0
printf '%s\n' "$OUT" | grep -q '"verdict": *"replaced", *"name": *"scale", *"file": *"calc.c"' ||
	printf '%s\n' "$OUT" | tr -d '\n ' | grep -q '"verdict":"replaced","name":"scale","file":"calc.c"' ||
	die "scale of calc.c not reported replaced in the JSON report"
hp info "$WORK/static.so"
out_has 'replaces scale'
from=$(lines "$O")
apply_checked "$PID" "$WORK/static.so"
wait_stable "$O" "$from" 'price=102 total=204 discount=5 .* scale=500 limit=10'
echo PASS

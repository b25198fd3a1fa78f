#!/bin/bash
# import: HOTPATCH_IMPORT of a static variable and of a static function of the target. The new
# func increments the target's static 'counter' (which the target itself reads and prints) and
# returns 10 * helper(3) = 230 using the target's static helper. The counter grows by exactly one
# per call, i.e. the import points at the target's own variable; after revert it stops growing.
. "$(dirname "$0")/../lib.sh"
BIN=$T/import
PATCH=$P/import_v2.so
need "$BIN" "$PATCH"

hp info "$PATCH"
expect_rc 0
out_has 'imports counter' 'imports helper' 'replaces func'

start_target import "$BIN"
expect_next "$O" 0 2 'func\(3\)=4 counter=0$' '^tick'

from=$(lines "$O")
hp apply "$PID" "$PATCH"
expect_rc 0
id=$(patch_id)
alive "$PID"
no_wx "$PID"
wait_stable "$O" "$from" 'func\(3\)=230 counter=[1-9][0-9]*$'
# one call per tick: consecutive lines after the switch show counter n, n+1, n+2, ...
at=$(first_line "$O" 'func\(3\)=230' "$from")
expect_next "$O" "$at" 4 '^tick' '^tick'
_after "$O" $((at - 1)) | grep '^tick' | head -5 | sed 's/.*counter=//' |
	awk 'NR > 1 && $1 != prev + 1 { print "counter went " prev " -> " $1; bad = 1 } { prev = $1 }
	     END { exit bad }' || die "counter does not count calls of the new func"

from=$(lines "$O")
hp revert "$PID" "$id"
expect_rc 0
alive "$PID"
no_wx "$PID"
wait_stable "$O" "$from" 'func\(3\)=4 counter=[1-9][0-9]*$'
at=$(first_line "$O" 'func\(3\)=4 ' "$from")
expect_next "$O" "$at" 3 '^tick' '^tick'
n=$(_after "$O" "$at" | grep '^tick' | head -3 | sed 's/.*counter=//' | sort -u | wc -l)
[ "$n" -eq 1 ] || die "counter still changes after revert"
echo PASS

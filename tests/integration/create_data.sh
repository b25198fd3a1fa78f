#!/bin/bash
# create_data: the fix makes record() also add to stats.refunds, a field 0x150 bytes into the
# program's global 'stats': the patch's code addresses it as stats+0x150(%rip), which only a PC32
# fixup (descriptor version 2) resolved at apply time can express. After apply the program's own
# stats.refunds grows by exactly 2 per tick (record is called once a tick), so the patch writes the
# program's variable and not a copy of it.
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/creator/lib.sh"
need
creator_start
expect_next "$O" 0 2 'refunds=0 ' '^tick'
creator_create data --json
expect_rc 0
printf '%s\n' "$OUT" | tr -d '\n ' | grep -q '"fixups":[1-9]' || die "no fixup in the report"
hp info "$WORK/data.so"
out_has 'imports stats'
from=$(lines "$O")
apply_checked "$PID" "$WORK/data.so"
wait_line "$O" 'refunds=[1-9]' 10 "$from" || die "refunds never counted"
at=$(first_line "$O" 'refunds=[1-9]' "$from")
expect_next "$O" "$at" 5 '^tick' '^tick'
_after "$O" $((at - 1)) | grep '^tick' | head -5 | sed 's/.*refunds=\([0-9]*\).*/\1/' |
	awk 'NR > 1 && $1 != prev + 2 { print "refunds went " prev " -> " $1; bad = 1 } { prev = $1 }
	     END { exit bad }' || die "refunds does not grow by 2 per tick"
echo PASS

#!/bin/bash
# apply_nonpie: in a -no-pie executable (ET_EXEC, fixed addresses, symbols only in .symtab), a global
# and a static function are both replaced by one patch: the target's own output switches to the
# new values and stays there, `list` shows the patch and both functions, revert by id brings
# the old values back and unmaps the patch. Target alive, untraced, no W+X mapping throughout.
. "$(dirname "$0")/../lib.sh"
BIN=$T/nonpie
PATCH=$P/pie_v2.so
need "$BIN" "$PATCH"
LC_ALL=C readelf -h "$BIN" | grep -q 'Type: *EXEC' || die "$BIN is not a non-PIE executable"
if nm -D "$BIN" | grep -qwE 'func|sfunc'; then die "$BIN exports func/sfunc (built with -rdynamic?)"; fi

OLD='func\(3\)=4 sfunc\(5\)=11$'
NEW='func\(3\)=300 sfunc\(5\)=5000$'
start_target nonpie "$BIN"
expect_next "$O" 0 2 "$OLD" '^tick'

from=$(lines "$O")
hp apply "$PID" "$PATCH"
expect_rc 0
out_has "^pid $PID: applied patch [0-9]+ \(/.*pie_v2\.so\): 2 functions" '^  func -> ' '^  sfunc -> '
id=$(patch_id)
alive "$PID"
no_wx "$PID"
wait_stable "$O" "$from" "$NEW"
# in between, one line may mix old func and new sfunc (or the reverse), nothing else
all_lines "$O" '^tick' 'func\(3\)=(4|300) sfunc\(5\)=(11|5000)$'
mapped "$PID" "$PATCH"

hp list "$PID"
expect_rc 0
out_has "^patch $id /.*pie_v2\.so" '^  func \(.*/nonpie\) 0x[0-9a-f]+ -> ' '^  sfunc \(.*/nonpie\) 0x[0-9a-f]+ -> '
alive "$PID"

from=$(lines "$O")
hp revert "$PID" "$id"
expect_rc 0
out_has "^pid $PID: reverted patch $id \(/.*pie_v2\.so\)"
alive "$PID"
no_wx "$PID"
wait_stable "$O" "$from" "$OLD"
not_mapped "$PID" "$PATCH"
all_lines "$O" '^tick' 'func\(3\)=(4|300) sfunc\(5\)=(11|5000)$'
echo PASS

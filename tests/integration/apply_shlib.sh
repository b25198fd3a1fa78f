#!/bin/bash
# apply_shlib: HOTPATCH_REPLACE_IN("libhpdemo.so", demo_func, ...) replaces a function of a shared
# library the target links (with -rpath): calls through the PLT from the executable and calls
# inside the library both get the new function; list names the library as the function's object;
# revert restores the old values.
. "$(dirname "$0")/../lib.sh"
BIN=$T/shlib
PATCH=$P/shlib_v2.so
need "$BIN" "$PATCH" "$T/libhpdemo.so"

OLD='demo_func\(3\)=4 demo_twice\(3\)=8$'
NEW='demo_func\(3\)=300 demo_twice\(3\)=600$'
start_target shlib "$BIN"
expect_next "$O" 0 2 "$OLD" '^tick'
mapped "$PID" "$T/libhpdemo.so"

from=$(lines "$O")
hp apply "$PID" "$PATCH"
expect_rc 0
out_has "^pid $PID: applied patch [0-9]+ \(/.*shlib_v2\.so\): 1 function" '^  demo_func -> '
id=$(patch_id)
alive "$PID"
no_wx "$PID"
wait_stable "$O" "$from" "$NEW"
all_lines "$O" '^tick' 'demo_func\(3\)=(4|300) demo_twice\(3\)=(8|600)$'

hp list "$PID"
expect_rc 0
out_has "^patch $id /.*shlib_v2\.so" '^  demo_func \(.*libhpdemo\.so\) 0x[0-9a-f]+ -> '

from=$(lines "$O")
hp revert "$PID" "$id"
expect_rc 0
alive "$PID"
no_wx "$PID"
wait_stable "$O" "$from" "$OLD"
not_mapped "$PID" "$PATCH"
echo PASS

#!/bin/bash
# apply_small_func: functions shorter than a 5-byte jump.
#  - tiny_nopad (4 bytes) is directly followed by the symbol tiny_next: apply is refused with exit 1
#    and one stderr line naming the function and its size; the target's bytes and output are
#    unchanged and the patch is not left mapped.
#  - tiny_pad (4 bytes) is followed by alignment padding that belongs to no symbol: apply succeeds
#    (the jump spills into the padding), pad(3) becomes 300 while the neighbours keep their values
#    and bytes; revert restores the original bytes exactly.
. "$(dirname "$0")/../lib.sh"
BIN=$T/small
need "$BIN" "$P/small_pad.so" "$P/small_nopad.so"

# preconditions on the binary itself, so the test cannot pass vacuously
size() { nm -S "$BIN" | awk -v s="$1" '$4 == s { print $2 }'; }
val() { nm "$BIN" | awk -v s="$1" '$3 == s { print $1 }'; }
[ "$((16#$(size tiny_pad)))" -eq 4 ] || die "tiny_pad is not 4 bytes"
[ "$((16#$(size tiny_nopad)))" -eq 4 ] || die "tiny_nopad is not 4 bytes"
[ "$((16#$(val tiny_next)))" -eq "$((16#$(val tiny_nopad) + 4))" ] || die "tiny_next does not follow tiny_nopad"

ORIG='pad\(3\)=4 nopad\(3\)=5 next\(3\)=6$'
start_target small "$BIN"
expect_next "$O" 0 2 "$ORIG" '^tick'
pad=$(sym_addr "$PID" "$BIN" tiny_pad)
nopad=$(sym_addr "$PID" "$BIN" tiny_nopad)
pad_bytes=$(read_mem "$PID" "$pad" 16)
nopad_bytes=$(read_mem "$PID" "$nopad" 16)
[ "${pad_bytes:0:8}" = 8d4701c3 ] || die "unexpected bytes at tiny_pad: $pad_bytes"

note "too small, no padding: refused"
hp apply "$PID" "$P/small_nopad.so"
expect_rc 1
err_line 'tiny_nopad' '(4 bytes?|size:? 4|4-byte)' 'small|short'
alive "$PID"
no_wx "$PID"
unchanged "$O" "$ORIG"
not_mapped "$PID" "$P/small_nopad.so"
[ "$(read_mem "$PID" "$nopad" 16)" = "$nopad_bytes" ] || die "tiny_nopad bytes changed after refusal"

note "too small, padding after it: applied"
from=$(lines "$O")
hp apply "$PID" "$P/small_pad.so"
expect_rc 0
out_has '^  tiny_pad -> '
id=$(patch_id)
alive "$PID"
no_wx "$PID"
wait_stable "$O" "$from" 'pad\(3\)=300 nopad\(3\)=5 next\(3\)=6$'
[ "$(read_mem "$PID" "$pad" 16)" != "$pad_bytes" ] || die "tiny_pad bytes did not change"
[ "$(read_mem "$PID" "$nopad" 16)" = "$nopad_bytes" ] || die "the jump spilled past tiny_pad's padding"

from=$(lines "$O")
hp revert "$PID" "$id"
expect_rc 0
alive "$PID"
no_wx "$PID"
wait_stable "$O" "$from" "$ORIG"
[ "$(read_mem "$PID" "$pad" 16)" = "$pad_bytes" ] || die "revert did not restore tiny_pad and its padding"
echo PASS

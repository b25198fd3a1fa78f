#!/bin/bash
# wx: no page of the target is ever writable and executable, and the target's own mappings are
# not altered. A sampler reads /proc/PID/maps in a loop during apply and revert and records any
# W+X mapping it sees (an mprotect-based writer would be caught); after each operation no_wx
# and alive hold, the executable's mappings (ranges and permissions) are exactly as before, the
# entry of func really changed after apply and is byte-for-byte the original after revert.
. "$(dirname "$0")/../lib.sh"
BIN=$T/pie
PATCH=$P/pie_v2.so
need "$BIN" "$PATCH"

start_target pie "$BIN"
expect_next "$O" 0 2 'func\(3\)=4 ' '^tick'
exe=$(realpath "$BIN")
exe_maps() { awk -v f="$exe" '$6 == f { print $1, $2, $3 }' /proc/"$PID"/maps; }
maps0=$(exe_maps)
addr=$(sym_addr "$PID" "$BIN" func)
bytes0=$(read_mem "$PID" "$addr" 16)
[ ${#bytes0} -eq 32 ] || die "cannot read func's bytes from /proc/$PID/mem"

# sampler: record every W+X mapping seen until $WORK/stop-sampler exists (at most 60 s)
(
	end=$((SECONDS + 60))
	while [ ! -e "$WORK/stop-sampler" ] && [ $SECONDS -le $end ]; do
		grep -E '^[0-9a-f]+-[0-9a-f]+ .wx' /proc/"$PID"/maps >>"$WORK/wx.log" 2>/dev/null || true
	done
) &
SAMPLER=$!
PIDS+=("$SAMPLER")

from=$(lines "$O")
hp apply "$PID" "$PATCH"
expect_rc 0
id=$(patch_id)
alive "$PID"
no_wx "$PID"
wait_stable "$O" "$from" 'func\(3\)=300 '
[ "$(exe_maps)" = "$maps0" ] || die "the executable's mappings changed: $(exe_maps)"
bytes1=$(read_mem "$PID" "$addr" 16)
[ "$bytes1" != "$bytes0" ] || die "func's entry did not change"
note "func entry before: $bytes0 after: $bytes1"
case $bytes1 in
e9*|f30f1efae9*|ff25*|f30f1efaff25*) ;;
*) die "func's entry does not start with a jump: $bytes1" ;;
esac

from=$(lines "$O")
hp revert "$PID" "$id"
expect_rc 0
alive "$PID"
no_wx "$PID"
wait_stable "$O" "$from" 'func\(3\)=4 '
[ "$(exe_maps)" = "$maps0" ] || die "the executable's mappings changed: $(exe_maps)"
[ "$(read_mem "$PID" "$addr" 16)" = "$bytes0" ] || die "revert did not restore func's bytes"

touch "$WORK/stop-sampler"
wait "$SAMPLER" || true
if [ -s "$WORK/wx.log" ]; then
	sort -u "$WORK/wx.log" >&2
	die "a writable+executable mapping existed during apply or revert"
fi
echo PASS

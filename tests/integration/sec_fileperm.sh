#!/bin/bash
# A patch file is code that will run inside the target: it is refused (exit 4,
# the message says why) when anyone but its owner and root could have changed
# it, or when another user owns it. Nothing in the target changes then. An
# accepted patch leaves no mapping writable and executable, applied or reverted.
. "$(dirname "$0")/../lib.sh"

[ -x "$HOTPATCH" ] || skip "no $HOTPATCH"
start tgt "$T/fault_target" tick
wait_line "$WORK/tgt.out" '^ready' 10
chmod 755 "$WORK"
cp "$P/fault_v2.so" "$WORK/p.so"
maps_before=$(awk '{print $1, $2, $6}' /proc/$PID/maps | md5sum)

note "group-writable patch: refused, exit 4, names the reason and the mode"
chmod 664 "$WORK/p.so"
hp apply "$PID" "$WORK/p.so"
expect_rc 4
grep -q "^hotpatch: $WORK/p.so: writable by group (mode 0664)" <<<"$ERR" || die "wrong message: $ERR"
[ "$(wc -l <<<"$ERR")" -eq 1 ] || die "more than one stderr line"

note "world-writable patch: refused"
chmod 646 "$WORK/p.so"
hp apply "$PID" "$WORK/p.so"
expect_rc 4
grep -q "writable by others (mode 0646)" <<<"$ERR" || die "wrong message: $ERR"

note "--json carries the FILEPERM code"
hp apply --json "$PID" "$WORK/p.so"
expect_rc 4
grep -q '"code":"FILEPERM"' <<<"$OUT" || die "no FILEPERM in JSON: $OUT"

note "check refuses it too, and so does a world-writable file through a symlink"
hp check "$PID" "$WORK/p.so"
expect_rc 4
ln -s "$WORK/p.so" "$WORK/link.so"
hp apply "$PID" "$WORK/link.so"
expect_rc 4
grep -q "$WORK/p.so: writable by others" <<<"$ERR" || die "symlink not resolved in message: $ERR"

note "load injects code too: the same rules"
hp load "$PID" "$WORK/p.so"
expect_rc 4
grep -q "writable by others (mode 0646)" <<<"$ERR" || die "load: wrong message: $ERR"

note "owned by another user: refused even if only the owner can write"
chmod 644 "$WORK/p.so"
chown 4242:4242 "$WORK/p.so"
hp apply "$PID" "$WORK/p.so"
expect_rc 4
grep -q "owned by uid 4242, not by root or by us" <<<"$ERR" || die "wrong message: $ERR"
hp load "$PID" "$WORK/p.so"
expect_rc 4

note "the target was not touched by any refusal"
maps_after=$(awk '{print $1, $2, $6}' /proc/$PID/maps | md5sum)
[ "$maps_before" = "$maps_after" ] || die "maps changed by a refused apply"
alive "$PID"
hp list "$PID"
expect_rc 0
grep -q "no patches" <<<"$OUT" || die "list shows patches"

note "owner root, mode 0644: applied; no W+X mapping after apply and after revert"
chown 0:0 "$WORK/p.so"
hp apply "$PID" "$WORK/p.so"
expect_rc 0
n=$(lines "$WORK/tgt.out")
wait_line "$WORK/tgt.out" 'a=2 b=2' 5 "$n"
no_wx "$PID"
hp revert "$PID" --all
expect_rc 0
n=$(lines "$WORK/tgt.out")
wait_line "$WORK/tgt.out" 'a=1 b=1' 5 "$n"
no_wx "$PID"
alive "$PID"
echo PASS

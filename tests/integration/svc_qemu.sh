#!/bin/bash
# svc_qemu: Debian's qemu-system-x86_64 (TCG, a guest running its BIOS, QMP on a private unix
# socket). Its QMP dispatcher is a coroutine that parks in qemu_coroutine_yield on its own
# mmap'd stack after every command: no thread shows it.
#  - A REPLACE of monitor_qmp_dispatcher_co, which that coroutine never leaves, is refused like a
#    thread that stays inside (exit 3, naming the function and the coroutine); nothing changes.
#  - A WRAP of qemu_coroutine_yield is applied; after one QMP command the dispatcher is parked
#    through the wrapper. Revert exits 0 but keeps the code loaded (it used to unload it, and the
#    next QMP command killed QEMU with SIGSEGV). QEMU then answers QMP, the parked call returns
#    through the wrapper ("hotpatch-back"), and reclaim unloads the code once nothing refers to it.
. "$(dirname "$0")/../lib.sh"
QEMU=$(command -v qemu-system-x86_64) || die "qemu-system-x86_64 missing: run scripts/install-deps.sh"
need "$P/qemu_yield_wrap.so" "$P/qemu_dispatcher_v2.so"
QMP="python3 $ROOT/tests/qmp_client.py $WORK/qmp.sock"

start qemu "$QEMU" -machine pc,accel=tcg -m 64 -nodefaults -display none -serial none \
	-name hptest -qmp "unix:$WORK/qmp.sock,server=on,wait=off"
Q=$PID
L=$WORK/qemu.out
# qmp answers once QEMU's main loop runs
st=$($QMP query-status) || die "no QMP answer: $(tail -3 "$L")"
echo "$st" | grep -q '"status": "running"' || die "the guest is not running: $st"

note "a REPLACE of the function the dispatcher coroutine is parked in"
hp apply "$Q" "$P/qemu_dispatcher_v2.so"
expect_rc 3
err_line "monitor_qmp_dispatcher_co" "parked coroutine"
not_mapped "$Q" "$P/qemu_dispatcher_v2.so"
alive "$Q"

# TCG's own code buffer is writable and executable: no other W+X mapping may appear.
wx() { awk '$2 ~ /w/ && $2 ~ /x/ {print $1}' /proc/"$Q"/maps; }
WX0=$(wx)
same_wx() { [ "$(wx)" = "$WX0" ] || die "a new W+X mapping: $(wx)"; }

note "a WRAP of qemu_coroutine_yield, the dispatcher parked through it"
hp apply "$Q" "$P/qemu_yield_wrap.so"
expect_rc 0
ID=$(patch_id)
alive "$Q"
same_wx
$QMP query-name | grep -q '"name": "hptest"' || die "query-name after apply"
wait_line "$L" '^hotpatch-yield [0-9]+' 10 || die "the wrapper never ran"
n=$(lines "$L")

hp revert "$Q" "$ID"
expect_rc 0
out_has "code stays loaded"
mapped "$Q" "$P/qemu_yield_wrap.so"
hp list "$Q"
out_has "^retained $ID: .*qemu_yield_wrap.so"

note "QMP after revert: the parked dispatcher returns through the wrapper"
for i in 1 2 3; do
	st=$($QMP query-status query-name) || die "QMP failed after revert (QEMU: $(tail -2 "$L"))"
	echo "$st" | grep -q '"status": "running"' || die "the guest stopped running: $st"
done
alive "$Q"
wait_line "$L" '^hotpatch-back [0-9]+' 5 "$n" || die "the parked call did not return through the wrapper"

hp reclaim "$Q"
expect_rc 0
if printf '%s\n' "$OUT" | grep -q "1 retained patch unloaded"; then
	not_mapped "$Q" "$P/qemu_yield_wrap.so"
else
	mapped "$Q" "$P/qemu_yield_wrap.so"
fi
$QMP query-status | grep -q '"running": true' || die "QMP failed after reclaim"
alive "$Q"
same_wx
echo PASS

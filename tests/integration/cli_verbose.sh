#!/bin/bash
# cli_verbose: what -v, -vv and a terminal show. A one-thread target's pause is not 0: apply
# --json reports pause_us and stw_us above 0 (pause_us >= stw_us), and -v says the same.
# apply -v names the loaded file and each redirected function; revert -v names each restored
# function, the unload and the timing. -vv on a target whose function is busy (the first
# bounded waits run out and are retried) succeeds without any "error:" line. While apply waits
# for a thread stuck in a function, a terminal on stderr (script(1)) shows "waiting X s of
# 1.0 s for thread T to leave 'stuck_fn'" naming the stuck thread; without a terminal,
# nothing of the sort.
. "$(dirname "$0")/../lib.sh"
need "$T/pie" "$T/busy" "$T/stuck" "$P/pie_v2.so" "$P/slow_v2.so" "$P/stuck_v2.so"
PY=python3
command -v script >/dev/null || die "script(1) missing (bsdutils)"

ORIG='func\(3\)=4 sfunc\(5\)=11$'
NEW='func\(3\)=300 sfunc\(5\)=5000$'
start_target pie "$T/pie"
[ "$(ls /proc/"$PID"/task | wc -l)" -eq 1 ] || die "pie should have one thread"

note "one thread: pause and final stop are measured"
from=$(lines "$O")
hp apply --json "$PID" "$P/pie_v2.so"
expect_rc 0
wait_stable "$O" "$from" "$NEW"
$PY - "$WORK/hp.stdout" <<'PYEOF' || die "timing of a one-thread target"
import json, sys
t = json.load(open(sys.argv[1]))["timing"]
print("timing:", t)
assert t["threads"] == 1, t
assert t["stw_us"] > 0, "stw_us is 0"
assert t["pause_us"] > 0, "pause_us is 0"
assert t["pause_us"] >= t["stw_us"], "pause shorter than the final stop"
PYEOF
ID=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["patch"]["id"])' "$WORK/hp.stdout")

note "revert -v: steps and timing"
from=$(lines "$O")
hp revert -v "$PID" "$ID"
expect_rc 0
wait_stable "$O" "$from" "$ORIG"
for f in func sfunc; do
	grep -qE "^hotpatch: pid $PID: '$f' at 0x[0-9a-f]+ restored \([0-9]+ bytes\)$" <<<"$ERR" ||
		die "revert -v does not say '$f' was restored"
done
grep -qE "^hotpatch: pid $PID: patch $ID unloaded" <<<"$ERR" || die "revert -v: no unload line"
grep -qE "^hotpatch: pid $PID: [0-9.]+ ms in all; 1 thread paused [0-9.]+ ms \(final stop [0-9.]+ ms\)$" \
	<<<"$ERR" || die "revert -v: no timing line"

note "apply -v: steps, and a pause that is not 0"
hp apply -v "$PID" "$P/pie_v2.so"
expect_rc 0
grep -qE "^hotpatch: pid $PID: loaded .*/pie_v2\.so \(handle 0x[0-9a-f]+\)" <<<"$ERR" ||
	die "apply -v does not name the loaded file"
grep -qE "^hotpatch: pid $PID: 'func' at 0x[0-9a-f]+ now jumps to 'func_v2'$" <<<"$ERR" ||
	die "apply -v does not name the redirected function"
line=$(grep -E "1 thread paused" <<<"$ERR") || die "apply -v: no timing line"
grep -qE 'paused 0\.000 ms|final stop 0\.000 ms' <<<"$line" && die "apply -v: a zero pause: $line"
hp revert "$PID" --all
expect_rc 0
kill "$PID"

note "-vv: retried waits are not errors"
start_target busy "$T/busy"
wait_line "$O" '^result 1 1 4$' 5 || die "the second thread did not run"
hp apply -vv --timeout 5000 "$PID" "$P/slow_v2.so"
expect_rc 0
grep -q 'may be retried' <<<"$ERR" || note "(no wait was retried this time)"
if grep -E '(^|: )error:' <<<"$ERR"; then
	die "-vv printed 'error:' for an apply that succeeded"
fi
hp revert "$PID" --all
expect_rc 0
kill "$PID"

note "progress on a terminal while a thread stays inside the function"
start_target stuck "$T/stuck"
wait_line "$O" '^spinning tid [0-9]+' 5 || die "no spinning thread"
TID=$(sed -n 's/^spinning tid \([0-9]*\).*/\1/p' "$O" | head -1)
set +e
HOTPATCH_AUDIT=off timeout -k 5 "$HP_TIMEOUT" script -qec \
	"$HOTPATCH apply --timeout 1000 $PID $P/stuck_v2.so" /dev/null >"$WORK/tty.out" 2>&1
set -e
tr '\r' '\n' <"$WORK/tty.out" | sed 's/\x1b\[K//g' >"$WORK/tty.txt"
cat "$WORK/tty.txt"
grep -qE "^hotpatch: pid $PID: waiting [0-9.]+ s of 1\.0 s for thread $TID to leave 'stuck_fn'$" \
	"$WORK/tty.txt" || die "no progress line naming thread $TID and 'stuck_fn'"
grep -qE "still inside 'stuck_fn'" "$WORK/tty.txt" || die "no final error on the terminal"
hp apply --timeout 1000 "$PID" "$P/stuck_v2.so"
expect_rc 3
grep -q 'waiting' <<<"$ERR" && die "progress written to a stderr that is not a terminal"
err_line "still inside 'stuck_fn'"
alive "$PID"
echo "cli_verbose: ok"

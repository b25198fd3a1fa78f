#!/bin/bash
# bp_software: the int3 path of run-to-return, forced (HOTPATCH_BREAKPOINTS=sw) on any
# machine, against a target where everything meets the breakpoint at once: three threads
# pass caller()'s return site back to back, a thread sleeps inside work(), children are
# forked (with the int3 in their copy of the code) and vforked (sharing it), threads come
# and go. apply and revert must succeed; no child may die (each must exit 7), no thread
# may get a SIGTRAP; calls started after apply see the patch; and the code of the
# executable must hold exactly the file's bytes afterwards (but for work()'s entry while
# applied): no int3 left behind.
. "$(dirname "$0")/../lib.sh"
BIN=$T/bpstress
PATCH=$P/bpstress_v2.so
need "$BIN" "$PATCH"
export HOTPATCH_BREAKPOINTS=sw

start_target bpstress "$BIN"
wait_line "$O" '^tick [0-9]* work=4 forks=[1-9][0-9]* vforks=[1-9]' 10 || die "children do not run"
WORK_ADDR=$(sym_addr "$PID" "$BIN" work)

# apply + revert until one run had forked children, vforked children and other threads
# meet the int3 (a run can end early, while the blockers still run alone).
covered=0
for cycle in 1 2 3 4 5; do
	hp -vv apply --timeout 5000 "$PID" "$PATCH"
	expect_rc 0
	from=$(lines "$O")
	echo "$ERR" | grep -q 'breakpoints: software (int3) (forced' || die "not the software mechanism"
	echo "$ERR" | grep -qE 'run thread [0-9]+ to 0x[0-9a-f]+ \(int3' || die "no thread was run to a breakpoint"
	forked=$(echo "$ERR" | grep -c 'cleaned and let go' || true)
	vforked=$(echo "$ERR" | grep -c 'shares its memory' || true)
	traps=$(echo "$ERR" | sed -n 's/.*software breakpoints: [0-9]* set, \([0-9]*\) traps.*/\1/p' |
		awk '{ s += $1 } END { print s + 0 }')
	note "cycle $cycle: $forked forked and $vforked vforked children met, $traps traps"
	alive "$PID"
	no_wx "$PID"
	code_same "$PID" "$BIN" "$WORK_ADDR" 16
	wait_line "$O" '^tick [0-9]* work=300 ' 5 "$from" || die "the patch is not live"

	hp -vv revert --timeout 5000 "$PID" --all
	expect_rc 0
	from=$(lines "$O")
	alive "$PID"
	code_same "$PID" "$BIN"
	wait_line "$O" '^tick [0-9]* work=4 ' 5 "$from" || die "the revert is not live"
	if [ "$forked" -ge 1 ] && [ "$vforked" -ge 1 ] && [ "$traps" -ge 2 ]; then
		covered=1
		break
	fi
done
[ $covered -eq 1 ] || die "no run met forks, vforks and other threads: the test did not test them"
# Children and threads kept coming through all of it, and keep coming.
forks() { tail -1 "$O" | sed -n 's/.* forks=\([0-9]*\) vforks=\([0-9]*\) spawns=\([0-9]*\)/\1 \2 \3/p'; }
read -r f0 v0 s0 <<<"$(forks)"
end=$((SECONDS + 10))
while read -r f1 v1 s1 <<<"$(forks)"; [ "$f1" -le "$f0" ] || [ "$v1" -le "$v0" ] || [ "$s1" -le "$s0" ]; do
	[ $SECONDS -le $end ] || die "children or threads stopped coming: $f0/$v0/$s0 -> $f1/$v1/$s1"
	sleep 0.05
done
all=$(cat "$O")
if echo "$all" | grep -q '^BUG'; then
	echo "$all" | grep '^BUG' | head >&2
	die "a child or thread of the target was hurt"
fi
echo "$all" | tail -1
alive "$PID"
echo PASS

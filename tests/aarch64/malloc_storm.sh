#!/bin/sh
# The safe point under a malloc storm (tests/integration/malloc_storm.sh, busybox sh): every thread
# of tests/targets/storm.c, main included, churns the heap without pause and calls func. N apply +
# revert (by id) cycles: each apply must show the new value in the target's output, each revert
# the old one; no hotpatch call may hang (a dlopen run on a thread holding a malloc lock
# deadlocks: HP_TIMEOUT bounds each call); the heap stays intact (the target checks every block;
# MALLOC_CHECK_=3 with libc_malloc_debug.so preloaded makes glibc abort on corruption, which the
# alive checks catch). The target's tick count keeps growing: it kept running throughout.
. ./hplib.sh
PATCH=/tests/func100.so
CYCLES=${CYCLES:-5}
dbg=/lib/libc_malloc_debug.so.0
if [ -e $dbg ]; then
	note "MALLOC_CHECK_=3 with $dbg"
	start_target storm env MALLOC_CHECK_=3 LD_PRELOAD=$dbg ./storm
else
	start_target storm ./storm
fi
expect_next "$O" 0 3 'func\(3\)=4 ' '^tick'
grep -q libc_malloc_debug /proc/$PID/maps && echo "libc_malloc_debug.so is loaded"

cyc=1
while [ $cyc -le $CYCLES ]; do
	note "cycle $cyc"
	from=$(lines "$O")
	hp apply $PID $PATCH
	expect_rc 0
	ID=$(patch_id)
	alive $PID
	no_wx $PID
	wait_stable "$O" "$from" 'func\(3\)=300 ' '^tick' 2
	from=$(lines "$O")
	hp revert $PID $ID
	expect_rc 0
	alive $PID
	no_wx $PID
	wait_stable "$O" "$from" 'func\(3\)=4 ' '^tick' 2
	no_errors "$O"
	cyc=$((cyc + 1))
done
no_errors "$O"
all_lines "$O" '^tick' 'func\(3\)=(4|300) allocs=[0-9]+$'
not_mapped $PID $PATCH
echo "the target kept running: $(grep '^tick' "$O" | tail -n 1)"
echo PASS

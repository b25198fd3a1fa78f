#!/bin/bash
# safepoint_allocator: an allocator interposed on libc's (as jemalloc, tcmalloc or mimalloc are in
# real services) holds its own lock in its own frames, where the safe-point rule for libc's frames
# does not look. tests/targets/extra/allocloop.c has one thread that spends nearly all its time
# inside malloc with lockalloc.so's non-recursive lock held (300 ms per call, computing, no system
# call). dlopen run there would call malloc and wait for itself. apply must see the allocator's
# frames as holding a lock, run the thread out of malloc and load the patch there: apply/revert
# cycles (3 per allocator), each shows the new value (func(3)=300) then the old one in the target's output, and
# none hangs. The same with the allocator linked into the executable (je_-free names: malloc
# defined by the program itself).
. "$(dirname "$0")/../lib.sh"
need "$P/func100.so"
X=$ROOT/tests/targets/extra
cc -O2 -g -shared -fPIC -o "$WORK/lockalloc.so" "$X/lockalloc.c" -lpthread || die "cannot build lockalloc.so"
cc -O2 -g -o "$WORK/allocloop" "$X/allocloop.c" || die "cannot build allocloop"
cc -O2 -g -o "$WORK/allocloop_static" "$X/allocloop.c" "$X/lockalloc.c" -lpthread ||
	die "cannot build allocloop with the allocator linked in"

for how in preloaded linked; do
	note "allocator $how"
	if [ $how = preloaded ]; then
		start_target loop_$how env LD_PRELOAD="$WORK/lockalloc.so" "$WORK/allocloop"
		grep -q lockalloc.so /proc/$PID/maps || die "lockalloc.so not loaded"
	else
		start_target loop_$how "$WORK/allocloop_static"
	fi
	expect_next "$O" 0 2 'func\(3\)=4$' '^tick' 10
	HP_TIMEOUT=30 cycle_apply_revert 3 "$PID" "$O" "$P/func100.so" 'func\(3\)=300$' 'func\(3\)=4$'
	kill "$PID"
done
echo PASS

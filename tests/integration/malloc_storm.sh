#!/bin/bash
# malloc_storm: every thread of the target, main included, churns the heap without pause and
# calls func. 20 apply + revert (by id) cycles: each apply must show the new value in the
# target's output, each revert the old one; no hotpatch call may hang (dlopen run on a thread
# that holds a malloc lock deadlocks); the heap must stay intact: the target checks every block
# and glibc's checks (MALLOC_CHECK_=3; glibc >= 2.34 needs libc_malloc_debug.so preloaded for it,
# which also makes the allocator a library other than libc, like jemalloc in real services)
# abort the process on corruption, which the alive checks catch.
# HP_MALLOC_DEBUG=0 leaves libc_malloc_debug.so out.
. "$(dirname "$0")/../lib.sh"
BIN=$T/storm
PATCH=$P/func100.so
need "$BIN" "$PATCH"

env=(MALLOC_CHECK_=3)
dbg=$(ls /lib/x86_64-linux-gnu/libc_malloc_debug.so.0 /usr/lib/x86_64-linux-gnu/libc_malloc_debug.so.0 \
	2>/dev/null | head -1 || true)
if [ -n "$dbg" ] && [ "${HP_MALLOC_DEBUG:-1}" != 0 ]; then
	env+=(LD_PRELOAD="$dbg")
	note "MALLOC_CHECK_=3 with $dbg"
fi
start_target storm env "${env[@]}" "$BIN"
expect_next "$O" 0 3 'func\(3\)=4 ' '^tick'

cycle_apply_revert 20 "$PID" "$O" "$PATCH" 'func\(3\)=300 ' 'func\(3\)=4 '
no_errors "$O"
all_lines "$O" '^tick' 'func\(3\)=(4|300) allocs=[0-9]+$'
not_mapped "$PID" "$PATCH"
echo PASS

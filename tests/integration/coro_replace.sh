#!/bin/bash
# coro_replace: a REPLACE of co_loop, which a parked coroutine never leaves, is refused like a
# thread that stays inside (exit 3, one stderr line naming the function and the coroutine), for
# both context kinds; nothing changes: the coroutine keeps running the old co_loop, the patch is
# not mapped or listed. The jump window rule: a WRAP of co_yield, where the coroutines are also
# parked, is accepted (the parked call finishes in the original).
. "$(dirname "$0")/../lib.sh"
BIN=$T/coro
need "$BIN" "$P/coro_loop_v2.so" "$P/coro_wrap.so"

for mode in jb uc; do
	note "mode $mode"
	F=$WORK/cmd.$mode
	mkfifo "$F"
	exec 3<>"$F"
	start_target "coro_$mode" "$BIN" "$mode" "$F"
	hp apply "$PID" "$P/coro_loop_v2.so"
	expect_rc 3
	err_line "co_loop" "parked (coroutine|ucontext)" "frame #"
	alive "$PID"
	not_mapped "$PID" "$P/coro_loop_v2.so"
	n=$(lines "$O")
	echo r >&3
	wait_line "$O" '^co 0 r=1$' 5 "$n" || die "the coroutine does not run the old code"
	hp list "$PID"
	out_has "^pid $PID: no patches"
	apply_checked "$PID" "$P/coro_wrap.so"
	exec 3>&-
done
echo PASS

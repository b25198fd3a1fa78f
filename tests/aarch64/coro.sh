#!/bin/sh
# Parked contexts on aarch64 (tests/integration/coro_replace.sh and coro_revert.sh, busybox sh):
# tests/targets/coro.c parks a coroutine in co_yield, switched with sigsetjmp/siglongjmp on an
# mmap'd guard-paged stack (jb: QEMU's way; the jmp_buf's lr and sp are mangled with the guard
# ld.so keeps in __pointer_chk_guard) or with swapcontext on a malloc'd stack (uc: found by the
# FPSIMD record header in uc_mcontext.__reserved). For each kind:
#  - apply -vv finds the parked context (its debug line), and a REPLACE of co_loop, which the
#    coroutine never leaves, is refused (exit 3, naming co_loop and the parked context); the
#    coroutine keeps running the old code, the patch is not mapped;
#  - a WRAP of co_yield is accepted; once the coroutine has parked through the wrapper, revert
#    keeps the code loaded ("code stays loaded", list shows it retained, reclaim keeps it), and
#    resuming returns through the wrapper ("wrapper back 2") instead of into unmapped memory;
#    then co_yield is the original again, and reclaim unloads the ucontext case (its stack
#    bounds prove the stale words dead).
. ./hplib.sh
WRAP=/tests/coro_wrap.so
LOOP=/tests/coro_loop_v2.so

for mode in ${MODES:-jb uc}; do
	note "mode $mode: REPLACE of the function a coroutine is parked in"
	F=$WORK/cmd.$mode.1
	mkfifo "$F"
	exec 3<>"$F"
	start_target "coro_$mode.1" ./coro "$mode" "$F"
	hp apply -vv $PID $LOOP
	expect_rc 3
	case $mode in jb) kind=jmp_buf;; uc) kind=ucontext;; esac
	echo "$ERR" | grep -E "parked $kind at" | head -n 2
	echo "$ERR" | grep -qE "parked $kind at" || die "no parked $kind found"
	echo "$ERR" | grep -E "co_loop" | grep -qE "parked (coroutine|ucontext)" ||
		die "the refusal does not name co_loop and the parked context"
	alive $PID
	not_mapped $PID $LOOP
	n=$(lines "$O")
	echo r >&3
	wait_line "$O" '^co 0 r=1$' 500 "$n" || die "the coroutine does not run the old code"
	hp list $PID
	out_has "^pid $PID: no patches"
	exec 3>&-
	kill $PID

	note "mode $mode: revert keeps a wrapper the coroutine is parked in"
	F=$WORK/cmd.$mode.2
	mkfifo "$F"
	exec 3<>"$F"
	start_target "coro_$mode.2" ./coro "$mode" "$F"
	hp apply $PID $WRAP
	expect_rc 0
	ID=$(patch_id)
	# Resume twice: the first returns from the old co_yield, the second parks through the wrapper.
	for k in 1 2; do
		n=$(lines "$O")
		echo r >&3
		wait_line "$O" '^main resumed' 500 "$n" || die "no resume $k"
	done
	grep -q '^wrapper back 1$' "$O" || die "the wrapper did not run"
	hp revert $PID $ID
	expect_rc 0
	out_has "reverted patch $ID .*code stays loaded"
	echo "$ERR" | grep -q "stays loaded: .*points into it" || die "no reason given for keeping the code"
	mapped $PID $WRAP
	hp list $PID
	out_has "^pid $PID: no patches" "^retained $ID: .*coro_wrap.so"
	hp reclaim $PID
	expect_rc 0
	out_has "0 retained patches unloaded, 1 still retained"
	mapped $PID $WRAP
	# The parked coroutine returns into the wrapper: the code must still be there.
	n=$(lines "$O")
	echo r >&3
	wait_line "$O" '^main resumed' 500 "$n" || die "no resume after revert"
	grep -q '^wrapper back 2$' "$O" || die "the coroutine did not return through the wrapper"
	grep -q '^co 2 r=1003$' "$O" || die "the wrapper's result did not reach co_loop"
	n=$(lines "$O")
	echo r >&3
	wait_line "$O" '^co 3 r=4$' 500 "$n" || die "co_yield is not the original after revert"
	alive $PID
	no_wx $PID
	hp reclaim -vv $PID
	expect_rc 0
	echo "$ERR" | grep -E 'reference|parked|stays|points' | head -n 6
	echo "reclaim: $OUT"
	if [ "$mode" = uc ]; then
		out_has "1 retained patch(es)? unloaded"
	fi
	if echo "$OUT" | grep -qE "1 retained patch(es)? unloaded"; then
		not_mapped $PID $WRAP
	else
		mapped $PID $WRAP
	fi
	n=$(lines "$O")
	echo r >&3
	wait_line "$O" '^co 4 r=5$' 500 "$n" || die "the coroutine stopped working after reclaim"
	alive $PID
	exec 3>&-
	kill $PID
done
echo PASS

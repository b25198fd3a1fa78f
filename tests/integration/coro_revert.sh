#!/bin/bash
# coro_revert: a coroutine parked inside a patch's code (co_yield wrapped, the coroutine switched
# out through the wrapper) keeps that code loaded across revert. Both context kinds: jmp_buf
# (QEMU's switch: sigsetjmp/siglongjmp on an mmap'd, guard-paged stack) and ucontext
# (swapcontext on a malloc'd stack). Revert exits 0 and says the code stays loaded; list (and
# --json, schema-checked) shows it retained; resuming the coroutine returns through the wrapper
# ("wrapper back") instead of into unmapped memory (SIGSEGV before); once the coroutine has left
# it, reclaim unloads it (ucontext: proven by its stack bounds; jmp_buf: when no stale word is
# left, else it stays retained and says so) and nothing stays traced or W+X.
. "$(dirname "$0")/../lib.sh"
BIN=$T/coro
PATCH=$P/coro_wrap.so
need "$BIN" "$PATCH"
PY=python3
$PY -c 'import jsonschema' 2>/dev/null || PY=/usr/bin/python3

for mode in jb uc; do
	note "mode $mode"
	F=$WORK/cmd.$mode
	mkfifo "$F"
	exec 3<>"$F"
	start_target "coro_$mode" "$BIN" "$mode" "$F"
	apply_checked "$PID" "$PATCH"
	# Resume twice: the first returns from the old co_yield, the second parks through the wrapper.
	n=$(lines "$O")
	echo r >&3
	wait_line "$O" '^main resumed' 5 "$n" || die "no resume"
	n=$(lines "$O")
	echo r >&3
	wait_line "$O" '^main resumed' 5 "$n" || die "no second resume"
	grep -q '^wrapper back 1$' "$O" || die "the wrapper did not run"

	hp revert -vv "$PID" "$ID"
	expect_rc 0
	out_has "reverted patch $ID .*code stays loaded"
	# Found before the pause (the main thread stopped for its thread pointer: the pointer guard),
	# so the proof runs inside it.
	if [ "$mode" = jb ]; then
		grep -q "parked jmp_buf at" <<<"$ERR" || die "revert did not find the parked jmp_buf"
	fi
	printf '%s\n' "$ERR" | grep -q "stays loaded: .*points into it" || die "no reason given for keeping the code"
	mapped "$PID" "$PATCH"
	hp list "$PID"
	expect_rc 0
	out_has "^pid $PID: no patches" "^retained $ID: .*coro_wrap.so"
	hp list --json "$PID"
	cp "$WORK/hp.stdout" "$WORK/list_$mode.json"
	$PY -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["retained"][0]["id"]==int(sys.argv[2])' \
		"$WORK/list_$mode.json" "$ID" || die "list --json has no retained patch $ID"
	$PY "$ROOT/tests/json_validate.py" "$WORK/list_$mode.json" || die "list --json does not match its schema"
	# Nothing refers to it while it is referred to: reclaim must keep it.
	hp reclaim "$PID"
	expect_rc 0
	out_has "0 retained patches unloaded, 1 still retained"
	mapped "$PID" "$PATCH"

	# The parked coroutine returns into the wrapper: the code must still be there.
	n=$(lines "$O")
	echo r >&3
	wait_line "$O" '^main resumed' 5 "$n" || die "no resume after revert"
	grep -q '^wrapper back 2$' "$O" || die "the coroutine did not return through the wrapper"
	grep -q '^co 2 r=1003$' "$O" || die "the wrapper's result did not reach co_loop"
	n=$(lines "$O")
	echo r >&3
	wait_line "$O" '^co 3 r=4$' 5 "$n" || die "co_yield is not the original after revert"
	alive "$PID"
	no_wx "$PID"

	hp reclaim --json "$PID"
	expect_rc 0
	cp "$WORK/hp.stdout" "$WORK/reclaim_$mode.json"
	$PY "$ROOT/tests/json_validate.py" "$WORK/reclaim_$mode.json" || die "reclaim --json does not match its schema"
	hp reclaim "$PID"
	expect_rc 0
	if [ "$mode" = uc ]; then
		# Proven: below the parked sp on its own stack, nothing is alive.
		grep -q '"reclaimed": *1' "$WORK/reclaim_$mode.json" || die "the ucontext case was not reclaimed"
	fi
	if grep -q '"reclaimed": *1' "$WORK/reclaim_$mode.json"; then
		not_mapped "$PID" "$PATCH"
		hp list "$PID"
		printf '%s\n' "$OUT" | grep -q '^retained' && die "reclaimed but still listed"
	else
		mapped "$PID" "$PATCH"
	fi
	n=$(lines "$O")
	echo r >&3
	wait_line "$O" '^co 4 r=5$' 5 "$n" || die "the coroutine stopped working after reclaim"
	alive "$PID"
	exec 3>&-
done
echo PASS

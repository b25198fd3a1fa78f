#!/bin/bash
# safepoint_sigframe: a process forked from inside a signal handler (PostgreSQL's postmaster
# starts its walwriter, autovacuum launcher and background workers this way) carries, its
# whole life, a signal frame over libc's select() under its own frames. Such a frame holds
# no lock: the child's only thread is at a safe point when it blocks in poll(), and apply
# must succeed at once (it used to wait for select() to return, then fail with exit 3).
# A frame interrupted outside a system call still counts as holding one (the unit tests
# and the malloc storm cover that side).
. "$(dirname "$0")/../lib.sh"
BIN=$T/sigfork
PATCH=$P/sigfork_v2.so
need "$BIN" "$PATCH"

start_target sigfork "$BIN"
kill -USR1 "$PID"
wait_line "$O" '^child pid [0-9]+$' 5 || die "no child forked from the handler"
CHILD=$(sed -n 's/^child pid \([0-9]*\)$/\1/p' "$O" | head -1)
PIDS+=("$CHILD")
wait_line "$O" '^child 3 value=4$' 5 || die "the child does not tick"

hp -vv apply --timeout 3000 "$CHILD" "$PATCH"
expect_rc 0
echo "$ERR" | grep -q 'signal frame over a blocking call' || die "the signal frame was not recognised"
from=$(lines "$O")
wait_line "$O" '^child [0-9]+ value=300$' 5 "$from" || die "the child does not run the patch"
_after "$O" "$from" | grep -q '^parent value=300$' && die "the parent was patched too"
alive "$CHILD"
hp list "$CHILD"
expect_rc 0
hp revert --timeout 3000 "$CHILD" --all
expect_rc 0
from=$(lines "$O")
wait_line "$O" '^child [0-9]+ value=4$' 5 "$from" || die "the revert did not take"
code_same "$CHILD" "$BIN"
# The parent, blocked in select() outside any handler, is patched as usual.
hp apply --timeout 3000 "$PID" "$PATCH"
expect_rc 0
wait_line "$O" '^parent value=300$' 5 "$from" || die "the parent does not run the patch"
alive "$PID"
alive "$CHILD"
echo PASS

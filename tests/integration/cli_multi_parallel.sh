#!/bin/bash
# cli_multi_parallel: --all-of handles its processes at once, each in a worker of its own, so
# a busy process delays no other. Two processes whose thread never leaves work() come first in
# pid order; two ordinary ones after them must be patched while hotpatch still waits on the
# busy ones (sequentially they would wait for the busy ones' --timeout). Then SIGINT to
# hotpatch: the busy ones are given up cleanly (their code byte for byte as the file, no
# thread left traced), the others stay patched; exit 5 (partial), one report line per
# process, in pid order.
. "$(dirname "$0")/../lib.sh"
SRC=$T/bpstress
PATCH=$P/bpstress_v2.so
need "$SRC" "$PATCH"
BIN=$WORK/bpstress_multi
cp "$SRC" "$BIN"

start_target stuck1 "$BIN" stuck calm
S1=$PID
start_target stuck2 "$BIN" stuck calm
S2=$PID
start_target free1 "$BIN" calm
F1=$PID O1=$O
start_target free2 "$BIN" calm
F2=$PID O2=$O
for o in "$O1" "$O2"; do wait_line "$o" '^tick [0-9]* work=4 ' 5 || die "target not ticking"; done
# (calm: each target runs only its slow thread and its ticking main thread)

"$HOTPATCH" apply --timeout 60000 --all-of "$BIN" "$PATCH" >"$WORK/out" 2>"$WORK/err" &
HP=$!
PIDS+=("$HP")
f1=$(lines "$O1") f2=$(lines "$O2")
wait_line "$O1" '^tick [0-9]* work=300 ' 20 "$f1" || die "free1 not patched while the busy ones wait"
wait_line "$O2" '^tick [0-9]* work=300 ' 20 "$f2" || die "free2 not patched while the busy ones wait"
kill -0 "$HP" 2>/dev/null || { cat "$WORK/err"; die "hotpatch ended: the busy ones did not keep it waiting"; }
note "both free processes patched while hotpatch still waits on the busy ones"
kill -INT "$HP"
rc=0
wait "$HP" || rc=$?
cat "$WORK/out"
sed 's/^/  err: /' "$WORK/err"
[ $rc -eq 5 ] || die "expected exit 5 (partial), got $rc"
grep -qE 'AddressSanitizer|runtime error:|LeakSanitizer' "$WORK/err" && die "sanitizer report"
# (Children the targets fork run the same file: they may be listed too, and be gone.)
got=$(sed -n 's/^pid \([0-9]*\): .*/\1/p' "$WORK/out" | grep -xE "$S1|$S2|$F1|$F2" | tr '\n' ' ')
want=$(printf '%s\n' "$S1" "$S2" "$F1" "$F2" | sort -n | tr '\n' ' ')
[ "$got" = "$want" ] || die "report order $got, expected $want"
all=$(sed -n 's/^pid \([0-9]*\): .*/\1/p' "$WORK/out" | tr '\n' ' ')
[ "$all" = "$(echo "$all" | tr ' ' '\n' | grep . | sort -n | tr '\n' ' ')" ] || die "not in pid order: $all"
grep -q "^pid $F1: ok: applied patch" "$WORK/out" || die "no success line for $F1"
grep -q "^pid $S1: error: .*interrupted" "$WORK/out" || die "no interrupted line for $S1"
for p in "$S1" "$S2" "$F1" "$F2"; do alive "$p"; done
for p in "$S1" "$S2"; do
	code_same "$p" "$BIN"
	hp list "$p"
	echo "$OUT" | grep -q 'no patches' || die "pid $p: a patch was left"
done
wait_line "$O1" '^tick [0-9]* work=300 ' 5 "$(lines "$O1")" || die "free1 lost its patch"
if grep -h '^BUG' "$WORK"/*.out >&2; then die "a child or thread of a target was hurt"; fi
echo PASS

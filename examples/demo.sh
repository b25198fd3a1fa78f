#!/bin/bash
# demo.sh - `make demo`: fix a bug in a running program without restarting it.
#
# Builds examples/target.c (prints func(3) every 300 ms; func is wrong: 4 instead of 300) and the
# 3-line examples/patch.c, starts the target, shows its output, then runs
#	hotpatch apply PID patch.so	(func(3) becomes 300 at once, same process)
#	hotpatch list PID
#	hotpatch revert PID --all	(back to the original)
# and stops the target. `examples/demo.sh --seed` also shows the hand-made way:
#	hotpatch load PID seed_patch.so	(a constructor that overwrites func itself)
# Environment: HOTPATCH (default build/hotpatch), CC (default cc).
set -eu
cd "$(dirname "$0")/.."
HOTPATCH=${HOTPATCH:-build/hotpatch}
CC=${CC:-cc}
D=build/examples
SEED=0
[ "${1:-}" = --seed ] && SEED=1

if [ -t 1 ]; then B=$'\e[1m' C=$'\e[36m' G=$'\e[32m' R=$'\e[31m' N=$'\e[0m'; else B= C= G= R= N=; fi
step() { printf '\n%s# %s%s\n' "$B" "$*" "$N"; }
run() { printf '%s$ %s%s\n' "$C" "$*" "$N"; "$@"; }
fail() { printf '%sdemo: %s%s\n' "$R" "$*" "$N" >&2; exit 1; }

[ -x "$HOTPATCH" ] || fail "$HOTPATCH not found: run make first"
mkdir -p "$D"

step "Build the program (with a bug in func) and a 3-line patch for it"
run "$CC" -O2 -g -fno-omit-frame-pointer -rdynamic -o "$D/target" examples/target.c
run "$CC" -shared -fPIC -O2 -Iinclude -o "$D/patch.so" examples/patch.c
if [ $SEED = 1 ]; then
	run "$CC" -shared -fPIC -O2 -o "$D/seed_patch.so" examples/seed_patch.c
fi
printf '\n'
sed -n '/#include/,$p' examples/patch.c | sed 's/^/    /'

OUTF=$D/target.out
SHOWN=0
"$D/target" >"$OUTF" 2>&1 &
TPID=$!
trap 'kill "$TPID" 2>/dev/null || true; wait 2>/dev/null || true' EXIT

# show SECONDS: the target's output since last shown, then live for SECONDS.
show() {
	timeout "$1" tail -n +$((SHOWN + 1)) -f "$OUTF" | sed 's/^/    | /' || true
	SHOWN=$(wc -l <"$OUTF")
}
# expect REGEX WHAT: a line after the last shown one matches within 3 s, else the demo failed.
expect() {
	local from=$SHOWN i
	for i in $(seq 150); do
		tail -n +$((from + 1)) "$OUTF" | grep -qE "$1" && return 0
		kill -0 "$TPID" 2>/dev/null || fail "the target died"
		sleep 0.02
	done
	fail "$2"
}

step "Start it (pid $TPID): func(3) prints 4, it should be 300"
show 1.2

step "Replace func inside the running process"
run "$HOTPATCH" apply "$TPID" "$D/patch.so" || fail "apply failed"
expect '= 300$' "func(3) did not change"
show 1.2

step "What is applied"
run "$HOTPATCH" list "$TPID" || fail "list failed"

step "Undo it: the original func is back"
run "$HOTPATCH" revert "$TPID" --all || fail "revert failed"
expect '= 4 ' "func(3) did not go back"
show 1.2

if [ $SEED = 1 ]; then
	step "The hand-made way: load a .so whose constructor overwrites func (no safety net)"
	run "$HOTPATCH" load "$TPID" "$D/seed_patch.so" || fail "load failed"
	expect '= 300$' "the seed patch did not change func(3)"
	show 1.2
fi

step "Stop the target"
run kill "$TPID"
wait "$TPID" 2>/dev/null || true
printf '\n%sdemo done: one process (pid %s) ran the buggy func, the fix, and the buggy func again%s\n' \
	"$G" "$TPID" "$N"

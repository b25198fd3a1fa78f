#!/bin/bash
# Patch authoring (issue 6): compiler clones and inlined copies.
# - 'scale' exists only as scale.constprop.0: REPLACE(scale) is refused with a message
#   naming the clone; REPLACE(scale.constprop.0) with the clone's signature works.
# - 'blend' is partly inlined into 'report', which calls blend.part.0; 'bump' is inlined
#   whole into 'step'. `check` and `apply` warn, naming those callers and clones (note in
#   the function line, JSON "note", and a warning on stderr), and indeed after the apply
#   those callers still print the old values.
. "$(dirname "$0")/../lib.sh"

for f in "$T/auth_clone" "$P/auth_clone_plain.so" "$P/auth_clone_named.so" "$P/auth_blend.so" \
	"$P/auth_bump.so"; do [ -e "$f" ] || skip "missing $f"; done
syms=$(nm "$T/auth_clone")
echo "$syms" | grep -qE ' scale\.constprop\.0$' || die "compiler made no scale.constprop.0"
echo "$syms" | grep -qE ' scale$' && die "compiler kept 'scale': the test needs a clone-only function"
echo "$syms" | grep -qE ' blend\.part\.0$' || die "compiler made no blend.part.0"

start clone "$T/auth_clone"
wait_line "$WORK/clone.out" '^tick 1 scale 8 blend 136 0 step 8$'

note "clone only: the error explains and names the clone"
hp check "$PID" "$P/auth_clone_plain.so"
expect_rc 1
echo "$ERR" | grep -q "'scale' exists only as compiler clone(s) scale.constprop.0" || die "bad message"
echo "$ERR" | grep -q "name it explicitly" || die "message does not say what to do"

note "naming the clone works (k == 7 folded in: scale_v2(x) = 70 x + 1)"
hp apply "$PID" "$P/auth_clone_named.so"
expect_rc 0
echo "$OUT" | grep -q '^  scale.constprop.0 -> scale_v2 at 0x' || die "no clone line"
from=$(lines "$WORK/clone.out")
wait_line "$WORK/clone.out" '^tick' 5 $((from + 5))
while read -r _ tick _ s _ b1 b2 _ st; do
	x=$((tick % 4))
	[ "$s" -eq $((70 * x + 1)) ] || die "tick $tick: scale $s, want $((70 * x + 1))"
done < <(tail -n +$((from + 2)) "$WORK/clone.out" | head -4)

note "inlined copies and clones of 'blend': check warns with the callers"
hp check "$PID" "$P/auth_blend.so"
expect_rc 0
echo "$OUT" | grep -q '^    note: inlined into report; has clones blend.part.0$' || die "no note line"
echo "$ERR" | grep -q "warning: .*'blend' was inlined into 1 caller .*(report)" || die "no inline warning"
echo "$ERR" | grep -q "warning: .*'blend' has a compiler clone .*(blend.part.0)" || die "no clone warning"
hp check --json "$PID" "$P/auth_blend.so"
expect_rc 0
echo "$OUT" | grep -q '"note": *"inlined into report; has clones blend.part.0"' || die "no JSON note"

note "apply warns the same, and report really keeps the old blend (via blend.part.0)"
hp apply "$PID" "$P/auth_blend.so"
expect_rc 0
echo "$OUT" | grep -q 'note: inlined into report; has clones blend.part.0' || die "apply: no note"
echo "$ERR" | grep -q "warning: .*'blend' was inlined" || die "apply: no warning"

note "'bump' inlined whole into 'step': warned, and step keeps the old bump"
hp apply "$PID" "$P/auth_bump.so"
expect_rc 0
echo "$OUT" | grep -q '^    note: inlined into step$' || die "apply: no 'inlined into step' note"
echo "$ERR" | grep -q "warning: .*'bump' was inlined into 1 caller .*(step)" || die "no bump warning"
from=$(lines "$WORK/clone.out")
wait_line "$WORK/clone.out" '^tick' 5 $((from + 5))
while read -r _ tick _ s _ b1 b2 _ st; do
	x=$((tick % 4))
	want=0
	for i in $(seq 1 16); do want=$((want + i * x)); done
	[ "$b1" -eq "$want" ] || die "tick $tick: blend $b1, want the old $want (report calls blend.part.0)"
	[ "$st" -eq $(((x + 3) * 2)) ] || die "tick $tick: step $st, want the old $(((x + 3) * 2))"
done < <(tail -n +$((from + 2)) "$WORK/clone.out" | head -4)
alive "$PID"
echo "PASS"

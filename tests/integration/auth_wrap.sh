#!/bin/bash
# Patch authoring (issue 6): HOTPATCH_WRAP.
# - examples/wrap_fix.c fixes the off-by-one of examples/wrap_target.c (lookup(4) leaks the
#   secret 4242): after apply, out-of-range indexes are rejected (-1) and in-range ones
#   are still answered by the ORIGINAL lookup through the relocated trampoline (the fix
#   has no price table: 10/20/30/40 can only come from the old code). Revert brings back
#   the old behaviour (the trampoline and jump are undone).
# - A WRAP of a function whose loop branches back into the bytes the jump displaces is
#   refused by check and by apply, with the offending branch, and the target is untouched.
# - spin_sum2's loop head lies beyond a 5-byte jump but inside a 14-byte one, and nothing
#   needs preserving, so a plain REPLACE from a far patch would get the 14-byte absolute
#   jump: the WRAP must use the 5-byte jump to an island (check and apply agree), and the
#   wrapper's result (10 x the original's) is observed. The patch is kept far (ld.so's
#   choice, HOTPATCH_NO_PLACEMENT=1): placed next to the executable it gets a direct e9.
. "$(dirname "$0")/../lib.sh"

EX=$ROOT/build/examples
for f in "$EX/wrap_target" "$EX/wrap_fix.so" "$T/auth_wrap_loop" "$P/auth_wrap_loop.so" \
	"$P/auth_wrap_loop2.so"; do
	[ -e "$f" ] || skip "missing $f"
done

start svc "$EX/wrap_target"
S=$PID
wait_line "$WORK/svc.out" '^request [0-9]+ idx 4 -> 4242$' || die "the bug does not show"

hp info "$EX/wrap_fix.so"
expect_rc 0
echo "$OUT" | grep -q "wraps lookup with lookup_fixed (orig via lookup_orig)" ||
	die "info does not name the pointer to the original"

note "the fix: bounds check, then the original"
hp apply "$S" "$EX/wrap_fix.so"
expect_rc 0
echo "$OUT" | grep -q '^  lookup -> lookup_fixed at 0x' || die "no lookup line"
echo "$OUT" | grep -q '^    wraps the original' || die "not reported as a wrap"
from=$(lines "$WORK/svc.out")
wait_line "$WORK/svc.out" '^request' 5 $((from + 14)) || die "service stopped answering"
prices=(10 20 30 40 -1 -1)
n=0
while read -r _ req _ idx _ v; do
	[ "$v" -eq "${prices[$idx]}" ] || die "request $req idx $idx -> $v, want ${prices[$idx]}"
	n=$((n + 1))
done < <(tail -n +$((from + 2)) "$WORK/svc.out" | head -12)
[ "$n" -eq 12 ] || die "checked $n requests"

note "revert: the leak is back (the old code runs again)"
hp revert "$S" 1
expect_rc 0
from=$(lines "$WORK/svc.out")
wait_line "$WORK/svc.out" '^request [0-9]+ idx 4 -> 4242$' 5 "$from" || die "revert did not restore lookup"
alive "$S"
no_wx "$S"

note "a branch into the displaced bytes: refused before anything is touched"
start loop "$T/auth_wrap_loop"
L=$PID
wait_line "$WORK/loop.out" '^tick 3 spin 4 10 10$'
before=$(grep -c . /proc/"$L"/maps)
for cmd in check apply; do
	hp "$cmd" "$L" "$P/auth_wrap_loop.so"
	expect_rc 1
	echo "$ERR" | grep -q "cannot wrap 'spin_sum': cannot relocate 0x[0-9a-f]*: 'jnle' at 0x[0-9a-f]* branches into the displaced bytes" ||
		die "$cmd: reason not given"
done
hp list "$L"
echo "$OUT" | grep -q 'no patches' || die "something was applied"
grep -q auth_wrap_loop.so /proc/"$L"/maps && die "the patch is still mapped"
[ "$(grep -c . /proc/"$L"/maps)" -eq "$before" ] || die "mappings changed (island left behind?)"
from=$(lines "$WORK/loop.out")
wait_line "$WORK/loop.out" '^tick' 5 $((from + 4))
while read -r _ tick _ n s s2; do
	[ "$s" -eq $((n * (n + 1) / 2)) ] || die "tick $tick: spin $n = $s"
	[ "$s2" -eq "$s" ] || die "tick $tick: spin2 $n = $s2"
done < <(tail -n +$((from + 1)) "$WORK/loop.out" | head -4)
alive "$L"

note "a branch beyond the 5-byte jump: wrapped with e9 to an island, not the 14-byte form"
hp check "$L" "$P/auth_wrap_loop2.so"
expect_rc 0
HOTPATCH_NO_PLACEMENT=1 hp apply "$L" "$P/auth_wrap_loop2.so"
expect_rc 0
echo "$OUT" | grep -qE '^  spin_sum2 -> spin2_v2 at 0x[0-9a-f]+ \(island 0x[0-9a-f]+\)$' || die "not via an island"
from=$(lines "$WORK/loop.out")
wait_line "$WORK/loop.out" '^tick' 5 $((from + 6))
n=0
while read -r _ tick _ n1 s s2; do
	[ "$s" -eq $((n1 * (n1 + 1) / 2)) ] || die "tick $tick: spin $n1 = $s"
	[ "$s2" -eq $((10 * s)) ] || die "tick $tick: spin2 $n1 = $s2, want $((10 * s))"
	n=$((n + 1))
done < <(tail -n +$((from + 2)) "$WORK/loop.out" | head -4)
[ "$n" -eq 4 ] || die "checked $n lines"
alive "$L"
no_wx "$L"
echo "PASS"

#!/bin/bash
# Patch authoring (issue 6): two static functions named 'parse' in dup_a.c and dup_b.c.
# A plain HOTPATCH_REPLACE(parse, ...) is refused, listing both candidates with their
# files, and changes nothing; HOTPATCH_REPLACE_FILE("dup_b.c", parse, ...) replaces
# exactly the one of dup_b.c (observed: b changes, a does not).
. "$(dirname "$0")/../lib.sh"

for f in "$T/auth_dup" "$P/auth_dup_any.so" "$P/auth_dup_b.so"; do [ -e "$f" ] || skip "missing $f"; done
[ "$(nm "$T/auth_dup" | grep -cE ' t parse$')" -eq 2 ] || die "auth_dup does not have two static 'parse'"

start dup "$T/auth_dup"
wait_line "$WORK/dup.out" '^tick 2 a 102 b 202$'

note "ambiguous name: refused with the candidates and their source files"
for cmd in check apply; do
	hp "$cmd" "$PID" "$P/auth_dup_any.so"
	expect_rc 1
	[ "$(echo "$ERR" | wc -l)" -eq 1 ] || die "expected one error line"
	echo "$ERR" | grep -q "'parse' is ambiguous" || die "no 'ambiguous' in: $ERR"
	echo "$ERR" | grep -q 'parse (dup_a.c) at 0x' || die "candidate of dup_a.c not listed"
	echo "$ERR" | grep -q 'parse (dup_b.c) at 0x' || die "candidate of dup_b.c not listed"
done
hp list "$PID"
expect_rc 0
echo "$OUT" | grep -q 'no patches' || die "refused patch left something applied"

note "HOTPATCH_REPLACE_FILE(\"dup_b.c\"): only the parse of dup_b.c changes"
hp apply "$PID" "$P/auth_dup_b.so"
expect_rc 0
echo "$OUT" | grep -q '^  parse -> parse_v2 at 0x' || die "no 'parse -> parse_v2' line"
from=$(lines "$WORK/dup.out")
wait_line "$WORK/dup.out" '^tick' 5 $((from + 6)) || die "target stopped printing"
n=0
while read -r _ tick _ a _ b; do
	x=$((tick % 4))
	[ "$a" -eq $((100 + x)) ] || die "tick $tick: a = $a, the parse of dup_a.c was touched"
	[ "$b" -eq $((900 + x)) ] || die "tick $tick: b = $b, want $((900 + x))"
	n=$((n + 1))
done < <(tail -n +$((from + 2)) "$WORK/dup.out" | head -5)
[ "$n" -eq 5 ] || die "checked $n lines"
hp list "$PID"
echo "$OUT" | grep -q "parse (.*auth_dup) 0x" || die "list does not show parse"
alive "$PID"
echo "PASS"

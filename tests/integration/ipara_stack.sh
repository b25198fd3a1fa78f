#!/bin/bash
# IPA-RA (issue 10): 'mix' takes 8 integer arguments (2 on the stack) and writes only
# rax, rcx, rdx, rsi; its caller 'run' (plain -O2) keeps its loop state in r10/r11 across
# the call. No preserving island can sit between them (it would move the stack arguments),
# so check and apply refuse with HOTPATCH_E_CLOBBER, naming the function and the registers,
# exit 1, and leave the target untouched (same bytes at mix, same output, no patch).
# --force-regs applies it (the replacement is pure arithmetic that leaves r10/r11 alone):
# the new formula is observed.
. "$(dirname "$0")/../lib.sh"

for f in "$T/ipara_stack" "$P/ipara_stack.so"; do [ -e "$f" ] || skip "missing $f"; done

dis=$(objdump -d --no-show-raw-insn "$T/ipara_stack" | awk '/^[0-9a-f]+ <run>:$/,/^$/')
echo "$dis" | grep -qE 'call +[0-9a-f]+ <mix>' || die "run does not call mix"
echo "$dis" | grep -qE 'add +%rax,%r1[01]$' || die "run does not accumulate in r10/r11"

# old S = sum_i sum_j (j+1)(i+j) = 36 n(n-1)/2 + 168 n; new S = 8 n(n-1)/2 + 28 n
sums() {
	local file=$1 from=$2 count=$3 kind=$4 n=0 tick nn s want
	while read -r _ tick _ nn _ s; do
		if [ "$kind" = old ]; then want=$((36 * nn * (nn - 1) / 2 + 168 * nn))
		else want=$((8 * nn * (nn - 1) / 2 + 28 * nn)); fi
		[ "$s" -eq "$want" ] || { echo "tick $tick: n $nn sum $s, want $want ($kind)" >&2; return 1; }
		n=$((n + 1))
	done < <(tail -n +$((from + 2)) "$file" | grep '^tick' | head -"$count")
	[ "$n" -eq "$count" ]
}
# mix_bytes PID: the first 16 bytes of mix in memory
mix_bytes() {
	local base off
	base=$(awk -v exe="$T/ipara_stack" '$6 == exe { split($1, a, "-"); print a[1]; exit }' /proc/"$1"/maps)
	off=$(nm "$T/ipara_stack" | awk '$3 == "mix" { print $1 }')
	dd if=/proc/"$1"/mem bs=1 skip=$((0x$base + 0x$off)) count=16 status=none | od -An -tx1
}

start st "$T/ipara_stack"
wait_line "$WORK/st.out" '^tick 3 '
sums "$WORK/st.out" 0 3 old || die "wrong sums before any patch"
orig=$(mix_bytes "$PID")
[ -n "$orig" ] || die "cannot read mix"

for cmd in check apply; do
	hp "$cmd" "$PID" "$P/ipara_stack.so"
	expect_rc 1
	echo "$ERR" | grep -qE "'mix' never writes [a-z0-9,]+, so optimized callers \(gcc -fipa-ra\) may keep values there; it takes stack arguments, so no preserving island can be built" ||
		die "$cmd: message does not name function, registers and reason"
	echo "$ERR" | grep -q -- "--force-regs" || die "$cmd: message does not mention --force-regs"
done
hp apply --json "$PID" "$P/ipara_stack.so"
expect_rc 1
echo "$OUT" | grep -q '"code": *"CLOBBER"' || die "JSON error code is not CLOBBER"
[ "$(mix_bytes "$PID")" = "$orig" ] || die "mix was modified by a refused apply"
hp list "$PID"
echo "$OUT" | grep -q 'no patches' || die "refused patch is listed"
grep -q ipara_stack.so /proc/"$PID"/maps && die "refused patch is mapped"
from=$(lines "$WORK/st.out")
wait_line "$WORK/st.out" '^tick' 5 $((from + 4))
sums "$WORK/st.out" "$from" 3 old || die "output changed after a refused apply"

note "--force-regs: applied, with a warning; the new formula is live"
hp apply --force-regs "$PID" "$P/ipara_stack.so"
expect_rc 0
echo "$ERR" | grep -qE "warning: .*'mix': --force-regs: callers relying on [a-z0-9,]+ are not protected" ||
	die "no --force-regs warning"
[ "$(mix_bytes "$PID")" != "$orig" ] || die "mix not modified"
from=$(lines "$WORK/st.out")
wait_line "$WORK/st.out" '^tick' 5 $((from + 8))
sums "$WORK/st.out" "$from" 6 new || die "new formula not observed"
alive "$PID"
echo "PASS"

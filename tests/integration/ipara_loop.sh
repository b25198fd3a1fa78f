#!/bin/bash
# IPA-RA (issue 10): ipara_loop is built with plain -O2. GCC's -fipa-ra lets 'compute' keep
# its loop counter, bound and sum in caller-saved registers across the direct call to
# 'helper', because helper's code writes only eax. The replacement calls snprintf/strtol,
# which write every caller-saved register.
# - The disassembly shows the construction: compute calls helper and saves no callee-saved
#   register, so its state across the call lives in caller-saved ones.
# - With the preserving island (default) the target prints exactly the sums it printed
#   before, for every n (S = 3 n (n - 1) / 2 + n).
# - Control: the same apply with the island disabled (HOTPATCH_NO_PRESERVE=1, debug knob)
#   corrupts the target (wrong sums, a hang or a crash). If it did not, this test could not
#   tell the island works, so that fails the test.
. "$(dirname "$0")/../lib.sh"

for f in "$T/ipara_loop" "$P/ipara_loop.so"; do [ -e "$f" ] || skip "missing $f"; done

note "construction: compute keeps its state in caller-saved registers across 'call helper'"
dis=$(objdump -d --no-show-raw-insn "$T/ipara_loop" | awk '/^[0-9a-f]+ <compute>:$/,/^$/')
echo "$dis"
echo "$dis" | grep -qE 'call +[0-9a-f]+ <helper>' || die "compute does not call helper directly"
echo "$dis" | grep -qE '%(rbx|rbp|r12|r13|r14|r15)|%e(bx|bp)|%r1[2-5]d' &&
	die "compute uses callee-saved registers: IPA-RA is not exercised"
echo "$dis" | grep -qE 'push|sub +\$0x[0-9a-f]+,%rsp' && die "compute spills: IPA-RA is not exercised"

# sums_ok FILE FROM COUNT: COUNT lines after FROM + 1 all carry the right sum for their n.
sums_ok() {
	local file=$1 from=$2 count=$3 n=0 tick nn s
	while read -r _ tick _ nn _ s; do
		[ "$nn" -eq $((1000 + tick % 7)) ] || return 1
		[ "$s" -eq $((3 * nn * (nn - 1) / 2 + nn)) ] || { echo "tick $tick: n $nn sum $s" >&2; return 1; }
		n=$((n + 1))
	done < <(tail -n +$((from + 2)) "$file" | grep '^tick' | head -"$count")
	[ "$n" -eq "$count" ]
}

start ok "$T/ipara_loop"
A=$PID
wait_line "$WORK/ok.out" '^tick 8 '
sums_ok "$WORK/ok.out" 0 7 || die "wrong sums before any patch"

note "check and apply: helper is routed through a preserving island"
hp check "$A" "$P/ipara_loop.so"
expect_rc 0
echo "$OUT" | grep -qE '^    preserves rcx, rdx, rsi, rdi, ' || die "check does not report the preserved registers"
hp apply "$A" "$P/ipara_loop.so"
expect_rc 0
echo "$OUT" | grep -qE '^  helper -> helper_v2 at 0x[0-9a-f]+ \(island 0x[0-9a-f]+\)$' || die "no island"
from=$(lines "$WORK/ok.out")
wait_line "$WORK/ok.out" '^tick' 5 $((from + 16)) || die "target stopped printing"
sums_ok "$WORK/ok.out" "$from" 14 || die "sums changed after the patch"
alive "$A"

note "control: without the island the same patch corrupts the caller"
start bad "$T/ipara_loop"
B=$PID
wait_line "$WORK/bad.out" '^tick 2 '
HOTPATCH_NO_PRESERVE=1 hp apply "$B" "$P/ipara_loop.so"
expect_rc 0
echo "$ERR" | grep -q "HOTPATCH_NO_PRESERVE=1: callers relying on .* are not protected" || die "knob not reported"
from=$(lines "$WORK/bad.out")
if wait_line "$WORK/bad.out" '^tick' 2 $((from + 8)) 2>/dev/null && sums_ok "$WORK/bad.out" "$from" 7; then
	die "control: no corruption without the island, so this test cannot show the island matters"
fi
echo "corrupted as expected: $(tail -n +$((from + 1)) "$WORK/bad.out" | head -3 | tr '\n' '|')" \
	"state $(awk '/^State:/ { print $2 }' /proc/"$B"/status 2>/dev/null || echo gone)"
echo "PASS"

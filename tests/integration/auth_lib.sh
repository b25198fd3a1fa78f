#!/bin/bash
# Patch authoring (issue 6): a fix in a shared library. examples/lib_fix.c uses
# HOTPATCH_REPLACE_IN("libshop.so.1", price_with_tax, ...) (matched by DT_SONAME): the
# function of the library is replaced, every caller (through the PLT) sees 20% VAT instead
# of 12%. Naming an object that is not loaded fails cleanly with the object's name.
. "$(dirname "$0")/../lib.sh"

EX=$ROOT/build/examples
for f in "$EX/shop" "$EX/libshop.so.1" "$EX/lib_fix.so" "$P/auth_lib_absent.so"; do
	[ -e "$f" ] || skip "missing $f"
done

start shop "$EX/shop"
wait_line "$WORK/shop.out" '^tick 1 net 2000 gross 2240$' || die "library not in use"

hp check "$PID" "$P/auth_lib_absent.so"
expect_rc 1
echo "$ERR" | grep -q "no object 'libnothere.so.1' is loaded (for 'price_with_tax')" || die "bad message"

hp apply "$PID" "$EX/lib_fix.so"
expect_rc 0
echo "$OUT" | grep -q '^  price_with_tax -> price_with_tax_v2 at 0x7' || die "no function line"
hp list "$PID"
echo "$OUT" | grep -q "^  price_with_tax (.*/libshop.so.1) 0x" || die "list does not name libshop.so.1"
from=$(lines "$WORK/shop.out")
wait_line "$WORK/shop.out" '^tick' 5 $((from + 6))
n=0
while read -r _ tick _ net _ gross; do
	[ "$gross" -eq $((net * 120 / 100)) ] || die "tick $tick: gross $gross for net $net"
	n=$((n + 1))
done < <(tail -n +$((from + 2)) "$WORK/shop.out" | head -5)
[ "$n" -eq 5 ] || die "checked $n lines"
alive "$PID"
echo "PASS"

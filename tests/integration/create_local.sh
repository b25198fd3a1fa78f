#!/bin/bash
# create_local: a fix to visits(), which counts its calls in a static local 'n' (n.0 in the
# symbol table), adding 1000 to what it returns; the same diff gives discount() a new static
# local of its own (carried by the patch as a new variable). After apply the program prints
# visits = 1000 + its count, and the count goes on from where the running program was (the
# patch uses the program's own n.0, found by name and source file, not a fresh copy).
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/creator/lib.sh"
need
creator_start
creator_create local
expect_rc 0
replaced_exactly discount visits
out_has '^new-variable +calls\.[0-9]+ \(calc.c\)' '^ignored +where'
# before: visits == tick number (one call a tick); after: tick number + 1000, i.e. the program's
# own count went on (a fresh copy of n would restart at 1001)
v_minus_tick() { _after "$O" "$1" | grep '^tick' | sed 's/^tick \([0-9]*\) .*visits=\([0-9]*\).*/\2 \1/' |
	awk '{ print $1 - $2 }'; }
[ "$(v_minus_tick 0 | sort -u)" = 0 ] || die "visits is not the tick number before the patch"
from=$(lines "$O")
apply_checked "$PID" "$WORK/local.so"
for i in $(seq 500); do		# bounded: 10 s
	[ "$(v_minus_tick "$from" | grep -c '^1000$')" -ge 3 ] && break
	sleep 0.02
done
d=$(v_minus_tick "$from" | grep -v '^0$' | sort -u | tr '\n' ' ')
[ "$d" = "1000 " ] || die "after apply visits - tick is '$d', want 1000 (the program's own count + 1000)"
[ "$(v_minus_tick "$from" | grep -c '^1000$')" -ge 3 ] || die "the patch did not go live"
echo PASS

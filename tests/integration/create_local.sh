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
from=$(lines "$O")
last=$(_after "$O" 0 | grep '^tick' | tail -1 | sed 's/.*visits=\([0-9]*\).*/\1/')
apply_checked "$PID" "$WORK/local.so"
wait_stable "$O" "$from" 'visits=1[0-9]{3}$'
at=$(first_line "$O" 'visits=1[0-9]{3}$' "$from")
first=$(sed -n "${at}p" "$O" | sed 's/.*visits=\([0-9]*\).*/\1/')
[ "$first" -gt $((1000 + last)) ] || die "visits restarted: $first after $last (a copy of n, not the program's)"
expect_next "$O" "$at" 4 '^tick' '^tick'
_after "$O" $((at - 1)) | grep '^tick' | head -4 | sed 's/.*visits=\([0-9]*\).*/\1/' |
	awk 'NR > 1 && $1 != prev + 1 { print "visits went " prev " -> " $1; bad = 1 } { prev = $1 }
	     END { exit bad }' || die "visits does not count by one"
echo PASS

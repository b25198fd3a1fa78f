#!/bin/sh
# Unwinding through pac-ret frames. tests/aarch64/deep.c's threads always sleep in nap() called
# from outer() (two threads, staggered), everything built -mbranch-protection=standard: the
# return address into outer() is on the stack only, signed on a CPU with PAC (max). apply and
# revert --timeout 5000 must see each thread inside outer() (resp. the patch's outer_v2) through
# that signed address and run it out to its return address; otherwise revert would unload the
# patch under a sleeping thread that returns into it. Every call started after the command
# returned gives the new (300), then the old value (4); the patch is unmapped at the end.
. ./hplib.sh
PATCH=/tests/deep_patch.so

start_target deep ./deep
wait_line "$O" '^result 1 1 4$' || die "the second thread did not run"
pac=no
grep -q '^Features.* paca' /proc/cpuinfo && pac=yes
echo "pointer authentication: $pac"

hp apply -vv --timeout 5000 $PID $PATCH
from=$(lines "$O")
expect_rc 0
mask=$(echo "$ERR" | sed -n 's/.*code address mask \(0x[0-9a-f]*\|0\).*/\1/p' | head -n 1)
echo "code address mask: $mask"
[ "$pac" = no ] || [ "$mask" != 0 -a -n "$mask" ] || die "PAC present but no code address mask read"
echo "$ERR" | grep -E 'run thread' | head -n 4
ID=$(patch_id)
alive $PID
wait_calls "$from" 300

hp revert -vv --timeout 5000 $PID $ID
from=$(lines "$O")
expect_rc 0
# Both threads are always under outer_v2: revert cannot have found them all outside it.
echo "$ERR" | grep -qE 'run thread' || die "revert ran no thread out of outer_v2: $(echo "$ERR" | grep -i 'safe\|consisten' | head -n 3)"
alive $PID
wait_calls "$from" 4
not_mapped $PID $PATCH
echo PASS

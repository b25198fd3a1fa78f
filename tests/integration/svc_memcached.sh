#!/bin/bash
# Debian's memcached (-t 4 worker threads, loopback, no UDP) under a python3
# load client (4 connections, set/get of many keys, every value verified).
# Keys are written before the patch. The patch WRAPs libc's sendmsg (every
# response of every worker goes through it) and replaces getrusage, whose
# values memcached's "stats" reports: rusage_user 4242 is the marker and
# rusage_system the count of wrapped sendmsg calls. All keys read back intact
# after apply and after revert; the client sees no error.
. "$(dirname "$0")/../lib.sh"

. "$(dirname "$0")/../svc_memcached_lib.sh"

[ -x "$HOTPATCH" ] || die "no $HOTPATCH"
PATCH=$P/svc_memcached.so
[ -f "$PATCH" ] || die "no $PATCH (make tests-build)"

mc_start
client_start 4000
u0=$(stat rusage_user)
case $u0 in 4242.*) die "rusage_user is already the marker" ;; esac

note "apply under load"
hp apply --json "$MC" "$PATCH"
expect_rc 0
echo "$OUT" | grep -q '"ok":true' || die "apply --json not ok"
pause=$(echo "$OUT" | sed -n 's/.*"pause_us":\([0-9.]*\).*/\1/p')
threads=$(echo "$OUT" | sed -n 's/.*"threads":\([0-9]*\).*/\1/p')
[ "$threads" -ge 5 ] || die "apply stopped $threads threads, memcached has at least 5"
alive "$MC"
no_wx "$MC"
u1=$(stat rusage_user)
[ "$u1" = "4242.000000" ] || die "getrusage not replaced: rusage_user $u1"
s1=$(stat rusage_system)
n=$(lines "$WORK/client.out")
wait_line "$WORK/client.out" '^ops ' 10 "$n" || die "no progress line"
ops_a=$(last_ops)
end=$((SECONDS + 20))
while [ "$(last_ops)" -lt $((ops_a + 3000)) ] && [ $SECONDS -le $end ]; do sleep 0.05; done
ops_b=$(last_ops)
s2=$(stat rusage_system)
s1=${s1%%.*} s2=${s2%%.*}
note "wrapped sendmsg calls: $s1 then $s2; client round trips meanwhile $((ops_b - ops_a))"
[ "$ops_b" -ge $((ops_a + 3000)) ] || die "the load stalled while patched ($ops_a -> $ops_b)"
# every round trip between the two stats was answered through the wrapper (one sendmsg at least)
[ $((s2 - s1)) -ge $((ops_b - ops_a - 8)) ] || die "sendmsg wrapper missed responses: $((s2 - s1)) < $((ops_b - ops_a))"
verify after-apply
[ "$(stat rusage_user)" = "4242.000000" ] || die "patch not in place any more"

note "revert under load"
hp revert "$MC" --all
expect_rc 0
alive "$MC"
u2=$(stat rusage_user)
case $u2 in 4242.*|"") die "getrusage still replaced after revert: $u2" ;; esac
wait_ops 3000
verify after-revert

client_stop
mc_healthy
hp list "$MC"
expect_rc 0
echo "$OUT" | grep -q 'no patches' || die "patch still listed"
echo "PASS: $CLIENT_OPS client round trips, $((s2 - s1)) responses counted while patched, 0 errors, pause_us=$pause"

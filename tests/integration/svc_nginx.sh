#!/bin/bash
# Debian's nginx (master + 2 workers, loopback only, everything in the test's
# temp dir) under wrk load: apply a WRAP of ngx_http_time in every process of
# the nginx binary (--all-of), see Last-Modified change in curl and in the
# access log of both workers, revert, see the original again; three rounds
# while wrk runs. wrk must report no socket error and no non-2xx response;
# every nginx process stays the same pid, alive and untraced; no worker died.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../svc_nginx_lib.sh"

[ -x "$HOTPATCH" ] || die "no $HOTPATCH"
PATCH=$P/svc_nginx.so
[ -f "$PATCH" ] || die "no $PATCH (make tests-build)"
ROUNDS=3

nginx_start

ORIG='Mon, 01 Jan 2001 00:00:00 GMT'
NEW='Tue, 02 Jan 2001 00:00:00 GMT'
last_modified() { curl -sf -D - -o /dev/null "$URL" | tr -d '\r' | sed -n 's/^Last-Modified: //p'; }
[ "$(last_modified)" = "$ORIG" ] || die "unexpected Last-Modified before the patch: $(last_modified)"

wrk_start 40
LOG=$D/logs/access.log
end=$((SECONDS + 10))
while [ "$(lines "$LOG" 2>/dev/null || echo 0)" -lt 2000 ] && [ $SECONDS -le $end ]; do sleep 0.02; done
[ "$(lines "$LOG")" -ge 2000 ] || die "wrk load did not start"

# Every worker has served a response with this Last-Modified after line $2 of the access log.
served_by_all() {
	local want=$1 from=$2 w
	for w in $WORKERS; do
		tail -n +$((from + 1)) "$LOG" | grep -qF "200 $w \"$want\"" || return 1
	done
}
wait_served_by_all() {
	local end=$((SECONDS + 10))
	while [ $SECONDS -le $end ]; do
		served_by_all "$1" "$2" && return 0
		sleep 0.02
	done
	return 1
}

max_pause=0 during=0
for round in $(seq 1 $ROUNDS); do
	note "round $round: apply under load"
	n0=$(lines "$LOG")
	hp apply --json --all-of "$NGINX" "$PATCH"
	expect_rc 0
	echo "$OUT" | grep -q '"succeeded":3,"failed":0' || die "not applied to all 3 nginx processes"
	for pu in $(echo "$OUT" | grep -o '"pause_us":[0-9.]*' | cut -d: -f2); do
		max_pause=$(awk -v a="$max_pause" -v b="$pu" 'BEGIN { print (b > a) ? b : a }')
	done
	[ "$(last_modified)" = "$NEW" ] || die "curl: Last-Modified not changed by the patch: $(last_modified)"
	wait_served_by_all "$NEW" "$n0" || die "not every worker serves the patched date"
	hp list --all-of "$NGINX"
	expect_rc 0
	[ "$(echo "$OUT" | grep -cF "ngx_http_time ($NGINX) ")" -eq 3 ] ||
		die "list does not show the patch in all 3 processes"

	note "round $round: revert under load"
	hp revert --all-of "$NGINX" --all
	expect_rc 0
	[ "$(echo "$OUT" | grep -c ': ok: reverted patch')" -eq 3 ] || die "not reverted in all 3 processes"
	n1=$(lines "$LOG")
	during=$((during + n1 - n0))
	[ "$(last_modified)" = "$ORIG" ] || die "curl: Last-Modified not restored: $(last_modified)"
	wait_served_by_all "$ORIG" "$n1" || die "not every worker serves the original date again"
	for p in $ALL; do alive "$p"; no_wx "$p"; done
done

wrk_stop
bad=$(awk '$1 != 200' "$LOG" | wc -l)
[ "$bad" -eq 0 ] || { awk '$1 != 200' "$LOG" | sort | uniq -c | head >&2; die "$bad non-200 responses in the access log"; }

note "the same nginx processes, alive, untraced; no worker died"
nginx_healthy
hp list --all-of "$NGINX"
expect_rc 0
[ "$(echo "$OUT" | grep -c 'no patches')" -eq 3 ] || die "patches left after revert"
[ "$(last_modified)" = "$ORIG" ] || die "final Last-Modified: $(last_modified)"

note "reload while patched: new workers fork from the patched master and inherit patch and state"
hp apply --all-of "$NGINX" "$PATCH"
expect_rc 0
kill -HUP "$MASTER"
end=$((SECONDS + 15))
NEWW=""
while [ $SECONDS -le $end ]; do
	NEWW=$(pgrep -P "$MASTER" | sort -n | tr '\n' ' ')
	# the old workers are gone and two new ones run
	if [ "$(echo $NEWW | wc -w)" -eq 2 ] && ! echo " $NEWW " | grep -qE " ($(echo $WORKERS | tr ' ' '|')) "; then
		break
	fi
	sleep 0.05
done
for w in $NEWW; do PIDS+=("$w"); done
echo " $NEWW " | grep -qE " ($(echo $WORKERS | tr ' ' '|')) " && die "old workers still there after reload: $NEWW"
[ "$(echo $NEWW | wc -w)" -eq 2 ] || die "reload did not start 2 new workers: $NEWW"
for i in 1 2 3 4 5 6; do
	[ "$(last_modified)" = "$NEW" ] || die "a worker forked from the patched master serves $(last_modified)"
done
hp list --all-of "$NGINX"
expect_rc 0
[ "$(echo "$OUT" | grep -cF "ngx_http_time ($NGINX) ")" -eq 3 ] ||
	die "the new workers do not list the patch they inherited"
hp revert --all-of "$NGINX" --all
expect_rc 0
[ "$(echo "$OUT" | grep -c ': ok: reverted patch')" -eq 3 ] || die "not reverted in master and new workers"
for i in 1 2 3 4 5 6; do
	[ "$(last_modified)" = "$ORIG" ] || die "after revert a new worker serves $(last_modified)"
done
for p in $MASTER $NEWW; do alive "$p"; no_wx "$p"; done
grep -E 'exited on signal|\[alert\]|\[emerg\]|\[crit\]' "$D/logs/error.log" && die "nginx logged a crash or an alert"
echo "PASS: wrk $WRK_TOTAL requests, $during served during $ROUNDS patch windows, 0 errors, max pause_us=$max_pause"

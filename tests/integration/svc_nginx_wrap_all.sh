#!/bin/bash
# Every exported function of Debian's nginx wrapped at once (~560 WRAPs, each
# a pass-through to its original via a relocated trampoline), in the master
# and both workers, under wrk load; then reverted. A big real binary: PIE (the
# patch is placed next to it: direct e9 jumps), loops near function entries,
# IPA-RA callers (preserving islands).
# Regressions:
#  - a WRAP displaces 5 bytes (e9, direct or to an island), not 14 (ff25): ngx_writev
#    loops back to entry+10 and was unwrappable;
#  - a refused WRAP (ngx_strcasecmp loops back to entry+2) reports its real
#    reason once, not a garbled or generic message, and leaves nothing mapped.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../svc_nginx_lib.sh"

[ -x "$HOTPATCH" ] || die "no $HOTPATCH"
command -v cc >/dev/null || die "no cc"
nginx_start

# The process-lifetime frames (always on some stack: never left, so refused as busy).
LIFETIME='_start|main|ngx_master_process_cycle|ngx_single_process_cycle|ngx_worker_process_cycle|ngx_spawn_process|ngx_start_worker_processes|ngx_process_events_and_timers'
# gen_wraps LIST OUT.so: a WRAP per function of LIST; each wrapper jumps to its original.
gen_wraps() {
	local i=0 f
	{
		echo '#include <hotpatch.h>'
		while read -r f; do
			echo "void w$i(void) __attribute__((visibility(\"hidden\")));"
			echo "HOTPATCH_WRAP($f, w$i, o$i);"
			echo "__asm__(\".text\\n.globl w$i\\n.hidden w$i\\n.type w$i,@function\\nw$i: jmp *o$i(%rip)\\n.size w$i,.-w$i\\n\");"
			i=$((i + 1))
		done <"$1"
	} >"$WORK/gen.c"
	cc -shared -fPIC -O1 -Iinclude -I"$ROOT/include" -o "$2" "$WORK/gen.c" || die "cannot build $2"
	chmod 644 "$2"
}

note "refused WRAP: the real reason, once, and nothing left behind"
echo ngx_strcasecmp >"$WORK/one.txt"
gen_wraps "$WORK/one.txt" "$WORK/strcasecmp.so"
hp apply --all-of "$NGINX" "$WORK/strcasecmp.so"
expect_rc 1
[ "$(echo "$ERR" | grep -c "^hotpatch: ")" -eq 1 ] || die "expected one summary line"
for p in $ALL; do
	printf "%s\n%s\n" "$OUT" "$ERR" | grep -qE "^pid $p: error: cannot wrap 'ngx_strcasecmp': cannot relocate 0x[0-9a-f]+: '[a-z]+' at 0x[0-9a-f]+ branches into the displaced bytes at 0x[0-9a-f]+\$" ||
		die "pid $p: not the real reason of the refusal"
	grep -qF "$WORK/strcasecmp.so" /proc/$p/maps && die "pid $p: refused patch left mapped"
done
printf "%s\n%s\n" "$OUT" "$ERR" | grep -q 'cannot wrap.*cannot wrap' && die "garbled message"

note "wrap everything under load"
nm -D --defined-only "$NGINX" | awk '$2 == "T" { sub(/@.*/, "", $3); print $3 }' |
	grep -vxE "$LIFETIME" | sort -u >"$WORK/funcs.txt"
total=$(wc -l <"$WORK/funcs.txt")
[ "$total" -ge 500 ] || die "only $total exported functions in nginx?"
grep -qx ngx_writev "$WORK/funcs.txt" || die "ngx_writev not exported"
wrk_start 60
refused=""
for attempt in 1 2 3 4 5 6; do
	gen_wraps "$WORK/funcs.txt" "$WORK/all.so"
	hp apply --json --timeout 3000 --all-of "$NGINX" "$WORK/all.so"
	[ "$RC" -eq 0 ] && break
	# only a function whose own code branches into its displaced bytes may be refused
	fn=$(echo "$ERR" | sed -n "s/^hotpatch: pid [0-9]*: cannot wrap '\([a-z0-9_]*\)': cannot relocate .* branches into the displaced bytes .*/\1/p" | head -1)
	[ -n "$fn" ] || die "apply failed for another reason"
	[ "$fn" = ngx_writev ] && die "ngx_writev refused: the WRAP took the 14-byte jump"
	refused="$refused $fn"
	grep -vx "$fn" "$WORK/funcs.txt" >"$WORK/f.tmp" && mv "$WORK/f.tmp" "$WORK/funcs.txt"
	for p in $ALL; do grep -qF "$WORK/all.so" /proc/$p/maps && die "pid $p: refused patch left mapped"; done
done
expect_rc 0
n=$(wc -l <"$WORK/funcs.txt")
echo "$OUT" | grep -q '"succeeded":3,"failed":0' || die "not applied to all 3 nginx processes"
note "wrapped $n of $total functions in 3 processes; refused:$refused"
pauses=$(echo "$OUT" | grep -o '"pause_us":[0-9.]*' | cut -d: -f2 | tr '\n' ' ')
echo "$OUT" | grep -qE '"name":"ngx_writev"[^}]*"jump":"e9' ||
	die "ngx_writev not wrapped through a 5-byte e9 jump"
body=$(curl -sf "$URL") || die "curl failed while everything is wrapped"
[ "$body" = "hello from nginx" ] || die "unexpected body: $body"
hp list --all-of "$NGINX"
expect_rc 0
for p in $ALL; do
	[ "$(echo "$OUT" | sed -n "/^pid $p:/,/^pid [0-9]*: ok: [0-9]/p" | grep -c '^  ngx_')" -ge "$n" ] ||
		die "pid $p does not list $n functions"
done
nginx_healthy
hp revert --all-of "$NGINX" --all
expect_rc 0
[ "$(echo "$OUT" | grep -c ': ok: reverted patch')" -eq 3 ] || die "not reverted everywhere"
wrk_stop
nginx_healthy
[ "$(curl -sf "$URL")" = "hello from nginx" ] || die "curl failed after revert"
echo "PASS: $n functions wrapped in 3 processes under load, wrk $WRK_TOTAL requests, 0 errors, pause_us: $pauses"

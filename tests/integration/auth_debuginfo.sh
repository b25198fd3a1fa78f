#!/bin/bash
# Patch authoring (issue 6): a static function of a STRIPPED executable is patched, its
# symbols coming from separate debuginfo: (a) found through .gnu_debuglink beside the
# binary, (b) found only by GNU build-id under HOTPATCH_DEBUG_ROOT. Without any debuginfo
# the error says the executable is stripped and where to put the debuginfo.
# The patch also imports the static variable 'calls' (only debuginfo names it).
. "$(dirname "$0")/../lib.sh"

DL=$T/auth_static_dl BARE=$T/auth_static_bare DBG=$T/auth_static.debug
for f in "$DL" "$BARE" "$DBG" "$P/auth_static.so"; do [ -e "$f" ] || skip "missing $f (make tests-build)"; done

note "the binaries are really stripped: no .symtab, 'rate' absent from every table"
for b in "$DL" "$BARE"; do
	readelf -SW "$b" | grep -q '\.symtab' && die "$b still has .symtab"
	nm -D "$b" 2>/dev/null | grep -qw rate && die "$b exports rate"
done
readelf -SW "$DL" | grep -q '\.gnu_debuglink' || die "$DL has no .gnu_debuglink"
readelf -SW "$BARE" | grep -q '\.gnu_debuglink' && die "$BARE has a .gnu_debuglink"
nm "$DBG" | grep -qE ' t rate$' || die "$DBG does not define the static 'rate'"

# check_patched FILE FROM: the lines after FROM+1 (FROM+1 may straddle the jump write)
# show rate_v2 (x + 1000, x = tick % 5) and the imported static counter still counting calls.
check_patched() {
	local file=$1 from=$2 n=0 tick r c
	wait_line "$file" '^tick' 5 $((from + 6)) || die "target stopped printing"
	while read -r _ tick _ r _ c; do
		[ "$r" -eq $((1000 + tick % 5)) ] || die "tick $tick: rate $r, want $((1000 + tick % 5))"
		[ "$c" -eq $((tick + 1)) ] || die "tick $tick: calls $c, want $((tick + 1)) (import of 'calls')"
		n=$((n + 1))
	done < <(tail -n +$((from + 2)) "$file" | grep '^tick' | head -5)
	[ "$n" -eq 5 ] || die "only $n checked lines"
}

note "(a) .gnu_debuglink: auth_static.debug beside the stripped binary"
start dl env HOTPATCH_DEBUG_ROOT="$WORK/none" "$DL"
A=$PID
wait_line "$WORK/dl.out" '^tick 3 rate 4 calls 4$'
HOTPATCH_DEBUG_ROOT="$WORK/none" hp apply "$A" "$P/auth_static.so"
expect_rc 0
echo "$OUT" | grep -q '^  rate -> rate_v2 at 0x' || die "no 'rate -> rate_v2' line"
check_patched "$WORK/dl.out" "$(lines "$WORK/dl.out")"
alive "$A"

note "(b) build-id only: nothing found without debuginfo, and the error says why"
start bare "$BARE"
B=$PID
wait_line "$WORK/bare.out" '^tick 1 '
mkdir -p "$WORK/none"
HOTPATCH_DEBUG_ROOT="$WORK/none" hp check "$B" "$P/auth_static.so"
expect_rc 1
echo "$ERR" | grep -q "'calls' not found in .*auth_static_bare" || echo "$ERR" | grep -q "'rate' not found" ||
	die "error does not name the missing symbol"
echo "$ERR" | grep -q "stripped" || die "error does not say the executable is stripped"
echo "$ERR" | grep -q "HOTPATCH_DEBUG_ROOT" || die "error does not say where debuginfo is looked up"

BID=$(readelf -n "$BARE" | awk '/Build ID/ { print $3 }')
[ ${#BID} -ge 8 ] || die "no build-id in $BARE"
mkdir -p "$WORK/dbg/.build-id/${BID:0:2}"
cp "$DBG" "$WORK/dbg/.build-id/${BID:0:2}/${BID:2}.debug"
HOTPATCH_DEBUG_ROOT="$WORK/dbg" hp apply "$B" "$P/auth_static.so"
expect_rc 0
echo "$OUT" | grep -q '^  rate -> rate_v2 at 0x' || die "no 'rate -> rate_v2' line"
check_patched "$WORK/bare.out" "$(lines "$WORK/bare.out")"
alive "$B"
no_wx "$B"
echo "PASS"

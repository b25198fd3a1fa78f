#!/bin/bash
# apply_placement: the patch object is mapped within direct-jump reach of the functions it
# replaces (ld.so's mmap of it gets an address hint), so each entry gets a 5-byte `e9` jump
# straight into the patch. Checked in the target itself: the bytes at each entry decode to a
# jump landing inside the patch's mapping, and the target's own output switches. The same for a
# non-PIE executable (the patch goes below 0x400000), and never in the room brk grows into.
# Control: with HOTPATCH_NO_PLACEMENT=1 ld.so's choice is kept, the patch lands gigabytes away
# among the libraries and the entries get the 14-byte absolute jump; the target works as well.
. "$(dirname "$0")/../lib.sh"
PATCH=$P/pie_v2.so
need "$T/pie" "$T/nonpie" "$PATCH"

OLD='func\(3\)=4 sfunc\(5\)=11$'
NEW='func\(3\)=300 sfunc\(5\)=5000$'
GiB2=$((1 << 31))

# patch_range PID: "LO HI" (decimal) spanned by the patch's mappings.
patch_range() {
	awk -v f="$(realpath "$PATCH")" '$6 == f { split($1, a, "-"); print a[1], a[2] }' \
		/proc/"$1"/maps | { lo= hi=
		while read -r s e; do
			s=$((16#$s)) e=$((16#$e))
			[ -n "$lo" ] && [ "$lo" -le "$s" ] || lo=$s
			[ -n "$hi" ] && [ "$hi" -ge "$e" ] || hi=$e
		done
		[ -n "$lo" ] || exit 1
		echo "$lo $hi"; } || die "$PATCH not mapped in pid $1"
}

# entry_jump PID BIN SYM: "KIND DEST" for the jump at SYM's entry (after an endbr64):
# e9 with its destination, ff25 with the absolute address that follows, else "other 0".
entry_jump() {
	local a bytes
	a=$(sym_addr "$1" "$2" "$3")
	bytes=$(read_mem "$1" "$a" 18)
	if [ "${bytes:0:8}" = f30f1efa ]; then
		a=$((a + 4)) bytes=${bytes:8}
	fi
	case $bytes in
	e9*)
		local r=$((16#${bytes:8:2}${bytes:6:2}${bytes:4:2}${bytes:2:2}))
		[ "$r" -lt $((1 << 31)) ] || r=$((r - (1 << 32)))
		echo "e9 $((a + 5 + r))" ;;
	ff2500000000*)
		local q=${bytes:12:16} le= i
		for i in 14 12 10 8 6 4 2 0; do le=$le${q:$i:2}; done
		echo "ff25 $((16#$le))" ;;
	*) echo "other 0" ;;
	esac
}

# placed PID BIN: each replaced entry is an e9 into the patch, the patch within 2 GiB of BIN.
placed() {
	local range lo hi kind dest f a
	range=$(patch_range "$1") lo=${range% *} hi=${range#* }
	for f in func sfunc; do
		read -r kind dest <<<"$(entry_jump "$1" "$2" "$f")"
		[ "$kind" = e9 ] || die "$f of $(basename "$2"): expected an e9 jump at the entry, found $kind"
		[ "$dest" -ge "$lo" ] && [ "$dest" -lt "$hi" ] ||
			die "$f: the e9 jump lands at $(printf 0x%x "$dest"), outside the patch ($(printf '0x%x-0x%x' "$lo" "$hi"))"
		a=$(sym_addr "$1" "$2" "$f")
		[ $(( (a > lo ? a - lo : hi - a) )) -lt $GiB2 ] || die "$f: patch more than 2 GiB away"
	done
	printf '%s\n' "$OUT" | grep -q '(e9 rel32)' || die "apply output does not report e9 jumps"
	# never where brk grows: start_brk (stat field 47) up to 1 GiB above it
	local brk
	brk=$(sed 's/.*) //' /proc/"$1"/stat | awk '{ print $45 }')
	if [ "$hi" -gt "$brk" ] && [ "$lo" -lt $((brk + (1 << 30))) ]; then
		die "patch mapped at $(printf 0x%x "$lo") in the brk room (start_brk $(printf 0x%x "$brk"))"
	fi
}

for bin in pie nonpie; do
	note "$bin: patch placed next to the executable"
	start_target "$bin" "$T/$bin" 5
	expect_next "$O" 0 2 "$OLD" '^tick'
	from=$(lines "$O")
	hp apply "$PID" "$PATCH"
	expect_rc 0
	placed "$PID" "$T/$bin"
	wait_stable "$O" "$from" "$NEW"
	alive "$PID"
	no_wx "$PID"
	from=$(lines "$O")
	hp revert "$PID" --all
	expect_rc 0
	wait_stable "$O" "$from" "$OLD"
	not_mapped "$PID" "$PATCH"
	alive "$PID"
	kill "$PID"
done

note "control: HOTPATCH_NO_PLACEMENT=1 keeps ld.so's choice (far, absolute jumps)"
start_target far "$T/pie" 5
from=$(lines "$O")
HOTPATCH_NO_PLACEMENT=1 hp apply "$PID" "$PATCH"
expect_rc 0
range=$(patch_range "$PID") lo=${range% *}
a=$(sym_addr "$PID" "$T/pie" func)
[ $((lo > a ? lo - a : a - lo)) -gt $GiB2 ] || die "without placement the patch is still near the executable"
read -r kind dest <<<"$(entry_jump "$PID" "$T/pie" func)"
[ "$kind" != e9 ] || [ "$dest" -lt "$lo" ] || die "without placement, func still jumps straight into the patch"
wait_stable "$O" "$from" "$NEW"
alive "$PID"
no_wx "$PID"
echo PASS

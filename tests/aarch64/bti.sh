#!/bin/sh
# PACIASP entries in a BTI-guarded object, with the hotpatch command: libbti.so is BTI-marked, so
# on a CPU with BTI (max) the loader maps its code PROT_BTI (smaps: VmFlags "bt"), and btitgt
# calls bti_pac (entry PACIASP) and bti_leaf (entry BTI c) only through pointers (BLR). apply must
# write "BTI c" + jump over PACIASP (and keep BTI c + jump), the target must go on calling
# without SIGILL and print the new values; revert must bring the original words back (PACIASP
# first), and the old values. On a CPU without BTI the same runs unguarded.
. ./hplib.sh
PATCH=/tests/bti_patch.so
PACIASP=d503233f BTIC=d503245f

# word PID ADDR [N=2]: N instruction words at ADDR in PID's memory, hex.
words() {
	dd if=/proc/$1/mem bs=4 skip=$(($2 / 4)) count=${3:-2} 2>/dev/null | od -A n -t x4 | tr -s ' ' | sed 's/^ //'
}
start_target bti ./btitgt
expect_next "$O" 0 2 'pac\(3\)=4 leaf\(3\)=7$' '^tick'
lib=$(awk '$6 ~ /libbti\.so$/ && $2 ~ /x/ { print $1; exit }' /proc/$PID/maps)
[ -n "$lib" ] || die "libbti.so has no code mapping"
vmflags=$(awk -v r="$lib" '$1 == r { f = 1 } f && /^VmFlags:/ { print; exit }' /proc/$PID/smaps)
echo "libbti.so code $lib: $vmflags"
if grep -qw bti /proc/cpuinfo; then
	echo "$vmflags" | grep -qw bt || die "the CPU has BTI but libbti.so's code is not mapped PROT_BTI"
	echo "BTI-guarded: an indirect call onto a non-pad word would be SIGILL"
else
	echo "no BTI on this CPU: the same runs unguarded"
fi

hp apply $PID $PATCH
expect_rc 0
# The jump named in aarch64's terms (hotpatch_jump_desc): BTI c + B, or + LDR/BR.
out_has 'bti_pac -> .*\(bti \+ (b imm26|ldr/br x16 abs64)\)'
from=$(lines "$O")
ID=$(patch_id)
alive $PID
hp list $PID
pac=$(echo "$OUT" | sed -n 's/^  bti_pac (.*) \(0x[0-9a-f]*\) -> .*/\1/p')
leaf=$(echo "$OUT" | sed -n 's/^  bti_leaf (.*) \(0x[0-9a-f]*\) -> .*/\1/p')
[ -n "$pac" ] && [ -n "$leaf" ] || die "list does not show both functions"
set -- $(words $PID $pac)
echo "bti_pac entry after apply: $*"
[ "$1" = $BTIC ] || die "bti_pac's entry is $1, not BTI c"
case $2 in 14*|15*|16*|17*|58000050) ;; *) die "no jump after BTI c: $2";; esac
set -- $(words $PID $leaf)
echo "bti_leaf entry after apply: $*"
[ "$1" = $BTIC ] || die "bti_leaf's BTI c was not kept: $1"
wait_stable "$O" "$from" 'pac\(3\)=300 leaf\(3\)=3000$'
alive $PID

hp revert $PID $ID
expect_rc 0
from=$(lines "$O")
set -- $(words $PID $pac)
echo "bti_pac entry after revert: $*"
[ "$1" = $PACIASP ] || die "bti_pac's PACIASP did not come back: $1"
wait_stable "$O" "$from" 'pac\(3\)=4 leaf\(3\)=7$'
alive $PID
all_lines "$O" '^tick' 'pac\(3\)=(4|300) leaf\(3\)=(7|3000)$'
echo "the target saw: $(grep '^tick' "$O" | sed 's/^tick [0-9]* //' | uniq | tr '\n' ';')"
echo PASS

#!/bin/bash
# create_lib: PROG is a shared library. tests/creator/lib builds libtl.so.1 the way zlib builds
# libz.so (objects compiled into objs/, renamed to .lo, the .lo files linked: the wrapper records
# link inputs by what they are and pairs a renamed object with its compile) and tluser, which
# loads it. The fix (libfix.patch) changes tl_value, which counts its calls in the library's own
# static: the patch replaces tl_value in libtl.so.1, reaches 'calls' through a PC32 fixup naming
# the library, and is pinned to the library's build-id: tluser's value goes 10 -> 15 and its
# count keeps growing from where it was; a tluser loading another build of libtl.so.1 is refused.
# tl_stamp() returns a string that every build generates anew (stamp.h, like redis's release.h):
# it differs between the two builds although the diff touches neither stamp.c nor a header, so
# it is ignored (the build made that difference, not the fix), not replaced.
# Then --workdir: a second create reuses the original build (a note says so, same patch); after
# a source file changes it builds again.
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/creator/lib.sh"
need
command -v make >/dev/null || skip "make not installed"
SRC=$WORK/lsrc
cp -r "$CR/lib" "$SRC"
make -s -C "$SRC" >"$WORK/make.out" 2>&1 || { cat "$WORK/make.out"; die "cannot build the test library"; }
LD_LIBRARY_PATH=$SRC start_target tl "$SRC/tluser"
TL=$PID

hp create --source "$SRC" --diff "$CR/libfix.patch" --binary "$SRC/libtl.so.1.0" -o "$WORK/libfix.so" \
	--build 'make CC="$HOTPATCH_CC" libtl.so.1.0' --workdir "$WORK/w"
expect_rc 0
replaced_exactly tl_value
out_has '^ignored +tl_stamp \(stamp.c\)'
hp info "$WORK/libfix.so"
expect_rc 0
out_has 'replaces tl_value in libtl.so.1' 'calls'
from=$(lines "$O")
apply_checked "$TL" "$WORK/libfix.so"
wait_stable "$O" "$from" 'value=15'
c1=$(tail -1 "$O" | sed 's/.*calls=//')
[ "$c1" -gt 3 ] || die "the library's call count restarted: $(tail -1 "$O")"

note "another build of libtl.so.1 (other flags, other build-id): refused"
cp -r "$CR/lib" "$WORK/l2"
make -s -C "$WORK/l2" CFLAGS="-O1 -g" >"$WORK/make2.out" 2>&1 || die "cannot build the second library"
LD_LIBRARY_PATH=$WORK/l2 start_target tl2 "$WORK/l2/tluser"
hp apply "$PID" "$WORK/libfix.so"
[ "$RC" -ne 0 ] || die "applied to another build of libtl.so.1"
err_line 'build-id mismatch' 'libtl.so.1'
alive "$PID"

note "--workdir: the original build is reused while nothing changed"
hp create --source "$SRC" --diff "$CR/libfix.patch" --binary "$SRC/libtl.so.1.0" -o "$WORK/again.so" \
	--build 'make CC="$HOTPATCH_CC" libtl.so.1.0' --workdir "$WORK/w"
expect_rc 0
out_has 'original build of .* was reused'
replaced_exactly tl_value
cmp -s "$WORK/libfix.so" "$WORK/again.so" || die "the reused build made another patch"
touch "$SRC/tl.h"
hp create --source "$SRC" --diff "$CR/libfix.patch" --binary "$SRC/libtl.so.1.0" -o "$WORK/third.so" \
	--build 'make CC="$HOTPATCH_CC" libtl.so.1.0' --workdir "$WORK/w"
expect_rc 0
printf '%s\n' "$OUT" | grep -q 'was reused' && die "reused the original build after a source file changed"
echo PASS

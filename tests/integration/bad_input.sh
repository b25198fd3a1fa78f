#!/bin/bash
# bad_input: every bad input is refused with the contract's exit code and exactly ONE stderr line
# "hotpatch: ..." naming the thing and the reason, and the target is left untouched (alive, not
# traced, no W+X mapping, output unchanged, the patch not left mapped):
# usage errors (2); no such pid; a kernel thread; a missing patch; a text file; a 32-bit ELF;
# a .so without descriptors (suggests `load`); an unknown symbol; an ambiguous static symbol
# (candidates listed; HOTPATCH_REPLACE_FILE then picks the right one); a build-id pin mismatch
# (both ids named); dlopen failing in the target (dlerror text); a target already traced (4,
# tracer pid named); a group/world-writable patch (4); a patch applied twice ('already applied').
. "$(dirname "$0")/../lib.sh"
BIN=$T/pie
need "$BIN" "$T/ambig" "$T/tracer" "$P/pie_v2.so" "$P/nodesc.so" "$P/nosym.so" "$P/ambig_dup.so" \
	"$P/ambig_file.so" "$P/buildid_bad.so" "$ROOT/tests/patches/extra/dlfail.c"

ORIG='func\(3\)=4 sfunc\(5\)=11$'
start_target pie "$BIN"
expect_next "$O" 0 2 "$ORIG" '^tick'

# untouched [PATCH]: the target runs on exactly as before; PATCH (if given) is not mapped.
untouched() {
	alive "$PID"
	no_wx "$PID"
	unchanged "$O" "$ORIG" 2
	[ $# -eq 0 ] || not_mapped "$PID" "$1"
}

note "usage errors"
hp apply
expect_rc 2
[ -n "$ERR" ] || die "no message for a usage error"
hp apply notapid "$P/pie_v2.so"
expect_rc 2
hp apply --no-such-option "$PID" "$P/pie_v2.so"
expect_rc 2
hp frobnicate "$PID"
expect_rc 2
untouched "$P/pie_v2.so"

note "no such process"
nopid=999999
while [ -e /proc/$nopid ]; do nopid=$((nopid + 1)); done
hp apply "$nopid" "$P/pie_v2.so"
expect_rc 1
err_line "pid $nopid\b" 'no such process'

note "kernel thread"
if [ "$(cat /proc/2/comm 2>/dev/null)" = kthreadd ]; then
	hp apply 2 "$P/pie_v2.so"
	expect_rc 1
	err_line 'pid 2\b' 'kernel thread'
else
	note "no kthreadd at pid 2: case skipped"
fi

note "patch file missing"
hp apply "$PID" "$WORK/missing.so"
expect_rc 1
err_line 'missing\.so' 'no such file|not found|does not exist'
untouched

note "not an ELF file"
echo 'this is not an ELF file' >"$WORK/notelf.so"
hp apply "$PID" "$WORK/notelf.so"
expect_rc 1
err_line 'notelf\.so' 'not an ELF'
untouched "$WORK/notelf.so"

note "wrong architecture"
cat >"$WORK/arch32.c" <<'SRC'
#include <hotpatch.h>
static int func_v2(int x) { return x * 100; }
HOTPATCH_REPLACE(func, func_v2);
SRC
# -ffreestanding: GCC's own stdint.h, so no 32-bit libc headers are needed; ld needs no crt files
if cc -m32 -ffreestanding -fPIC -O2 -I"$ROOT/include" -c "$WORK/arch32.c" -o "$WORK/arch32.o" 2>/dev/null &&
	ld -m elf_i386 -shared -o "$WORK/arch32.so" "$WORK/arch32.o" 2>/dev/null; then
	LC_ALL=C readelf -h "$WORK/arch32.so" | grep -q 'ELF32' || die "arch32.so is not 32-bit"
	hp apply "$PID" "$WORK/arch32.so"
	expect_rc 1
	err_line 'arch32\.so' 'arch|class|32-bit'
	untouched "$WORK/arch32.so"
else
	note "cannot build a 32-bit ELF here: case skipped"
fi

note "no descriptors"
hp apply "$PID" "$P/nodesc.so"
expect_rc 1
err_line 'nodesc\.so' 'descriptor' '\bload\b'
untouched "$P/nodesc.so"

note "symbol not found"
hp apply "$PID" "$P/nosym.so"
expect_rc 1
err_line 'no_such_function_xyz' 'not found'
untouched "$P/nosym.so"

note "build-id mismatch"
bid=$(LC_ALL=C readelf -n "$BIN" | awk '/Build ID:/ { print $3; exit }')
[ -n "$bid" ] || die "$BIN has no GNU build-id"
hp apply "$PID" "$P/buildid_bad.so"
expect_rc 1
err_line 'build-id' '0011223344556677889900112233445566778899' "$bid"
untouched "$P/buildid_bad.so"

note "dlopen fails in the target"
echo 'int gone_fn(int x) { return x; }' >"$WORK/gone.c"
cc -shared -fPIC -o "$WORK/libhpgone.so" "$WORK/gone.c"
cc -shared -fPIC -O2 -I"$ROOT/include" -o "$WORK/dlfail.so" "$ROOT/tests/patches/extra/dlfail.c" \
	-L"$WORK" -lhpgone
chmod 644 "$WORK/dlfail.so"
rm -f "$WORK/libhpgone.so"
hp apply "$PID" "$WORK/dlfail.so"
expect_rc 1
err_line 'dlopen' 'libhpgone\.so: cannot open shared object file'
untouched "$WORK/dlfail.so"

note "unsafe patch file permissions"
cp "$P/pie_v2.so" "$WORK/writable.so"
chmod 666 "$WORK/writable.so"
hp apply "$PID" "$WORK/writable.so"
expect_rc 4
err_line 'writable\.so' 'writ|perm'
untouched "$WORK/writable.so"

note "target already traced"
TPID=$PID
start tracer "$T/tracer" "$TPID" --no-stdin
TRACER=$PID
PID=$TPID
wait_line "$WORK/tracer.out" "^seized $PID by $TRACER" 5 || die "tracer did not attach"
hp apply "$PID" "$P/pie_v2.so"
expect_rc 4
err_line "\b$TRACER\b" 'traced'
unchanged "$O" "$ORIG" 2
not_mapped "$PID" "$P/pie_v2.so"
kill -TERM "$TRACER"
wait_line "$WORK/tracer.out" '^released' 5 || die "tracer did not let go"
untouched

note "applied twice"
from=$(lines "$O")
hp apply "$PID" "$P/pie_v2.so"
expect_rc 0
NEW='func\(3\)=300 sfunc\(5\)=5000$'
wait_stable "$O" "$from" "$NEW"
hp apply "$PID" "$P/pie_v2.so"
expect_rc 1
err_line 'already applied' 'pie_v2\.so'
alive "$PID"
no_wx "$PID"
unchanged "$O" "$NEW" 2
hp list "$PID"
expect_rc 0
[ "$(printf '%s\n' "$OUT" | grep -c '^patch ')" -eq 1 ] || die "list shows other than one patch"
from=$(lines "$O")
hp revert "$PID" --all
expect_rc 0
wait_stable "$O" "$from" "$ORIG"
untouched "$P/pie_v2.so"

note "ambiguous static symbol"
start_target ambig "$T/ambig"
AORIG='a\(3\)=4 b\(3\)=6$'
expect_next "$O" 0 2 "$AORIG" '^tick'
hp apply "$PID" "$P/ambig_dup.so"
expect_rc 1
err_line "dup_fn" 'ambiguous'
# the candidates are listed: both source files, or at least two addresses
if ! { [[ $ERR == *ambig.c* ]] && [[ $ERR == *ambig_b.c* ]]; }; then
	[ "$(printf '%s\n' "$ERR" | grep -oE '0x[0-9a-f]+' | sort -u | wc -l)" -ge 2 ] ||
		die "the candidates are not listed: $ERR"
fi
alive "$PID"
no_wx "$PID"
unchanged "$O" "$AORIG" 2
not_mapped "$PID" "$P/ambig_dup.so"
note "HOTPATCH_REPLACE_FILE resolves it"
from=$(lines "$O")
hp apply "$PID" "$P/ambig_file.so"
expect_rc 0
alive "$PID"
no_wx "$PID"
wait_stable "$O" "$from" 'a\(3\)=4 b\(3\)=600$'
echo PASS

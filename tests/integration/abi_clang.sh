#!/bin/bash
# abi_clang: clang changes a static function in place for its only callers, name kept, where GCC
# makes a renamed clone (f.constprop.0). tests/targets/extra/clang_abi.c, built by clang -O2 -g:
#  - spec(x) is only ever called with 5: clang specialises it (DWARF: x has DW_AT_const_value 5)
#    and main no longer passes x. A replacement reading x would compute with whatever %edi holds:
#    apply is refused (exit 1, one line naming 'spec', the constant and the way out), the target
#    untouched and still printing spec=11;
#  - unused(x, y) never reads y: clang drops y from the calls (no DW_AT_location). apply of a
#    replacement that does not read y works, with a warning naming the parameter; the target
#    shows unused=300*x+... and plain=300 from the same patch;
#  - the same source built by gcc: spec exists only as spec.constprop.0, refused by the clone rule.
. "$(dirname "$0")/../lib.sh"
need
command -v clang >/dev/null || die "clang not installed (scripts/install-deps.sh installs it)"
SRC=$ROOT/tests/targets/extra/clang_abi.c
clang -O2 -g -o "$WORK/abi" "$SRC" || die "clang cannot build $SRC"
gcc -O2 -g -o "$WORK/abi_gcc" "$SRC" || die "gcc cannot build $SRC"
readelf --debug-dump=info "$WORK/abi" | grep -q 'DW_AT_const_value' ||
	die "clang did not specialise spec(): the test's premise does not hold"

cat >"$WORK/spec.c" <<'PEOF'
#include <hotpatch.h>
static int spec_v2(int x) { return 1000 * x; }
HOTPATCH_REPLACE(spec, spec_v2);
PEOF
cat >"$WORK/unused.c" <<'PEOF'
#include <hotpatch.h>
static int unused_v2(int x, int y) { (void)y; return 300 * x; }
static int plain_v2(int x) { return 100 * x; }
HOTPATCH_REPLACE(unused, unused_v2);
HOTPATCH_REPLACE(plain, plain_v2);
PEOF
for p in spec unused; do
	cc -O2 -fPIC -shared -I"$ROOT/include" -o "$WORK/$p.so" "$WORK/$p.c" || die "cannot build $p.so"
done

start_target abi "$WORK/abi"
expect_next "$O" 0 2 'spec=11 unused=[14] plain=4$' '^tick'

note "specialised for a constant: refused"
hp apply "$PID" "$WORK/spec.so"
expect_rc 1
err_line "'spec'" 'specialised' "'x' = 5" 'callers'
alive "$PID"
not_mapped "$PID" "$WORK/spec.so"
unchanged "$O" 'spec=11 unused=[14] plain=4$'
hp check "$PID" "$WORK/spec.so"
expect_rc 1

note "a dropped, unused parameter: applied with a warning"
from=$(lines "$O")
apply_checked "$PID" "$WORK/unused.so"
printf '%s\n' "$ERR" | grep -q "'unused'.*parameter 'y'.*must not read it" || die "no warning naming parameter y"
printf '%s\n' "$ERR" | grep -q "'plain'" && die "a warning for plain(), a global function"
wait_stable "$O" "$from" 'spec=11 unused=(0|300) plain=300$'
revert_checked "$PID" "$ID"

note "gcc: the same source; GCC renames what it specialises (spec.constprop.0)"
start_target abig "$WORK/abi_gcc"
hp apply "$PID" "$WORK/spec.so"
expect_rc 1
err_line "'spec'" 'clone'
alive "$PID"
echo PASS

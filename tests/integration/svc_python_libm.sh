#!/bin/bash
# A real interpreter from Debian (/usr/bin/python3) printing math.cbrt(27)
# and math.expm1(0) every 50 ms: both are libm functions (expm1 an ifunc).
# Patch them with HOTPATCH_REPLACE_IN("libm.so.6", ...), see the printed
# values change, revert, see the originals again. Regression: an ifunc was
# "applied" over its resolver and the output never changed.
. "$(dirname "$0")/../lib.sh"

PY=/usr/bin/python3
[ -x "$PY" ] || skip "no $PY (Debian python3)"
[ -x "$HOTPATCH" ] || die "no $HOTPATCH"
PATCH=$P/svc_libm.so
[ -f "$PATCH" ] || die "no $PATCH (make tests-build)"
nm -D /lib/x86_64-linux-gnu/libm.so.6 | grep -qE '^[0-9a-f]+ i expm1@@' ||
	die "expm1 is not an ifunc in this libm: the regression check would prove nothing"

cat >"$WORK/loop.py" <<'PYEOF'
import math, sys, threading, time
# many objects: extension modules dlopen()ed, with their libraries (libcrypto, libsqlite3, ...)
import ctypes, decimal, hashlib, json, sqlite3, ssl, zlib, bz2, lzma, csv, select, mmap, array
end = time.monotonic() + 60
bad = []
calls = [0]

def busy():
    # always in or near cbrt/expm1: the consistency check has to run it out of them
    # each call returns the original value or the patched one, nothing else
    # (a pair may mix: the thread can be stopped between the two calls)
    ok_c, ok_e = {math.cbrt(27.0), -27.0}, {math.expm1(0.0), 1000.0}
    while time.monotonic() < end:
        for _ in range(1000):
            c, e = math.cbrt(27.0), math.expm1(0.0)
            if (c not in ok_c or e not in ok_e) and len(bad) < 5:
                bad.append((c, e))
        calls[0] += 1000

threading.Thread(target=busy, daemon=True).start()
while time.monotonic() < end:
    print("cbrt=%r expm1=%r" % (math.cbrt(27.0), math.expm1(0.0)), flush=True)
    if bad:
        print("BAD", bad, flush=True)
    time.sleep(0.05)
PYEOF
# the loop ends by itself after 60 s; cleanup kills it earlier
start py "$PY" -u "$WORK/loop.py"
PYPID=$PID
wait_line "$WORK/py.out" '^cbrt=' 10
nobj=$(awk '$6 ~ /\.so/ {print $6}' /proc/$PYPID/maps | sort -u | wc -l)
note "python3 pid $PYPID: $nobj shared objects mapped, 2 threads"
[ "$nobj" -ge 15 ] || die "expected many shared objects in python3, got $nobj"
ORIG='^cbrt=(3\.0|2\.9999999999999|3\.000000000000000)[0-9]* expm1=0\.0$'
wait_line "$WORK/py.out" "$ORIG" 5 || die "unexpected original output"

note "check: the ifunc is reported as resolved at apply time"
hp check "$PYPID" "$PATCH"
expect_rc 0
echo "$OUT" | grep -q 'expm1 .*' || die "check does not list expm1"
echo "$OUT" | grep -q 'ifunc' || die "check does not say expm1 is an ifunc"

note "apply: both functions change, the ifunc's implementation is patched"
n=$(lines "$WORK/py.out")
hp apply --json "$PYPID" "$PATCH"
expect_rc 0
echo "$OUT" | grep -q '"ok":true' || die "apply --json not ok"
pause=$(echo "$OUT" | sed -n 's/.*"pause_us":\([0-9.]*\).*/\1/p')
note "pause_us=$pause"
echo "$OUT" | grep -qE '"note":"ifunc: resolved to .__expm1_[a-z0-9]+.' ||
	die "expm1 was not resolved to its implementation"
wait_line "$WORK/py.out" '^cbrt=-27\.0 expm1=1000\.0$' 5 "$n" ||
	die "the patched values never showed (expm1 patched over its resolver?)"
alive "$PYPID"
no_wx "$PYPID"

note "revert: the original values come back"
n=$(lines "$WORK/py.out")
hp revert "$PYPID" --all
expect_rc 0
wait_line "$WORK/py.out" "$ORIG" 5 "$n" || die "original values did not come back"
alive "$PYPID"
hp list "$PYPID"
expect_rc 0
echo "$OUT" | grep -q 'no patches' || die "patch still listed after revert"

note "stripped view: without debuginfo the ifunc's extent comes from its call-frame entry"
n=$(lines "$WORK/py.out")
HOTPATCH_DEBUG_ROOT=$WORK/nodebug hp apply "$PYPID" "$PATCH"
expect_rc 0
echo "$OUT" | grep -q "note: ifunc: resolved to 'libm.so.6+0x" || die "expected an FDE-bounded implementation"
wait_line "$WORK/py.out" '^cbrt=-27\.0 expm1=1000\.0$' 5 "$n" || die "patched values did not show"
n=$(lines "$WORK/py.out")
hp revert "$PYPID" "$PATCH"
expect_rc 0
wait_line "$WORK/py.out" "$ORIG" 5 "$n" || die "original values did not come back"
alive "$PYPID"
grep -q '^BAD' "$WORK/py.out" && die "a busy thread saw a value that is neither original nor patched: $(grep -m1 '^BAD' "$WORK/py.out")"
# every printed value is the original or the patched one
ANY='^cbrt=(3\.0|2\.9999999999999|3\.000000000000000|-27\.0)[0-9]* expm1=(0\.0|1000\.0)$'
bad=$(grep -vcE "$ANY" "$WORK/py.out" || true)
[ "$bad" -eq 0 ] || { grep -vE "$ANY" "$WORK/py.out" | head >&2; die "unexpected lines"; }
echo "PASS: pause_us=$pause"

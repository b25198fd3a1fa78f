#!/bin/bash
# Many processes and the everyday commands (issue 5): --all-of and --build-id
# reach every process of one binary and nothing else; one result line per
# process; exit 5 on partial success; info/check/list --json are parsed;
# `make install` installs the man page, completion and pkg-config file.
. "$(dirname "$0")/../lib.sh"

need() { [ -e "$1" ] || die "missing $1 (run make tests-build)"; }
need "$T/multi"
need "$T/pie"
need "$P/func100.so"

# Three processes of one binary, from a copy only this test uses.
cp "$T/multi" "$WORK/multi"
for i in 1 2 3; do
	start m$i "$WORK/multi"
	eval "M$i=$PID"
	wait_line "$WORK/m$i.out" 'func=4'
done
# A different binary that also has 'func': must never be touched.
start other "$T/pie"
OTHER=$PID
wait_line "$WORK/other.out" 'func'
other_before=$(grep -c . "$WORK/other.out")

hp info --json "$P/func100.so"
expect_rc 0
echo "$OUT" | python3 -c '
import json, sys
d = json.load(sys.stdin)
names = [f["name"] for f in d["patch"]["functions"]]
assert names == ["func"], names
' || die "info --json: unexpected document"

hp check "$M1" "$P/func100.so"
expect_rc 0
echo "$OUT" | grep -q "ok" || die "check did not say ok"
alive "$M1"

hp apply --all-of "$WORK/multi" "$P/func100.so"
expect_rc 0
for p in $M1 $M2 $M3; do
	echo "$OUT" | grep -q "^pid $p: ok" || die "no ok line for pid $p"
done
[ "$(echo "$OUT" | grep -c '^pid [0-9]*: ')" -eq 3 ] || die "expected exactly 3 result lines"
for i in 1 2 3; do
	n=$(lines "$WORK/m$i.out")
	wait_line "$WORK/m$i.out" 'func=300' 10 "$n"
done
echo "$OUT" | grep -q "pid $OTHER" && die "the other binary was touched"

# --build-id selects the same three processes; list --json per process.
bid=$(readelf -n "$WORK/multi" | sed -n 's/.*Build ID: //p')
[ -n "$bid" ] || die "no build-id in the target"
hp list --json --build-id "$bid"
expect_rc 0
echo "$OUT" | python3 -c '
import json, sys
d = json.load(sys.stdin)
procs = d["processes"]
assert len(procs) == 3, procs
for p in procs:
    patches = p["patches"]
    assert len(patches) == 1 and patches[0]["functions"][0]["name"] == "func", p
' || die "list --json --build-id: unexpected document"

# Partial success: one process reverted by hand, then --all-of revert: 2 ok, 1 failed -> 5.
hp revert "$M2" 1
expect_rc 0
hp revert --all-of "$WORK/multi" 1
expect_rc 5
echo "$OUT" | grep -q "^pid $M2: error" || die "no error line for the already reverted pid $M2"
for i in 1 2 3; do
	n=$(lines "$WORK/m$i.out")
	wait_line "$WORK/m$i.out" 'func=4' 10 "$n"
	eval "alive \$M$i"
done

# The other process kept running untouched.
alive "$OTHER"
[ "$(grep -c . "$WORK/other.out")" -gt "$other_before" ] || die "the other process stopped printing"
! grep -q ERROR "$WORK/other.out" || die "the other process reported an error"

# A patch without a GNU build-id is known by its content: the same bytes under another
# path are "already applied".
cc -shared -fPIC -O2 -Wl,--build-id=none -I"$ROOT/include" "$ROOT/tests/patches/func100.c" \
	-o "$WORK/nobid_a.so" || die "cannot build a patch without build-id"
cp "$WORK/nobid_a.so" "$WORK/nobid_b.so"
chmod 644 "$WORK"/nobid_*.so
hp apply "$M1" "$WORK/nobid_a.so"
expect_rc 0
hp apply "$M1" "$WORK/nobid_b.so"
expect_rc 1
echo "$ERR" | grep -q "already applied as patch" || die "same content under another path was not recognised"
hp list --json "$M1"
echo "$OUT" | python3 -c '
import json, sys
d = json.load(sys.stdin)
patches = d["processes"][0]["patches"] if "processes" in d else d["patches"]
assert len(patches) == 1 and patches[0]["build_id"].startswith("content:"), patches
' || die "expected one patch known by its content"
hp revert "$M1" --all
expect_rc 0

# make install puts everything where packagers expect it.
make -s -C "$ROOT" install DESTDIR="$WORK/root" PREFIX=/usr >"$WORK/install.log" 2>&1 ||
	{ cat "$WORK/install.log"; die "make install failed"; }
for f in usr/bin/hotpatch usr/include/hotpatch.h usr/include/libhotpatch.h usr/lib/libhotpatch.a \
	 usr/share/man/man1/hotpatch.1 usr/share/bash-completion/completions/hotpatch \
	 usr/lib/pkgconfig/libhotpatch.pc; do
	[ -e "$WORK/root/$f" ] || die "make install did not install $f"
done
PKG_CONFIG_PATH="$WORK/root/usr/lib/pkgconfig" pkg-config --libs libhotpatch | grep -q -- -lhotpatch ||
	die "pkg-config file unusable"
echo PASS

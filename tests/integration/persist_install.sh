#!/bin/bash
# hotpatch install / uninstall / installed / status (issue 18): the patch directory is keyed by the
# target's build-id (pin, --binary or --build-id; none: refused), copies are root-owned 0644 in 0755
# directories, a second install changes nothing, uninstall takes an id prefix or a file, and status
# names a process of the binary that lacks a registered patch until the patch is applied to it.
# `make install` installs hotpatchd and its systemd unit.
. "$(dirname "$0")/../lib.sh"
need "$T/persist" "$P/func100.so" "$P/buildid_bad.so" "$P/nosym.so"

export HOTPATCH_DIR=$WORK/reg
cp "$T/persist" "$WORK/persist"
bid=$(readelf -n "$WORK/persist" | sed -n 's/.*Build ID: //p')
[ -n "$bid" ] || die "no build-id in the target"

# No target known: refused, nothing written.
hp install "$P/func100.so"
expect_rc 2
err_line "no HOTPATCH_BUILD_ID pin" "--binary"
[ ! -e "$WORK/reg" ] || die "a refused install created the directory"

# Pinned to another build: refused.
hp install --binary "$WORK/persist" "$P/buildid_bad.so"
expect_rc 1
err_line "pinned to build-id 0011223344"

hp install --json --binary "$WORK/persist" "$P/func100.so"
expect_rc 0
pid_bid=$(echo "$OUT" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["ok"] and d["changed"], d
e = d["entry"]
assert e["target_build_id"] == sys.argv[1], e
print(e["id"])' "$bid") || die "install --json: unexpected document"
f=$(echo "$WORK/reg/$bid"/0001-func100.so)
[ -f "$f" ] || die "no registered copy at $f"
cmp -s "$f" "$P/func100.so" || die "the registered copy differs from the patch"
[ "$(stat -c '%a %u' "$f")" = "644 0" ] || die "copy permissions: $(stat -c '%a %u' "$f")"
[ "$(stat -c '%a %u' "$WORK/reg/$bid")" = "755 0" ] || die "directory permissions"
ls -a "$WORK/reg/$bid" | grep -q '^\.tmp' && die "a temporary file was left behind"

# Again, by --build-id this time: already there, nothing changes.
hp install --json --build-id "$bid" "$P/func100.so"
expect_rc 0
echo "$OUT" | grep -q '"changed":false' || die "second install reported a change"
[ "$(ls "$WORK/reg/$bid" | wc -l)" -eq 1 ] || die "second install wrote another file"
# A second patch for the same binary comes after the first.
hp install --binary "$WORK/persist" "$P/nosym.so"
expect_rc 0
[ -f "$WORK/reg/$bid/0002-nosym.so" ] || die "second patch not registered as 0002"

hp installed
expect_rc 0
out_has "^build-id $bid:" "$pid_bid .*0001-func100.so" "0002-nosym.so"

# status: a running process of the binary lacks both patches; apply one by hand, it lacks one.
start_target p "$WORK/persist"
hp status --json
expect_rc 0
echo "$OUT" | python3 -c '
import json, sys
d = json.load(sys.stdin)
me = [p for p in d["processes"] if p["pid"] == int(sys.argv[1])]
assert len(me) == 1, d["processes"]
assert [m["id"] for m in me[0]["missing"]] == [sys.argv[2], me[0]["missing"][1]["id"]], me
assert me[0]["patches"] == [], me' "$PID" "$pid_bid" || die "status --json: expected 2 missing patches"
hp apply "$PID" "$f"
expect_rc 0
wait_stable "$O" 0 'func=300'
hp status
expect_rc 0
out_has "^pid $PID $WORK/persist: 1 patch applied, some registered patches missing" \
	"^  patch 1 $f" "^  missing .*0002-nosym.so"

# uninstall by id prefix and by file; then the directory is gone, and a third time: not installed.
hp uninstall "${pid_bid:0:12}"
expect_rc 0
[ ! -e "$f" ] || die "uninstall left $f"
hp uninstall --json "$P/nosym.so"
expect_rc 0
[ ! -e "$WORK/reg/$bid" ] || die "empty target directory left behind"
hp uninstall "$P/nosym.so"
expect_rc 1
err_line "is not installed"
hp installed --json
expect_rc 0
echo "$OUT" | grep -q '"patches":\[\]' || die "installed is not empty"
# The process keeps its patch: uninstall does not revert.
unchanged "$O" 'func=300'
alive "$PID"
no_errors "$O"

make -s -C "$ROOT" install DESTDIR="$WORK/root" PREFIX=/usr >"$WORK/install.log" 2>&1 ||
	{ cat "$WORK/install.log"; die "make install failed"; }
[ -x "$WORK/root/usr/sbin/hotpatchd" ] || die "make install did not install hotpatchd"
unit=$WORK/root/usr/lib/systemd/system/hotpatchd.service
grep -qx 'ExecStart=/usr/sbin/hotpatchd' "$unit" || die "hotpatchd.service: wrong or missing ExecStart"
grep -qx 'ExecReload=/bin/kill -HUP $MAINPID' "$unit" || die "hotpatchd.service: reload is not SIGHUP"
echo PASS

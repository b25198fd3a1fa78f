#!/bin/bash
# revert_list: the bookkeeping kept in the target. list with no patches; apply then list (id,
# path, function); revert by id; revert by path; revert of something not applied (exit 1);
# two patches stacked on one function (the second wins: 3000); reverting the first while the
# second is active is refused (exit 1, names the later patch) and changes nothing; list --json
# (parsed: id, path, functions[].name of both); revert --all restores the original. Every
# revert must unmap the patch file from the target.
. "$(dirname "$0")/../lib.sh"
BIN=$T/pie
A=$P/func100.so
Bp=$P/func1000.so
need "$BIN" "$A" "$Bp"
command -v python3 >/dev/null || skip "python3 is needed to parse --json"

ORIG='func\(3\)=4 sfunc\(5\)=11$'
VA='func\(3\)=300 sfunc\(5\)=11$'
VB='func\(3\)=3000 sfunc\(5\)=11$'
start_target pie "$BIN"
expect_next "$O" 0 2 "$ORIG" '^tick'

# apply_ok PATCH REGEX: apply, check the output switches; sets ID.
apply_ok() {
	local from
	from=$(lines "$O")
	hp apply "$PID" "$1"
	expect_rc 0
	ID=$(patch_id)
	alive "$PID"
	no_wx "$PID"
	wait_stable "$O" "$from" "$2"
	mapped "$PID" "$1"
}
# revert_ok WHAT REGEX: revert, check the output switches back.
revert_ok() {
	local from
	from=$(lines "$O")
	hp revert "$PID" "$1"
	expect_rc 0
	out_has "^pid $PID: reverted patch"
	alive "$PID"
	no_wx "$PID"
	wait_stable "$O" "$from" "$2"
}

note "list, nothing applied"
hp list "$PID"
expect_rc 0
out_has "^pid $PID: no patches"

note "apply, list, revert by id"
apply_ok "$A" "$VA"
hp list "$PID"
expect_rc 0
out_has "^patch $ID /.*func100\.so build-id [0-9a-f]+" '^  func \(.*/pie\) 0x[0-9a-f]+ -> '
revert_ok "$ID" "$ORIG"
not_mapped "$PID" "$A"
hp list "$PID"
out_has "^pid $PID: no patches"

note "revert by path"
apply_ok "$A" "$VA"
revert_ok "$A" "$ORIG"
not_mapped "$PID" "$A"

note "revert what is not applied"
hp revert "$PID" 99
expect_rc 1
err_line '\b99\b' 'not applied|no applied'
hp revert "$PID" "$A"
expect_rc 1
err_line 'func100\.so' 'not applied|no applied'
alive "$PID"
unchanged "$O" "$ORIG" 2

note "stacked patches"
apply_ok "$A" "$VA"
IDA=$ID
apply_ok "$Bp" "$VB"
IDB=$ID
[ "$IDB" -gt "$IDA" ] || die "ids do not increase: $IDA then $IDB"
hp list "$PID"
expect_rc 0
out_has "^patch $IDA /.*func100\.so" "^patch $IDB /.*func1000\.so"
hp revert "$PID" "$IDA"
expect_rc 1
err_line "func1000\.so|patch $IDB\b"
alive "$PID"
no_wx "$PID"
unchanged "$O" "$VB" 2
mapped "$PID" "$A"

note "list --json"
hp list --json "$PID"
expect_rc 0
printf '%s\n' "$OUT" >"$WORK/list.json"
python3 - "$WORK/list.json" "$IDA" "$IDB" <<'PY' || die "list --json is not as expected"
import json, sys
doc = json.load(open(sys.argv[1]))
ida, idb = int(sys.argv[2]), int(sys.argv[3])
if isinstance(doc, dict) and doc.get("ok") is False:
    sys.exit("ok is false")
def patches(o):
    if isinstance(o, dict):
        if "id" in o and "path" in o and "functions" in o:
            yield o
        else:
            for v in o.values():
                yield from patches(v)
    elif isinstance(o, list):
        for v in o:
            yield from patches(v)
ps = {p["id"]: p for p in patches(doc)}
assert set(ps) == {ida, idb}, "patch ids %r" % sorted(ps)
assert ps[ida]["path"].endswith("/func100.so"), ps[ida]["path"]
assert ps[idb]["path"].endswith("/func1000.so"), ps[idb]["path"]
for p in ps.values():
    names = [f["name"] for f in p["functions"]]
    assert names == ["func"], "functions %r" % names
print("json ok:", {i: (p["path"], [f["name"] for f in p["functions"]]) for i, p in ps.items()})
PY

note "revert --all"
revert_ok --all "$ORIG"
not_mapped "$PID" "$A"
not_mapped "$PID" "$Bp"
hp list "$PID"
expect_rc 0
out_has "^pid $PID: no patches"

note "stacked, reverted in LIFO order"
apply_ok "$A" "$VA"
IDA=$ID
apply_ok "$Bp" "$VB"
IDB=$ID
revert_ok "$IDB" "$VA"
not_mapped "$PID" "$Bp"
revert_ok "$IDA" "$ORIG"
not_mapped "$PID" "$A"
all_lines "$O" '^tick' 'func\(3\)=(4|300|3000) sfunc\(5\)=11$'
echo PASS

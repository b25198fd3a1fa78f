#!/bin/bash
# sec_dirperm: whoever can rename entries of a directory on a patch's path can swap the file
# between hotpatch's checks and the target's dlopen. A patch (and an object for `load`) whose
# directory, or any ancestor directory, is writable by others without the sticky bit, or is owned
# by another user, is refused: exit 4, one line naming that directory, the file and the reason,
# the target untouched and the file not mapped. A sticky world-writable directory (/tmp style)
# and our own 0755 directories are accepted.
. "$(dirname "$0")/../lib.sh"
need "$T/pie" "$P/pie_v2.so"
[ "$(id -u)" -eq 0 ] || skip "needs root (chown to another user)"
ORIG='func\(3\)=4 sfunc\(5\)=11$'
NEW='func\(3\)=300 sfunc\(5\)=5000$'
start_target pie "$T/pie"
chmod 755 "$WORK"
D=$WORK/d
mkdir -p "$D/sub"
chmod 755 "$D" "$D/sub"
cp "$P/pie_v2.so" "$D/sub/p.so"
chmod 644 "$D/sub/p.so"

# refused DIR WHY CMD: apply (or CMD) of $D/sub/p.so is refused naming DIR and WHY.
refused() {
	hp "${3:-apply}" "$PID" "$D/sub/p.so"
	expect_rc 4
	err_line "^hotpatch: $1: directory of $D/sub/p.so" "$2"
	unchanged "$O" "$ORIG" 2
	not_mapped "$PID" "$D/sub/p.so"
	alive "$PID"
}

note "the patch's own directory is world-writable, not sticky"
chmod 777 "$D/sub"
refused "$D/sub" 'writable by others and not sticky \(mode 0777\)'
refused "$D/sub" 'writable by others and not sticky' load
hp check --json "$PID" "$D/sub/p.so"
expect_rc 4
out_has '"code":"FILEPERM"'
chmod 755 "$D/sub"

note "an ancestor directory is world-writable"
chmod 757 "$D"
refused "$D" 'writable by others and not sticky \(mode 0757\)'
chmod 755 "$D"

note "a directory owned by another user"
chown 65534 "$D/sub"
refused "$D/sub" 'owned by uid 65534, not by root or by us'
chown 0 "$D/sub"

note "sticky world-writable directory: accepted"
chmod 1777 "$D/sub"
from=$(lines "$O")
apply_checked "$PID" "$D/sub/p.so"
wait_stable "$O" "$from" "$NEW"
from=$(lines "$O")
revert_checked "$PID" "$ID"
wait_stable "$O" "$from" "$ORIG"
echo "sec_dirperm: ok"

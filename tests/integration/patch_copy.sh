#!/bin/bash
# patch_copy: a target that cannot open the patch at our path gets a copy.
# 1. A target in another mount namespace (a container, a systemd service with PrivateTmp=)
# does not see the patch file at our path, or sees another file there. The patch's directory is
# hidden from the target by a tmpfs mounted in the target's own namespace; in it, at the very path
# of the patch, the target sees a decoy (another patch object, whose constructor would print
# DECOY). Then:
#  - apply loads the file we checked, as a copy (a memfd named after the load): the target's
#    output switches to the patched values, the decoy's constructor never runs, its maps show the
#    copy and not the decoy, and the copy's descriptor is kept open in the target;
#  - list shows the patch under the path the operator gave;
#  - a second patch (stacked on the same function) gets its own copy and wins; reverting it gives
#    the first one back (two copies, two names: glibc must not take one for the other);
#  - revert --all restores the original output, unmaps both copies and closes their descriptors;
#  - apply after that works again (descriptor numbers reused, names unique).
# 2. A target running as nobody, the patch in a directory only root may search (root's home, say):
#    a copy, the patched values, revert.
# 3. A target in our namespace that may read the file loads it by path: no memfd at all.
. "$(dirname "$0")/../lib.sh"
BIN=$T/pie
need "$BIN" "$P/func100.so" "$P/func1000.so"
unshare -m --propagation private true 2>/dev/null || skip "cannot make a mount namespace (unshare -m)"
command -v python3 >/dev/null || skip "python3 is needed"

ORIG='func\(3\)=4 sfunc\(5\)=11$'
VA='func\(3\)=300 sfunc\(5\)=11$'
VB='func\(3\)=3000 sfunc\(5\)=11$'

D=$WORK/patches
mkdir -p "$D"
cp "$P/func100.so" "$D/a.so"
cp "$P/func1000.so" "$D/b.so"
# The decoy: a shared object with a constructor, at the same path inside the target's view.
cat >"$WORK/decoy.c" <<'EOF'
#include <stdio.h>
__attribute__((constructor)) static void decoy(void) { printf("DECOY\n"); fflush(stdout); }
EOF
cc -shared -fPIC -o "$WORK/decoy.so" "$WORK/decoy.c" || die "cannot build the decoy"

# The target: its own mount namespace, where $D is an empty tmpfs holding only the decoy as a.so.
start pie unshare -m --propagation private sh -c \
	"mount -t tmpfs none '$D' && cp '$WORK/decoy.so' '$D/a.so' && exec '$BIN'"
O=$WORK/pie.out
wait_line "$O" '^ready' 10 || die "pie did not start in its mount namespace: $(tail -3 "$O")"
# PID is unshare's, which exec'd sh, which exec'd pie.
[ "$(readlink /proc/$PID/exe)" = "$(realpath "$BIN")" ] || die "pid $PID is not pie"
[ "$(readlink /proc/$PID/ns/mnt)" != "$(readlink /proc/self/ns/mnt)" ] || die "same mount namespace"
cmp -s "/proc/$PID/root$D/a.so" "$WORK/decoy.so" || die "the target does not see the decoy"
expect_next "$O" 0 2 "$ORIG" '^tick'

memfds() { grep -c "/memfd:hotpatch-patch-$1-" /proc/"$PID"/maps; }
fds() { ls -l /proc/"$PID"/fd | grep -c "/memfd:hotpatch-patch-$1-"; }

note "apply through a copy"
from=$(lines "$O")
apply_checked "$PID" "$D/a.so"
A=$ID
wait_stable "$O" "$from" "$VA"
grep -q DECOY "$O" && die "the decoy's constructor ran in the target"
grep -qF "$D/a.so" /proc/"$PID"/maps && die "the target mapped its own file at $D/a.so"
[ "$(memfds "$A")" -ge 2 ] || die "no memfd copy of patch $A in the maps"
[ "$(fds "$A")" -eq 1 ] || die "the copy's descriptor is not held once by the target"

hp list "$PID"
expect_rc 0
out_has "^patch $A $D/a\.so build-id [0-9a-f]+" '^  func \(.*/pie\) 0x[0-9a-f]+ -> '

note "a second copy, stacked"
from=$(lines "$O")
apply_checked "$PID" "$D/b.so"
Bid=$ID
wait_stable "$O" "$from" "$VB"
[ "$(fds "$Bid")" -eq 1 ] || die "patch $Bid has no descriptor of its own"
from=$(lines "$O")
revert_checked "$PID" "$Bid"
wait_stable "$O" "$from" "$VA"
[ "$(memfds "$Bid")" -eq 0 ] || die "patch $Bid's copy is still mapped after its revert"
[ "$(fds "$Bid")" -eq 0 ] || die "patch $Bid's descriptor is still open after its revert"
[ "$(fds "$A")" -eq 1 ] || die "patch $A lost its descriptor"

note "revert --all"
from=$(lines "$O")
hp revert "$PID" --all
expect_rc 0
alive "$PID"
wait_stable "$O" "$from" "$ORIG"
grep -q '/memfd:hotpatch-patch-' /proc/"$PID"/maps && die "a copy is still mapped"
ls -l /proc/"$PID"/fd | grep -q '/memfd:hotpatch-patch-' && die "a copy's descriptor is still open"

note "apply again after the descriptors were closed"
from=$(lines "$O")
apply_checked "$PID" "$D/b.so"
wait_stable "$O" "$from" "$VB"
from=$(lines "$O")
revert_checked "$PID" "$ID"
wait_stable "$O" "$from" "$ORIG"
grep -q DECOY "$O" && die "the decoy's constructor ran in the target"

note "a target in our namespace loads the file by path"
start_target pie2 "$BIN"
O2=$O
expect_next "$O2" 0 2 "$ORIG" '^tick'
from=$(lines "$O2")
apply_checked "$PID" "$D/a.so"
wait_stable "$O2" "$from" "$VA"
mapped "$PID" "$D/a.so"
grep -q '/memfd:hotpatch-patch-' /proc/"$PID"/maps && die "a copy was made for a target that sees the file"
hp revert "$PID" --all
expect_rc 0

note "a target that may not search the patch's directory"
command -v setpriv >/dev/null || skip "setpriv (util-linux) is needed"
mkdir -m 700 "$WORK/private"
cp "$P/func100.so" "$WORK/private/a.so"
cp "$BIN" "$WORK/pie_nobody"
chmod 755 "$WORK" "$WORK/pie_nobody"
start pie3 setpriv --reuid=nobody --regid=nogroup --clear-groups "$WORK/pie_nobody"
O3=$WORK/pie3.out
wait_line "$O3" '^ready' 10 || die "pie did not start as nobody: $(tail -3 "$O3")"
[ "$(awk '/^Uid:/ { print $2 }' /proc/$PID/status)" = "$(id -u nobody)" ] || die "not running as nobody"
from=$(lines "$O3")
apply_checked "$PID" "$WORK/private/a.so"
wait_stable "$O3" "$from" "$VA"
[ "$(memfds "$ID")" -ge 2 ] || die "no copy for a target that cannot read the file"
from=$(lines "$O3")
revert_checked "$PID" "$ID"
wait_stable "$O3" "$from" "$ORIG"
[ "$(fds "$ID")" -eq 0 ] || die "the copy's descriptor is still open after revert"
echo "patch_copy: ok"

#!/bin/bash
# audit: one audit line per apply, revert and load, success or failure. With a syslog socket at
# /dev/log (a listener bound there in a private mount namespace), the lines arrive there: apply,
# load (with the object's build-id), revert, and a failed apply with its reason; nothing about
# audit on stderr. Without /dev/log the line is not lost without a word: it is printed on stderr
# ("audit record not kept (no syslog at /dev/log ...): apply pid=..."). HOTPATCH_AUDIT=stderr
# prints it there on purpose, =off writes none.
. "$(dirname "$0")/../lib.sh"
need "$T/pie" "$P/pie_v2.so" "$P/nodesc.so" "$P/nosym.so"
unshare -m --propagation private true 2>/dev/null || skip "cannot make a mount namespace (unshare -m)"
unset HOTPATCH_AUDIT

# A private /dev for hotpatch: null, zero, urandom and (if LOG=1) a log socket we listen on.
DEV=$WORK/dev
mkdir -p "$DEV"
for n in null zero urandom; do : >"$DEV/$n"; done
cat >"$WORK/nshp" <<NS
#!/bin/sh
[ -n "\$HP_IN_NS" ] || HP_IN_NS=1 exec unshare -m --propagation private "\$0" "\$@"
for n in null zero urandom; do mount --bind /dev/\$n "$DEV/\$n" || exit 126; done
mount --bind "$DEV" /dev || exit 126
exec "$HOTPATCH" "\$@"
NS
chmod 755 "$WORK/nshp"
nshp() { HOTPATCH=$WORK/nshp hp "$@"; }

start_target pie "$T/pie"
TPID=$PID

note "no /dev/log: the audit line goes to stderr, saying so"
nshp apply "$TPID" "$P/pie_v2.so"
expect_rc 0
ID=$(patch_id)
grep -qE "^hotpatch: audit record not kept \(no syslog at /dev/log: .*\): apply pid=$TPID patch=.*/pie_v2\.so build-id=[0-9a-f]+ result=ok id=$ID$" <<<"$ERR" ||
	die "no audit line on stderr"
nshp revert "$TPID" "$ID"
expect_rc 0
grep -qE "^hotpatch: audit record not kept .*: revert pid=$TPID .* result=ok id=$ID$" <<<"$ERR" ||
	die "no revert audit line on stderr"

note "a syslog listener at /dev/log receives every line"
LOG=$WORK/syslog.txt
start syslogd python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("listening", flush=True)
with open(sys.argv[2], "a") as f:
    while True:
        f.write(s.recv(65536).decode(errors="replace").rstrip("\n") + "\n")
        f.flush()' "$DEV/log" "$LOG"
wait_line "$WORK/syslogd.out" '^listening' 10 || die "listener did not start"
: >"$LOG"
nshp apply "$TPID" "$P/pie_v2.so"
expect_rc 0
ID=$(patch_id)
nshp load "$TPID" "$P/nodesc.so"
expect_rc 0
nshp revert "$TPID" "$ID"
expect_rc 0
nshp apply "$TPID" "$P/nosym.so"
expect_rc 1
grep -q audit <<<"$ERR" && die "audit complaint although syslog listens: $ERR"
wait_line "$LOG" 'apply pid=[0-9]+ patch=.*/nosym\.so .*result=error' 10 || die "records missing"
cat "$LOG"
BID=$(readelf -n "$P/nodesc.so" | sed -n 's/.*Build ID: //p')
grep -qE "hotpatch\[[0-9]+\]: apply pid=$TPID patch=.*/pie_v2\.so build-id=[0-9a-f]+ result=ok id=$ID$" "$LOG" ||
	die "no apply record"
grep -qE "hotpatch\[[0-9]+\]: load pid=$TPID patch=.*/nodesc\.so build-id=$BID result=ok" "$LOG" ||
	die "no load record (with the object's build-id $BID)"
grep -qE "hotpatch\[[0-9]+\]: revert pid=$TPID patch=.*/pie_v2\.so .*result=ok id=$ID$" "$LOG" ||
	die "no revert record"
grep -qE "apply pid=$TPID patch=.*/nosym\.so build-id=[0-9a-f]+ result=error reason=\".*not found" "$LOG" ||
	die "no failure record with its reason"

note "HOTPATCH_AUDIT=stderr and =off"
HOTPATCH_AUDIT=stderr hp apply "$TPID" "$P/nosym.so"
expect_rc 1
grep -qE "^hotpatch: audit: apply pid=$TPID .*result=error" <<<"$ERR" || die "HOTPATCH_AUDIT=stderr"
HOTPATCH_AUDIT=off hp apply "$TPID" "$P/nosym.so"
expect_rc 1
err_line 'not found'
alive "$TPID"
echo "audit: ok"

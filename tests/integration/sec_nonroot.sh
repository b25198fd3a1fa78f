#!/bin/bash
# An unprivileged user patching a root process gets exit 4 (EPERM) and a
# message naming the reason (owner uid, or yama ptrace_scope), and the target
# is untouched. Runs hotpatch as a throwaway user created here when we are root.
. "$(dirname "$0")/../lib.sh"

[ -x "$HOTPATCH" ] || skip "no $HOTPATCH"
[ "$(id -u)" -eq 0 ] || skip "needs root to create a user and own the target"
command -v setpriv >/dev/null || skip "no setpriv"
USER_NAME=hp-sec-test
if ! id -u "$USER_NAME" >/dev/null 2>&1; then
	useradd --system --no-create-home --shell /usr/sbin/nologin "$USER_NAME" 2>/dev/null ||
		skip "cannot create user $USER_NAME"
fi
U=$(id -u "$USER_NAME")
G=$(id -g "$USER_NAME")
as_user() { setpriv --reuid="$U" --regid="$G" --clear-groups -- "$@"; }
as_user true 2>/dev/null || skip "setpriv cannot switch to uid $U"

# The user must reach the binary (the ASan one too) and the patch: copy them to a readable place.
chmod 755 "$WORK"
cp "$HOTPATCH" "$WORK/hotpatch"
cp "$P/fault_v2.so" "$WORK/p.so"
chmod 644 "$WORK/p.so"
as_user "$WORK/hotpatch" --version >/dev/null 2>&1 || skip "uid $U cannot run $WORK/hotpatch"

start tgt "$T/fault_target" tick
wait_line "$WORK/tgt.out" '^ready' 10
HOTPATCH="$WORK/hotpatch"

run_as_user() {
	set +e
	as_user "$HOTPATCH" "$@" >"$WORK/hp.stdout" 2>"$WORK/hp.stderr"
	RC=$?
	set -e
	OUT=$(cat "$WORK/hp.stdout")
	ERR=$(cat "$WORK/hp.stderr")
	echo "\$ (uid $U) hotpatch $* -> $RC"
	[ -n "$ERR" ] && echo "$ERR" | sed 's/^/  err: /'
	if grep -qE 'AddressSanitizer|runtime error:' "$WORK/hp.stderr"; then
		die "sanitizer report from hotpatch"
	fi
	return 0
}

for cmd in apply check load; do
	note "$cmd as uid $U on a root process: exit 4, the reason named"
	run_as_user "$cmd" "$PID" "$WORK/p.so"
	expect_rc 4
	[ "$(wc -l <<<"$ERR")" -eq 1 ] || die "expected one stderr line"
	grep -qE "^hotpatch: pid $PID: not permitted: (owned by uid 0, we are uid $U|kernel.yama.ptrace_scope=[0-9])" <<<"$ERR" ||
		die "message does not name the reason: $ERR"
done
note "revert and list as well"
run_as_user revert "$PID" --all
expect_rc 4
grep -q "not permitted: owned by uid 0" <<<"$ERR" || die "revert: wrong message: $ERR"
run_as_user list --json "$PID"
expect_rc 4
grep -q '"code":"PERM"' <<<"$OUT" || die "list --json: no PERM code: $OUT"

note "the target runs on, unpatched and untraced"
n=$(lines "$WORK/tgt.out")
wait_line "$WORK/tgt.out" 'a=1 b=1' 5 "$n"
alive "$PID"
grep -q "p.so" /proc/$PID/maps && die "patch mapped in the target"

note "control: the same user patches its own process (unless yama forbids it)"
cp "$T/fault_target" "$WORK/fault_target"
ROOT_PID=$PID
start own setpriv --reuid="$U" --regid="$G" --clear-groups -- "$WORK/fault_target" tick
wait_line "$WORK/own.out" '^ready' 10
run_as_user apply "$PID" "$WORK/p.so"
scope=$(cat /proc/sys/kernel/yama/ptrace_scope 2>/dev/null || echo 0)
if [ "$scope" -eq 0 ]; then
	expect_rc 0
	n=$(lines "$WORK/own.out")
	wait_line "$WORK/own.out" 'a=2 b=2' 5 "$n"
else
	expect_rc 4
	grep -q "kernel.yama.ptrace_scope=$scope" <<<"$ERR" || die "yama not named: $ERR"
fi
alive "$PID"
alive "$ROOT_PID"
echo PASS

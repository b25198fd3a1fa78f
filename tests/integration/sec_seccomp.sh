#!/bin/bash
# A target under a seccomp filter that fails (EPERM) what hotpatch needs in it:
# mmap/mprotect with PROT_EXEC (so dlopen cannot map the patch's code) or
# memfd_create (the state region). apply and load fail with one clear line
# that names the seccomp filter; the target keeps running, unchanged: no patch
# mapping, no state region, no jump island, no W+X mapping.
. "$(dirname "$0")/../lib.sh"

[ -x "$HOTPATCH" ] || skip "no $HOTPATCH"

# untouched PID FILE MAPS_BEFORE: running the old code, nothing of ours mapped.
untouched() {
	alive "$1"
	local n
	n=$(lines "$2")
	wait_line "$2" '^tick' 5 "$n"
	n=$(lines "$2")
	wait_line "$2" '^tick' 5 "$n"
	tail -n +$((n + 1)) "$2" | grep -vq 'a=1 b=1' && die "new code runs"
	grep -E 'fault_v2|memfd:hotpatch' /proc/"$1"/maps && die "something of ours is still mapped"
	[ "$(awk '{print $1, $2, $6}' /proc/"$1"/maps | md5sum)" = "$3" ] || die "the maps changed"
	no_wx "$1"
}

# filtered MODE: fault_target under filter MODE, ticking; sets PID, out and before (its maps).
filtered() {
	note "$1"
	start "$1" "$T/fault_target" "$1"
	out=$WORK/$1.out
	wait_line "$out" '^tick' 10
	grep -q '^Seccomp:[[:space:]]*2' /proc/"$PID"/status || die "no seccomp filter in the target"
	before=$(awk '{print $1, $2, $6}' /proc/"$PID"/maps | md5sum)
}

for mode in seccomp-mmap seccomp-memfd; do
	filtered "$mode"
	for cmd in apply load; do
		# load needs no state region: under seccomp-memfd it just loads (nothing is redirected)
		[ "$mode-$cmd" = seccomp-memfd-load ] && continue
		hp "$cmd" "$PID" "$P/fault_v2.so"
		[ "$RC" -ne 0 ] || die "$cmd succeeded"
		[ "$(wc -l <<<"$ERR")" -eq 1 ] || die "expected one stderr line"
		if [ "$mode" = seccomp-mmap ]; then
			grep -qE "^hotpatch: pid $PID: dlopen of .*fault_v2.so failed: .*failed to map segment from shared object \(the target runs under a seccomp filter, which may forbid it\)\$" <<<"$ERR" ||
				die "unclear message"
		else
			expect_rc 4
			grep -qE "^hotpatch: pid $PID: memfd_create in target: Operation not permitted \(the target runs under a seccomp filter, which may forbid it\)\$" <<<"$ERR" ||
				die "unclear message"
		fi
		untouched "$PID" "$out" "$before"
	done
	hp list "$PID"
	expect_rc 0
	kill -9 "$PID"
done

# Filters whose action kills the process or raises SIGSYS: hotpatch reads them
# (PTRACE_SECCOMP_GET_FILTER) and runs them on the calls it would make in the target, and refuses
# (exit 4, one line naming the action and the call) before running anything there: the target
# lives on untouched (before this check, it died of memfd_create's SIGSYS).
for mode in seccomp-kill-memfd seccomp-trap-exec; do
	filtered "$mode"
	case $mode in
	seccomp-kill-memfd) want="kill the process on memfd_create" ;;
	*) want="raise SIGSYS on mmap of a library's code" ;;
	esac
	for cmd in apply load; do
		hp "$cmd" "$PID" "$P/fault_v2.so"
		expect_rc 4
		[ "$(wc -l <<<"$ERR")" -eq 1 ] || die "expected one stderr line"
		grep -qE "^hotpatch: pid $PID: thread [0-9]+: its seccomp filter would $want \(syscall [0-9]+\), which hotpatch runs in the target: nothing done\$" <<<"$ERR" ||
			die "unclear message: $ERR"
		untouched "$PID" "$out" "$before"
	done
	hp list "$PID"
	expect_rc 0
	kill -9 "$PID"
done
echo PASS

# Shared helpers for integration tests (sourced). Every wait is bounded and
# synchronises on an event (a line in the target's output), never on a sleep.
# Variables: ROOT (repo), HOTPATCH (binary under test), B=$ROOT/build/tests,
# T (test targets), P (test patches), WORK (scratch directory, removed at exit).
set -u
: "${ROOT:=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
: "${HOTPATCH:=$ROOT/build/hotpatch}"
: "${HP_TIMEOUT:=60}"	# seconds any single hotpatch command may take before the test fails
B=$ROOT/build/tests
T=$B/targets
P=$B/patches
WORK=$(mktemp -d /tmp/hotpatch-test.XXXXXX)
PIDS=()
RC=0 OUT= ERR=
# No audit lines: most test machines have no syslog at /dev/log, and hotpatch would then print
# each audit line on stderr, where tests expect one error line (audit.sh tests the audit).
export HOTPATCH_AUDIT=${HOTPATCH_AUDIT:-off}

cleanup() {
	# The test's verdict is its status when it ended: nothing done here may change it.
	local rc=$? p
	exec 2>/dev/null	# no "Killed" job notices for the processes we end here
	# a process that already exited must not turn a passed test into a failure (set -e)
	set +e
	for p in "${PIDS[@]:-}"; do
		[ -z "$p" ] || kill -9 "$p" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	rm -rf "$WORK"
	exit "$rc"
}
trap cleanup EXIT

die() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }
note() { echo "--- $*"; }

# need FILE...: the hotpatch binary and every FILE exist, else fail at once (not hang, not skip).
need() {
	local f
	[ -x "$HOTPATCH" ] || die "hotpatch binary missing: $HOTPATCH (run make)"
	for f; do
		[ -e "$f" ] || die "missing $f (run make tests-build)"
	done
}

# start NAME CMD... : run CMD in the background with stdout+stderr to $WORK/NAME.out;
# sets $PID (and registers it for cleanup).
start() {
	local name=$1; shift
	"$@" >"$WORK/$name.out" 2>&1 &
	PID=$!
	PIDS+=("$PID")
}

# start_target NAME CMD...: start, then wait for the target's "ready" line;
# sets PID and O (its output file).
start_target() {
	start "$@"
	O=$WORK/$1.out
	wait_line "$O" '^ready' 10 || die "$1 did not start"
}

# lines FILE: current number of complete lines (use as FROM_LINE to wait for new output).
lines() {
	if [ -e "$1" ]; then wc -l <"$1" | tr -d ' '; else echo 0; fi
}

# _after FILE FROM: the complete lines after line FROM (a line still being written is left out).
_after() { head -n "$(lines "$1")" "$1" 2>/dev/null | tail -n +$(($2 + 1)); }

# wait_line FILE REGEX [TIMEOUT_S=10] [FROM_LINE=0]: wait until a line after FROM_LINE matches.
wait_line() {
	local file=$1 re=$2 t=${3:-10} from=${4:-0}
	local end=$((SECONDS + t))
	while [ $SECONDS -le $end ]; do
		if _after "$file" "$from" | grep -qE -- "$re"; then
			return 0
		fi
		sleep 0.02
	done
	echo "timeout (${t}s) waiting for /$re/ in $file after line $from; last lines:" >&2
	tail -5 "$file" >&2
	return 1
}

# first_line FILE REGEX FROM: number of the first line after FROM matching REGEX (empty if none).
first_line() {
	local n
	n=$(_after "$1" "$3" | grep -nE -- "$2" | head -1 | cut -d: -f1)
	[ -n "$n" ] && echo $(($3 + n))
	return 0
}

# expect_next FILE FROM N REGEX [FILTER=.] [TIMEOUT_S=10]: wait for N lines matching FILTER
# after line FROM; every one of them must match REGEX.
expect_next() {
	local file=$1 from=$2 n=$3 re=$4 filter=${5:-.} t=${6:-10}
	local end=$((SECONDS + t)) got bad
	while :; do
		got=$(_after "$file" "$from" | grep -E -- "$filter" | head -n "$n")
		[ "$(printf '%s' "$got" | grep -c '')" -ge "$n" ] && break
		[ $SECONDS -le $end ] || { tail -5 "$file" >&2
			die "timeout (${t}s): fewer than $n lines /$filter/ after line $from of $file"; }
		sleep 0.02
	done
	bad=$(printf '%s\n' "$got" | grep -vE -- "$re" | head -1)
	[ -z "$bad" ] || die "unexpected line in $(basename "$file") (want /$re/): $bad"
}

# wait_stable FILE FROM REGEX [FILTER=^tick] [N=3] [TIMEOUT_S=10]: wait for a line after FROM
# matching REGEX, then the next N lines matching FILTER must match REGEX too (the change stuck:
# no old value comes back). For a single caller printing one value per line.
wait_stable() {
	local file=$1 from=$2 re=$3 filter=${4:-^tick} n=${5:-3} t=${6:-10} at
	wait_line "$file" "$re" "$t" "$from" || die "no line /$re/ in $(basename "$file")"
	at=$(first_line "$file" "$re" "$from")
	expect_next "$file" "$at" "$n" "$re" "$filter" "$t"
}

# unchanged FILE REGEX [N=3] [FILTER=^tick]: the next N lines (from now) still match REGEX.
unchanged() {
	expect_next "$1" "$(lines "$1")" "${3:-3}" "$2" "${4:-^tick}"
}

# no_errors FILE: the target printed no "ERROR" line (its own checks all passed).
no_errors() {
	if grep -q 'ERROR' "$1"; then
		grep 'ERROR' "$1" | head -5 >&2
		die "$(basename "$1"): target reported errors"
	fi
}

# all_lines FILE FILTER REGEX: every line so far matching FILTER matches REGEX.
all_lines() {
	local bad
	bad=$(_after "$1" 0 | grep -E -- "$2" | grep -vE -- "$3" | head -1)
	[ -z "$bad" ] || die "unexpected line in $(basename "$1") (want /$3/): $bad"
}

# hp ARGS...: run hotpatch, capture stdout/stderr into $OUT/$ERR and exit code into $RC.
# A hotpatch that runs longer than HP_TIMEOUT seconds fails the test.
hp() {
	set +e
	timeout -k 5 "$HP_TIMEOUT" "$HOTPATCH" "$@" >"$WORK/hp.stdout" 2>"$WORK/hp.stderr"
	RC=$?
	set -e
	OUT=$(cat "$WORK/hp.stdout")
	ERR=$(cat "$WORK/hp.stderr")
	echo "\$ hotpatch $* -> $RC"
	[ -n "$OUT" ] && echo "$OUT" | sed 's/^/  out: /'
	[ -n "$ERR" ] && echo "$ERR" | sed 's/^/  err: /'
	if grep -qE 'AddressSanitizer|runtime error:|LeakSanitizer' "$WORK/hp.stderr"; then
		die "sanitizer report from hotpatch"
	fi
	case $RC in
	124|137) die "hotpatch did not finish within ${HP_TIMEOUT}s" ;;
	126|127) die "could not run $HOTPATCH" ;;
	esac
	return 0
}

# expect_rc N: the last hp call exited with N.
expect_rc() { [ "$RC" -eq "$1" ] || die "expected exit $1, got $RC"; }

# err_line REGEX...: the last hp call wrote exactly one line on stderr, "hotpatch: ...",
# matching every REGEX (extended, case-insensitive).
err_line() {
	local n re
	n=$(printf '%s' "$ERR" | grep -c '')
	[ "$n" -eq 1 ] || die "expected exactly one line on stderr, got $n"
	case $ERR in
	"hotpatch: "*) ;;
	*) die "stderr line does not start with 'hotpatch: '" ;;
	esac
	for re; do
		printf '%s\n' "$ERR" | grep -qiE -- "$re" || die "stderr does not match /$re/: $ERR"
	done
}

# out_has REGEX...: stdout of the last hp call matches every REGEX (extended).
out_has() {
	local re
	for re; do
		printf '%s\n' "$OUT" | grep -qE -- "$re" || die "stdout does not match /$re/"
	done
}

# patch_id: the id from the last successful apply ("... applied patch N ...").
patch_id() {
	local id
	id=$(printf '%s\n' "$OUT" | sed -n 's/.*applied patch \([0-9][0-9]*\).*/\1/p' | head -1)
	[ -n "$id" ] || die "no 'applied patch N' in apply output"
	echo "$id"
}

# apply_checked PID PATCH: apply PATCH, which must succeed and leave PID alive, untraced and without
# W+X mapping; sets ID to the new patch's id.
apply_checked() {
	hp apply "$1" "$2"
	expect_rc 0
	ID=$(patch_id)
	alive "$1"
	no_wx "$1"
}

# revert_checked PID ID: revert patch ID, which must succeed and leave PID as apply_checked does.
revert_checked() {
	hp revert "$1" "$2"
	expect_rc 0
	alive "$1"
	no_wx "$1"
}

# cycle_apply_revert N PID FILE PATCH NEW_RE OLD_RE [CMD...]: N times apply PATCH, see PID's ticks
# in FILE switch to NEW_RE and stay there (wait_stable, 2 more ticks), revert it by id, see them
# switch back to OLD_RE and stay; CMD (a per-cycle check, e.g. no_errors FILE) runs after each.
cycle_apply_revert() {
	local n=$1 pid=$2 file=$3 patch=$4 new=$5 old=$6 i from
	shift 6
	for i in $(seq 1 "$n"); do
		note "cycle $i"
		from=$(lines "$file")
		apply_checked "$pid" "$patch"
		wait_stable "$file" "$from" "$new" '^tick' 2
		from=$(lines "$file")
		revert_checked "$pid" "$ID"
		wait_stable "$file" "$from" "$old" '^tick' 2
		[ $# -eq 0 ] || "$@"
	done
}

# apply_time PATCH: time one apply of $P/PATCH to a fresh fault_target (ASan is slower: fault
# tests spread their events over it); sets APPLY_US, in microseconds.
apply_time() {
	local t0
	start probe "$T/fault_target" tick
	wait_line "$WORK/probe.out" '^ready' 10 || die "probe did not start"
	t0=$(date +%s%N)
	hp apply "$PID" "$P/$1" >/dev/null
	expect_rc 0
	APPLY_US=$((($(date +%s%N) - t0) / 1000))
	kill -9 "$PID"
	wait "$PID" 2>/dev/null || true
	note "one apply takes ${APPLY_US} us"
}

# apply_racing PID PATCH: apply PATCH to PID while the target execs or dies under it (output in
# $WORK/hp.stdout and hp.stderr, exit status in RC); check it with racing_verdict.
apply_racing() {
	set +e
	timeout -k 2 15 "$HOTPATCH" apply --timeout 3000 "$1" "$2" \
		>"$WORK/hp.stdout" 2>"$WORK/hp.stderr"
	RC=$?
	set -e
}

# racing_verdict PID: the apply_racing call ended by itself in time (no hang, no signal), with
# no sanitizer or BUG report, and either succeeded or wrote one error line naming PID.
racing_verdict() {
	case $RC in
	124|137) die "hotpatch hung" ;;
	esac
	[ "$RC" -lt 128 ] || die "hotpatch died of signal $((RC - 128))"
	if grep -qE 'AddressSanitizer|runtime error:|LeakSanitizer|hotpatch: BUG at' "$WORK/hp.stderr"; then
		die "hotpatch reported a bug"
	fi
	[ "$RC" -eq 0 ] && return 0
	[ "$(wc -l <"$WORK/hp.stderr")" -eq 1 ] || die "expected one error line"
	grep -qE "^hotpatch: pid $1: " "$WORK/hp.stderr" || die "error does not name the pid"
}

# alive PID: the process exists, is not a zombie, no thread is stopped (unless $2=stopped ok),
# and no thread is traced.
alive() {
	local st task tracer
	st=$(awk '/^State:/{print $2}' /proc/"$1"/status 2>/dev/null) || die "pid $1 is gone"
	case $st in
	Z|X|"") die "pid $1 is dead ($st)" ;;
	esac
	for task in /proc/"$1"/task/*; do
		# threads may exit while we look: a missing file is not an error
		st=$(awk '/^State:/{print $2}' "$task"/status 2>/dev/null) || continue
		tracer=$(awk '/^TracerPid:/{print $2}' "$task"/status 2>/dev/null) || continue
		case $st in
		T|t) [ "${2:-}" = stopped ] || die "pid $1 thread ${task##*/} left stopped ($st)" ;;
		esac
		[ -z "$tracer" ] || [ "$tracer" = 0 ] || die "pid $1 thread ${task##*/} still traced by $tracer"
	done
}

# no_wx PID: no mapping is both writable and executable.
no_wx() {
	if awk '$2 ~ /w/ && $2 ~ /x/' /proc/"$1"/maps | grep -q .; then
		awk '$2 ~ /w/ && $2 ~ /x/' /proc/"$1"/maps >&2
		die "pid $1 has a writable+executable mapping"
	fi
}

# mapped PID FILE / not_mapped PID FILE: FILE is (not) mapped in the process.
mapped() {
	grep -qF -- "$(realpath "$2")" /proc/"$1"/maps || die "$2 is not mapped in pid $1"
}
not_mapped() {
	if grep -qF -- "$(realpath "$2")" /proc/"$1"/maps; then
		die "$2 is still mapped in pid $1"
	fi
}

# sym_addr PID BINARY SYMBOL: runtime address (decimal) of SYMBOL of BINARY in process PID.
sym_addr() {
	local v base=0 exe
	v=$(nm "$2" | awk -v s="$3" '$3 == s { print $1; exit }')
	[ -n "$v" ] || die "'$3' not in $2"
	if LC_ALL=C readelf -h "$2" | grep -q 'DYN'; then
		exe=$(realpath "$2")
		base=$(awk -v f="$exe" '$6 == f && $3 == "00000000" { split($1, a, "-"); print a[1]; exit }' \
			/proc/"$1"/maps)
		[ -n "$base" ] || die "$2 not mapped in pid $1"
		base=$((16#$base))
	fi
	echo $((base + 16#$v))
}

# read_mem PID ADDR LEN: LEN bytes of the process at ADDR (decimal), as hex.
read_mem() {
	dd if=/proc/"$1"/mem bs="$3" count=1 iflag=skip_bytes skip="$2" 2>/dev/null | od -An -tx1 |
		tr -d ' \n'
}

# code_same PID FILE [ADDR LEN]...: every executable mapping of FILE in PID holds the file's
# own bytes, except inside the ranges given (decimal ADDR, LEN bytes): no breakpoint and no
# half-written jump was left anywhere in the code.
code_same() {
	local pid=$1 file=$2 diff rc=0
	shift 2
	diff=$(python3 "$ROOT/tests/code_diff.py" "$pid" "$file") || rc=$?
	[ $rc -eq 0 ] && return 0
	[ $rc -eq 1 ] || die "cannot compare the code of $file in pid $pid"
	local a n ok s l
	while read -r a n; do
		ok=0
		set -- "$@"
		local i=1 args=("$@")
		while [ $i -lt ${#args[@]} ]; do
			s=${args[$((i - 1))]} l=${args[$i]}
			if [ $((16#$a)) -ge "$s" ] && [ $((16#$a + n)) -le $((s + l)) ]; then ok=1; fi
			i=$((i + 2))
		done
		[ $ok -eq 1 ] || die "pid $pid: code of $file differs from the file at 0x$a ($n bytes)"
	done <<<"$diff"
}

set -e

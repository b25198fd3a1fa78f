# Shared helpers for integration tests (sourced). Every wait is bounded and
# synchronises on an event (a line in the target's output), never on a sleep.
# Variables: ROOT (repo), HOTPATCH (binary under test), B=$ROOT/build/tests.
set -u
: "${ROOT:=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
: "${HOTPATCH:=$ROOT/build/hotpatch}"
B=$ROOT/build/tests
T=$B/targets
P=$B/patches
WORK=$(mktemp -d /tmp/hotpatch-test.XXXXXX)
PIDS=()

cleanup() {
	local p
	for p in "${PIDS[@]:-}"; do
		[ -n "$p" ] && kill -9 "$p" 2>/dev/null || true
	done
	wait 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT

die() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }
note() { echo "--- $*"; }

# start NAME CMD... : run CMD in the background with stdout+stderr to $WORK/NAME.out;
# sets $PID (and registers it for cleanup).
start() {
	local name=$1; shift
	"$@" >"$WORK/$name.out" 2>&1 &
	PID=$!
	PIDS+=("$PID")
}

# wait_line FILE REGEX [TIMEOUT_S=10] [FROM_LINE=0]: wait until a line after FROM_LINE matches.
wait_line() {
	local file=$1 re=$2 t=${3:-10} from=${4:-0}
	local end=$((SECONDS + t))
	while [ $SECONDS -le $end ]; do
		if tail -n +$((from + 1)) "$file" 2>/dev/null | grep -qE -- "$re"; then
			return 0
		fi
		sleep 0.02
	done
	echo "timeout (${t}s) waiting for /$re/ in $file; last lines:" >&2
	tail -5 "$file" >&2
	return 1
}

# lines FILE: current number of lines (use as FROM_LINE to wait for new output).
lines() { wc -l <"$1" | tr -d ' '; }

# hp ARGS...: run hotpatch, capture stdout/stderr into $OUT/$ERR and exit code into $RC.
hp() {
	set +e
	"$HOTPATCH" "$@" >"$WORK/hp.stdout" 2>"$WORK/hp.stderr"
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
	return 0
}

# expect_rc N: the last hp call exited with N.
expect_rc() { [ "$RC" -eq "$1" ] || die "expected exit $1, got $RC"; }

# alive PID: the process exists and is not a zombie, and is not stopped (unless $2=stopped ok).
alive() {
	local st
	st=$(awk '/^State:/{print $2}' /proc/"$1"/status 2>/dev/null) || die "pid $1 is gone"
	case $st in
	Z|X|"") die "pid $1 is dead ($st)" ;;
	T|t) [ "${2:-}" = stopped ] || die "pid $1 left stopped ($st)" ;;
	esac
	local tracer
	tracer=$(awk '/^TracerPid:/{print $2}' /proc/"$1"/status)
	[ "$tracer" = 0 ] || die "pid $1 still traced by $tracer"
}

# no_wx PID: no mapping is both writable and executable.
no_wx() {
	if awk '$2 ~ /w/ && $2 ~ /x/' /proc/"$1"/maps | grep -q .; then
		awk '$2 ~ /w/ && $2 ~ /x/' /proc/"$1"/maps >&2
		die "pid $1 has a writable+executable mapping"
	fi
}

set -e

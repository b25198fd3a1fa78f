# Helpers of the guest tests that drive the hotpatch command (busybox sh), the counterpart of
# tests/lib.sh for the x86 integration tests: every wait is bounded (a count of 20 ms sleeps) and
# synchronises on a line of the target's output; everything started is killed at exit.
# Variables: O (the target's output), PID, RC/OUT/ERR (the last hotpatch call). The helpers'
# own variables are local (busybox ash has 'local'): a caller's loop counter survives them.
[ -x ./hotpatch ] || { echo "hotpatch not built for aarch64"; exit 77; }
export HOTPATCH_AUDIT=off
WORK=/tmp/hp.$$
mkdir -p "$WORK"
PIDS=
HP_TIMEOUT=${HP_TIMEOUT:-60}

cleanup() {
	rc=$?
	for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
	rm -rf "$WORK"
	exit $rc
}
trap cleanup EXIT

die() { echo "FAIL: $*"; exit 1; }
note() { echo "--- $*"; }

# start_target NAME CMD...: run CMD with its output in $WORK/NAME.out (O), wait for "ready"; sets PID.
start_target() {
	name=$1; shift
	O=$WORK/$name.out
	"$@" > "$O" 2>&1 &
	PID=$!
	PIDS="$PIDS $PID"
	wait_line "$O" '^ready' || die "$name did not start"
}

# lines FILE: its number of complete lines.
lines() { wc -l < "$1" | tr -d ' '; }
# after FILE FROM: the complete lines after line FROM.
after() { head -n "$(lines "$1")" "$1" | tail -n +$(($2 + 1)); }

# wait_line FILE REGEX [TRIES=1500] [FROM=0]: until a line after FROM matches (20 ms per try).
wait_line() {
	local i=0
	while ! after "$1" "${4:-0}" | grep -qE -- "$2"; do
		i=$((i + 1))
		if [ $i -gt "${3:-1500}" ]; then
			echo "timeout waiting for /$2/ in $1 after line ${4:-0}; last lines:"
			tail -n 5 "$1"
			return 1
		fi
		usleep 20000
	done
}

# expect_next FILE FROM N REGEX [FILTER=.]: N lines matching FILTER after FROM, each matching REGEX.
expect_next() {
	local i=0 bad
	while [ "$(after "$1" "$2" | grep -cE -- "${5:-.}")" -lt "$3" ]; do
		i=$((i + 1))
		[ $i -gt 1500 ] && { tail -n 5 "$1"; die "fewer than $3 lines /${5:-.}/ after line $2 of $1"; }
		usleep 20000
	done
	bad=$(after "$1" "$2" | grep -E -- "${5:-.}" | head -n "$3" | grep -vE -- "$4" | head -n 1)
	[ -z "$bad" ] || die "unexpected line in $1 (want /$4/): $bad"
}

# wait_stable FILE FROM REGEX [FILTER=^tick] [N=3]: a line after FROM matches REGEX, and so do
# the next N lines matching FILTER (the change stuck).
wait_stable() {
	local at
	wait_line "$1" "$3" 1500 "$2" || die "no line /$3/ in $1"
	at=$(after "$1" "$2" | grep -nE -- "$3" | head -n 1 | cut -d: -f1)
	expect_next "$1" $(($2 + at)) "${5:-3}" "$3" "${4:-^tick}"
}

# unchanged FILE REGEX [N=3]: the next N tick lines (from now) still match REGEX.
unchanged() { expect_next "$1" "$(lines "$1")" "${3:-3}" "$2" '^tick'; }

# hp ARGS...: run the command (bounded), capture stdout/stderr in OUT/ERR and its status in RC
# (stderr not echoed with HP_QUIET_ERR set: -vv logs are long, the guest shows 40 lines).
hp() {
	timeout "$HP_TIMEOUT" ./hotpatch "$@" > "$WORK/hp.out" 2> "$WORK/hp.err"
	RC=$?
	OUT=$(cat "$WORK/hp.out")
	ERR=$(cat "$WORK/hp.err")
	echo "\$ hotpatch $* -> $RC"
	[ -n "$OUT" ] && echo "$OUT" | sed 's/^/  out: /'
	[ -n "$ERR" ] && [ -z "${HP_QUIET_ERR:-}" ] && echo "$ERR" | sed 's/^/  err: /'
	case $RC in 124|137|143) die "hotpatch did not finish within ${HP_TIMEOUT}s";; esac
	return 0
}
expect_rc() { [ "$RC" -eq "$1" ] || die "expected exit $1, got $RC"; }
out_has() {
	for re; do echo "$OUT" | grep -qE -- "$re" || die "stdout does not match /$re/"; done
}
err_has() {
	for re; do echo "$ERR" | grep -qiE -- "$re" || die "stderr does not match /$re/"; done
}
# patch_id: the id the last apply printed ("... applied patch N ...").
patch_id() {
	local id
	id=$(echo "$OUT" | sed -n 's/.*applied patch \([0-9][0-9]*\).*/\1/p' | head -n 1)
	[ -n "$id" ] || die "no 'applied patch N' in apply output"
	echo "$id"
}

# alive PID: running, no thread left stopped or traced.
alive() {
	local task st tr
	[ -d /proc/$1 ] || die "pid $1 is gone"
	for task in /proc/$1/task/*; do
		st=$(awk '/^State:/{print $2}' "$task/status" 2>/dev/null) || continue
		tr=$(awk '/^TracerPid:/{print $2}' "$task/status" 2>/dev/null) || continue
		case $st in Z|X|T|t) die "pid $1 thread ${task##*/} is $st";; esac
		[ -z "$tr" ] || [ "$tr" = 0 ] || die "pid $1 thread ${task##*/} still traced by $tr"
	done
}
no_wx() {
	! awk '$2 ~ /w/ && $2 ~ /x/' /proc/$1/maps | grep -q . || die "pid $1 has a W+X mapping"
}
mapped() { grep -qF -- "$2" /proc/$1/maps || die "$2 is not mapped in pid $1"; }
not_mapped() { ! grep -qF -- "$2" /proc/$1/maps || die "$2 is still mapped in pid $1"; }
no_errors() { ! grep -q ERROR "$1" || { grep ERROR "$1" | head -n 5; die "$1: the target reported errors"; }; }
# all_lines FILE FILTER REGEX: every line so far matching FILTER matches REGEX.
all_lines() {
	local bad
	bad=$(after "$1" 0 | grep -E -- "$2" | grep -vE -- "$3" | head -n 1)
	[ -z "$bad" ] || die "unexpected line in $1 (want /$3/): $bad"
}

# The busy target (tests/targets/busy.c) prints "start T N" and "result T N V" per call of its
# two threads; $O is its output.
# calls_after FROM WANT: every call started after line FROM gave WANT, every other result is 4 or
# 300; prints "N0 N1", the number of such calls per thread.
calls_after() {
	after "$O" "$1" | awk -v want="$2" '
		/^start / { started[$2 " " $3] = 1 }
		/^result / {
			if (($2 " " $3) in started) {
				n[$2]++
				if ($4 != want) { print "call " $2 "/" $3 " started after hotpatch returned but gave " $4; bad = 1 }
			} else if ($4 != 4 && $4 != 300) { print "invalid result: " $0; bad = 1 }
		}
		END { if (!bad) print n[0] + 0, n[1] + 0; exit bad }'
}
# wait_calls FROM WANT: at least 2 such calls per thread, all with WANT (bounded: 15 s).
wait_calls() {
	local i=0 res
	while :; do
		res=$(calls_after "$1" "$2") || die "$res"
		set -- "$1" "$2" $res
		[ "$3" -ge 2 ] && [ "$4" -ge 2 ] && { echo "calls after line $1: $3/$4, all $2"; return 0; }
		i=$((i + 1))
		[ $i -gt 750 ] && die "only $3/$4 calls completed after line $1"
		usleep 20000
		set -- "$1" "$2"
	done
}

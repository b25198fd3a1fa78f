#!/bin/bash
# Usage errors and help of the hotpatch command: none of these reach the
# library, so no process is touched. Usage errors exit 2 with exactly two
# stderr lines (the reason, then the hint) and nothing on stdout.
. "$(dirname "$0")/../lib.sh"

[ -x "$HOTPATCH" ] || skip "no $HOTPATCH"

# usage_err HINT_CMD REASON_REGEX ARGS...
usage_err() {
	local cmd=$1 re=$2
	shift 2
	hp "$@"
	expect_rc 2
	[ -z "$OUT" ] || die "usage error printed on stdout: $OUT"
	[ "$(printf '%s\n' "$ERR" | wc -l)" -eq 2 ] || die "expected 2 stderr lines, got: $ERR"
	printf '%s\n' "$ERR" | sed -n 1p | grep -qE "^hotpatch: $re\$" ||
		die "first stderr line does not match /^hotpatch: $re\$/"
	local hint="try 'hotpatch --help'"
	[ -n "$cmd" ] && hint="try 'hotpatch $cmd --help'"
	[ "$(printf '%s\n' "$ERR" | sed -n 2p)" = "$hint" ] || die "second stderr line is not: $hint"
}

note "no command, unknown command, unknown global option"
usage_err "" "missing command"
usage_err "" "unknown command 'frobnicate'" frobnicate
usage_err "" "unknown option '--frob'" --frob apply 1 x.so

note "missing arguments"
usage_err apply "missing TARGET.*" apply
usage_err apply "missing PATCH.so" apply 1
usage_err load "missing FILE.so" load 1
usage_err revert "missing ID, PATCH.so or --all" revert 1
usage_err list "missing TARGET.*" list
usage_err check "missing PATCH.so" check 1
usage_err info "missing PATCH.so" info
usage_err build "missing PATCH.c" build

note "invalid pids: never 'no such process'"
for bad in abc 0 -1 12x 1.5 99999999999 " 1" ""; do
	usage_err apply "invalid pid '$bad'" apply "$bad" x.so
done
usage_err list "invalid pid 'nginx'" list nginx

note "unknown options, bad values, too many arguments"
usage_err apply "unknown option '--bogus'" apply 1 x.so --bogus
usage_err apply "unknown option '--force'" apply --force 1 x.so
usage_err list "unknown option '--timeout'" list --timeout 5 1
usage_err info "unknown option '--all-of'" info --all-of /bin/true x.so
usage_err apply "option '--timeout' needs a value" apply 1 x.so --timeout
usage_err apply "invalid timeout 'soon'.*" apply --timeout=soon 1 x.so
usage_err apply "invalid timeout '0'.*" apply --timeout 0 1 x.so
usage_err list "option '--json' takes no value" list --json=1 1
usage_err apply "unexpected argument 'extra'" apply 1 x.so extra
usage_err revert "'--all' and '2' exclude each other" revert 1 2 --all
usage_err list "invalid build-id 'xyz'.*" list --build-id xyz
usage_err list "more than one '--all-of' or '--build-id'" list --all-of /bin/true --build-id abcd

note "--json: a usage error is still one JSON document on stdout"
hp apply --json abc x.so
expect_rc 2
printf '%s\n' "$ERR" | grep -q "^hotpatch: invalid pid 'abc'$" || die "no stderr line with --json"
[ "$(printf '%s\n' "$OUT" | wc -l)" -eq 1 ] || die "not one line of JSON"
if command -v python3 >/dev/null; then
	printf '%s' "$OUT" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["version"] == 1 and d["ok"] is False, d
assert d["error"]["code"] == "USAGE" and d["error"]["errno"] == -22, d
assert d["error"]["message"] == "invalid pid '"'abc'"'", d
' || die "bad JSON for a usage error: $OUT"
fi

note "--help: usage on stdout, exit 0, for every command and in every position"
hp --help
expect_rc 0
[ -z "$ERR" ] || die "--help wrote to stderr"
for w in "usage: hotpatch COMMAND" "Exit status:" "--all-of PATH" "partial success"; do
	printf '%s\n' "$OUT" | grep -qF -- "$w" || die "hotpatch --help lacks '$w'"
done
for cmd in apply load revert list check info build probe; do
	hp "$cmd" --help
	expect_rc 0
	printf '%s\n' "$OUT" | head -1 | grep -q "^usage: hotpatch $cmd " || die "$cmd --help: no usage line"
	[ -z "$ERR" ] || die "$cmd --help wrote to stderr"
	hp help "$cmd"
	expect_rc 0
	printf '%s\n' "$OUT" | head -1 | grep -q "^usage: hotpatch $cmd " || die "help $cmd: no usage line"
done
# --help wins over what is missing or wrong after it
hp apply --help abc
expect_rc 0
hp revert -h
expect_rc 0
printf '%s\n' "$OUT" | grep -q -- "--all" || die "revert --help does not describe --all"

hp --version
expect_rc 0
printf '%s\n' "$OUT" | grep -qE '^hotpatch [0-9]+\.[0-9]+' || die "bad --version output"

echo PASS

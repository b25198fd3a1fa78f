#!/bin/bash
# Test runner for `make check`: cmocka unit tests, then the integration scripts
# against the normal build and again against the ASan/UBSan build.
# Each integration script is one test: exit 0 pass, 77 skip, anything else fail.
# Ends with the line "N passed, N failed[, N skipped]" and exits non-zero on any failure.
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
what=${1:-all}
pass=0 fail=0 skip=0
failed=()
LOGDIR=$ROOT/build/tests/logs
mkdir -p "$LOGDIR"
TEST_TIMEOUT=${TEST_TIMEOUT:-180}

run_unit() {
	local bin name log out
	for bin in build/tests/unit/test_*; do
		[ -x "$bin" ] || continue
		name=unit/$(basename "$bin")
		log=$LOGDIR/${name//\//_}.log
		timeout -k 5 "$TEST_TIMEOUT" "$bin" >"$log" 2>&1
		local rc=$?
		local p f
		p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
		f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
		p=${p:-0} f=${f:-0}
		if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
		pass=$((pass + p)) fail=$((fail + f))
		if [ "$f" -ne 0 ]; then
			failed+=("$name")
			echo "FAIL $name ($p passed, $f failed)"; sed 's/^/    /' "$log" | tail -40
		else
			echo "ok   $name ($p tests)"
		fi
	done
}

run_integration() {
	local hp=$1 tag=$2 t name log rc start
	shift 2
	local list=("$@")
	[ ${#list[@]} -gt 0 ] || list=(tests/integration/*.sh)
	for t in "${list[@]}"; do
		[ -f "$t" ] || continue
		name=$tag/$(basename "$t" .sh)
		log=$LOGDIR/${name//\//_}.log
		start=$(date +%s%N)
		HOTPATCH=$hp ROOT=$ROOT timeout -k 5 "$TEST_TIMEOUT" bash "$t" >"$log" 2>&1 </dev/null
		rc=$?
		local ms=$((($(date +%s%N) - start) / 1000000))
		local secs=$((ms / 1000)).$(((ms % 1000) / 100))
		case $rc in
		0) pass=$((pass + 1)); echo "ok   $name (${secs}s)" ;;
		77) skip=$((skip + 1)); echo "skip $name: $(tail -1 "$log")" ;;
		*) fail=$((fail + 1)); failed+=("$name")
		   [ $rc -eq 124 ] && echo "FAIL $name: timed out after ${TEST_TIMEOUT}s" || echo "FAIL $name (exit $rc)"
		   sed 's/^/    /' "$log" | tail -40 ;;
		esac
	done
}

# The tests that run threads out of functions (consistency, safe point, revert's
# rollback), run once more with the breakpoint mechanism the probe did not choose:
# int3 where debug registers fire. Where they do not fire, that pass cannot run.
BP_TESTS=(busy_function revert_rollback stuck_function malloc_storm consistency_altstack
	  fault_signal fault_exec thread_churn)
run_other_breakpoints() {
	local hp=$ROOT/build/hotpatch fire
	fire=$("$hp" probe --json 2>/dev/null | sed -n 's/.*"hw_breakpoints":\(true\|false\).*/\1/p')
	echo "machine: $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(nproc) cpus;" \
	     "$("$hp" probe 2>/dev/null | head -1)"
	if [ "$fire" != true ]; then
		skip=$((skip + 1))
		echo "skip hw/*: debug-register breakpoints do not fire here: the int3 path ran above"
		return
	fi
	HOTPATCH_BREAKPOINTS=sw run_integration "$hp" sw "${BP_TESTS[@]/#/tests/integration/}"
}
BP_TESTS=("${BP_TESTS[@]/%/.sh}")

case $what in
unit) run_unit ;;
integration) run_integration "$ROOT/build/hotpatch" int ;;
asan) run_integration "$ROOT/build/asan/hotpatch" asan ;;
all)
	run_unit
	run_integration "$ROOT/build/hotpatch" int
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=99 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=99 \
		run_integration "$ROOT/build/asan/hotpatch" asan
	run_other_breakpoints
	;;
breakpoints) run_other_breakpoints ;;
esac
if [ ${#failed[@]} -gt 0 ]; then
	echo "failed: ${failed[*]}"
fi
if [ "$skip" -gt 0 ]; then
	echo "$pass passed, $fail failed, $skip skipped"
else
	echo "$pass passed, $fail failed"
fi
[ "$fail" -eq 0 ]

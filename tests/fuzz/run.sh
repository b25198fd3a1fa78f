#!/bin/bash
# Build the libFuzzer harnesses (clang, -fsanitize=fuzzer,address,undefined)
# and run each one.
#   tests/fuzz/run.sh SECONDS     fuzz each harness for SECONDS (`make fuzz`,
#                                 FUZZ_SECONDS=60 by default), corpus grows in build/fuzz/corpus
#   tests/fuzz/run.sh --smoke     CI: each harness over its seed corpus plus a bounded
#                                 number of mutations (-runs), 8 s at most each
# Prints per harness the executions and the findings; exits 1 on any finding
# (crash, leak, sanitizer report, timeout), 77 when clang/libFuzzer are missing.
# Reproduce a finding: build/fuzz/fuzz_NAME build/fuzz/artifacts/NAME/crash-...
set -u
cd "$(dirname "$0")/../.."
CLANG=${CLANG:-clang}
OUT=build/fuzz
mode=${1:-60}
smoke=0
[ "$mode" = --smoke ] && smoke=1

command -v "$CLANG" >/dev/null || { echo "fuzz: no $CLANG (apt-get install clang libclang-rt-14-dev)"; exit 77; }
mkdir -p "$OUT/obj"
echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return d && n > 1 ? 0 : 0; }' \
	>"$OUT/probe.c"
if ! "$CLANG" -fsanitize=fuzzer "$OUT/probe.c" -o "$OUT/probe" 2>/dev/null; then
	echo "fuzz: $CLANG cannot link -fsanitize=fuzzer (install libclang-rt-14-dev)"
	exit 77
fi

CFLAGS="-Iinclude -Isrc -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -std=gnu11 -O1 -g -fno-omit-frame-pointer"
SAN="-fsanitize=address,undefined -fno-sanitize-recover=all"
# harness name -> library sources it exercises (instrumented for coverage)
declare -A SRCS=(
	[maps]="src/proc/maps.c src/common/err.c"
	[patchfile]="src/elf/patchfile.c src/elf/elf.c src/common/err.c"
)
declare -A LIBS=([maps]="" [patchfile]="-lelf -ldw")
# smoke: mutations per harness (each execution of maps allocates 64 entries of 4 KiB)
declare -A RUNS=([maps]=15000 [patchfile]=30000)

build() {
	local name=$1 objs="" src obj
	for src in ${SRCS[$name]}; do
		obj=$OUT/obj/$(echo "$src" | tr / _).o
		# Rebuild when the source or any header is newer.
		if [ ! -f "$obj" ] || [ -n "$(find "$src" include src -name '*.h' -newer "$obj" -o -samefile "$src" -newer "$obj" 2>/dev/null | head -1)" ]; then
			"$CLANG" $CFLAGS $SAN -fsanitize=fuzzer-no-link -c "$src" -o "$obj" || return 1
		fi
		objs="$objs $obj"
	done
	"$CLANG" $CFLAGS $SAN -fsanitize=fuzzer "tests/fuzz/fuzz_$name.c" $objs ${LIBS[$name]} \
		-o "$OUT/fuzz_$name"
}

status=0
for name in maps patchfile; do
	build "$name" || { echo "fuzz_$name: build failed"; status=1; continue; }
	seeds=tests/fuzz/corpus/$name
	art=$OUT/artifacts/$name/
	mkdir -p "$art"
	log=$OUT/fuzz_$name.log
	export ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1
	export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
	if [ $smoke -eq 1 ]; then
		# Seeds, then a fixed number of mutations. libFuzzer writes new inputs into its
		# first corpus directory: a scratch one, so a test run never changes the source tree.
		scratch=$OUT/smoke-corpus/$name
		rm -rf "$scratch"
		mkdir -p "$scratch"
		"$OUT/fuzz_$name" -runs="${RUNS[$name]}" -max_total_time=8 -timeout=5 -rss_limit_mb=1024 \
			-max_len=65536 -print_final_stats=1 -artifact_prefix="$art" "$scratch" "$seeds" \
			>"$log" 2>&1
	else
		work=$OUT/corpus/$name
		mkdir -p "$work"
		"$OUT/fuzz_$name" -max_total_time="$mode" -timeout=5 -rss_limit_mb=1024 -max_len=65536 \
			-print_final_stats=1 -artifact_prefix="$art" "$work" "$seeds" >"$log" 2>&1
	fi
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1)
	if [ $rc -ne 0 ] || grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:' "$log"; then
		echo "fuzz_$name: FINDING after ${execs:-?} executions (exit $rc); log $log, artifacts $art:"
		grep -E 'ERROR:|runtime error:|SUMMARY|Test unit written' "$log" | head -5 | sed 's/^/    /'
		status=1
	else
		echo "fuzz_$name: ${execs:-?} executions, ${cov:-cov: ?}, no findings"
	fi
done
exit $status

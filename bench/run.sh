#!/bin/bash
# `make bench`: build the benchmark target, library and patches, run bench/bench.py.
# Prints Markdown tables (also written to build/bench/results.md). Bounded: the whole run
# stays under 10 minutes, and every process it starts is killed on exit.
# usage: bench/run.sh [--quick] [--reps N] [--only threads,funcs,gdb,apply,calls,multi,bp,window]
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=$ROOT/build/bench
CC=${CC:-cc}
CFLAGS="-std=gnu11 -O2 -g -fno-omit-frame-pointer -Wall -Wextra -Werror"
cd "$ROOT"
[ -x build/hotpatch ] || { echo "bench: build/hotpatch missing: run make first" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || [ "$(cat /proc/sys/kernel/yama/ptrace_scope 2>/dev/null || echo 0)" = 0 ] ||
	echo "bench: warning: not root and kernel.yama.ptrace_scope > 0: attaching may be refused" >&2

mkdir -p "$B"
bench/gen.sh "$B" 1000 1 10 100 1000
$CC $CFLAGS -shared -fPIC -o "$B/libbench_lib.so" bench/lib.c
$CC $CFLAGS -I"$B" -o "$B/bench_target" bench/target.c "$B/bench_funcs.c" \
	-L"$B" -lbench_lib -Wl,-rpath,'$ORIGIN' -lpthread
for k in 1 10 100 1000; do
	$CC -shared -fPIC -O2 -Wall -Wextra -Werror -Iinclude -o "$B/patch_$k.so" "$B/patch_$k.c"
done
$CC $CFLAGS -o "$B/busy" bench/busy.c -lpthread
$CC $CFLAGS -o "$B/floor" bench/floor.c
$CC -shared -fPIC -O2 -Wall -Wextra -Werror -Iinclude -o "$B/busy_patch.so" bench/busy_patch.c
$CC -shared -fPIC -O2 -Wall -Wextra -Werror -Iinclude -DCOLD -o "$B/cold_patch.so" bench/busy_patch.c
$CC -shared -fPIC -O2 -Wall -Wextra -Werror -Iinclude -o "$B/callpatch.so" bench/callpatch.c
$CC -shared -fPIC -O2 -Wall -Wextra -Werror -Iinclude -DCALLS_LIB -o "$B/callpatch_lib.so" bench/callpatch.c
# hotpatch refuses patch files writable by group or others
chmod 644 "$B"/*.so

# The Python driver kills its targets itself; the process group catches anything left.
set -m
timeout -s TERM -k 10 600 python3 bench/bench.py "$@" &
PY=$!
trap 'kill -TERM $PY 2>/dev/null; wait $PY 2>/dev/null' INT TERM
wait $PY

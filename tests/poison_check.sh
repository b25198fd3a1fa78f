#!/bin/bash
# The ptrace poison (src/common/noptrace.h) holds: run by `make poison-check` before the unit tests.
# $1: the compiler command with the project's flags; then the files that include the poison
# themselves (the Makefile's POISON_LATE). Exit 0 when the poison holds, 1 (naming what
# got through) when it does not.
set -u
cd "$(dirname "$0")/.."
cc=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# A raw call with its own declaration, as a file outside src/proc would write it; and the same
# call through <sys/ptrace.h>.
printf 'long ptrace(int, ...);\nlong raw(int t) { return ptrace(7, t, 0, 0); }\n' >"$tmp/decl.c"
printf '#include <sys/ptrace.h>\nlong raw(int t) { return ptrace(PTRACE_CONT, t, 0, 0); }\n' >"$tmp/hdr.c"
for f in decl hdr; do
	# Without the poison it compiles: what refuses it below is the poison, nothing else.
	if ! $cc -c "$tmp/$f.c" -o "$tmp/$f.o" 2>"$tmp/err"; then
		echo "poison-check: $f.c does not compile even without the poison:"; cat "$tmp/err"; exit 1
	fi
	if $cc -include src/common/noptrace.h -c "$tmp/$f.c" -o "$tmp/$f.o" 2>"$tmp/err"; then
		echo "poison-check: a raw ptrace() call ($f.c) compiles outside src/proc"; exit 1
	fi
	if ! grep -q 'poisoned "ptrace"' "$tmp/err"; then
		echo "poison-check: $f.c was refused, but not by the poison:"; cat "$tmp/err"; exit 1
	fi
done
# Every object outside src/proc gets the poison from the Makefile (-include), or, for the files
# named after $1 (POISON_LATE), includes it itself; no file of src/proc is poisoned before its
# gateway's declarations.
shift
late=" $* "
objs=$(find src -name '*.c' | sort | sed 's#^\(.*\)\.c$#build/obj/\1.o#')
# shellcheck disable=SC2086
cmds=$(make -s --no-print-directory -n -B $objs 2>/dev/null | grep -- ' -c ')
for src in $(find src -name '*.c' | sort); do
	line=$(grep -F -- "-c $src " <<<"$cmds")
	[ -n "$line" ] || { echo "poison-check: no compile command for $src"; exit 1; }
	case $line in
	*'-include src/common/noptrace.h'*) got=flag ;;
	*) got=none ;;
	esac
	case $src in
	src/proc/*) want=none ;;
	*) if [[ $late == *" $src "* ]]; then want=none; else want=flag; fi ;;
	esac
	if [ "$got" != "$want" ]; then
		echo "poison-check: $src is compiled with poison '$got', want '$want'"; exit 1
	fi
	if [[ $late == *" $src "* ]] && ! grep -q '^#include "common/noptrace.h"' "$src"; then
		echo "poison-check: $src is in POISON_LATE but does not include common/noptrace.h"; exit 1
	fi
done
# syscall(SYS_ptrace, ...) would slip past the poison: nothing outside src/proc names it.
if grep -rnE '\b(SYS_ptrace|__NR_ptrace)\b' src --include='*.[ch]' | grep -v '^src/proc/'; then
	echo "poison-check: the ptrace system call named outside src/proc (above)"; exit 1
fi
echo "poison-check: raw ptrace() refused outside src/proc"

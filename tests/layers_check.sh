#!/bin/bash
# The command and the daemon are thin shells: run by `make layers-check` before the unit tests.
# Every library symbol that an object of src/cli or src/daemon uses must be public API
# (hotpatch_*), except the Creator's entry points (src/create: `hotpatch create` and
# `hotpatch cc`, an offline tool bundled in the command, not part of libhotpatch's ABI).
# $1: the static library, then the objects. Exit 0 when it holds, 1 naming what does not.
set -u
lib=$1
shift
creator='^(create_run|create_report_release|create_verdict_name|cc_main)$'
defined=$(nm --defined-only "$lib" 2>/dev/null | awk '$2 ~ /^[TDBRVW]$/ {print $3}' | sort -u)
bad=0
for o in "$@"; do
	used=$(nm -u "$o" | awk '{print $2}' | sort -u | comm -12 - <(echo "$defined"))
	for sym in $used; do
		[[ $sym == hotpatch_* ]] && continue
		[[ $o == */src/cli/* && $sym =~ $creator ]] && continue
		echo "layers-check: ${o#*obj/} calls the library's internal $sym (only hotpatch_* is public)"
		bad=1
	done
done
[ $bad -eq 0 ] || exit 1
echo "layers-check: the command and the daemon use the public API only"

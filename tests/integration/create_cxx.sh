#!/bin/bash
# create_cxx: the Creator on a C++ program (tests/creator/cxx, built by its Makefile with $(CXX),
# which the Creator points at its wrapper in C++ mode, `hotpatch c++`, the real compiler g++).
# cxx.patch changes a virtual method (Rect::area), a template of a header (clampv<long>,
# instantiated by both objects, each copy in its COMDAT group: one function of the program,
# replaced once, and percent() in the other object sees the fix too), a function that throws (parse: a new message built from std::string) and one
# that catches (describe: a new prefix). The report replaces exactly those four, by their mangled
# names; applied, the running program's virtual call, template and exceptions thrown and caught
# across replaced code all show the fix (area=17, value 43, "failed: not a number: 'x'", pct=88), and
# revert brings every old value back. cxx_layout.patch adds a member to struct Rect: refused,
# naming the struct and both layouts, and no file written.
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/creator/lib.sh"
need
command -v g++ >/dev/null || die "g++ not installed (scripts/install-deps.sh installs it)"
command -v make >/dev/null || skip "make not installed"
command -v patch >/dev/null || skip "patch not installed"
SRC=$WORK/src
cp -r "$CR/cxx" "$SRC"
make -s -C "$SRC" >"$WORK/make.out" 2>&1 || { cat "$WORK/make.out"; die "cannot build the C++ program"; }
start_target shapes "$SRC/shapes" 20
OLD="area=16 \[value 42\] \[error empty\] \[error stol\] pct=87$"
NEW="area=17 \[value 43\] \[failed: not a number: ''\] \[failed: not a number: 'x'\] pct=88$"
expect_next "$O" 0 2 "$OLD" '^tick'

note "create from a C++ fix"
hp create --source "$SRC" --diff "$CR/cxx.patch" --binary "$SRC/shapes" -o "$WORK/cxx.so"
expect_rc 0
replaced_exactly _ZNK4Rect4areaEv _Z6clampvIlET_S0_S0_S0_ \
	_Z5parseRKNSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEEE \
	_Z8describeRKNSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEEE
out_has '^wrote .*cxx.so \(pinned to build-id [0-9a-f]+'

hp check "$PID" "$WORK/cxx.so"
expect_rc 0
from=$(lines "$O")
apply_checked "$PID" "$WORK/cxx.so"
wait_stable "$O" "$from" "$NEW"
from=$(lines "$O")
revert_checked "$PID" "$ID"
wait_stable "$O" "$from" "$OLD"

note "a new member of a class: refused"
hp create --source "$SRC" --diff "$CR/cxx_layout.patch" --binary "$SRC/shapes" -o "$WORK/layout.so"
expect_rc 1
printf '%s\n' "$ERR" | grep -qE '^refused +struct Rect \(shapes.cpp\)' || die "no refusal naming struct Rect"
printf '%s\n' "$ERR" | grep -qE 'layout changed' || die "the refusal does not say the layout changed"
[ -e "$WORK/layout.so" ] && die "a refused create wrote a file"
alive "$PID"
unchanged "$O" "$OLD"
echo PASS

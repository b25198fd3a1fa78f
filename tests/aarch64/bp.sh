#!/bin/sh
# Breakpoints in a real arm64 kernel: NT_ARM_HW_BREAK (skipped when the CPU model has no slots)
# and BRK (pc stays on the BRK); the target runs on unharmed (never sees the SIGTRAP).
. ./lib.sh
start_target
./inject $T brk $LEAF || { kill $T; exit 1; }
n=$(grep -c '^CALL' "$OUT")
wait_line "^CALL $((n + 2)) " || { echo "target stopped after brk"; kill $T; exit 1; }
./inject $T hwbp $NONLEAF
rc=$?
[ $rc -eq 0 ] || [ $rc -eq 77 ] || { kill $T; exit 1; }
n=$(grep -c '^CALL' "$OUT")
wait_line "^CALL $((n + 2)) " || { echo "target stopped after hwbp"; kill $T; exit 1; }
finish

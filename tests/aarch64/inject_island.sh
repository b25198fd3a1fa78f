#!/bin/sh
# ptrace-injected dlopen into a sleeping target, then B imm26 to an island within reach, which holds the LDR/BR (BTI kept, PACIASP -> BTI c); verified from the target's output.
. ./lib.sh
start_target
./inject $T /tests/patch.so island $LEAF:func_leaf_v2 $NONLEAF:func_nonleaf_v2 || { kill $T; exit 1; }
wait_line '^PATCH LOADED' || { echo "no constructor output"; kill $T; exit 1; }
check_patched || { kill $T; exit 1; }
finish

#!/bin/sh
# ptrace-injected dlopen into a sleeping target, then LDR x16/BR x16 at each entry (BTI kept, PACIASP -> BTI c); verified from the target's output.
. ./lib.sh
start_target
./inject $T /tests/patch.so far $LEAF:func_leaf_v2 $NONLEAF:func_nonleaf_v2 || { kill $T; exit 1; }
wait_line '^PATCH LOADED' || { echo "no constructor output"; kill $T; exit 1; }
check_patched || { kill $T; exit 1; }
finish

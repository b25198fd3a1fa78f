#!/bin/sh
# Every register set the backend names (FP/SIMD, SVE at full length, TLS, PAC, MTE) reads back
# identical after a write of what was read.
. ./lib.sh
start_target
./inject $T regs || { kill $T; exit 1; }
finish

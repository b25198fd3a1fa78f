#!/bin/bash
# load_seed: `hotpatch load` dlopen()s a plain shared object in the target: the "seed-style"
# patch's constructor (dlsym + mprotect + absolute jump) runs inside the target and func's
# output changes to 300. The target stays alive and untraced, the object is mapped, and the
# constructor left no page writable and executable.
. "$(dirname "$0")/../lib.sh"
BIN=$T/seedtgt
PATCH=$P/seed.so
need "$BIN" "$PATCH"

start_target seedtgt "$BIN"
expect_next "$O" 0 2 'func\(3\)=4$' '^tick'

from=$(lines "$O")
hp load "$PID" "$PATCH"
expect_rc 0
out_has "^pid $PID: loaded /.*seed\.so \(handle 0x[0-9a-f]+\)"
alive "$PID"
no_wx "$PID"
mapped "$PID" "$PATCH"
wait_stable "$O" "$from" 'func\(3\)=300$'
if grep -q '^seed:' "$O"; then die "the seed constructor failed: $(grep '^seed:' "$O")"; fi
all_lines "$O" '^tick' 'func\(3\)=(4|300)$'
echo PASS

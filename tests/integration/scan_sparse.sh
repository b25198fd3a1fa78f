#!/bin/bash
# scan_sparse: revert's proof that nothing refers to a patch reads every backed page of the
# target's writable memory; a target with a 4 TiB sparse read-write mapping (as ASan's 14 TiB
# shadow) used to make it read pagemap a word per page: apply took minutes and revert hours on
# an ASan-built program. The backed runs now come from the kernel (PAGEMAP_SCAN, Linux 6.7), so
# apply and revert finish (each bounded by the hp helper's timeout, a hang guard, not a timing
# assertion), and the one touched page is read: the patch's address left there keeps it loaded,
# named with the word's address. Without PAGEMAP_SCAN the mapping is left unread and the patch
# is kept as unproven.
. "$(dirname "$0")/../lib.sh"
BIN=$T/sparse
PATCH=$P/sparse_v2.so
need "$BIN" "$PATCH"

start_target sparse "$BIN"
slot=$(sed -n 's/^ready [0-9]* slot \(0x[0-9a-f]*\)$/\1/p' "$O")
[ -n "$slot" ] || die "no slot address"
expect_next "$O" 0 2 'func\(3\)=4$' '^tick'
from=$(lines "$O")
hp apply "$PID" "$PATCH"
expect_rc 0
wait_stable "$O" "$from" 'func\(3\)=300$'
hp revert -vv "$PID" --all
expect_rc 0
alive "$PID"
out_has "reverted patch 1 .*code stays loaded"
major=$(uname -r | cut -d. -f1)
minor=$(uname -r | cut -d. -f2)
if [ "$major" -gt 6 ] || { [ "$major" -eq 6 ] && [ "$minor" -ge 7 ]; }; then
	grep -qE "stays loaded: the word 0x[0-9a-f]+ at $slot \(anonymous memory\) points into it" <<<"$ERR" ||
		die "the reference in the sparse mapping was not found: $(grep -i 'stays loaded\|references into' <<<"$ERR")"
else
	grep -q "not all of its memory could be read" <<<"$ERR" || die "no unproven reason"
fi
from=$(lines "$O")
wait_stable "$O" "$from" 'func\(3\)=4$'
no_wx "$PID"
echo PASS

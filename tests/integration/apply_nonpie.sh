#!/bin/bash
# apply_nonpie: in a -no-pie executable (ET_EXEC, fixed addresses, symbols only in .symtab), a global
# and a static function are both replaced by one patch: the target's own output switches to the
# new values and stays there, `list` shows the patch and both functions, revert by id brings
# the old values back and unmaps the patch. Target alive, untraced, no W+X mapping throughout.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../apply_global_static_lib.sh"
global_static_test nonpie EXEC "a non-PIE executable"
echo PASS

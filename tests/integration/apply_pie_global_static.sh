#!/bin/bash
# apply_pie_global_static: in a PIE built without -rdynamic (symbols only in .symtab), a global
# and a static function are both replaced by one patch: the target's own output switches to the
# new values and stays there, `list` shows the patch and both functions, revert by id brings
# the old values back and unmaps the patch. Target alive, untraced, no W+X mapping throughout.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../apply_global_static_lib.sh"
global_static_test pie DYN "a PIE"
echo PASS

# The body of tests/integration/apply_pie_global_static.sh and apply_nonpie.sh (sourced after
# lib.sh): the same patch and checks on executables that differ only in how they are linked.

# global_static_test NAME ELF_TYPE WHAT: $T/NAME must be of ELF_TYPE (readelf's "DYN", "EXEC";
# else fail naming it not WHAT) and export neither func nor sfunc; pie_v2.so replaces both (a
# global and a static function): the target's ticks switch to the new values and stay there,
# `list` shows the patch and both functions in NAME, revert by id brings the old values back
# and unmaps the patch. Target alive, untraced, no W+X mapping throughout.
global_static_test() {
	local name=$1 type=$2 what=$3 bin=$T/$1 patch=$P/pie_v2.so from id
	local old='func\(3\)=4 sfunc\(5\)=11$' new='func\(3\)=300 sfunc\(5\)=5000$'
	# in between, one line may mix old func and new sfunc (or the reverse), nothing else
	local any='func\(3\)=(4|300) sfunc\(5\)=(11|5000)$'

	need "$bin" "$patch"
	LC_ALL=C readelf -h "$bin" | grep -q "Type: *$type" || die "$bin is not $what"
	if nm -D "$bin" | grep -qwE 'func|sfunc'; then
		die "$bin exports func/sfunc (built with -rdynamic?)"
	fi
	start_target "$name" "$bin"
	expect_next "$O" 0 2 "$old" '^tick'

	from=$(lines "$O")
	apply_checked "$PID" "$patch"
	id=$ID
	out_has "^pid $PID: applied patch $id \(/.*pie_v2\.so\): 2 functions" '^  func -> ' \
		'^  sfunc -> '
	wait_stable "$O" "$from" "$new"
	all_lines "$O" '^tick' "$any"
	mapped "$PID" "$patch"

	hp list "$PID"
	expect_rc 0
	out_has "^patch $id /.*pie_v2\.so" "^  func \(.*/$name\) 0x[0-9a-f]+ -> " \
		"^  sfunc \(.*/$name\) 0x[0-9a-f]+ -> "
	alive "$PID"

	from=$(lines "$O")
	revert_checked "$PID" "$id"
	out_has "^pid $PID: reverted patch $id \(/.*pie_v2\.so\)"
	wait_stable "$O" "$from" "$old"
	not_mapped "$PID" "$patch"
	all_lines "$O" '^tick' "$any"
}

# Helpers of the Creator's integration tests (sourced after tests/lib.sh).
# creator_start: copy tests/creator/prog to $WORK/src, build it with plain make (as a
# distribution would), start it; sets SRC, PID and O (its output).
CR=$ROOT/tests/creator
export TMPDIR=$WORK	# the Creator's work directories (kept when a build fails) go away with $WORK

creator_start() {
	command -v make >/dev/null || skip "make not installed"
	command -v patch >/dev/null || skip "patch not installed"
	SRC=$WORK/src
	cp -r "$CR/prog" "$SRC"
	make -s -C "$SRC" ${1:+CFLAGS="$1"} >"$WORK/make.out" 2>&1 || { cat "$WORK/make.out"; die "cannot build the test program"; }
	start_target prog "$SRC/prog" 20
}

# creator_create NAME [ARGS...]: hotpatch create with tests/creator/NAME.patch into $WORK/NAME.so.
creator_create() {
	local name=$1; shift
	hp create --source "$SRC" --diff "$CR/$name.patch" --binary "$SRC/prog" -o "$WORK/$name.so" "$@"
}

# replaced_exactly NAME...: the report's "replaced" lines name exactly these functions.
replaced_exactly() {
	local got want
	got=$(printf '%s\n' "$OUT" | sed -n 's/^replaced  *\([^ ]*\).*/\1/p' | sort | tr '\n' ' ')
	want=$(printf '%s\n' "$@" | sort | tr '\n' ' ')
	[ "$got" = "$want" ] || die "replaced: got '$got', want '$want'"
}

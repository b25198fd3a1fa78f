#!/bin/bash
# json_schema: every --json document validates against its schema in docs/schema/ (python3-
# jsonschema): apply, check, list, load, revert, info, build, install, installed, status,
# uninstall, probe, usage errors, failures, several
# processes (--all-of) and none matching. `imports` is one truth: the same names, in the same
# order, from info, check, apply, list and revert (the state in the target does not keep them:
# list and revert read them from the loaded file). And the schemas reject: a document without
# `imports`, with an unknown field, or with a number where a hex string belongs, is invalid.
. "$(dirname "$0")/../lib.sh"
BIN=$T/import
PATCH=$P/import_v2.so
need "$BIN" "$PATCH" "$P/nodesc.so" "$ROOT/tests/patches/func100.c"
PY=python3
$PY -c 'import jsonschema' 2>/dev/null || PY=/usr/bin/python3
$PY -c 'import jsonschema' 2>/dev/null || die "python3-jsonschema missing: run scripts/install-deps.sh"
D=$WORK/docs
mkdir -p "$D"
n=0
# doc NAME WANT_RC CMD ARGS...: run hotpatch CMD --json ARGS, keep stdout as document NAME.
doc() {
	local name=$1 want=$2
	shift 2
	hp "$1" --json "${@:2}"
	expect_rc "$want"
	cp "$WORK/hp.stdout" "$D/$name.json"
	n=$((n + 1))
}
imports() { $PY -c 'import json,sys
d = json.load(open(sys.argv[1]))
for k in sys.argv[2:]:
    d = d[int(k)] if k.isdigit() else d[k]
print(",".join(d))' "$@"; }

start_target import "$BIN"
doc info 0 info "$PATCH"
doc check 0 check "$PID" "$PATCH"
doc apply 0 apply "$PID" "$PATCH"
doc list 0 list "$PID"
doc load 0 load "$PID" "$P/nodesc.so"
doc list_all_of 0 list --all-of "$(realpath "$BIN")"
doc revert 0 revert "$PID" --all
doc apply_fail 1 apply "$PID" "$P/nodesc.so"
doc apply_noproc 1 apply 999999999 "$PATCH"
doc list_none 1 list --all-of /nonexistent/program
doc info_fail 1 info "$WORK/none.so"
doc usage 2 apply "$PID"
doc usage_nocmd 2 frobnicate
doc build 0 build -o "$WORK/f100.so" "$ROOT/tests/patches/func100.c" -I"$ROOT/include"
# The patch directory (hotpatchd's), a private one.
export HOTPATCH_DIR=$WORK/reg
doc install 0 install --binary "$BIN" "$P/func100.so"
doc install_fail 2 install "$P/func100.so"
doc installed 0 installed
doc status 0 status
doc uninstall 0 uninstall "$P/func100.so"
doc probe 0 probe
note "validate $n documents"
$PY "$ROOT/tests/json_validate.py" "$D"/*.json || die "documents do not match their schemas"

note "imports: one truth"
want=$(imports "$D/info.json" patch imports)
[ "$want" = "helper,counter" ] || [ "$want" = "counter,helper" ] || die "info imports: '$want'"
for got in "$(imports "$D/check.json" patch imports)" "$(imports "$D/apply.json" patch imports)" \
	"$(imports "$D/list.json" patches 0 imports)" "$(imports "$D/revert.json" reverted 0 imports)"; do
	[ "$got" = "$want" ] || die "imports differ: '$got', info says '$want'"
done

note "the schemas reject what the docs do not allow"
T1=$WORK/bad
mkdir -p "$T1"
sed 's/"imports":\[[^]]*\]/"imprts":[]/' "$D/list.json" >"$T1/no_imports.json"
sed 's/"ok":true/"ok":true,"surprise":1/' "$D/apply.json" >"$T1/unknown.json"
sed 's/"handle":"0x[0-9a-f]*"/"handle":12/' "$D/load.json" >"$T1/handle_number.json"
sed 's/"stw_us":[0-9.]*/"stw_us":"fast"/' "$D/apply.json" >"$T1/stw_string.json"
for f in "$T1"/*.json; do
	cmp -s "$f" "$D/$(basename "$f")" && die "tampering $(basename "$f") changed nothing"
done
$PY "$ROOT/tests/json_validate.py" --expect-fail "$T1"/*.json || die "a broken document passed"
echo "json_schema: ok"

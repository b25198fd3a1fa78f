#!/bin/bash
# Real program: redis 7.0.15 from Debian bookworm's source package (5:7.0.15-1~deb12u10), built
# with the Debian patches that come before 0001-Apply-security-fixes-for-CVEs-1113.patch (the
# fixes of CVE-2024-31449, CVE-2024-31227 and CVE-2024-31228) and not that one. Started, put under
# load by a SET/GET client. Then:
#  1. `hotpatch create` from the Debian patch itself, applied under load. It changes
#     ACLSetSelector (acl.c: a plain body fix of a global), bit_tohex (lua_bit.c: a static Lua
#     callback), stringmatchlen_impl (util.c: a static, recursive function given a new
#     parameter) and stringmatchlen, which GCC inlined into stringmatch: the Creator replaces
#     stringmatch too. The diff moves the lines of everything after it in util.c. Observed from
#     outside: 'ACL SETUSER u %~' is refused (it was accepted), KEYS with a pattern nesting 1100
#     '*' deep stops matching (nesting limit 1000), bit.tohex(65535, -2147483648) answers
#     0000FFFF (it would crash the server before), the load client saw no error and kept being
#     served; after revert, 'ACL SETUSER u %~' is accepted again.
#  2. `hotpatch create` from CVE-2025-46818.patch (Lua: the allow lists in script_lua.c, static
#     arrays, lose entries; a new config in config.c's static_configs[]; a new member of
#     struct redisServer): refused for the changed initializers of those static arrays, no file
#     written, the server untouched. The functions of script_lua.c that only moved (their
#     serverAssert __LINE__ values) are ignored. The second create reuses the first one's
#     original build (--workdir).
# Runs with `make check-creator` (minutes: redis is built three times). Needs network access to
# Debian's mirror (apt-get source) the first time; the unfixed build is cached in build/creator/.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/real.sh"
CR=$ROOT/tests/creator
HP_TIMEOUT=2400	# two builds of redis on a busy machine
need
for c in dpkg-source patch make python3 cc; do command -v $c >/dev/null || skip "$c not installed"; done

VER=5:7.0.15-1~deb12u10
STOP=0001-Apply-security-fixes-for-CVEs-1113.patch
BUILD='make -j2 -C src redis-server MALLOC=libc USE_SYSTEMD=no BUILD_TLS=no'
C=$CACHE/redis-${VER#*:}
redis_unfixed "$C" "$STOP" "$BUILD"
cp "$C/src/debian/patches/$STOP" "$WORK/cve-1113.patch"
cp "$C/src/debian/patches/CVE-2025-46818.patch" "$WORK/cve-46818.patch"

redis_start
r() { python3 "$CR/resp.py" $port cmd "$@"; }
long=$(printf 'a%.0s' $(seq 2200))
pat=$(printf '*?%.0s' $(seq 1100))
[ "$(r SET "$long" 1)" = "+OK" ] || die "SET failed"
[ "$(r ACL SETUSER before '%~')" = "+OK" ] || die "the unfixed build refuses '%~'"
[ "$(r KEYS "$pat")" = "$long" ] || die "the unfixed build does not match the deep pattern"

start load python3 "$CR/resp.py" $port load "$WORK/load.txt"
wait_line "$WORK/load.txt" '^n=[0-9]+ errors=0' 30 || die "no load"

note "creating the patch from Debian's $STOP"
hp create --source "$C/src" --diff "$WORK/cve-1113.patch" --binary "$PROG" --build "$BUILD CC=\"\$HOTPATCH_CC\"" \
	--workdir "$C/work" -o "$WORK/cve-1113.so"
expect_rc 0
for f in 'ACLSetSelector \(acl.c\)' 'bit_tohex \(lua_bit.c\)' 'stringmatchlen_impl \(util.c\)' \
	'stringmatchlen \(util.c\)' 'stringmatch \(util.c\)'; do
	out_has "^replaced +$f"
done
hp apply "$RS" "$WORK/cve-1113.so"
expect_rc 0
ID=$(patch_id)
alive "$RS"
case $(r ACL SETUSER after '%~') in -ERR*Syntax*) ;; *) die "after apply: '%~' still accepted" ;; esac
[ "$(r KEYS "$pat")" = "(empty)" ] || die "after apply: the 1100-deep pattern still matches"
[ "$(r KEYS 'a*')" = "$long" ] || die "after apply: a plain pattern no longer matches"
[ "$(r EVAL 'return bit.tohex(65535, -2147483648)' 0)" = "0000FFFF" ] || die "after apply: bit.tohex"
[ "$(r PING)" = "+PONG" ] || die "after apply: no PONG"
mid=$(sed 's/n=\([0-9]*\).*/\1/' "$WORK/load.txt")
for i in $(seq 300); do	# served on: at least 200 more commands (bounded: 30 s)
	[ "$(sed 's/n=\([0-9]*\).*/\1/' "$WORK/load.txt")" -ge $((mid + 200)) ] && break
	sleep 0.1
done
[ "$(sed 's/n=\([0-9]*\).*/\1/' "$WORK/load.txt")" -ge $((mid + 200)) ] || die "load stalled after apply"
hp revert "$RS" "$ID"
expect_rc 0
[ "$(r ACL SETUSER reverted '%~')" = "+OK" ] || die "after revert: the fix is still live"

note "CVE-2025-46818.patch changes static variables' initial values: refused"
hp create --source "$C/src" --diff "$WORK/cve-46818.patch" --binary "$PROG" --build "$BUILD CC=\"\$HOTPATCH_CC\"" \
	--workdir "$C/work" -o "$WORK/cve-46818.so"
expect_rc 1	# a refused create writes its report on stderr
printf '%s\n' "$ERR" | grep -q 'original build of .* was reused' || die "the original build was not reused"
for v in lua_builtins_allow_list allow_lists static_configs; do
	printf '%s\n' "$ERR" | grep -A1 "^refused *$v " | grep -Eq 'variable size changed|initial value' ||
		die "$v not refused for its changed initializer"
done
printf '%s\n' "$ERR" | grep -A1 '^ignored .*(script_lua.c)' | grep -q 'changed only by line numbers the diff moved' ||
	die "no function of script_lua.c ignored for its moved lines"
[ ! -e "$WORK/cve-46818.so" ] || die "a refused create wrote a file"
alive "$RS"
[ "$(r PING)" = "+PONG" ] || die "no PONG at the end"

touch "$WORK/load.txt.stop"
wait_line "$WORK/load.txt" 'done' 30 || die "load client did not stop"
cat "$WORK/load.txt"
grep -q ' errors=0 done' "$WORK/load.txt" || die "the load client saw errors: $(cat "$WORK/load.txt")"
echo PASS

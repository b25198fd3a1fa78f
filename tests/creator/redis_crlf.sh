#!/bin/bash
# Real program, a fix that adds helper functions: redis 7.0.15 from Debian bookworm's source
# package (5:7.0.15-1~deb12u10), built with the Debian patches that come before
# CVE-2025-67733.patch ("Strip CRLF from error and simple string replies") and not that one.
# Started, put under load by a SET/GET client. Then `hotpatch create` from the Debian patch itself,
# applied under load. The fix adds two functions to networking.c, addReplyErrorSdsExSafe and
# addReplyStatusSafe (declared in server.h), and calls them from luaCallFunction and the static
# luaReplyToRedisReply (script_lua.c) and RM_ReplyWithSimpleString (module.c); it also changes
# functionListCommand (functions.c) and addReplyStatusFormat (networking.c). The report lists the
# two helpers as new and exactly those five functions as replaced; the functions of networking.c
# and module.c whose __LINE__s the diff moved are ignored (processMultibulkBuffer among them). Observed from outside, on one connection:
# 'FUNCTION LIST <X CR LF +INJECTED>' answered an error that ends at the CR LF, and the '+INJECTED'
# left over answered the PING sent next (the protocol desynchronized); after apply the CR LF is
# two spaces inside the error and the PING gets its PONG. The same for a Lua error raised with
# redis.error_reply. The load client saw no error and kept being served; after revert the old
# behaviour is back.
#
# The diff touches a header (server.h): the Creator then cannot set aside the differences a build
# makes by itself, so both builds must be reproducible. redis's mkreleasehdr.sh writes the git
# state of the directory (GIT_SHA1, GIT_DIRTY: the build tree lies inside hotpatch's own git
# checkout) and the build time (BUILD_ID) into release.h: the program and the Creator's builds
# are made with GIT_DIR=/nonexistent and SOURCE_DATE_EPOCH fixed, as Debian builds it.
# Runs with `make check-creator` (minutes: redis is built three times). Needs network access to
# Debian's mirror (apt-get source) the first time; the unfixed build is cached in build/creator/.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/real.sh"
CR=$ROOT/tests/creator
HP_TIMEOUT=2400	# two builds of redis on a busy machine
need
for c in dpkg-source patch make python3 cc; do command -v $c >/dev/null || skip "$c not installed"; done

VER=5:7.0.15-1~deb12u10
STOP=CVE-2025-67733.patch
BUILD='GIT_DIR=/nonexistent SOURCE_DATE_EPOCH=1700000000 make -j2 -C src redis-server MALLOC=libc USE_SYSTEMD=no BUILD_TLS=no'
C=$CACHE/redis-${VER#*:}-crlf
redis_unfixed "$C" "$STOP" "$BUILD"
cp "$C/src/debian/patches/$STOP" "$WORK/crlf.patch"

redis_start
r() { python3 "$CR/resp.py" $port "$@"; }
inj=$'X\r\n+INJECTED'
lua="error(redis.error_reply('X\\r\\n+INJECTED'))"
# fl, ev: the replies read after FUNCTION LIST (EVAL) with the CR LF, then after a PING, on one
# connection, on one line each
fl() { r seq FUNCTION LIST "$inj" -- PING | tr '\n' '|'; }
ev() { r seq EVAL "$lua" 0 -- PING | tr '\n' '|'; }
echo "before: FUNCTION LIST: $(fl)"
echo "before: EVAL: $(ev)"
[ "$(fl)" = "-ERR Unknown argument X|+INJECTED|" ] || die "the unfixed build: FUNCTION LIST answers $(fl)"
case $(ev) in "-ERR X|+INJECTED script: "*"|") ;; *) die "the unfixed build: EVAL answers $(ev)" ;; esac

start load python3 "$CR/resp.py" $port load "$WORK/load.txt"
wait_line "$WORK/load.txt" '^n=[0-9]+ errors=0' 30 || die "no load"

note "creating the patch from Debian's $STOP"
hp create --source "$C/src" --diff "$WORK/crlf.patch" --binary "$PROG" --build "$BUILD CC=\"\$HOTPATCH_CC\"" \
	--workdir "$C/work" -o "$WORK/crlf.so"
expect_rc 0
for f in 'addReplyErrorSdsExSafe \(networking.c\)' 'addReplyStatusSafe \(networking.c\)'; do
	out_has "^new +$f"
done
got=$(printf '%s\n' "$OUT" | sed -n 's/^replaced  *\([^ ]* [^ ]*\).*/\1/p' | LC_ALL=C sort | tr '\n' ' ')
want='RM_ReplyWithSimpleString (module.c) addReplyStatusFormat (networking.c) functionListCommand (functions.c) luaCallFunction (script_lua.c) luaReplyToRedisReply (script_lua.c) '
[ "$got" = "$want" ] || die "replaced: got '$got', want '$want'"
# its code holds __LINE__s of networking.c that the diff moved, and it inlines helpers defined
# above the diff's hunks: still only moved
out_has '^ignored +processMultibulkBuffer \(networking.c\)'
hp apply "$RS" "$WORK/crlf.so"
expect_rc 0
ID=$(patch_id)
alive "$RS"
echo "after apply: FUNCTION LIST: $(fl)"
echo "after apply: EVAL: $(ev)"
[ "$(fl)" = "-ERR Unknown argument X  +INJECTED|+PONG|" ] || die "after apply: FUNCTION LIST answers $(fl)"
case $(ev) in "-ERR X  +INJECTED script: "*"|+PONG|") ;; *) die "after apply: EVAL answers $(ev)" ;; esac
[ "$(r cmd PING)" = "+PONG" ] || die "after apply: no PONG"
mid=$(sed 's/n=\([0-9]*\).*/\1/' "$WORK/load.txt")
for i in $(seq 300); do	# served on: at least 200 more commands (bounded: 30 s)
	[ "$(sed 's/n=\([0-9]*\).*/\1/' "$WORK/load.txt")" -ge $((mid + 200)) ] && break
	sleep 0.1
done
[ "$(sed 's/n=\([0-9]*\).*/\1/' "$WORK/load.txt")" -ge $((mid + 200)) ] || die "load stalled after apply"
hp revert "$RS" "$ID"
expect_rc 0
alive "$RS"
echo "after revert: FUNCTION LIST: $(fl)"
[ "$(fl)" = "-ERR Unknown argument X|+INJECTED|" ] || die "after revert: FUNCTION LIST answers $(fl)"
[ "$(r cmd PING)" = "+PONG" ] || die "no PONG at the end"

touch "$WORK/load.txt.stop"
wait_line "$WORK/load.txt" 'done' 30 || die "load client did not stop"
cat "$WORK/load.txt"
grep -q ' errors=0 done' "$WORK/load.txt" || die "the load client saw errors: $(cat "$WORK/load.txt")"
echo PASS

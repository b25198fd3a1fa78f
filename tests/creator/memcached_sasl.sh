#!/bin/bash
# Real program: memcached 1.6.18 from Debian bookworm's source package, built without its fix
# debian/patches/0008-CVE-2026-47783-CVE-2026-47784.patch (sasl_defs.c: the SASL password
# database check stopped at the first line naming the user). Built with SASL and the password
# database (--enable-sasl --enable-sasl-pwdb), started, put under load by an authenticated
# binary-protocol client (set+get in a loop). Then `hotpatch create` makes the patch from the
# Debian fix itself and `hotpatch apply` applies it, under load. Observed from outside:
#  - before: alice's second password line is ignored (auth refused), the first works;
#  - after: the second works too, a wrong password is still refused;
#  - the load client saw no error and kept being served across the apply;
#  - after revert: the old behaviour is back;
#  - the same fix plus a line added at the top of memcached.c (every line of its ~6000 moves):
#    the Creator still chooses sasl_server_userdb_checkpass alone.
# Runs with `make check-creator` (minutes: memcached is built three times, the unfixed build is
# cached in build/creator/ and the second create reuses the first one's original build). Needs
# network access to Debian's mirror (apt-get source) the first time, unless MEMCACHED_DSC points
# to a downloaded .dsc.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/real.sh"
CR=$ROOT/tests/creator
HP_TIMEOUT=1200	# three builds of memcached on a busy machine
need
for c in dpkg-source patch make python3; do command -v $c >/dev/null || skip "$c not installed"; done
[ -e /usr/include/sasl/sasl.h ] || skip "libsasl2-dev not installed"
[ -e /usr/include/event.h ] || skip "libevent-dev not installed"

VER=1.6.18-1+deb12u1
C=$CACHE/memcached-$VER
if [ ! -f "$C/ready" ]; then
	if [ -n "${MEMCACHED_DSC:-}" ]; then DSC=$MEMCACHED_DSC; else debsrc memcached "$VER"; fi
	note "building memcached $VER without its fix 0008 (cached in $C)"
	unpack "$C/src" 0008-CVE-2026-47783-CVE-2026-47784.patch
	# the patches after 0008 (proxy code, not built here) keep the tree as Debian ships it
	for p in $(sed -n '/^0008-/,$p' "$C/src/debian/patches/series" | tail -n +2); do
		patch -d "$C/src" -p1 -s <"$C/src/debian/patches/$p" >/dev/null || die "debian patch $p does not apply"
	done
	(cd "$C/src" && ./configure -q --enable-sasl --enable-sasl-pwdb >../configure.log 2>&1 &&
		make -j2 memcached >../make.log 2>&1) || { tail -20 "$C/make.log"; die "memcached does not build"; }
	touch "$C/ready"
fi
cd "$WORK"
cp "$C/src/debian/patches/0008-CVE-2026-47783-CVE-2026-47784.patch" "$WORK/sasl-fix.patch"
ln -s "$C/src" mc
h=$(hostname)
printf 'alice@%s:wrong\nalice@%s:secret\nbob@%s:pw\n' "$h" "$h" "$h" >pwdb
mkdir conf && echo 'mech_list: plain' >conf/memcached.conf
port=$(free_port)
MEMCACHED_SASL_PWDB=$WORK/pwdb SASL_CONF_PATH=$WORK/conf start mc mc/memcached -S -p $port -U 0 \
	-l 127.0.0.1 -u root -t 4
MC=$PID
for i in $(seq 100); do python3 "$CR/mc_sasl.py" $port auth bob pw >/dev/null 2>&1 && break; sleep 0.1; done
auth() { python3 "$CR/mc_sasl.py" $port auth "$1" "$2"; }
[ "$(auth alice wrong)" = "auth ok" ] || die "first password line refused"
[ "$(auth alice secret)" != "auth ok" ] || die "the unfixed build accepts alice's second line"

start load python3 "$CR/mc_sasl.py" $port load bob pw "$WORK/load.txt"
wait_line "$WORK/load.txt" '^n=[0-9]+ errors=0' 20 || die "no load"
before=$(sed 's/n=\([0-9]*\).*/\1/' load.txt)

note "creating the patch from the Debian fix"
hp create --source "$WORK/mc" --diff "$WORK/sasl-fix.patch" --binary "$WORK/mc/memcached" \
	--build 'make -j2 CC="$HOTPATCH_CC" memcached' --workdir "$C/work" -o "$WORK/sasl.so"
expect_rc 0
out_has '^replaced +sasl_server_userdb_checkpass \(sasl_defs.c\)'
hp apply "$MC" "$WORK/sasl.so"
expect_rc 0
ID=$(patch_id)
alive "$MC"
[ "$(auth alice secret)" = "auth ok" ] || die "after apply: alice's second line still refused"
[ "$(auth alice wrong)" = "auth ok" ] || die "after apply: alice's first line refused"
[ "$(auth alice nope)" != "auth ok" ] || die "after apply: a wrong password is accepted"
mid=$(sed 's/n=\([0-9]*\).*/\1/' load.txt)
for i in $(seq 200); do	# served on: at least 200 more operations (bounded: 20 s)
	[ "$(sed 's/n=\([0-9]*\).*/\1/' load.txt)" -ge $((mid + 200)) ] && break
	sleep 0.1
done
[ "$(sed 's/n=\([0-9]*\).*/\1/' load.txt)" -ge $((mid + 200)) ] || die "load stalled after apply"
hp revert "$MC" "$ID"
expect_rc 0
[ "$(auth alice secret)" != "auth ok" ] || die "after revert: the fix is still live"
touch load.txt.stop
wait_line "$WORK/load.txt" 'done' 20 || die "load client did not stop"
cat load.txt
grep -q ' errors=0 done' load.txt || die "the load client saw errors: $(cat load.txt)"
after=$(sed 's/n=\([0-9]*\).*/\1/' load.txt)
[ "$after" -gt "$before" ] || die "no requests served after the apply"
echo "load: $before ops before create, $after at the end, 0 errors"

note "the fix plus a diff that moves every line of memcached.c"
cp "$WORK/sasl-fix.patch" "$WORK/shift.patch"
l1=$(head -1 mc/memcached.c)
printf -- '--- a/memcached.c\n+++ b/memcached.c\n@@ -1 +1,2 @@\n %s\n+/* every line below moves by one */\n' "$l1" >>"$WORK/shift.patch"
hp create --source "$WORK/mc" --diff "$WORK/shift.patch" --binary "$WORK/mc/memcached" \
	--build 'make -j2 CC="$HOTPATCH_CC" memcached' --workdir "$C/work" -o "$WORK/shift.so"
expect_rc 0
n=$(printf '%s\n' "$OUT" | grep -c '^replaced ')
[ "$n" -eq 1 ] || die "$n functions replaced, want sasl_server_userdb_checkpass alone"
out_has '^replaced +sasl_server_userdb_checkpass \(sasl_defs.c\)'
echo PASS

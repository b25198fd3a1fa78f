#!/bin/bash
# Real shared library: zlib 1.2.13 from Debian bookworm's source package (libz.so.1.2.13, built
# with -g -O2 as Debian does), loaded by tests/creator/zserve.c, a small compression service.
# The fix is upstream commit e554695 ("Fix bug in deflateBound() for level 0 and memLevel 9",
# released in zlib 1.3; tests/creator/zlib-e554695.patch): with memLevel 9 deflateBound() returned
# the fixed-block bound even at level 0 (stored blocks), too small for short input. The service
# deflates into a buffer of exactly deflateBound() bytes. Observed from outside:
#  - before: "deflate 0 9 5" answers "short" (the bound was too small);
#  - `hotpatch create` on the library chooses deflateBound alone, in libz.so.1, pinned to its
#    build-id; applied under load: "deflate 0 9 5" answers "ok", the load client saw no error;
#  - the same patch on a zserve using the system's libz.so.1 (same soname, other build) is refused;
#  - after revert: "short" again.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/real.sh"
CR=$ROOT/tests/creator
HP_TIMEOUT=900
need
for c in dpkg-source patch make python3 cc; do command -v $c >/dev/null || skip "$c not installed"; done

VER=1:1.2.13.dfsg-1
C=$CACHE/zlib-${VER#*:}
if [ ! -f "$C/ready" ]; then
	debsrc zlib "$VER"
	note "building zlib $VER (cached in $C)"
	unpack "$C/src"
	(cd "$C/src" && CFLAGS="-g -O2" ./configure >../configure.log 2>&1 &&
		make -j2 libz.so.1.2.13 >../make.log 2>&1) || { tail -20 "$C/make.log"; die "zlib does not build"; }
	touch "$C/ready"
fi
LIB=$C/src/libz.so.1.2.13
cc -O2 -g -I "$C/src" -o "$WORK/zserve" "$CR/zserve.c" -L "$C/src" -lz || die "cannot build zserve"
[ -z "$(cd "$C/src" && patch -p1 --dry-run -s <"$CR/zlib-e554695.patch" 2>&1)" ] || die "the fix does not apply"

port=$(free_port)
LD_LIBRARY_PATH=$C/src start zserve "$WORK/zserve" $port
ZS=$PID
wait_line "$WORK/zserve.out" '^zserve .*zlib 1.2.13' 10 || die "zserve did not start: $(cat "$WORK/zserve.out")"
grep -q "$LIB" /proc/$ZS/maps || die "zserve did not load $LIB"
ask() { python3 "$CR/zclient.py" $port one "$1"; }
case $(ask "deflate 0 9 5") in short*) ;; *) die "the unfixed library's bound is not too small" ;; esac
case $(ask "deflate 6 9 4096") in ok*) ;; *) die "zserve does not compress" ;; esac

# the load goes through deflateBound with memLevel 9 (the branch the fix changes) at level 6
start load python3 "$CR/zclient.py" $port load "deflate 6 9 4096" "$WORK/load.txt"
wait_line "$WORK/load.txt" '^n=[0-9]+ errors=0' 20 || die "no load"

note "creating the patch from the upstream fix"
hp create --source "$C/src" --diff "$CR/zlib-e554695.patch" --binary "$LIB" -o "$WORK/bound.so" \
	--build 'make -j2 libz.so.1.2.13 CC="$HOTPATCH_CC" LDSHARED="$HOTPATCH_CC -shared -Wl,-soname,libz.so.1,--version-script,zlib.map"'
expect_rc 0
out_has '^replaced +deflateBound \(deflate.c\)'
n=$(printf '%s\n' "$OUT" | grep -c '^replaced ')
[ "$n" -eq 1 ] || die "$n functions replaced, want deflateBound alone"
hp info "$WORK/bound.so"
expect_rc 0
out_has 'replaces deflateBound in libz.so.1'

note "the patch is pinned to this libz.so.1: a process using the system's is refused"
sport=$(free_port)
start zsys "$WORK/zserve" $sport
SYS=$PID
wait_line "$WORK/zsys.out" '^zserve ' 10 || die "second zserve did not start"
if ! grep -q "$LIB" /proc/$SYS/maps; then
	hp apply "$SYS" "$WORK/bound.so"
	[ "$RC" -ne 0 ] || die "applied to a process whose libz.so.1 has another build-id"
	printf '%s\n' "$ERR" | grep -q 'build-id mismatch.*libz.so.1' || die "not refused for its build-id: $ERR"
	alive "$SYS"
fi

hp apply "$ZS" "$WORK/bound.so"
expect_rc 0
ID=$(patch_id)
alive "$ZS"
case $(ask "deflate 0 9 5") in ok*) ;; *) die "after apply: the bound is still too small" ;; esac
case $(ask "deflate 0 9 0") in ok*) ;; *) die "after apply: empty input does not fit its bound" ;; esac
mid=$(sed 's/n=\([0-9]*\).*/\1/' "$WORK/load.txt")
for i in $(seq 200); do	# served on: at least 100 more requests (bounded: 20 s)
	[ "$(sed 's/n=\([0-9]*\).*/\1/' "$WORK/load.txt")" -ge $((mid + 100)) ] && break
	sleep 0.1
done
[ "$(sed 's/n=\([0-9]*\).*/\1/' "$WORK/load.txt")" -ge $((mid + 100)) ] || die "load stalled after apply"
hp revert "$ZS" "$ID"
expect_rc 0
case $(ask "deflate 0 9 5") in short*) ;; *) die "after revert: the fix is still live" ;; esac
touch "$WORK/load.txt.stop"
wait_line "$WORK/load.txt" 'done' 20 || die "load client did not stop"
cat "$WORK/load.txt"
grep -q ' errors=0 done' "$WORK/load.txt" || die "the load client saw errors: $(cat "$WORK/load.txt")"
echo PASS

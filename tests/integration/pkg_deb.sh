#!/bin/bash
# pkg_deb: the Debian packages and the installed library, as a Debian user gets them.
# `make deb` (dpkg-buildpackage -b in a copy of the tree, then lintian, which must report no
# error) gives hotpatch (with hotpatchd and its systemd unit, registered by the maintainer
# scripts), libhotpatch0 and libhotpatch-dev with the expected files; they are
# unpacked into a scratch root (dpkg -x), where an external program (tests/pkg/extprog.c) is
# built with pkg-config twice, linked against the shared library and statically, and both
# builds run: their version agrees with the header, the hotpatch_opts size rules hold, and
# each really applies a patch to a running target and reverts it (the target's output
# switches). The shared library exports hotpatch_* only, under its soname; the man page
# names installed paths that exist. `make install DESTDIR=` then `make uninstall` leaves
# nothing behind. Runs once (the ASan pass has nothing more to test here).
. "$(dirname "$0")/../lib.sh"
case $HOTPATCH in
*/asan/*) skip "packaging is tested in the normal pass" ;;
esac
need "$T/pie" "$P/pie_v2.so"
for c in dpkg-buildpackage dh lintian pkg-config; do
	command -v "$c" >/dev/null || die "$c missing: run scripts/install-deps.sh"
done
MA=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
DEB=$ROOT/build/deb

note "make deb (dpkg-buildpackage, then lintian)"
make -C "$ROOT" -s deb >"$WORK/deb.log" 2>&1 || { tail -30 "$WORK/deb.log"; die "make deb failed"; }
grep -E '^E: ' "$WORK/deb.log" && die "lintian reported errors"
grep -E '^[WE]: ' "$WORK/deb.log" | sed 's/^/  lintian: /' || true
V=$(sed -n 's/^hotpatch (\([^)]*\)).*/\1/p;q' "$ROOT/debian/changelog")
for p in hotpatch libhotpatch0 libhotpatch-dev; do
	[ -f "$DEB/${p}_${V}_amd64.deb" ] || die "no package $p ${V}"
done

# has PKG PATH...: the package holds every PATH.
has() {
	local pkg=$1 f
	shift
	dpkg-deb -c "$DEB/${pkg}_${V}_amd64.deb" | awk '{print $6}' >"$WORK/contents"
	for f; do
		grep -qxF "./$f" "$WORK/contents" || die "$pkg lacks $f"
	done
}
has hotpatch usr/bin/hotpatch usr/sbin/hotpatchd lib/systemd/system/hotpatchd.service \
	usr/share/man/man1/hotpatch.1.gz usr/share/man/man8/hotpatchd.8.gz \
	usr/share/bash-completion/completions/hotpatch usr/share/doc/hotpatch/json.md.gz \
	usr/share/doc/hotpatch/schema/apply.json usr/share/doc/hotpatch/README.md.gz
has libhotpatch0 "usr/lib/$MA/libhotpatch.so.0"
has libhotpatch-dev usr/include/libhotpatch.h usr/include/hotpatch.h "usr/lib/$MA/libhotpatch.a" \
	"usr/lib/$MA/libhotpatch.so" "usr/lib/$MA/pkgconfig/libhotpatch.pc"
dpkg-deb -e "$DEB/hotpatch_${V}_amd64.deb" "$WORK/ctl"
grep -q 'deb-systemd-helper.*hotpatchd.service' "$WORK/ctl/postinst" ||
	die "the hotpatch package does not register hotpatchd.service"
grep -qx 'ExecStart=/usr/sbin/hotpatchd' <(dpkg-deb --fsys-tarfile "$DEB/hotpatch_${V}_amd64.deb" |
	tar -xOf - ./lib/systemd/system/hotpatchd.service) || die "hotpatchd.service: ExecStart"
dpkg-deb -f "$DEB/libhotpatch-dev_${V}_amd64.deb" Depends | grep -q "libhotpatch0 (= $V)" ||
	die "libhotpatch-dev does not depend on its libhotpatch0"

note "unpack into a scratch root"
R=$WORK/root
for p in hotpatch libhotpatch0 libhotpatch-dev; do
	dpkg -x "$DEB/${p}_${V}_amd64.deb" "$R"
done
LIB=$R/usr/lib/$MA
so=$(readlink -f "$LIB/libhotpatch.so")
[ "$(readelf -d "$so" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')" = libhotpatch.so.0 ] || die "soname"
bad=$(nm -D --defined-only "$so" | awk '$2 ~ /^[TDBRVW]$/ && $3 !~ /^hotpatch_/ {print $3}')
[ -z "$bad" ] || die "the shared library exports non-API symbols: $bad"
nm -D --defined-only "$so" | grep -q ' hotpatch_apply@@HOTPATCH_0$' || die "no versioned hotpatch_apply"
man=$(zcat "$R/usr/share/man/man1/hotpatch.1.gz")
grep -q PREFIX <<<"$man" && die "the man page still says PREFIX"
grep -q /usr/local <<<"$man" && die "the man page names /usr/local in a /usr package"
for f in /usr/include/libhotpatch.h /usr/share/doc/hotpatch/json.md /usr/share/doc/hotpatch/schema/; do
	grep -qF "$f" <<<"$man" || die "the man page does not name $f"
done
for f in $(grep -oE '/usr/share/doc/hotpatch/[a-z./-]*[a-z/]' <<<"$man" | sort -u); do
	[ -e "$R$f" ] || [ -e "$R$f.gz" ] || die "the man page points to $f, which is not installed"
done

note "build an external program with pkg-config: shared and static"
export PKG_CONFIG_SYSROOT_DIR=$R PKG_CONFIG_PATH=$LIB/pkgconfig
pkg-config --modversion libhotpatch | grep -qx "$V" || die "pkg-config version"
pkg-config --print-requires-private libhotpatch | grep -q libdw || die "Requires.private lacks libdw"
cc -Wall -Wextra -Werror -o "$WORK/ext_shared" "$ROOT/tests/pkg/extprog.c" \
	$(pkg-config --cflags --libs libhotpatch) 2>&1 || die "shared link failed"
static_libs=$(pkg-config --static --libs libhotpatch | sed 's/-lhotpatch\b/-l:libhotpatch.a/')
cc -Wall -Wextra -Werror -o "$WORK/ext_static" "$ROOT/tests/pkg/extprog.c" \
	$(pkg-config --cflags libhotpatch) $static_libs 2>&1 || die "static link failed"
LD_LIBRARY_PATH=$LIB ldd "$WORK/ext_shared" | grep -q "libhotpatch.so.0 => $LIB/" ||
	die "ext_shared does not use the unpacked library"
ldd "$WORK/ext_static" | grep -q libhotpatch && die "ext_static is not static"

ORIG='func\(3\)=4 sfunc\(5\)=11$'
NEW='func\(3\)=300 sfunc\(5\)=5000$'
start_target pie "$T/pie"
expect_next "$O" 0 2 "$ORIG" '^tick'
for kind in shared static; do
	X=$WORK/ext_$kind
	note "$kind: version, opts, apply, revert"
	run() { LD_LIBRARY_PATH=$LIB timeout 60 "$X" "$@"; }
	out=$(run version) || die "$kind: version: $out"
	echo "  $out"
	out=$(run opts) || die "$kind: opts rules"
	from=$(lines "$O")
	out=$(run apply "$PID" "$P/pie_v2.so") || die "$kind: apply failed"
	echo "  $out"
	[[ $out =~ ^applied\ ([0-9]+)\ funcs\ 2\ listed\ 1$ ]] || die "$kind: unexpected: $out"
	wait_stable "$O" "$from" "$NEW"
	alive "$PID"
	from=$(lines "$O")
	out=$(run revert "$PID" "${BASH_REMATCH[1]}") || die "$kind: revert failed"
	wait_stable "$O" "$from" "$ORIG"
	alive "$PID"
done

note "make install DESTDIR=, then make uninstall: nothing left"
I=$WORK/inst
make -C "$ROOT" -s install DESTDIR="$I" PREFIX=/usr LIBDIR="/usr/lib/$MA" >"$WORK/inst.log" 2>&1 ||
	{ cat "$WORK/inst.log"; die "make install failed"; }
[ -L "$I/usr/lib/$MA/libhotpatch.so.0" ] && [ -f "$I/usr/share/doc/hotpatch/json.md" ] &&
	[ -x "$I/usr/sbin/hotpatchd" ] && [ -f "$I/usr/lib/systemd/system/hotpatchd.service" ] &&
	[ -f "$I/usr/lib/$MA/pkgconfig/libhotpatch.pc" ] || die "make install is incomplete"
grep -qx "libdir=/usr/lib/$MA" "$I/usr/lib/$MA/pkgconfig/libhotpatch.pc" || die ".pc libdir"
make -C "$ROOT" -s uninstall DESTDIR="$I" PREFIX=/usr LIBDIR="/usr/lib/$MA" >>"$WORK/inst.log" 2>&1 ||
	{ cat "$WORK/inst.log"; die "make uninstall failed"; }
left=$(find "$I" -type f -o -type l)
[ -z "$left" ] || die "make uninstall left: $left"
echo "pkg_deb: ok"

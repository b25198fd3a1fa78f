#!/bin/sh
# Fetches the arm64 side of the aarch64 rig into build/aarch64/ through a private apt root:
# Debian's arm64 kernel (resolved from linux-image-arm64 at run time), busybox-static (arm64) and a sysroot with the
# arm64 libraries hotpatch links (libelf, libdw, libcapstone and what they need).
# The host's dpkg never learns of arm64 (no dpkg --add-architecture). Cached: a second run
# only checks that the files are there. FORCE=1 fetches again (a newer kernel on the mirror).
set -e
OUT=${OUT:-build/aarch64}
APT=$OUT/apt
SYSROOT=$OUT/sysroot
KERNEL=$OUT/vmlinuz
STAMP=$OUT/.fetched
# The arm64 packages of the sysroot: -dev for the cross build, the runtime libraries for the guest.
LIBS="libelf1 libelf-dev libdw1 libdw-dev libcapstone4 libcapstone-dev zlib1g zlib1g-dev
liblzma5 liblzma-dev libzstd1 libzstd-dev libbz2-1.0 libbz2-dev"

if [ -z "$FORCE" ] && [ -f "$STAMP" ] && [ -s "$KERNEL" ] && [ -x "$OUT/busybox" ] && [ -d "$SYSROOT/usr/include" ]; then
	exit 0
fi
mkdir -p "$APT/lists/partial" "$APT/cache/archives/partial" "$APT/etc/sources.list.d" \
	"$APT/etc/preferences.d" "$APT/debs" "$SYSROOT"
APT=$(cd "$APT" && pwd)
# The host's own Debian sources, so the rig uses the same mirror the host does.
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
	[ -f "$f" ] && cp "$f" "$APT/etc/sources.list.d/"
done
touch "$APT/status"
set -- -o APT::Architecture=arm64 -o APT::Architectures::=arm64 \
	-o Dir::State="$APT" -o Dir::State::Lists="$APT/lists" -o Dir::State::status="$APT/status" \
	-o Dir::Cache="$APT/cache" -o Dir::Etc::SourceList=/dev/null \
	-o Dir::Etc::SourceParts="$APT/etc/sources.list.d" -o Dir::Etc::Preferences=/dev/null \
	-o Dir::Etc::PreferencesParts="$APT/etc/preferences.d" -o Debug::NoLocking=1 \
	-o Acquire::Languages=none -o APT::Sandbox::User=root
echo "aarch64 rig: private apt root $APT (arm64)"
apt-get "$@" -qq update
# The kernel: linux-image-arm64 is a metapackage; its Depends names today's image package.
IMG=$(apt-cache "$@" depends linux-image-arm64 | sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-arm64\)$/\1/p' | head -1)
[ -n "$IMG" ] || { echo "aarch64 rig: cannot resolve linux-image-arm64" >&2; exit 1; }
echo "aarch64 rig: kernel package $IMG"
cd "$APT/debs"
rm -f ./*.deb
apt-get "$@" -qq download "$IMG" busybox-static $LIBS
cd - >/dev/null
for d in "$APT"/debs/*.deb; do
	case "$d" in
	*/linux-image-*) dpkg-deb --fsys-tarfile "$d" | tar -x -C "$OUT" --wildcards './boot/vmlinuz-*'
		mv "$OUT"/boot/vmlinuz-* "$KERNEL"; rmdir "$OUT/boot";;
	*/busybox-static_*) mkdir -p "$APT/bb" && dpkg -x "$d" "$APT/bb" && cp "$APT/bb/bin/busybox" "$OUT/busybox";;
	*) dpkg -x "$d" "$SYSROOT";;
	esac
done
# Absolute symlinks in the -dev packages (libz.so, liblzma.so -> /lib/...) point at the host: make them relative.
find "$SYSROOT" -type l | while read -r l; do
	t=$(readlink "$l")
	case "$t" in
	/*) rel=$(realpath -m --relative-to="$(dirname "$l")" "$SYSROOT$t"); ln -sfn "$rel" "$l";;
	esac
done
echo "$IMG" > "$STAMP"
ls -l "$KERNEL"

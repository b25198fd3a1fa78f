#!/bin/sh
# Boots Debian's arm64 kernel under qemu-system-aarch64 (TCG) once per CPU model with an
# initramfs (busybox-static, the cross-built tests, the arm64 libraries) whose /init runs
# tests/aarch64/list; reads the marker lines from the serial console and ends with
# "N passed, N failed". A boot without the end marker is a failure. Every boot is under timeout.
# Usage: scripts/aarch64/run.sh [CPU...]   (default: "max,pauth-impdef=on" cortex-a72)
# LIST=file runs another test list (same format as tests/aarch64/list).
set -u
OUT=${OUT:-build/aarch64}
BOOT_TIMEOUT=${BOOT_TIMEOUT:-600}
[ $# -gt 0 ] || set -- "max,pauth-impdef=on" cortex-a72
ROOT=$OUT/root
CROSS_LIB=/usr/aarch64-linux-gnu/lib
rm -rf "$ROOT" && mkdir -p "$ROOT"/bin "$ROOT"/lib "$ROOT"/proc "$ROOT"/sys "$ROOT"/dev "$ROOT"/tmp "$ROOT"/tests
# busybox-static ships the host's (amd64) binary: the arm64 one comes from the private apt root.
cp "$OUT/busybox" "$ROOT/bin/busybox" && ln -s busybox "$ROOT/bin/sh"
cp tests/aarch64/init "$ROOT/init" && chmod 755 "$ROOT/init"
# The dynamic loader and libc (cross packages), then the sysroot's runtime libraries.
cp -a "$CROSS_LIB"/ld-linux-aarch64.so.1 "$CROSS_LIB"/libc.so.6 "$CROSS_LIB"/libm.so.6 \
	"$CROSS_LIB"/libpthread.so.0 "$CROSS_LIB"/libdl.so.2 "$CROSS_LIB"/libgcc_s.so.1 \
	"$CROSS_LIB"/libc_malloc_debug.so.0 "$ROOT/lib/"
for d in "$OUT"/sysroot/lib/aarch64-linux-gnu "$OUT"/sysroot/usr/lib/aarch64-linux-gnu; do
	[ -d "$d" ] && find "$d" -maxdepth 1 -name '*.so*' -exec cp -a {} "$ROOT/lib/" \;
done
cp -a tests/aarch64/*.sh "$ROOT/tests/"
cp "${LIST:-tests/aarch64/list}" "$ROOT/tests/list"
cp -a "$OUT"/tests/* "$ROOT/tests/"
(cd "$ROOT" && find . | cpio -o -H newc --quiet) > "$OUT/initrd.cpio"

pass=0 fail=0 skip=0
for cpu in "$@"; do
	machine=virt
	case "$cpu" in max*) machine=virt,mte=on;; esac
	log=$OUT/console-$(echo "$cpu" | tr -c 'a-z0-9\n' '_').log
	echo "== aarch64: booting -cpu $cpu (log $log)"
	start=$(date +%s)
	timeout "$BOOT_TIMEOUT" qemu-system-aarch64 -M "$machine" -cpu "$cpu" -smp 2 -m 1024 -nographic \
		-no-reboot -kernel "$OUT/vmlinuz" -initrd "$OUT/initrd.cpio" \
		-append "console=ttyAMA0 rdinit=/init panic=-1 quiet" </dev/null >"$log" 2>&1
	echo "   boot ended after $(( $(date +%s) - start )) s"
	tr -d '\r' < "$log" | grep -a '^HOTPATCH-TEST ' | while read -r _ name r rc; do
		echo "   [$cpu] $name: $r ($rc)"
	done
	p=$(tr -d '\r' < "$log" | grep -ac '^HOTPATCH-TEST .* PASS ')
	f=$(tr -d '\r' < "$log" | grep -ac '^HOTPATCH-TEST .* FAIL ')
	s=$(tr -d '\r' < "$log" | grep -ac '^HOTPATCH-TEST .* SKIP ')
	pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))
	if ! tr -d '\r' < "$log" | grep -aq '^HOTPATCH-END'; then
		echo "   [$cpu] no end marker: the boot failed or timed out; last lines:"
		tail -n 30 "$log" | sed 's/^/   | /'
		fail=$((fail + 1))
	fi
	if [ "$f" -gt 0 ]; then
		echo "   [$cpu] failed tests' output is in $log"
	fi
done
echo "aarch64: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]

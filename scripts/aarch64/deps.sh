#!/bin/sh
# Installs the host packages of the aarch64 rig (cross compiler, qemu, busybox), only if missing.
# Called by `make check-aarch64`. Root or sudo. Never adds the arm64 architecture to the host's dpkg.
set -e
PKGS="qemu-system-arm gcc-aarch64-linux-gnu libc6-dev-arm64-cross cpio"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "aarch64 deps: installing:$missing"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends $missing

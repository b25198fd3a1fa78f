#!/bin/sh
# Install the Debian packages hotpatch needs to build and test, only if missing.
# Called by `make deps` (and so by `make check`, `make demo`). Root or sudo.
set -e
PKGS="gcc g++ make libc6-dev pkg-config libelf-dev libdw-dev libzydis-dev libcapstone-dev libcmocka-dev clang
libclang-rt-14-dev python3 nginx-core memcached wrk curl binutils procps file util-linux passwd
python3-jsonschema dpkg-dev debhelper lintian bsdutils ansible-core postgresql-15
patch libevent-dev libsasl2-dev libsasl2-modules qemu-system-x86"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "install-deps: installing:$missing"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# Servers used by tests must not start at install time (no init here, and not wanted).
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
	$SUDO chmod 755 /usr/sbin/policy-rc.d
	trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
$SUDO apt-get install -y -qq --no-install-recommends $missing

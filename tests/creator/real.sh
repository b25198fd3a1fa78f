# Helpers of the real-program cases (make check-creator), sourced after tests/lib.sh: Debian
# source packages are fetched once and the unfixed builds are cached under build/creator/,
# keyed by package version (CREATOR_CACHE to move it).
CACHE=${CREATOR_CACHE:-$ROOT/build/creator}

# debsrc PKG VERSION: sets DSC to the package's .dsc in $CACHE/dl, fetched once through a scratch
# apt configuration with the deb-src lines of the running suite (skips without a mirror).
debsrc() {
	local pkg=$1 ver=$2 dl=$CACHE/dl
	DSC=$dl/${pkg}_${ver#*:}.dsc
	[ -f "$DSC" ] && return 0
	mkdir -p "$dl/apt/lists/partial" "$dl/apt/cache/archives/partial"
	. /etc/os-release
	printf 'deb-src http://deb.debian.org/debian %s main\ndeb-src http://deb.debian.org/debian-security %s-security main\n' \
		"$VERSION_CODENAME" "$VERSION_CODENAME" >"$dl/apt/sources.list"
	local A=(-o Dir::Etc::SourceList="$dl/apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
		 -o Dir::State::Lists="$dl/apt/lists" -o Dir::Cache="$dl/apt/cache")
	(cd "$dl" && timeout 600 apt-get "${A[@]}" -qq update &&
		timeout 600 apt-get "${A[@]}" -qq source --download-only "$pkg=$ver") >"$dl/apt-$pkg.log" 2>&1 ||
		skip "apt-get source $pkg=$ver failed (no deb-src mirror?): see $dl/apt-$pkg.log"
	[ -f "$DSC" ] || skip "apt-get source $pkg=$ver left no $DSC"
}

# unpack DIR [SERIES_STOP]: extract $DSC into DIR with its debian/patches applied, all of them or
# those before SERIES_STOP (a patch name of debian/patches/series).
unpack() {
	local dir=$1 stop=${2:-} p
	rm -rf "$dir" && mkdir -p "$(dirname "$dir")"
	dpkg-source -x --skip-patches "$DSC" "$dir" >/dev/null 2>&1 || die "dpkg-source -x $DSC failed"
	[ -f "$dir/debian/patches/series" ] || return 0
	for p in $(grep -v '^#' "$dir/debian/patches/series"); do
		[ "$p" = "$stop" ] && break
		patch -d "$dir" -p1 -s <"$dir/debian/patches/$p" >/dev/null || die "debian patch $p does not apply"
	done
}

# free_port: a loopback TCP port nobody listens on now (the kernel's pick, not a random guess).
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# redis_unfixed CACHEDIR STOP BUILD: redis $VER (fetched by debsrc) unpacked with the Debian patches
# before STOP into CACHEDIR/src, copied to CACHEDIR/prog and built there with BUILD, once (cached:
# CACHEDIR/ready); sets PROG to its redis-server.
redis_unfixed() {
	local c=$1 stop=$2 build=$3
	if [ ! -f "$c/ready" ]; then
		debsrc redis "$VER"
		note "building redis $VER without $stop (cached in $c)"
		unpack "$c/src" "$stop"
		rm -rf "$c/prog" && cp -a "$c/src" "$c/prog"
		(cd "$c/prog" && sh -c "$build" >../make.log 2>&1) || { tail -20 "$c/make.log"; die "redis does not build"; }
		touch "$c/ready"
	fi
	PROG=$c/prog/src/redis-server
}

# redis_start: start $PROG on a free loopback port, without persistence, and wait for its PONG;
# sets port and RS (its pid).
redis_start() {
	local i
	port=$(free_port)
	start redis "$PROG" --port $port --bind 127.0.0.1 --save '' --appendonly no --protected-mode no
	RS=$PID
	for i in $(seq 100); do
		[ "$(python3 "$CR/resp.py" $port cmd PING 2>/dev/null)" = "+PONG" ] && break
		sleep 0.1
	done
	[ "$(python3 "$CR/resp.py" $port cmd PING)" = "+PONG" ] || die "redis did not start: $(tail -5 "$WORK/redis.out")"
}

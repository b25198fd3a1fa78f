# Helpers of tests/integration/svc_memcached*.sh (sourced after lib.sh):
# Debian's memcached on loopback and the python3 load client
# tests/svc_memcached_client.py, which verifies every value it reads.

MEMCACHED=/usr/bin/memcached

# mc_start: sets PORT, MC (pid), THREADS.
mc_start() {
	[ -x "$MEMCACHED" ] || skip "no $MEMCACHED (Debian memcached)"
	command -v python3 >/dev/null || die "no python3 (make deps)"
	PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	start memcached "$MEMCACHED" -u "$(id -un)" -l 127.0.0.1 -p "$PORT" -U 0 -t 4 -m 64 -c 256
	MC=$PID
	local end=$((SECONDS + 10))
	until python3 -c "import socket; socket.create_connection(('127.0.0.1', $PORT), timeout=1)" 2>/dev/null; do
		[ $SECONDS -le $end ] || { cat "$WORK/memcached.out" >&2; die "memcached does not answer on port $PORT"; }
		alive "$MC"
		sleep 0.05
	done
	[ "$(readlink /proc/$MC/exe)" = "$MEMCACHED" ] || die "pid $MC is not $MEMCACHED"
	THREADS=$(ls /proc/$MC/task | wc -l)
	note "memcached pid $MC, $THREADS threads, port $PORT"
}

# stat NAME: one value of memcached's "stats", over the protocol
stat() {
	python3 - "$PORT" "$1" <<'PYEOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(b"stats\r\n")
buf = b""
while not buf.endswith(b"END\r\n"):
    d = s.recv(65536)
    if not d:
        break
    buf += d
for line in buf.decode().split("\r\n"):
    p = line.split()
    if len(p) == 3 and p[1] == sys.argv[2]:
        print(p[2])
PYEOF
}

# client_start NKEYS: fill NKEYS keys, then load on 4 connections; sets CLIENT, CTL.
client_start() {
	NKEYS=$1
	CTL=$WORK/ctl
	mkdir -p "$CTL"
	start client python3 "$ROOT/tests/svc_memcached_client.py" "$PORT" "$NKEYS" "$CTL"
	CLIENT=$PID
	wait_line "$WORK/client.out" "^filled $NKEYS errors=0\$" 20 || die "client could not fill the keys"
	wait_line "$WORK/client.out" '^ops [1-9][0-9]{3,}' 20 || die "load did not start"
	# The client's last store may still be settling on another worker thread: bounded wait.
	local n end=$((SECONDS + 5))
	until n=$(stat curr_items); [ "$n" = "$NKEYS" ]; do
		[ $SECONDS -le $end ] || die "memcached holds ${n:-?} items, not $NKEYS"
		sleep 0.05
	done
}

# last_ops: the count of the newest complete "ops N" line of the client (0 if none yet); a line
# still being written must not read as an empty count
last_ops() {
	local n
	n=$(grep -E '^ops [0-9]+( |$)' "$WORK/client.out" | tail -1 | cut -d' ' -f2)
	case $n in '' | *[!0-9]*) n=0 ;; esac
	echo "$n"
}

# wait_ops N: until the client made N more round trips (20 s at most)
wait_ops() {
	local from end=$((SECONDS + 20))
	from=$(last_ops)
	while [ "$(last_ops)" -lt $((from + $1)) ] && [ $SECONDS -le $end ]; do sleep 0.05; done
	[ "$(last_ops)" -ge $((from + $1)) ] || die "the load stalled ($from -> $(last_ops))"
}

# verify TAG: the client re-reads every key (between its own updates) and reports
verify() {
	local n
	n=$(lines "$WORK/client.out")
	touch "$CTL/verify.$1"
	wait_line "$WORK/client.out" "^verified $1 " 20 "$n" || die "client did not verify ($1)"
	grep -q "^verified $1 keys=$NKEYS bad=0\$" "$WORK/client.out" || die "keys damaged ($1)"
}

# client_stop: stop the load; the client re-reads every key; no error at all. Sets CLIENT_OPS.
client_stop() {
	local n end final
	n=$(lines "$WORK/client.out")
	touch "$CTL/stop"
	wait_line "$WORK/client.out" '^final ' 30 "$n" || die "client did not finish"
	final=$(grep '^final ' "$WORK/client.out")
	note "client: $final"
	if grep -q '^ERROR' "$WORK/client.out"; then
		grep '^ERROR' "$WORK/client.out" | head >&2
		die "client errors"
	fi
	echo "$final" | grep -qE "errors=0 verified=$NKEYS bad=0\$" || die "client: $final"
	end=$((SECONDS + 10))
	while kill -0 "$CLIENT" 2>/dev/null && [ $SECONDS -le $end ]; do sleep 0.05; done
	wait "$CLIENT" || die "client exited with an error"
	CLIENT_OPS=${final#final ops=}
	CLIENT_OPS=${CLIENT_OPS%% *}
}

# mc_healthy: alive, untraced, no W+X, same threads, every item still there, no patch left.
mc_healthy() {
	alive "$MC"
	no_wx "$MC"
	[ "$(ls /proc/$MC/task | wc -l)" = "$THREADS" ] || die "memcached thread count changed"
	[ "$(stat curr_items)" = "$NKEYS" ] || die "items lost"
}

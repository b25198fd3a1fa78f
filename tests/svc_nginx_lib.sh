# Helpers of tests/integration/svc_nginx*.sh (sourced after lib.sh): a private
# nginx (Debian's binary copied under $WORK, master + 2 workers, loopback),
# wrk load, and the checks of its summary.

# nginx_start: sets NGINX (binary path), D (its prefix), PORT, URL, MASTER,
# WORKERS ("pid pid "), ALL; workers are registered for cleanup.
nginx_start() {
	[ -x /usr/sbin/nginx ] || skip "no /usr/sbin/nginx (Debian nginx-core)"
	local tool
	for tool in wrk curl python3; do
		command -v $tool >/dev/null || die "no $tool (make deps)"
	done
	PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	D=$WORK/nginx
	mkdir -p "$D/html" "$D/logs" "$D/sbin"
	# Debian's binary, byte for byte, under a path of our own: --all-of then names
	# our processes only, never an nginx of the machine or of another test run.
	NGINX=$D/sbin/nginx
	cp /usr/sbin/nginx "$NGINX"
	echo "hello from nginx" >"$D/html/index.html"
	touch -d '2001-01-01 00:00:00 UTC' "$D/html/index.html"
	# workers run as nobody: they must reach the document root (mktemp made WORK 0700)
	chmod 711 "$WORK"
	chmod -R a+rX "$D/html"
	cat >"$D/nginx.conf" <<CONF
worker_processes 2;
daemon off;
master_process on;
pid $D/nginx.pid;
error_log $D/logs/error.log notice;
events { worker_connections 512; }
http {
	log_format hp '\$status \$pid "\$sent_http_last_modified"';
	access_log $D/logs/access.log hp;
	client_body_temp_path $D/body;
	proxy_temp_path $D/proxy;
	fastcgi_temp_path $D/fastcgi;
	uwsgi_temp_path $D/uwsgi;
	scgi_temp_path $D/scgi;
	server {
		listen 127.0.0.1:$PORT;
		root $D/html;
	}
}
CONF
	start nginx "$NGINX" -p "$D" -c "$D/nginx.conf" -e "$D/logs/error.log"
	MASTER=$PID
	URL=http://127.0.0.1:$PORT/index.html
	# ready: two workers and a response
	local end=$((SECONDS + 10)) w p
	WORKERS=""
	while [ $SECONDS -le $end ]; do
		WORKERS=$(pgrep -P "$MASTER" | sort -n | tr '\n' ' ')
		if [ "$(echo $WORKERS | wc -w)" -eq 2 ] && curl -sf -o /dev/null "$URL"; then
			break
		fi
		alive "$MASTER"
		sleep 0.05
	done
	for w in $WORKERS; do PIDS+=("$w"); done
	[ "$(echo $WORKERS | wc -w)" -eq 2 ] ||
		{ cat "$WORK/nginx.out" "$D/logs/error.log" >&2; die "nginx did not start 2 workers"; }
	ALL="$MASTER $WORKERS"
	note "nginx master $MASTER, workers $WORKERS, port $PORT"
	for p in $ALL; do [ "$(readlink /proc/$p/exe)" = "$NGINX" ] || die "pid $p is not $NGINX"; done
}

# wrk_start SECONDS: wrk runs until wrk_stop interrupts it (it then prints its summary).
wrk_start() {
	wrk -t2 -c8 -d"$1"s --latency "$URL" >"$WORK/wrk.out" 2>&1 &
	WRK=$!
	PIDS+=("$WRK")
}

# wrk_stop: stop wrk, check its summary (no socket error, no non-2xx); sets WRK_TOTAL.
wrk_stop() {
	kill -INT "$WRK" 2>/dev/null || true
	local end=$((SECONDS + 10))
	while kill -0 "$WRK" 2>/dev/null && [ $SECONDS -le $end ]; do sleep 0.05; done
	kill -0 "$WRK" 2>/dev/null && die "wrk did not stop"
	cat "$WORK/wrk.out"
	WRK_TOTAL=$(sed -n 's/^ *\([0-9]*\) requests in .*/\1/p' "$WORK/wrk.out")
	[ -n "$WRK_TOTAL" ] && [ "$WRK_TOTAL" -gt 0 ] || die "wrk served no request"
	grep -q 'Socket errors' "$WORK/wrk.out" && die "wrk saw socket errors"
	grep -q 'Non-2xx' "$WORK/wrk.out" && die "wrk saw non-2xx responses"
	return 0
}

# nginx_healthy: same master and workers, alive, untraced, no W+X; nothing crashed.
nginx_healthy() {
	local p
	[ "$(pgrep -P "$MASTER" | sort -n | tr '\n' ' ')" = "$WORKERS" ] ||
		die "workers changed: $(pgrep -P "$MASTER" | tr '\n' ' ') (was $WORKERS)"
	for p in $ALL; do alive "$p"; no_wx "$p"; done
	if grep -E 'exited on signal|\[alert\]|\[emerg\]|\[crit\]' "$D/logs/error.log"; then
		die "nginx logged a crash or an alert"
	fi
	return 0
}

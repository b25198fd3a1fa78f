#!/bin/bash
# svc_postgres: Debian's PostgreSQL 15, a private cluster on a unix socket, under pgbench
# (8 clients). `apply --all-of` must patch every process of the cluster (postmaster,
# checkpointer, background writer, walwriter, autovacuum launcher, logical replication
# launcher, backends): the walwriter and the launchers are forked inside the postmaster's
# SIGCHLD handler and live above a signal frame over select(), which used to make them
# "busy" for the whole --timeout. An existing connection and a new one see the fix
# (SELECT pg_backend_pid() answers 424242), then the revert; pgbench ends with 0 failed
# transactions. Per-process apply times and pgbench's worst latency are printed.
. "$(dirname "$0")/../lib.sh"
PGV=15
SYS=/usr/lib/postgresql/$PGV
PATCH=$P/pg_backend_pid_v2.so
need "$PATCH"
[ -x "$SYS/bin/postgres" ] || die "no $SYS/bin/postgres (make deps installs postgresql-$PGV)"
id postgres >/dev/null 2>&1 || die "no user postgres"
as_pg() { runuser -u postgres -- "$@"; }

# Our own copy of the server binary, in a tree of the same shape (the server finds its
# share/ and lib/ relative to itself), so that --all-of matches this cluster's processes
# and never another cluster running on the machine.
chmod 755 "$WORK"
R=$WORK/root
mkdir -p "$R/usr/lib/postgresql/$PGV/bin" "$R/usr/share/postgresql"
cp "$SYS/bin/postgres" "$R/usr/lib/postgresql/$PGV/bin/postgres"
ln -s "$SYS/lib" "$R/usr/lib/postgresql/$PGV/lib"
ln -s "/usr/share/postgresql/$PGV" "$R/usr/share/postgresql/$PGV"
PG=$R/usr/lib/postgresql/$PGV/bin/postgres
DATA=$WORK/data SOCK=$WORK/sock
mkdir -p "$DATA" "$SOCK"
chown postgres: "$DATA" "$SOCK"
as_pg "$SYS/bin/initdb" -D "$DATA" --auth=trust -U postgres >"$WORK/initdb.log" 2>&1 ||
	{ cat "$WORK/initdb.log"; die "initdb failed"; }
PORT=5432
start postgres runuser -u postgres -- "$PG" -D "$DATA" -k "$SOCK" -p $PORT -c listen_addresses= \
	-c max_connections=40 -c autovacuum_naptime=1
end=$((SECONDS + 20))
until as_pg psql -h "$SOCK" -p $PORT -U postgres -Atc 'select 1' postgres >/dev/null 2>&1; do
	[ $SECONDS -le $end ] || { cat "$WORK/postgres.out"; die "postgres did not start"; }
	sleep 0.1
done
PM=$(head -1 "$DATA/postmaster.pid")
PIDS+=("$PM")
psqlc() { as_pg psql -h "$SOCK" -p $PORT -U postgres -Atc "$1" postgres; }
as_pg pgbench -h "$SOCK" -p $PORT -U postgres -i -s 2 -q postgres >"$WORK/pgbench-init.log" 2>&1 ||
	{ cat "$WORK/pgbench-init.log"; die "pgbench -i failed"; }

# An existing connection: psql reading queries from a fifo for the whole test.
mkfifo "$WORK/q"
chmod 666 "$WORK/q"
runuser -u postgres -- psql -h "$SOCK" -p $PORT -U postgres -At postgres <"$WORK/q" >"$WORK/conn.out" 2>&1 &
PIDS+=($!)
exec 3>"$WORK/q"
ask() { echo "select 'q$1', pg_backend_pid();" >&3; wait_line "$WORK/conn.out" "^q$1\|" 10 || die "no answer on the existing connection"; grep "^q$1|" "$WORK/conn.out" | cut -d'|' -f2; }
own=$(ask 0)
[ "$own" != 424242 ] || die "unpatched already?"

as_pg pgbench -h "$SOCK" -p $PORT -U postgres -c 8 -j 2 -T 20 -n -P 1 -r postgres >"$WORK/pgbench.out" 2>&1 &
BENCH=$!
wait_line "$WORK/pgbench.out" '^progress: [0-9.]+ s, [0-9.]+ tps' 15 || die "pgbench does not run"
n=$(pgrep -f -x "$PG.*" -c || true)
procs=$(for p in $(pgrep -f "^$PG|^postgres: " ); do [ "$(readlink /proc/$p/exe)" = "$PG" ] && echo "$p"; done | wc -l)
note "cluster: $procs processes of $PG"
[ "$procs" -ge 12 ] || die "only $procs server processes"

hp apply --json --timeout 5000 --all-of "$PG" "$PATCH"
echo "$OUT" | python3 -c '
import json, sys
d = json.load(sys.stdin)
for p in d["processes"]:
    t = p.get("timing", {})
    print("--- pid %d: %s, total %.1f ms, paused %.2f ms" % (p["pid"], "ok" if p["ok"] else p["error"]["message"],
          t.get("total_us", 0) / 1000, t.get("pause_us", 0) / 1000))
print("--- %d processes, %d failed" % (len(d["processes"]), d["failed"]))'
expect_rc 0
[ "$(ask 1)" = 424242 ] || die "the existing connection does not see the fix"
[ "$(psqlc 'select pg_backend_pid()')" = 424242 ] || die "a new connection does not see the fix"
# The processes forked in the postmaster's handler are among the patched ones.
for kind in walwriter 'autovacuum launcher' 'logical replication launcher'; do
	p=$(pgrep -f "postgres: $kind" | head -1)
	[ -n "$p" ] || die "no $kind process"
	hp list "$p"
	echo "$OUT" | grep -q 'pg_backend_pid_v2.so' || die "$kind (pid $p) not patched"
done

hp revert --json --timeout 5000 --all-of "$PG" --all
expect_rc 0
[ "$(ask 2)" = "$own" ] || die "the existing connection still sees the fix"
p=$(psqlc 'select pg_backend_pid()')
[ "$p" != 424242 ] && [ "$p" -gt 0 ] || die "a new connection still sees the fix"
code_same "$PM" "$PG"

wait "$BENCH" || { cat "$WORK/pgbench.out"; die "pgbench failed"; }
grep -E '^number of failed transactions: 0 ' "$WORK/pgbench.out" || { cat "$WORK/pgbench.out"; die "pgbench saw failed transactions"; }
grep -E '^(number of transactions actually processed|latency average)' "$WORK/pgbench.out"
worst=$(sed -n 's/^progress: .* lat [0-9.]* ms stddev [0-9.]*, \(.*\)$/\1/p' "$WORK/pgbench.out" | head -0)
note "lowest per-second tps during the run: $(sed -n 's/^progress: [0-9.]* s, \([0-9.]*\) tps.*/\1/p' "$WORK/pgbench.out" | sort -n | head -1)"
exec 3>&-
alive "$PM"
echo PASS

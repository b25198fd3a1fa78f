#!/bin/bash
# Debian's memcached (-t 4 worker threads, loopback, no UDP) under a python3
# load client (4 connections, set/get of many keys, every value verified).
# Keys are written before the patch. The patch WRAPs libc's sendmsg (every
# response of every worker goes through it) and replaces getrusage, whose
# values memcached's "stats" reports: rusage_user 4242 is the marker and
# rusage_system the count of wrapped sendmsg calls. All keys read back intact
# after apply and after revert; the client sees no error.
. "$(dirname "$0")/../lib.sh"

MEMCACHED=/usr/bin/memcached
[ -x "$MEMCACHED" ] || skip "no $MEMCACHED (Debian memcached)"
command -v python3 >/dev/null || die "no python3 (make deps)"
[ -x "$HOTPATCH" ] || die "no $HOTPATCH"
PATCH=$P/svc_memcached.so
[ -f "$PATCH" ] || die "no $PATCH (make tests-build)"
NKEYS=4000

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
start memcached "$MEMCACHED" -u "$(id -un)" -l 127.0.0.1 -p "$PORT" -U 0 -t 4 -m 64 -c 256
MC=$PID

cat >"$WORK/client.py" <<'PYEOF'
# Load client: N connections in threads, each owning the keys k % N == i.
# Versions only grow; a value encodes its key and version, so any value read
# is checked whole and against the versions possible at that moment.
import os, socket, sys, threading, time

port, nkeys, ctl = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
NCONN, BATCH = 4, 16
deadline = time.monotonic() + 60
done = [0] * NCONN        # completed round trips per connection
errors = []
lo = [0] * nkeys          # version surely stored
hi = [0] * nkeys          # highest version possibly stored

def val(k, v):
    return (("k%d:v%d;" % (k, v)) * (1 + (k * 7 + v) % 40)).encode()

def err(msg):
    errors.append(msg)
    print("ERROR", msg, flush=True)

class Conn:
    def __init__(self):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.f = self.s.makefile("rb")
    def set(self, k, v):
        data = val(k, v)
        self.s.sendall(b"set k%d 0 0 %d\r\n%s\r\n" % (k, len(data), data))
        r = self.f.readline()
        if r != b"STORED\r\n":
            err("set k%d: %r" % (k, r))
    def get(self, keys):
        self.s.sendall(b"get " + b" ".join(b"k%d" % k for k in keys) + b"\r\n")
        out = {}
        while True:
            line = self.f.readline()
            if line == b"END\r\n":
                return out
            p = line.split()
            if len(p) != 4 or p[0] != b"VALUE":
                err("get: %r" % line)
                return out
            data = self.f.read(int(p[3]) + 2)[:-2]
            out[int(p[1][1:])] = data

def check(keys, got, before):
    for k in keys:
        d = got.get(k)
        if d is None:
            err("k%d missing" % k)
            continue
        try:
            v = int(d.split(b";")[0].split(b":v")[1])
        except (IndexError, ValueError):
            v = -1
        if d != val(k, v) or not before[k] <= v <= hi[k]:
            err("k%d: bad value %r (expected v%d..v%d)" % (k, d[:40], before[k], hi[k]))

def verify_all(c):
    bad = len(errors)
    for i in range(0, nkeys, 100):
        keys = list(range(i, min(i + 100, nkeys)))
        before = {k: lo[k] for k in keys}
        check(keys, c.get(keys), before)
    return len(errors) - bad

def worker(i):
    try:
        c = Conn()
        mine = list(range(i, nkeys, NCONN))
        n = 0
        while not os.path.exists(ctl + "/stop") and time.monotonic() < deadline:
            k = mine[(n * 7919) % len(mine)]
            hi[k] += 1
            c.set(k, hi[k])
            lo[k] = hi[k]
            keys = [mine[(n * 31 + j) % len(mine)] for j in range(BATCH)]
            before = {k: lo[k] for k in keys}
            check(keys, c.get(keys), before)
            n += 1
            done[i] += 2
    except Exception as e:
        err("connection %d: %r" % (i, e))

c = Conn()
for k in range(nkeys):
    c.set(k, 0)
print("filled", nkeys, "errors=%d" % len(errors), flush=True)
ts = [threading.Thread(target=worker, args=(i,)) for i in range(NCONN)]
for t in ts:
    t.start()
while any(t.is_alive() for t in ts):
    for name in sorted(os.listdir(ctl)):
        if name.startswith("verify."):
            bad = verify_all(c)
            os.unlink(ctl + "/" + name)
            print("verified", name[7:], "keys=%d" % nkeys, "bad=%d" % bad, flush=True)
    print("ops", sum(done), flush=True)
    time.sleep(0.05)
bad = verify_all(c)
print("final ops=%d errors=%d verified=%d bad=%d" % (sum(done), len(errors), nkeys, bad), flush=True)
sys.exit(1 if errors else 0)
PYEOF

# memcached answers
end=$((SECONDS + 10))
until python3 -c "import socket; socket.create_connection(('127.0.0.1', $PORT), timeout=1)" 2>/dev/null; do
	[ $SECONDS -le $end ] || { cat "$WORK/memcached.out" >&2; die "memcached does not answer on port $PORT"; }
	alive "$MC"
	sleep 0.05
done
[ "$(readlink /proc/$MC/exe)" = "$MEMCACHED" ] || die "pid $MC is not $MEMCACHED"
THREADS=$(ls /proc/$MC/task | wc -l)
note "memcached pid $MC, $THREADS threads, port $PORT"

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
# last_ops: the count of the newest "ops" line of the client
last_ops() { grep '^ops ' "$WORK/client.out" | tail -1 | cut -d' ' -f2; }
# verify TAG: the client re-reads every key (between its own updates) and reports
verify() {
	local n
	n=$(lines "$WORK/client.out")
	touch "$CTL/verify.$1"
	wait_line "$WORK/client.out" "^verified $1 " 20 "$n" || die "client did not verify ($1)"
	grep -q "^verified $1 keys=$NKEYS bad=0\$" "$WORK/client.out" || die "keys damaged ($1)"
}

CTL=$WORK/ctl
mkdir -p "$CTL"
start client python3 "$WORK/client.py" "$PORT" "$NKEYS" "$CTL"
CLIENT=$PID
wait_line "$WORK/client.out" "^filled $NKEYS errors=0\$" 20 || die "client could not fill the keys"
wait_line "$WORK/client.out" '^ops [1-9][0-9]{3,}' 20 || die "load did not start"
[ "$(stat curr_items)" = "$NKEYS" ] || die "memcached holds $(stat curr_items) items, not $NKEYS"
u0=$(stat rusage_user)
case $u0 in 4242.*) die "rusage_user is already the marker" ;; esac

note "apply under load"
hp apply --json ${HP_V:-} "$MC" "$PATCH"
expect_rc 0
echo "$OUT" | grep -q '"ok":true' || die "apply --json not ok"
pause=$(echo "$OUT" | sed -n 's/.*"pause_us":\([0-9.]*\).*/\1/p')
threads=$(echo "$OUT" | sed -n 's/.*"threads":\([0-9]*\).*/\1/p')
[ "$threads" -ge 5 ] || die "apply stopped $threads threads, memcached has at least 5"
alive "$MC"
no_wx "$MC"
u1=$(stat rusage_user)
[ "$u1" = "4242.000000" ] || die "getrusage not replaced: rusage_user $u1"
s1=$(stat rusage_system)
n=$(lines "$WORK/client.out")
wait_line "$WORK/client.out" '^ops ' 10 "$n" || die "no progress line"
ops_a=$(last_ops)
end=$((SECONDS + 20))
while [ "$(last_ops)" -lt $((ops_a + 3000)) ] && [ $SECONDS -le $end ]; do sleep 0.05; done
ops_b=$(last_ops)
s2=$(stat rusage_system)
s1=${s1%%.*} s2=${s2%%.*}
note "wrapped sendmsg calls: $s1 then $s2; client round trips meanwhile $((ops_b - ops_a))"
[ "$ops_b" -ge $((ops_a + 3000)) ] || die "the load stalled while patched ($ops_a -> $ops_b)"
# every round trip between the two stats was answered through the wrapper (one sendmsg at least)
[ $((s2 - s1)) -ge $((ops_b - ops_a - 8)) ] || die "sendmsg wrapper missed responses: $((s2 - s1)) < $((ops_b - ops_a))"
verify after-apply
[ "$(stat rusage_user)" = "4242.000000" ] || die "patch not in place any more"

note "revert under load"
ops_r=$(last_ops)
hp revert "$MC" --all
expect_rc 0
alive "$MC"
u2=$(stat rusage_user)
case $u2 in 4242.*|"") die "getrusage still replaced after revert: $u2" ;; esac
end=$((SECONDS + 20))
while [ "$(last_ops)" -lt $((ops_r + 3000)) ] && [ $SECONDS -le $end ]; do sleep 0.05; done
verify after-revert

n=$(lines "$WORK/client.out")
touch "$CTL/stop"
wait_line "$WORK/client.out" '^final ' 30 "$n" || die "client did not finish"
final=$(grep '^final ' "$WORK/client.out")
note "client: $final"
grep -q '^ERROR' "$WORK/client.out" && { grep '^ERROR' "$WORK/client.out" | head >&2; die "client errors"; }
echo "$final" | grep -qE "errors=0 verified=$NKEYS bad=0\$" || die "client: $final"
end=$((SECONDS + 10))
while kill -0 "$CLIENT" 2>/dev/null && [ $SECONDS -le $end ]; do sleep 0.05; done
wait "$CLIENT" || die "client exited with an error"

alive "$MC"
no_wx "$MC"
[ "$(ls /proc/$MC/task | wc -l)" = "$THREADS" ] || die "memcached thread count changed"
[ "$(stat curr_items)" = "$NKEYS" ] || die "items lost"
hp list "$MC"
expect_rc 0
echo "$OUT" | grep -q 'no patches' || die "patch still listed"
ops=${final#final ops=}
echo "PASS: ${ops%% *} client round trips, $((s2 - s1)) responses counted while patched, 0 errors, pause_us=$pause"

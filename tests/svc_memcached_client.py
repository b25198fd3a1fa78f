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

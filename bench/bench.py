#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""hotpatch benchmarks: pause, apply time, per-call cost, gdb comparison, many processes.

Run by bench/run.sh (which builds everything first). Prints Markdown on stdout and writes
it to build/bench/results.md. Every target process is killed on exit, whatever happens.
"""
import argparse
import json
import os
import platform
import re
import select
import shutil
import signal
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
B = os.path.join(ROOT, "build", "bench")
HOTPATCH = os.environ.get("HOTPATCH", os.path.join(ROOT, "build", "hotpatch"))
TARGET = os.path.join(B, "bench_target")
MULTI = os.path.join(B, "bench_multi")  # a copy: --all-of must match only the 100 processes
FLOOR = os.path.join(B, "floor")  # bench/floor.c: seize, interrupt+wait, cont every thread

PROCS = []
START = time.monotonic()
BUDGET_S = 540  # the whole run stays under 10 minutes; later parts are cut short past this


def log(msg):
    print(f"[{time.monotonic() - START:6.1f}s] {msg}", file=sys.stderr, flush=True)


def over_budget():
    return time.monotonic() - START > BUDGET_S


def cleanup():
    for p in PROCS:
        if p.poll() is None:
            p.kill()
    for p in PROCS:
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
    PROCS.clear()


def on_signal(sig, frame):
    cleanup()
    sys.exit(128 + sig)


def med(v):
    v = [x for x in v if x is not None]
    return statistics.median(v) if v else None


class Target:
    """A bench_target process talking line by line on stdin/stdout."""

    def __init__(self, args, exe=TARGET, control=True, cpu=None):
        self.p = subprocess.Popen(
            [exe] + [str(a) for a in args],
            stdin=subprocess.PIPE if control else subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
            preexec_fn=(lambda: os.sched_setaffinity(0, {cpu})) if cpu is not None else None)
        PROCS.append(self.p)
        line = self.readline(10)
        m = re.match(r"ready pid=(\d+)", line or "")
        if not m:
            raise RuntimeError(f"target did not start: {line!r}")
        self.pid = self.p.pid

    def readline(self, timeout):
        r, _, _ = select.select([self.p.stdout], [], [], timeout)
        if not r:
            raise RuntimeError(f"target {self.p.pid}: no answer in {timeout}s")
        return self.p.stdout.readline().strip()

    def cmd(self, c, timeout=30):
        self.p.stdin.write(c + "\n")
        self.p.stdin.flush()
        return self.readline(timeout)

    def kv(self, c, timeout=30):
        line = self.cmd(c, timeout)
        return {k: float(v) for k, v in re.findall(r"(\w+)=([-\d.]+)", line)}

    def gap(self):
        d = self.kv("g")
        return d["spin_us"], d["tick_us"]

    def errors(self):
        d = self.kv("e")
        return int(d["nanosleep"]), int(d["last"]), int(d["epoll"]), int(d["errno"]), int(d["read"])

    def stop(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()


def hp(*args, timeout=120, env=None):
    t0 = time.perf_counter_ns()
    r = subprocess.run([HOTPATCH] + [str(a) for a in args], capture_output=True, text=True,
                       timeout=timeout, env=env)
    wall_us = (time.perf_counter_ns() - t0) / 1e3
    return r, wall_us


def hp_json(*args, timeout=120, env=None):
    r, wall = hp(*args, "--json", timeout=timeout, env=env)
    try:
        d = json.loads(r.stdout)
    except ValueError:
        d = {"ok": False, "error": {"message": r.stderr.strip() or r.stdout.strip()}}
    if r.returncode != 0 or not d.get("ok"):
        raise RuntimeError(f"hotpatch {' '.join(map(str, args))}: exit {r.returncode}: "
                           f"{r.stderr.strip()}")
    return d, wall


# ---- pause vs threads and functions ----

def floor_run(pid, reps):
    """bench/floor.c on the same target: the cheapest stop-the-world of its threads (median us)."""
    r = subprocess.run([FLOOR, str(pid), str(reps)], capture_output=True, text=True, timeout=120)
    m = re.match(r"floor us=(\d+) min=(\d+) max=(\d+) threads=(\d+) seize_us=(\d+)", r.stdout)
    if not m:
        raise RuntimeError(f"floor: {r.stdout.strip()} {r.stderr.strip()}")
    return dict(us=float(m[1]), min=float(m[2]), max=float(m[3]), threads=int(m[4]),
                seize=float(m[5]))


def pause_run(workers, nfuncs, patch, reps, floor=False):
    """reps x (apply, measure the gaps the target saw, revert); a same-length idle window each.
    With floor, one rep of the floor (bench/floor.c) on the same target after each, so both
    see the same load; the errors the floor causes (it repairs no EINTR) are not counted."""
    t = Target(["threads", workers, nfuncs])
    time.sleep(0.3)
    t.gap()
    rows, floors, ferr = [], [], [0, 0, 0, 0, 0]
    try:
        for _ in range(reps):
            time.sleep(0.05)
            t.gap()
            w0 = time.perf_counter()
            d, wall = hp_json("apply", t.pid, patch)
            spin, tick = t.gap()
            window = time.perf_counter() - w0
            hp("revert", t.pid, "--all")
            time.sleep(0.05)
            t.gap()
            time.sleep(window)
            bspin, btick = t.gap()
            tm = d["timing"]
            fn = d["patch"]["functions"]
            rows.append(dict(total=tm["total_us"], pause=tm["pause_us"], stw=tm["stw_us"],
                             dlopen=tm["dlopen_us"], threads=tm["threads"], wall=wall,
                             spin=spin, tick=tick, bspin=bspin, btick=btick, nfun=len(fn)))
            if floor:
                e0 = t.errors()
                floors.append(floor_run(t.pid, 1))
                e1 = t.errors()
                # counts only: nanosleep, epoll, read (1 and 3 are the last value and errno)
                ferr = [f + (y - x if i in (0, 2, 4) else 0)
                        for i, (f, x, y) in enumerate(zip(ferr, e0, e1))]
                time.sleep(0.05)
        errs = tuple(e - f for e, f in zip(t.errors(), ferr))
        fl = {k: med([f[k] for f in floors]) for k in floors[0]} if floors else None
    finally:
        t.stop()
    res = {k: med([r[k] for r in rows]) for k in rows[0]}
    res["errors"] = errs
    res["floor"] = fl
    res["reps"] = len(rows)
    return res


def gdb_run(workers, patch, reps):
    """gdb's remote dlopen of the same patch, pause seen by the target, errors left behind."""
    gdb = shutil.which("gdb")
    if not gdb:
        return None
    t = Target(["threads", workers, 1])
    time.sleep(0.3)
    t.gap()
    rows, fails = [], []
    try:
        e0 = t.errors()
        for _ in range(reps):
            time.sleep(0.05)
            t.gap()
            t0 = time.perf_counter_ns()
            r = subprocess.run([gdb, "-nx", "-p", str(t.pid), "-batch", "-ex",
                                f'call (void*)dlopen("{patch}", 2)'],
                               capture_output=True, text=True, timeout=120)
            wall = (time.perf_counter_ns() - t0) / 1e3
            spin, tick = t.gap()
            out = r.stdout + r.stderr
            if not re.search(r"\$1 = \(void \*\) 0x[0-9a-f]+", out):
                fails.append(out.strip().splitlines()[-1] if out.strip() else f"exit {r.returncode}")
            rows.append(dict(wall=wall, spin=spin, tick=tick))
        time.sleep(0.3)
        e1 = t.errors()
    finally:
        t.stop()
    return dict(wall=med([r["wall"] for r in rows]), spin=med([r["spin"] for r in rows]),
                tick=med([r["tick"] for r in rows]), reps=reps,
                nanosleep=e1[0] - e0[0], nanosleep_last=e1[1], epoll=e1[2] - e0[2],
                epoll_errno=e1[3], read=e1[4] - e0[4], fails=fails)


# ---- apply wall time, small patch, small target ----

def wall_of(argv):
    t0 = time.perf_counter_ns()
    subprocess.run(argv, capture_output=True, timeout=60)
    return (time.perf_counter_ns() - t0) / 1e3


def apply_wall(patch, reps):
    """apply and revert walls; `true` and `hotpatch --version` (process start and dynamic
    loading) measured the same way, interleaved with them."""
    t = Target(["threads", 0, 1])
    walls, totals, rwalls, trues, vers = [], [], [], [], []
    true = shutil.which("true") or "/bin/true"
    try:
        for _ in range(reps):
            trues.append(wall_of([true]))
            vers.append(wall_of([HOTPATCH, "--version"]))
            d, wall = hp_json("apply", t.pid, patch)
            walls.append(wall)
            totals.append(d["timing"]["total_us"])
            _, rw = hp("revert", t.pid, "--all")
            rwalls.append(rw)
        errs = t.errors()
    finally:
        t.stop()
    return dict(wall=med(walls), total=med(totals), revert=med(rwalls), errors=errs,
                true=med(trues), version=med(vers))


# ---- per-call cost ----

def calls_run(patches, reps, iters):
    t = Target(["calls"], cpu=1 if os.cpu_count() and os.cpu_count() > 1 else None)
    try:
        t.kv(f"c {iters // 10}", timeout=60)  # warm up
        before = [t.kv(f"c {iters}", timeout=120) for _ in range(3)]
        funcs = []
        for patch in patches:
            d, _ = hp_json("apply", t.pid, patch)
            funcs += d["patch"]["functions"]
        kinds = {}
        for f in funcs:
            j = f["jump"]
            if f["preserved_regs"]:
                k = f"e9 to a register-preserving island ({len(f['preserved_regs'])} regs)"
            elif f["island"] != "0x0":
                k = "e9 to an island, ff25 abs64 there"
            elif j.startswith("e9"):
                k = "e9 rel32 direct"
            elif j.startswith("ff25"):
                k = "ff25 abs64 at the entry"
            else:
                k = j
            kinds[f["name"]] = k
        after = [t.kv(f"c {iters}", timeout=120) for _ in range(reps)]
    finally:
        t.stop()
    m = {k: med([a[k] for a in after]) for k in after[0]}
    mb = {k: med([a[k] for a in before]) for k in before[0]}
    return m, mb, kinds


# ---- many processes ----

def multi_run(nproc, patch, reps):
    shutil.copy2(TARGET, MULTI)
    ts = []
    try:
        for _ in range(nproc):
            ts.append(Target(["threads", 0, 1], exe=MULTI, control=False))
        time.sleep(0.2)
        walls, rwalls = [], []
        for _ in range(reps):
            d, wall = hp_json("apply", "--all-of", MULTI, patch, timeout=300)
            if d.get("succeeded") != nproc:
                raise RuntimeError(f"--all-of: {d.get('succeeded')} of {nproc} succeeded")
            walls.append(wall)
            _, rw = hp("revert", "--all-of", MULTI, "--all", timeout=300)
            rwalls.append(rw)
    finally:
        for t in ts:
            t.p.kill()
        for t in ts:
            t.p.wait()
        PROCS[:] = [p for p in PROCS if p.poll() is None]
    return dict(wall=med(walls), revert=med(rwalls), n=nproc)


# ---- exec to patched (hotpatchd) ----

HOTPATCHD = os.path.join(os.path.dirname(HOTPATCH), "hotpatchd")
PERSIST = os.path.join(ROOT, "build", "tests", "targets", "persist")
FUNC100 = os.path.join(ROOT, "build", "tests", "patches", "func100.so")


def pct(v, q):
    v = sorted(x for x in v if x is not None)
    return v[min(len(v) - 1, int(q * len(v)))] if v else None


def window_run(n, extra):
    """n fresh processes of a registered binary: exec -> patched as hotpatchd logs it, and the
    process's own view (requests of 1 ms served before the patch, main -> first patched call)."""
    exe = os.path.join(B, "bench_persist")  # hotpatchd --only-exe: only our own processes
    reg = os.path.join(B, "window-reg")
    shutil.copy2(PERSIST, exe)
    shutil.rmtree(reg, ignore_errors=True)
    os.makedirs(reg, mode=0o755)
    hp_json("install", "--dir", reg, "--binary", exe, FUNC100)
    logpath = os.path.join(B, "hotpatchd.log")
    logf = open(logpath, "w")
    d = subprocess.Popen([HOTPATCHD, "--dir", reg, "--only-exe", exe] + extra,
                         stdout=logf, stderr=subprocess.STDOUT)
    PROCS.append(d)
    rows = []
    try:
        end = time.monotonic() + 10
        while "ready" not in open(logpath).read():
            if time.monotonic() > end or d.poll() is not None:
                raise RuntimeError("hotpatchd did not start")
            time.sleep(0.01)
        for _ in range(n):
            p = subprocess.Popen([exe], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                 text=True, bufsize=1)
            PROCS.append(p)
            row = {}
            try:
                end = time.monotonic() + 10
                while time.monotonic() < end and "calls" not in row:
                    r, _, _ = select.select([p.stdout], [], [], 1)
                    line = p.stdout.readline() if r else ""
                    m = re.match(r"first new after (\d+) calls, (\d+) us after main", line)
                    if m:
                        row["calls"], row["main"] = int(m.group(1)), int(m.group(2))
                end = time.monotonic() + 5
                while time.monotonic() < end and "window" not in row:
                    for line in open(logpath):
                        m = re.search(rf"pid {p.pid} .*loader wait ([\d.]+) ms, apply ([\d.]+) ms"
                                      r".*window_us=(\d+)", line)
                        if m:
                            row["wait"] = float(m.group(1)) * 1000
                            row["apply"] = float(m.group(2)) * 1000
                            row["window"] = int(m.group(3))
                    time.sleep(0.01)
            finally:
                p.kill()
                p.wait()
            if "calls" not in row or "window" not in row:
                raise RuntimeError(f"process {p.pid} was not patched: {open(logpath).read()[-500:]}")
            rows.append(row)
    finally:
        d.terminate()
        try:
            d.wait(timeout=10)
        except subprocess.TimeoutExpired:
            d.kill()
        logf.close()
        PROCS[:] = [x for x in PROCS if x.poll() is None]
    col = lambda k: [r[k] for r in rows]  # noqa: E731
    return {k: (med(col(k)), pct(col(k), 0.9), max(col(k))) for k in rows[0]} | {"n": n}


# ---- report ----

# ---- run-to-return: cost per thread of each breakpoint mechanism ----

def bp_run(mech, nthreads, reps):
    """apply total_us with every thread inside the replaced function, and the baseline."""
    env = dict(os.environ, HOTPATCH_BREAKPOINTS=mech)
    t = Target([nthreads], exe=os.path.join(B, "busy"), control=False)
    busy, cold = [], []
    try:
        time.sleep(0.2)
        for _ in range(reps):
            for patch, acc in (("busy_patch.so", busy), ("cold_patch.so", cold)):
                d, _ = hp_json("apply", "--timeout", 10000, t.pid, os.path.join(B, patch), env=env)
                acc.append(d["timing"]["total_us"])
                hp("revert", t.pid, "--all", env=env)
    finally:
        t.stop()
    return dict(busy=med(busy), cold=med(cold))


def machine():
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    glibc = platform.libc_ver()[1] or "?"
    try:
        gdbv = subprocess.run(["gdb", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    except (OSError, IndexError):
        gdbv = "not installed"
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    return (f"CPU {cpu}, {os.cpu_count()} cores; kernel {platform.release()}; glibc {glibc}; "
            f"{gdbv}; load average at start {load}")


def us(x):
    if x is None:
        return "-"
    return f"{x / 1000:.1f} ms" if x >= 10000 else f"{x:.0f} µs"


def goal(ok):
    return "**met**" if ok else "**missed**"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=11)
    ap.add_argument("--quick", action="store_true", help="fewer reps and configurations")
    ap.add_argument("--only", default="",
                    help="comma list: threads,funcs,gdb,apply,calls,multi,bp,window")
    a = ap.parse_args()
    reps = 3 if a.quick else a.reps
    only = set(a.only.split(",")) if a.only else {"threads", "funcs", "gdb", "apply", "calls", "multi",
                                                  "bp", "window"}
    # hotpatch and gdb (our children) leave CPU 0 to the target's spinning worker
    cpus = os.sched_getaffinity(0)
    if len(cpus) > 1 and 0 in cpus:
        os.sched_setaffinity(0, cpus - {0})
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    out = []
    res = {}
    try:
        out.append(f"Machine: {machine()}.  ")
        out.append(f"Medians of {reps} runs; `hotpatch` = build/hotpatch (-O2).\n")
        p1 = os.path.join(B, "patch_1.so")
        if "threads" in only:
            out.append("### Pause vs threads (one function)\n")
            out.append("Target: the main thread reads commands, worker 0 spins calling the function "
                       "on CPU 0 (which no other thread, nor hotpatch, may use), the other workers "
                       "tick (sleep to a deadline in clock_nanosleep, one in epoll_pwait2, then 64 "
                       "calls). *busy gap* = largest gap the spinning worker saw between two loop "
                       "iterations during the apply: the pause as a running thread sees it. *tick "
                       "lateness* = the worst wakeup delay of the ticking workers (these share the "
                       "other core with hotpatch). *idle* = the same over an equal window without "
                       "hotpatch. Errors: error returns in the target over all the apply and revert "
                       "runs.\n")
            out.append("*floor* = bench/floor.c on the same target right after: PTRACE_SEIZE every "
                       "thread, then timed: PTRACE_INTERRUPT every thread, wait for each stop, "
                       "PTRACE_CONT every thread, nothing else (first interrupt to last resume, "
                       "the span stw_us covers). *x floor* = stw_us / floor.\n")
            out.append("| workers | threads | stop-the-world (stw_us) | floor | x floor | pause_us | "
                       "dlopen_us | total_us | busy gap (idle) | tick lateness (idle) | errors left |")
            out.append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
            for n in ([1, 8] if a.quick else [1, 8, 64, 256]):
                if over_budget():
                    break
                log(f"pause: {n} workers")
                r = pause_run(n, 1, p1, reps, floor=True)
                res[("threads", n)] = r
                e = r["errors"]
                fl = r["floor"]["us"]
                out.append(f"| {n} | {r['threads']:.0f} | {us(r['stw'])} | {us(fl)} | "
                           f"{r['stw'] / max(fl, 1):.2f} | {us(r['pause'])} | "
                           f"{us(r['dlopen'])} | {us(r['total'])} | {us(r['spin'])} "
                           f"({us(r['bspin'])}) | {us(r['tick'])} ({us(r['btick'])}) | "
                           f"clock_nanosleep {e[0]}, epoll {e[2]}, read {e[4]} |")
            out.append("")
        if "funcs" in only:
            out.append("### Pause vs functions in one patch (8 workers)\n")
            out.append("| functions | stop-the-world | pause_us | dlopen_us | total_us | wall | "
                       "busy gap (idle) | tick lateness (idle) |")
            out.append("|---:|---:|---:|---:|---:|---:|---:|---:|")
            for k in ([1, 100] if a.quick else [1, 10, 100, 1000]):
                if over_budget():
                    break
                log(f"pause: {k} functions")
                r = pause_run(8, k, os.path.join(B, f"patch_{k}.so"), reps)
                res[("funcs", k)] = r
                out.append(f"| {k} | {us(r['stw'])} | {us(r['pause'])} | {us(r['dlopen'])} | "
                           f"{us(r['total'])} | {us(r['wall'])} | {us(r['spin'])} ({us(r['bspin'])}) | "
                           f"{us(r['tick'])} ({us(r['btick'])}) |")
            out.append("")
        if "gdb" in only and not over_budget():
            log("gdb")
            g = gdb_run(8, p1, 3 if a.quick else 5)
            res["gdb"] = g
            h = res.get(("threads", 8)) or pause_run(8, 1, p1, reps)
            res[("threads", 8)] = h
            out.append("### gdb vs hotpatch (8 workers, same target, same patch)\n")
            if g is None:
                out.append("gdb is not installed: skipped.\n")
            else:
                out.append("`gdb -p PID -batch -ex 'call (void*)dlopen(\"/abs/patch_1.so\", 2)'` "
                           f"({g['reps']} runs) against `hotpatch apply` ({reps} runs, which also "
                           "writes the jump), medians.\n")
                out.append("| tool | busy gap | tick lateness | wall | error returns in the target |")
                out.append("|---|---:|---:|---:|---|")
                he = h["errors"]
                out.append(f"| hotpatch apply (stw {us(h['stw'])}) | {us(h['spin'])} | {us(h['tick'])} | "
                           f"{us(h['wall'])} | clock_nanosleep {he[0]}, epoll {he[2]}, read {he[4]} "
                           f"(over {h['reps']} apply + {h['reps']} revert) |")
                out.append(f"| gdb call dlopen | {us(g['spin'])} | {us(g['tick'])} | {us(g['wall'])} | "
                           f"clock_nanosleep {g['nanosleep']}"
                           f"{' (returned %d)' % g['nanosleep_last'] if g['nanosleep'] else ''}, "
                           f"epoll {g['epoll']}{' (errno %d)' % g['epoll_errno'] if g['epoll'] else ''}, "
                           f"read {g['read']} (over {g['reps']} calls) |")
                if g["fails"]:
                    out.append(f"\ngdb failed {len(g['fails'])} of {g['reps']} times: "
                               f"`{g['fails'][0]}`")
                out.append("")
        if "apply" in only and not over_budget():
            log("apply wall")
            r = apply_wall(p1, reps)
            res["apply"] = r
            out.append("### `hotpatch apply` wall time (1 function, idle 1-thread target)\n")
            out.append("*true* = wall of `true` (process start, measured the same way); *--version* = "
                       "`hotpatch --version` (process start and dynamic loading of hotpatch). *x* = "
                       "apply wall / (true + total_us).\n")
            out.append("| apply wall (exec to exit) | apply total_us (library) | true | --version | x | "
                       "revert wall |")
            out.append("|---:|---:|---:|---:|---:|---:|")
            out.append(f"| {us(r['wall'])} | {us(r['total'])} | {us(r['true'])} | {us(r['version'])} | "
                       f"{r['wall'] / (r['true'] + r['total']):.2f} | {us(r['revert'])} |\n")
        if "calls" in only and not over_budget():
            log("calls")
            iters = 2000000 if a.quick else 10000000
            m, mb, kinds = calls_run([os.path.join(B, "callpatch.so"), os.path.join(B, "callpatch_lib.so")],
                                    reps, iters)
            res["calls"] = (m, kinds)
            out.append(f"### Per-call cost (ns/call: best of 3 loops of {iters // 1000000}M calls, "
                       f"median of {reps} such)\n")
            out.append("Each patched function and its never-patched twin have identical code; the "
                       "replacement in the patch too. x = patched / native twin.\n")
            out.append("| function | redirection | native | patched | x |")
            out.append("|---|---|---:|---:|---:|")
            rows = [("pc_clob (indirect call inside: clobbers all)", "pc_clob", "clob", "clob_ref"),
                    ("lib_clob in a shared library", "lib_clob", "lib", "lib_ref"),
                    ("pc_tiny (6 bytes, `jmp *ptr`)", "pc_tiny", "tiny", "tiny_ref"),
                    ("pc_small (`lea 1(%rdi),%rax; ret`), replacement writes only rax",
                     "pc_small", "small", "small_ref"),
                    ("pc_keep1 (same code), replacement also writes rcx", "pc_keep1", "keep1",
                     "small_ref"),
                    ("pc_keepall (same code), replacement writes all caller-saved", "pc_keepall",
                     "keepall", "small_ref")]
            for label, fn, k, ref in rows:
                out.append(f"| {label} | hotpatch: {kinds.get(fn, '?')} | {m[ref]:.2f} | "
                           f"{m[k]:.2f} | {m[k] / m[ref]:.2f} |")
            out.append(f"| copy of pc_clob | seed: `movabs $new,%rax; jmp *%rax` at the entry | "
                       f"{m['clob_ref']:.2f} | {m['seed']:.2f} | {m['seed'] / m['clob_ref']:.2f} |")
            out.append(f"| copy of pc_clob | by hand: `ff 25 00000000` + address inline (hotpatch's "
                       f"ff25 abs64) | {m['clob_ref']:.2f} | {m['ff25']:.2f} | "
                       f"{m['ff25'] / m['clob_ref']:.2f} |")
            out.append(f"| copy of pc_clob | by hand: `ff 25 rel32`, address in data, its own cache "
                       f"line | {m['clob_ref']:.2f} | {m['ff25far']:.2f} | "
                       f"{m['ff25far'] / m['clob_ref']:.2f} |")
            out.append("")
        if "bp" in only and not over_budget():
            probe = json.loads(subprocess.run([HOTPATCH, "probe", "--json"], capture_output=True,
                                              text=True).stdout)
            mechs = ["sw"] + (["hw"] if probe["hw_breakpoints"] else [])
            out.append("### Run-to-return: cost per thread of each breakpoint mechanism\n")
            out.append(f"Probe: hardware breakpoints {'fire' if probe['hw_breakpoints'] else 'do not fire'} "
                       f"({probe['hw_reason']}). Target: N threads each calling a function that "
                       "spins 100 µs, back to back, so every thread is inside it at the stop and is "
                       "run out to its return. *baseline* = the same apply of a function no thread "
                       "runs. *per thread* = (apply - baseline) / N, library total_us, medians.\n")
            out.append("| mechanism | threads inside | apply total_us | baseline | per thread |")
            out.append("|---|---:|---:|---:|---:|")
            for mech in mechs:
                for n in ([1, 4] if a.quick else [1, 4, 16]):
                    if over_budget():
                        break
                    log(f"run-to-return: {mech}, {n} threads")
                    r = bp_run(mech, n, reps)
                    res[("bp", mech, n)] = r
                    name = "int3 (software)" if mech == "sw" else "debug registers"
                    out.append(f"| {name} | {n} | {us(r['busy'])} | {us(r['cold'])} | "
                               f"{us((r['busy'] - r['cold']) / n)} |")
            if not probe["hw_breakpoints"]:
                out.append("| debug registers | - | not measurable here: they do not fire | | |")
            out.append("")
        if "multi" in only and not over_budget():
            log("100 processes")
            r = multi_run(100, p1, 3 if a.quick else 5)
            res["multi"] = r
            out.append(f"### Many processes: `hotpatch apply --all-of PATH` ({r['n']} idle "
                       f"1-thread processes, 1 function)\n")
            single = res.get("apply", {}).get("wall")
            r["per_ratio"] = (r["wall"] / r["n"]) / single if single else None
            out.append("*x single* = per process / the wall of one `hotpatch apply` (previous table).\n")
            out.append("| apply wall | per process | x single | revert --all wall |")
            out.append("|---:|---:|---:|---:|")
            ratio = f"{r['per_ratio']:.2f}" if r["per_ratio"] else "-"
            out.append(f"| {us(r['wall'])} | {us(r['wall'] / r['n'])} | {ratio} | {us(r['revert'])} |\n")

        if "window" in only and not over_budget():
            log("exec to patched (hotpatchd)")
            n = 5 if a.quick else 20
            w = {"exec events (connector)": window_run(n, []),
                 "rescan every 100 ms (no connector)": window_run(n, ["--no-connector",
                                                                      "--rescan-ms", "100"])}
            res["window"] = w
            out.append(f"### Exec to patched: hotpatchd ({n} fresh processes each, 1-function "
                       "patch)\n")
            out.append("The target (tests/targets/persist) serves one request (a call of the "
                       "patched function) per millisecond from its first line of main. *exec -> "
                       "patched*: from the kernel's exec event (connector timestamp) or the "
                       "discovery by rescan, to the end of the apply, as hotpatchd logs it; "
                       "with the fallback the clock starts at discovery, so the target's own "
                       "columns tell the truth; *loader wait*: until the process blocks outside "
                       "ld.so. Median / p90 / max.\n")
            out.append("| mode | exec -> patched | loader wait | apply | main -> first patched "
                       "call | requests served unpatched |")
            out.append("|---|---:|---:|---:|---:|---:|")
            for mode, r in w.items():
                f = lambda k: " / ".join(us(x) for x in r[k])  # noqa: E731
                out.append(f"| {mode} | {f('window')} | {f('wait')} | {f('apply')} | {f('main')} | "
                           f"{' / '.join(str(x) for x in r['calls'])} |")
            out.append("")

        # ---- goals ----
        out.append("### Goals\n")
        out.append("| goal | measured | |")
        out.append("|---|---:|---|")
        for n in (1, 8, 64, 256):
            r = res.get(("threads", n))
            if r and r.get("floor"):
                x = r["stw"] / max(r["floor"]["us"], 1)
                out.append(f"| stop-the-world ≤ 1.5x floor at {r['threads']:.0f} threads | {x:.2f}x "
                           f"({us(r['stw'])} / {us(r['floor']['us'])}) | {goal(x <= 1.5)} |")
        g, h = res.get("gdb"), res.get(("threads", 8))
        if g and h and g["spin"] and h["spin"]:
            ratio = g["spin"] / h["spin"]
            out.append(f"| pause ≥ 100x below gdb's (busy gap seen by the target) | {ratio:.0f}x "
                       f"({us(g['spin'])} / {us(h['spin'])}) | {goal(ratio >= 100)} |")
        if "apply" in res:
            r = res["apply"]
            x = r["wall"] / (r["true"] + r["total"])
            out.append(f"| apply wall ≤ 2x (true + total_us), small patch | {x:.2f}x ({us(r['wall'])} / "
                       f"({us(r['true'])} + {us(r['total'])})) | {goal(x <= 2)} |")
        if "calls" in res:
            m, kinds = res["calls"]
            for fn, k, ref, why in (("pc_clob", "clob", "clob_ref", ""),
                                    ("lib_clob", "lib", "lib_ref", ""),
                                    ("pc_tiny", "tiny", "tiny_ref", ", a 6-byte function"),
                                    ("pc_small", "small", "small_ref", ", IPA-RA function"),
                                    ("pc_keep1", "keep1", "small_ref",
                                     ": the cost of protecting 1 register for IPA-RA callers, "
                                     "not of the jump"),
                                    ("pc_keepall", "keepall", "small_ref",
                                     ": the cost of protecting 24 registers for IPA-RA callers, "
                                     "not of the jump")):
                x = m[k] / m[ref]
                out.append(f"| patched call ≤ 1.05x native: {fn} ({kinds.get(fn, '?')}{why}) | "
                           f"{x:.2f}x | {goal(x <= 1.05)} |")
        if "multi" in res:
            w = res["multi"]["wall"]
            out.append(f"| 100 processes ≤ 0.5 s | {us(w)} | {goal(w <= 500000)} |")
        out.append("")
    finally:
        cleanup()
    with open("/proc/loadavg") as f:
        out.append(f"Load average at the end: {' '.join(f.read().split()[:3])}.")
    text = "\n".join(out)
    print(text)
    with open(os.path.join(B, "results.md"), "w") as f:
        f.write(text + "\n")
    log("done")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A/B timing of two hotpatch binaries, each on its own identical target (a state written by
one version need not be readable by the other), runs interleaved so both see the same
machine load: bench/compare.py [--reps N] [--workers N] [--funcs K] OLD NEW.
Prints medians of the --json timing fields and of the wall time of each binary."""
import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
B = os.path.join(ROOT, "build", "bench")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=21)
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--funcs", type=int, default=1)
    ap.add_argument("--multi", type=int, default=0, help="N processes, --all-of (wall time only)")
    ap.add_argument("bins", nargs=2)
    a = ap.parse_args()
    patch = os.path.join(B, f"patch_{a.funcs}.so")
    exe = os.path.join(B, "bench_target")
    procs = []
    if a.multi:
        exe = os.path.join(B, "bench_multi_ab")
        subprocess.run(["cp", os.path.join(B, "bench_target"), exe], check=True)
    try:
        # One target per binary (two state formats may not mix); with --multi, one set for both.
        for _ in range(max(1, a.multi) if a.multi else len(a.bins)):
            procs.append(subprocess.Popen([exe, "threads", str(a.workers), str(a.funcs)],
                                          stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL))
        time.sleep(0.5)
        res = {b: {} for b in a.bins}
        for _ in range(a.reps):
            for i, b in enumerate(a.bins):
                target = ["--all-of", exe] if a.multi else [str(procs[i].pid)]
                if not a.multi:
                    # Only the measured target runs: both pin a spinning worker to CPU 0.
                    for j, q in enumerate(procs):
                        q.send_signal(signal.SIGCONT if j == i else signal.SIGSTOP)
                    time.sleep(0.05)
                t0 = time.perf_counter()
                r = subprocess.run([b, "apply", "--json"] + target + [patch],
                                   capture_output=True, text=True, timeout=120)
                wall = (time.perf_counter() - t0) * 1e6
                d = json.loads(r.stdout)
                if not d.get("ok"):
                    sys.exit(f"{b}: {r.stderr}")
                row = dict(d.get("timing", {}), wall_us=wall)
                for k, v in row.items():
                    res[b].setdefault(k, []).append(v)
                subprocess.run([b, "revert"] + target + ["--all"], capture_output=True, timeout=120)
        keys = [k for k in ("stw_us", "pause_us", "dlopen_us", "total_us", "wall_us") if k in res[a.bins[0]]]
        print(f"{a.workers} workers, {a.funcs} functions, {max(1, a.multi)} processes, "
              f"medians of {a.reps}")
        print("| binary | " + " | ".join(keys) + " |")
        print("|---|" + "---:|" * len(keys))
        for b in a.bins:
            print(f"| {b} | " + " | ".join(f"{statistics.median(res[b][k]):.0f}" for k in keys) + " |")
    finally:
        for p in procs:
            p.send_signal(signal.SIGCONT)
            p.kill()
            p.wait()


if __name__ == "__main__":
    main()

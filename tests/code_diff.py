#!/usr/bin/env python3
# code_diff.py PID FILE: compare every executable mapping of FILE in process PID
# with the file's own bytes at the same offsets. Prints "ADDR LEN" (hex address,
# decimal length) for each run of differing bytes; exits 0 when there are none,
# 1 when some differ, 2 when FILE is not mapped executable in PID.
import os
import sys

pid, path = sys.argv[1], os.path.realpath(sys.argv[2])
runs = []
found = False
with open(f"/proc/{pid}/maps") as maps, open(path, "rb") as f, \
        open(f"/proc/{pid}/mem", "rb", buffering=0) as mem:
    for line in maps:
        parts = line.split(maxsplit=5)
        if len(parts) < 6 or parts[5].strip() != path or "x" not in parts[1]:
            continue
        found = True
        start, end = (int(x, 16) for x in parts[0].split("-"))
        off = int(parts[2], 16)
        f.seek(off)
        want = f.read(end - start)
        mem.seek(start)
        got = mem.read(len(want))
        i = 0
        while i < len(want):
            if want[i] != got[i]:
                j = i
                while j < len(want) and want[j] != got[j]:
                    j += 1
                runs.append((start + i, j - i))
                i = j
            else:
                i += 1
if not found:
    print(f"{path} is not mapped executable in pid {pid}", file=sys.stderr)
    sys.exit(2)
for a, n in runs:
    print(f"{a:x} {n}")
sys.exit(1 if runs else 0)

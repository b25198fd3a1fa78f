#!/usr/bin/env python3
"""QMP client for the QEMU tests: qmp_client.py SOCKET CMD... prints one JSON reply per command.

Connects (retrying for up to 10 s while QEMU starts), negotiates capabilities, runs each command,
skips asynchronous events. Exit 1 on a timeout, a refused connection or a QMP error reply.
"""
import json
import socket
import sys
import time

deadline = time.monotonic() + 10
while True:
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(10)
    try:
        s.connect(sys.argv[1])
        break
    except OSError as e:
        s.close()
        if time.monotonic() > deadline:
            sys.exit("qmp: cannot connect to %s: %s" % (sys.argv[1], e))
        time.sleep(0.05)
f = s.makefile("rw")


def read():
    line = f.readline()
    if not line:
        sys.exit("qmp: connection closed")
    return json.loads(line)


def cmd(c):
    f.write(json.dumps({"execute": c}) + "\n")
    f.flush()
    while True:
        r = read()
        if "return" in r:
            return r
        if "error" in r:
            sys.exit("qmp: %s: %s" % (c, r["error"]))


read()  # greeting
cmd("qmp_capabilities")
for c in sys.argv[2:]:
    print(json.dumps(cmd(c)["return"]))

#!/usr/bin/env python3
"""Binary-protocol memcached client for the Creator's real-program test.

  mc_sasl.py PORT auth USER PASS      -> prints "auth ok" or "auth refused (status 0xNN)"
  mc_sasl.py PORT load USER PASS FILE -> authenticates once, then set/get in a loop,
                                         writing "n=N errors=E" to FILE after each 100 ops
                                         until FILE.stop exists
"""
import os, socket, struct, sys

def req(s, op, key=b'', val=b'', extras=b''):
    body = extras + key + val
    s.sendall(struct.pack('>BBHBBHIIQ', 0x80, op, len(key), len(extras), 0, 0, len(body), 0, 0) + body)
    hdr = b''
    while len(hdr) < 24:
        c = s.recv(24 - len(hdr))
        if not c:
            raise EOFError
        hdr += c
    _, _, _, _, _, status, blen, _, _ = struct.unpack('>BBHBBHIIQ', hdr)
    data = b''
    while len(data) < blen:
        c = s.recv(blen - len(data))
        if not c:
            raise EOFError
        data += c
    return status, data

def auth(port, user, pw):
    s = socket.create_connection(('127.0.0.1', port), timeout=10)
    st, _ = req(s, 0x21, b'PLAIN', b'\0' + user.encode() + b'\0' + pw.encode())
    return s, st

def main():
    port, cmd, user, pw = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    if cmd == 'auth':
        s, st = auth(port, user, pw)
        print('auth ok' if st == 0 else 'auth refused (status 0x%02x)' % st)
        return
    out = sys.argv[5]
    s, st = auth(port, user, pw)
    if st:
        sys.exit('load: auth failed')
    n = errors = 0
    while not os.path.exists(out + '.stop'):
        key = b'k%d' % (n % 50)
        val = b'v%d' % n
        try:
            st, _ = req(s, 0x01, key, val, struct.pack('>II', 0, 0))
            st2, data = req(s, 0x00, key)
            if st or st2 or data[4:] != val:
                errors += 1
        except (OSError, EOFError):
            errors += 1
            s, _ = auth(port, user, pw)
        n += 1
        if n % 100 == 0:
            with open(out + '.tmp', 'w') as f:
                f.write('n=%d errors=%d\n' % (n, errors))
            os.replace(out + '.tmp', out)
    with open(out, 'w') as f:
        f.write('n=%d errors=%d done\n' % (n, errors))

main()

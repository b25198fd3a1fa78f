#!/usr/bin/env python3
"""Client of tests/creator/zserve.c (one request per connection).
  zclient.py PORT one REQUEST      -> prints the answer line ("ok SIZE BOUND", "short BOUND", ...)
  zclient.py PORT load REQUEST FILE -> sends REQUEST in a loop, expecting "ok ...", writing
                                       "n=N errors=E" to FILE after each 20 requests until
                                       FILE.stop exists, then "n=N errors=E done"
"""
import os, socket, sys

def ask(port, req):
    s = socket.create_connection(('127.0.0.1', port), timeout=10)
    s.sendall(req.encode() + b'\n')
    data = b''
    while not data.endswith(b'\n'):
        c = s.recv(256)
        if not c:
            break
        data += c
    s.close()
    return data.decode().strip()

def main():
    port, cmd, req = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    if cmd == 'one':
        print(ask(port, req))
        return
    out = sys.argv[4]
    n = errors = 0
    def put(tail=''):
        with open(out + '.tmp', 'w') as f:
            f.write('n=%d errors=%d%s\n' % (n, errors, tail))
        os.replace(out + '.tmp', out)
    while not os.path.exists(out + '.stop'):
        try:
            if not ask(port, req).startswith('ok '):
                errors += 1
        except OSError:
            errors += 1
        n += 1
        if n % 20 == 0:
            put()
    put(' done')

main()

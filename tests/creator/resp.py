#!/usr/bin/env python3
"""A minimal redis client (RESP2) for tests/creator/redis_cves.sh and redis_crlf.sh.
  resp.py PORT cmd ARG...     -> prints the reply: +OK / -ERR ... / :N / a bulk string / one line
                                 per array element ("(empty)" for an empty array)
  resp.py PORT seq ARG... -- ARG... -> the commands on one connection, one after the other;
                                 prints each reply read after each command (arrays as lists)
  resp.py PORT load FILE      -> SET/GET in a loop on one connection, writing "n=N errors=E" to
                                 FILE after each 100 commands until FILE.stop exists, then
                                 "n=N errors=E done"
"""
import os, socket, sys

class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(('127.0.0.1', port), timeout=30)
        self.buf = b''

    def line(self):
        while b'\r\n' not in self.buf:
            c = self.s.recv(65536)
            if not c:
                raise EOFError
            self.buf += c
        l, self.buf = self.buf.split(b'\r\n', 1)
        return l

    def exact(self, n):
        while len(self.buf) < n + 2:
            c = self.s.recv(65536)
            if not c:
                raise EOFError
            self.buf += c
        d, self.buf = self.buf[:n], self.buf[n + 2:]
        return d

    def reply(self):
        l = self.line()
        t, rest = l[:1], l[1:]
        if t in (b'+', b'-', b':'):
            return l.decode()
        if t == b'$':
            n = int(rest)
            return None if n < 0 else self.exact(n).decode(errors='replace')
        if t == b'*':
            n = int(rest)
            return [self.reply() for _ in range(max(n, 0))]
        raise ValueError(l)

    def cmd(self, *args):
        out = b'*%d\r\n' % len(args)
        for a in args:
            a = a.encode() if isinstance(a, str) else a
            out += b'$%d\r\n%s\r\n' % (len(a), a)
        self.s.sendall(out)
        return self.reply()

def main():
    port, what = int(sys.argv[1]), sys.argv[2]
    if what == 'cmd':
        r = Conn(port).cmd(*sys.argv[3:])
        if isinstance(r, list):
            print('\n'.join(str(x) for x in r) if r else '(empty)')
        else:
            print(r)
        return
    if what == 'seq':
        c, cmds = Conn(port), [[]]
        for a in sys.argv[3:]:
            if a == '--':
                cmds.append([])
            else:
                cmds[-1].append(a)
        for args in cmds:
            print(c.cmd(*args))
        return
    out = sys.argv[3]
    n = errors = 0
    c = Conn(port)
    def put(tail=''):
        with open(out + '.tmp', 'w') as f:
            f.write('n=%d errors=%d%s\n' % (n, errors, tail))
        os.replace(out + '.tmp', out)
    while not os.path.exists(out + '.stop'):
        key, val = 'load:%d' % (n % 50), 'v%d' % n
        try:
            if c.cmd('SET', key, val) != '+OK' or c.cmd('GET', key) != val:
                errors += 1
        except (OSError, EOFError, ValueError):
            errors += 1
            c = Conn(port)
        n += 1
        if n % 100 == 0:
            put()
    put(' done')

main()

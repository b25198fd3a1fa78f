#!/usr/bin/env python3
"""Regenerate tests/creator/*.patch from prog/ and the edits below (run from anywhere; uses a
temporary directory). Each patch is one fix the Creator's tests build a patch from."""
import sys, os, subprocess, shutil, tempfile
HERE = os.path.dirname(os.path.abspath(__file__))
os.chdir(tempfile.mkdtemp())
def make(name, edits):
    shutil.rmtree('a', True); shutil.rmtree('b', True)
    shutil.copytree(os.path.join(HERE, 'prog'), 'a'); shutil.copytree('a', 'b')
    for f, old, new in edits:
        s = open('b/' + f).read()
        assert old in s, (name, old)
        s = s.replace(old, new, 1)
        open('b/' + f, 'w').write(s)
    out = subprocess.run(['diff', '-ru', 'a', 'b'], capture_output=True, text=True).stdout
    # drop timestamps, keep it like a git diff
    lines = []
    for l in out.splitlines():
        if l.startswith('diff -ru'): continue
        if l.startswith('--- ') or l.startswith('+++ '): l = l.split('\t')[0]
        lines.append(l)
    open(os.path.join(HERE, '%s.patch' % name), 'w').write('\n'.join(lines) + '\n')
make('body', [('calc.c', '/* calc.c - prices. */\n', '/* calc.c - prices. */\n/* Discounts double (fix #1). */\n'),
              ('calc.c', '\treturn n + zero;', '\treturn n * 2 + zero;')])
make('helper', [('calc.c', 'int total(int n)\n{\n\treturn clamp(price(n) * 2 + zero);', 'int fee(int n)\n{\n\treturn n + 1 + zero;\n}\n\nint total(int n)\n{\n\treturn clamp(price(n) * 2 + fee(n) + zero);')])
make('static', [('calc.c', '\treturn x * 10 + zero;', '\treturn x * 20 + zero;')])
make('inline', [('calc.c', '\treturn v > 1000 ? 1000 : v;', '\treturn v > 50 ? 50 : v;')])
make('data', [('store.c', '\tstats.units += units;', '\tstats.units += units;\n\tstats.refunds += 2 * units;')])
make('initval', [('store.c', 'static int limit = 10;', 'static int limit = 20;')])
make('tls', [('store.c', 'static volatile int zero;', 'static volatile int zero;\nstatic __thread int depth;'), ('store.c', '\treturn stats.sales;', '\tdepth++;\n\treturn stats.sales + depth - depth;')])
make('ctor', [('store.c', 'int store_scale(int x)', '__attribute__((constructor)) static void init_limit(void)\n{\n\tzero = 0;\n}\n\nint store_scale(int x)')])
make('layout', [('shop.h', '\tlong units;\n', '\tlong units;\n\tlong returns;\n'), ('store.c', '\tstats.units += units;', '\tstats.units += units;\n\tstats.returns++;')])
make('local', [('calc.c', 'int discount(int n)\n{\n\treturn n + zero;', 'int discount(int n)\n{\n\tstatic int calls;\n\n\tcalls++;\n\treturn n + zero + calls - calls;'),
               ('calc.c', '\treturn ++n + zero;', '\treturn ++n + 1000 + zero;')])
make('const', [('store.c', 'static const int rates[4] = {1, 2, 3, 4};', 'static const int rates[4] = {1, 5, 3, 4};')])
make('sig', [('calc.c', 'int discount(int n)\n{\n\treturn n + zero;', 'int discount(int n, int m)\n{\n\treturn n + m + zero;'),
             ('shop.h', 'int discount(int n);', 'int discount(int n, int m);'),
             ('main.c', 'discount(x)', 'discount(x, 1)')])
make('sigstatic', [('calc.c', 'static int scale(int x)\n{\n\treturn x * 10 + zero;', 'static int scale(int x, int y)\n{\n\treturn x * y + zero;'),
             ('calc.c', 'clamp(scale(n) + 2)', 'clamp(scale(n, 10) + 3)')])
make('span', [('calc.c', '\treturn n * 3 + zero;', '\t/* Rates count pairs (fix #3). */\n\treturn n * 6 + zero;')])

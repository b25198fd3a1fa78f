#!/bin/sh
# A target spinning in user space with live vector state (SVE z0-z31 at full length, or
# NEON v0-v31) is stopped mid-spin, made to dlopen a patch (code that uses vector registers),
# and restored: it must find every vector register as it left it.
OUT=/tmp/vecspin.$$.out
./vecspin > "$OUT" 2>&1 &
T=$!
i=0
while ! grep -q '^VECSPIN' "$OUT"; do i=$((i + 1)); [ $i -gt 500 ] && { kill $T; exit 1; }; usleep 20000; done
usleep 200000
./inject $T /tests/patch.so far || { kill $T; exit 1; }
grep -q '^PATCH LOADED' "$OUT" || usleep 200000
n=$(grep -c '^ROUND' "$OUT")
i=0
while [ "$(grep -c '^ROUND' "$OUT")" -lt $((n + 2)) ]; do
	i=$((i + 1)); [ $i -gt 3000 ] && { echo "vecspin stopped"; kill $T; exit 1; }; usleep 20000
done
kill $T
cat "$OUT" | head -5
grep -q 'VEC BAD' "$OUT" && { echo "vector state not restored"; exit 1; }
grep -q '^PATCH LOADED' "$OUT" || { echo "no dlopen"; exit 1; }
echo "vector state kept ($(head -1 "$OUT"))"

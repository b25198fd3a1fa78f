# Helpers of the guest's tests (busybox sh): start the target, wait for its output, check it.
# Every wait is bounded (a count of short sleeps), and every test kills what it started.
OUT=/tmp/target.$$.out

start_target() {
	./target "$@" > "$OUT" 2>&1 &
	T=$!
	wait_line '^CALL 2 ' || { echo "target did not start"; cat "$OUT"; exit 1; }
	set -- $(grep '^ADDR' "$OUT")
	LEAF=$2 NONLEAF=$3
}

# wait_line REGEX [TRIES]: until the target's output has a line matching REGEX (20 ms per try).
wait_line() {
	i=0
	while ! grep -q "$1" "$OUT"; do
		i=$((i + 1))
		[ $i -gt "${2:-1500}" ] && return 1
		usleep 20000
	done
}

# The last CALL line must show the replacements (x*100, x*1000) for direct and pointer calls.
check_patched() {
	n=$(grep -c '^CALL' "$OUT")
	wait_line "^CALL $((n + 2)) " || { echo "target stopped printing"; return 1; }
	set -- $(grep '^CALL' "$OUT" | tail -n 1)
	i=$2
	[ "$3 $4 $5 $6" = "$((i * 100)) $((i * 100)) $((i * 1000)) $((i * 1000))" ] ||
		{ echo "not patched: $*"; return 1; }
	if grep -q 'REGS BAD\|EINTR' "$OUT"; then
		echo "the target saw its registers changed or an EINTR:"; grep 'REGS BAD\|EINTR' "$OUT" | head; return 1
	fi
	echo "patched: $*"
}

finish() {
	kill -0 "$T" 2>/dev/null || { echo "target died"; tail "$OUT"; return 1; }
	kill "$T"
	tail -n 3 "$OUT"
}

#!/bin/bash
# The Ansible module hotpatch.fleet.hotpatch (issue 18), with the real ansible-playbook, against
# three local hosts (ansible_connection=local), each with its own binary, patch directory and
# processes, in one run of tests/fleet/fleet.yml (asserts after each task): check mode changes
# nothing; the first run applies and registers (changed); the second run is unchanged; state=absent
# reverts and unregisters (changed). h3 has a process another tracer holds: that process fails, so
# h3 fails at the first real run while h1 and h2 go on, and h3's other process is patched all the
# same. The processes' own output says what they ran; the PLAY RECAP gives the counts.
. "$(dirname "$0")/../lib.sh"
need "$T/persist" "$T/tracer" "$P/func100.so"
command -v ansible-playbook >/dev/null || skip "no ansible-playbook (Debian ansible-core)"

inv=$WORK/inventory
bid=$(readelf -n "$T/persist" | sed -n 's/.*Build ID: //p')
[ -n "$bid" ] || die "no build-id in the target"
{
	echo "[fleet]"
	for h in h1 h2 h3; do
		mkdir -p "$WORK/$h"
		cp "$T/persist" "$WORK/$h/persist"
		n=2; [ $h = h2 ] && n=1
		extra=; [ $h = h3 ] && extra=" expect_fail=true"
		echo "$h bin=$WORK/$h/persist dir=$WORK/$h/reg nprocs=$n$extra"
	done
	echo "[fleet:vars]"
	echo "ansible_connection=local"
	echo "ansible_python_interpreter=/usr/bin/python3"
	echo "hp=$HOTPATCH"
	echo "patch=$P/func100.so"
	echo "bid=$bid"
} >"$inv"

start_target h1a "$WORK/h1/persist"
start_target h1b "$WORK/h1/persist"
start_target h2a "$WORK/h2/persist"
start_target h3a "$WORK/h3/persist"
start_target h3b "$WORK/h3/persist"
H3B=$PID
start tracer "$T/tracer" "$H3B" --no-stdin
wait_line "$WORK/tracer.out" "^seized $H3B by" 5 || die "tracer did not attach"

export ANSIBLE_COLLECTIONS_PATH=$ROOT/ansible ANSIBLE_HOME=$WORK/ansible-home \
	ANSIBLE_LOCAL_TEMP=$WORK/ansible-tmp ANSIBLE_REMOTE_TEMP=$WORK/ansible-tmp ANSIBLE_NOCOLOR=1 \
	ANSIBLE_RETRY_FILES_ENABLED=0 ANSIBLE_FORKS=3 ANSIBLE_DEPRECATION_WARNINGS=0 \
	ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=0 ANSIBLE_PIPELINING=1
set +e
timeout -k 5 150 ansible-playbook -i "$inv" "$ROOT/tests/fleet/fleet.yml" >"$WORK/play.log" 2>&1
rc=$?
set -e
sed -n '/PLAY RECAP/,$p' "$WORK/play.log"
[ "$rc" -eq 2 ] || { cat "$WORK/play.log"; die "ansible-playbook exit $rc, want 2 (a host failed)"; }
# recap HOST COUNTS: the PLAY RECAP line of HOST has these counts ("ok=9 changed=3 ...").
recap() {
	local line c
	line=$(sed -n '/PLAY RECAP/,$p' "$WORK/play.log" | grep "^$1 ") || die "$1 not in the recap"
	for c in $2; do
		echo "$line" | grep -qE "(^| )$c( |$)" || { cat "$WORK/play.log" >&2; die "$1: want $c: $line"; }
	done
}
# check (changed in check mode), assert, apply (changed), assert, apply, assert, revert (changed),
# assert
recap h1 "ok=8 changed=3 failed=0"
recap h2 "ok=8 changed=3 failed=0"
# check (passes: list and check only read, a tracer does not stop them), assert skipped,
# apply: failed
recap h3 "ok=1 failed=1 ignored=0 skipped=1"
grep -q "fatal: \[h3\]: FAILED.*1 of 2 processes failed: pid $H3B: .*traced" "$WORK/play.log" ||
	die "h3's failure does not name its traced process"

# What the processes ran: h1, h2 patched then reverted; h3a patched (h3 stopped at its failure);
# h3b (traced) never patched.
for t in h1a h1b h2a; do
	grep -q '^first new after' "$WORK/$t.out" || die "$t was never patched"
	grep -q '^old again' "$WORK/$t.out" || die "$t was not reverted"
	wait_stable "$WORK/$t.out" "$(lines "$WORK/$t.out")" 'func=4'
done
grep -q '^first new after' "$WORK/h3a.out" || die "h3a was not patched"
unchanged "$WORK/h3a.out" 'func=300'
unchanged "$WORK/h3b.out" 'func=4'
grep -q '^first new' "$WORK/h3b.out" && die "the traced process was patched"
[ ! -e "$WORK/h3/reg" ] || die "h3 failed, yet its patch was registered"
for t in h1a h1b h2a h3a h3b; do no_errors "$WORK/$t.out"; done
echo PASS

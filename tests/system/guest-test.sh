#!/bin/bash
# guest-test.sh - runs inside the system VM (pw-system-test.service, after both procward
# units): the gate denies a rule's target, the audit log receives events (file and
# journald), `systemctl reload` swaps the rules (a bad file keeps them), and `systemctl
# stop` leaves no BPF program behind. Prints PW-SYSTEM lines on the console, powers off.
set -u
passed=0 failed=0
say() { echo "PW-SYSTEM $*"; }
pass() { say "ok    $*"; passed=$((passed + 1)); }
fail() { say "FAIL  $*"; failed=$((failed + 1)); }
expect() { if [ "$2" = "$3" ]; then pass "$1"; else fail "$1 (got '$2', expected '$3')"; fi; }
# wait_for SECONDS CMD...: poll every 100 ms
wait_for() {
	local n=$(($1 * 10))
	shift
	until "$@"; do
		n=$((n - 1))
		[ "$n" -gt 0 ] || return 1
		sleep 0.1
	done
}
finish() {
	say "system: $passed passed, $failed failed"
	say "DONE"
	systemctl poweroff --no-block
	exit 0
}
active() { [ "$(systemctl is-active "$1")" = active ]; }

say "kernel $(uname -r)"
for u in procward-audit procward-gate; do
	if wait_for 120 active "$u.service"; then
		pass "$u.service is active (Type=notify: READY=1 received)"
	else
		fail "$u.service is active"
		systemctl status --no-pager "$u.service" 2>&1 | sed 's/^/PW-SYSTEM     /' | tail -15
		journalctl -u "$u.service" --no-pager 2>&1 | sed 's/^/PW-SYSTEM     /' | tail -15
	fi
done
expect "both units enabled" "$(systemctl is-enabled procward-audit.service procward-gate.service | tr '\n' ' ')" \
	"enabled enabled "

# The gate: /etc/procward/gate.rules denies pw-denied.
/usr/local/bin/pw-denied 2>/dev/null
expect "the gate denies the rule's target (exit 126: EPERM)" "$?" 126
/usr/local/bin/pw-allowed tag-allowed-1
expect "... and allows the rest" "$?" 0

# The audit log: the file and the journal.
has_exec() { grep -q '/pw-allowed","tag-allowed-1"' /var/log/procward/audit.jsonl 2>/dev/null; }
if wait_for 30 has_exec; then pass "audit file /var/log/procward/audit.jsonl has the exec"; else fail "audit file has the exec"; fi
in_journal() { [ "$(journalctl -o json --no-pager PROCWARD_EVENT=exec PROCWARD_NAME=pw-allowed | grep -c tag-allowed-1)" -ge 1 ]; }
if wait_for 30 in_journal; then pass "journald has it, with PROCWARD_* fields"; else fail "journald has the exec (PROCWARD_EVENT=exec PROCWARD_NAME=pw-allowed)"; fi
expect "the audit file is 0600" "$(stat -c %a /var/log/procward/audit.jsonl)" 600
denial() { grep -q '"verdict":"deny".*pw-denied' /var/log/procward/gate.jsonl 2>/dev/null; }
if wait_for 30 denial; then pass "the gate's log has the denial"; else fail "the gate's log has the denial"; fi

# Reload: the rules swap.
echo "deny path /usr/local/bin/pw-allowed" >/etc/procward/gate.rules
systemctl reload procward-gate.service
expect "systemctl reload procward-gate succeeds" "$?" 0
/usr/local/bin/pw-allowed 2>/dev/null
expect "after the reload the new rule denies pw-allowed" "$?" 126
/usr/local/bin/pw-denied
expect "... and the old rule is gone (pw-denied runs)" "$?" 0
printf 'deny path /usr/local/bin/pw-denied\ndeny bogus condition\n' >/etc/procward/gate.rules
systemctl reload procward-gate.service
/usr/local/bin/pw-allowed 2>/dev/null
expect "a bad rules file keeps the rules in force" "$?" 126
refused() { journalctl -u procward-gate.service --no-pager | grep -q 'reload refused, the rules in force stay: /etc/procward/gate.rules:2:'; }
if wait_for 20 refused; then pass "... and the journal says why (FILE:LINE)"; else fail "the journal says why the reload was refused"; fi
expect "the gate is still active" "$(systemctl is-active procward-gate.service)" active

# Stop leaves nothing attached: the set of BPF programs returns exactly to what it was.
# (A good rules file first: a start with the bad one fails, as it should.)
echo "deny path /usr/local/bin/pw-denied" >/etc/procward/gate.rules
systemctl stop procward-audit.service procward-gate.service
stopped=$(/usr/local/bin/bpf-progs | tr '\n' ' ')
systemctl start procward-audit.service procward-gate.service
expect "both units start again" "$?" 0
running=$(/usr/local/bin/bpf-progs | tr '\n' ' ')
systemctl stop procward-audit.service procward-gate.service
after=$(/usr/local/bin/bpf-progs | tr '\n' ' ')
n_stopped=$(wc -w <<<"$stopped") n_running=$(wc -w <<<"$running")
if [ "$n_running" -gt "$n_stopped" ]; then
	pass "running units hold BPF programs ($n_running loaded, $n_stopped without them)"
else
	fail "running units hold BPF programs ($n_running loaded, $n_stopped without them)"
fi
gone() { [ "$(/usr/local/bin/bpf-progs | tr '\n' ' ')" = "$stopped" ]; }
# program teardown waits for an RCU grace period: poll, bounded
wait_for 20 gone
expect "systemctl stop leaves no program behind (the same set as before the start)" \
	"$(/usr/local/bin/bpf-progs | tr '\n' ' ')" "$stopped"
expect "no procward process left" "$(pgrep -c -x procward)" 0
finish

#!/usr/bin/env bash
# Install the peer tools that bench/ compares procward with (Debian packages).
# Idempotent: runs `apt-get update` and `apt-get install` only when a package
# is missing. Installing auditd/fapolicyd must not leave their daemons running
# (the benchmark starts and stops them itself), so any daemon the package
# scripts started is stopped again, and policy-rc.d forbids starting them.
set -euo pipefail

PKGS=(libbpf-tools forkstat auditd fapolicyd stress-ng bpftool gcc make python3)
export DEBIAN_FRONTEND=noninteractive

if [ "$(id -u)" -ne 0 ]; then
    echo "install-bench-deps: must run as root" >&2
    exit 1
fi

missing=()
for p in "${PKGS[@]}"; do
    if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
        missing+=("$p")
    fi
done

# Daemons that were already running before we started: leave them alone.
was_running() { pgrep -x "$1" >/dev/null 2>&1; }
pre_auditd=0; pre_fapolicyd=0
was_running auditd && pre_auditd=1
was_running fapolicyd && pre_fapolicyd=1

if [ "${#missing[@]}" -eq 0 ]; then
    echo "install-bench-deps: all present (${PKGS[*]})"
else
    echo "install-bench-deps: installing ${missing[*]}"
    # Forbid maintainer scripts from starting services (invoke-rc.d honours it).
    prc=/usr/sbin/policy-rc.d
    made_prc=0
    if [ ! -e "$prc" ]; then
        printf '#!/bin/sh\nexit 101\n' >"$prc"
        chmod 755 "$prc"
        made_prc=1
    fi
    trap '[ "$made_prc" = 1 ] && rm -f "$prc"' EXIT
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Whatever the package scripts did, no daemon of theirs may be left running.
stop_daemon() {
    local name=$1 pids
    pids=$(pgrep -x "$name" || true)
    [ -z "$pids" ] && return 0
    echo "install-bench-deps: stopping $name started by its package ($pids)"
    kill -TERM $pids 2>/dev/null || true
    for _ in $(seq 50); do pgrep -x "$name" >/dev/null || return 0; sleep 0.1; done
    kill -KILL $pids 2>/dev/null || true
}
[ "$pre_auditd" = 0 ] && stop_daemon auditd
[ "$pre_fapolicyd" = 0 ] && stop_daemon fapolicyd
# auditd leaves the kernel audit state enabled/with rules when it stops; the
# benchmark's baseline must be audit-free.
if [ "$pre_auditd" = 0 ] && command -v auditctl >/dev/null; then
    auditctl -D >/dev/null 2>&1 || true
    auditctl -e 0 >/dev/null 2>&1 || true
fi
echo "install-bench-deps: done"

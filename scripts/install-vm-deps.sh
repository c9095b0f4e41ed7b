#!/usr/bin/env bash
# Install what the VM kernel test matrix (tests/vm/) needs, on Debian 12 (bookworm).
#
#   linux-image-amd64       Debian's default kernel, 6.1.x (bookworm main)
#   linux-image-6.12-amd64  Debian's 6.12.x kernel (meta-package in bookworm-security)
#   qemu-system-x86         qemu-system-x86_64 (run under TCG; KVM is not available here)
#   busybox-static, cpio    guest userland and initramfs packing
#   libbpf-dev libelf-dev zlib1g-dev libzstd-dev
#                           static libs for `gcc -static ... -lbpf -lelf -lz`
#   clang llvm bpftool gcc make
#                           BPF object / skeleton build
#
# Idempotent: if every package is already installed, apt is not touched at all.
# `apt-get update` runs only if a package is not known to apt-cache yet, or if the
# first install attempt fails (stale lists).
# Usage: scripts/install-vm-deps.sh [--dry-run]
set -euo pipefail

PKGS=(
    linux-image-amd64
    linux-image-6.12-amd64
    qemu-system-x86
    busybox-static
    cpio
    libbpf-dev
    libelf-dev
    zlib1g-dev
    libzstd-dev
    clang
    llvm
    bpftool
    gcc
    make
)

DRY_RUN=0
case "${1:-}" in
    --dry-run) DRY_RUN=1 ;;
    -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    "") ;;
    *) echo "install-vm-deps: unknown argument: $1" >&2; exit 2 ;;
esac

log() { printf 'install-vm-deps: %s\n' "$*"; }

# shellcheck source=scripts/dpkg-lib.sh
. "$(dirname "$0")/dpkg-lib.sh"
find_missing "${PKGS[@]}"

if [ "${#missing[@]}" -eq 0 ]; then
    log "all ${#PKGS[@]} packages already installed; nothing to do"
    exit 0
fi

log "missing: ${missing[*]}"
if [ "$DRY_RUN" -eq 1 ]; then
    log "--dry-run: not installing"
    exit 1
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO=(sudo); else
        echo "install-vm-deps: need root (or sudo) to install packages" >&2; exit 1
    fi
fi

export DEBIAN_FRONTEND=noninteractive
APT_OPTS=(-y -q --no-install-recommends -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)

known_to_apt() {
    local out
    out="$(apt-cache policy "$1" 2>/dev/null | sed -n 's/^ *Candidate: //p')"
    [ -n "$out" ] && [ "$out" != "(none)" ]
}

need_update=0
for p in "${missing[@]}"; do
    if ! known_to_apt "$p"; then need_update=1; break; fi
done
updated=0
if [ "$need_update" -eq 1 ]; then
    log "running apt-get update (some packages have no candidate in the current lists)"
    "${SUDO[@]}" apt-get update -q
    updated=1
fi

log "apt-get install ${missing[*]}"
if ! "${SUDO[@]}" apt-get install "${APT_OPTS[@]}" "${missing[@]}"; then
    if [ "$updated" -eq 0 ]; then
        log "install failed; retrying once after apt-get update"
        "${SUDO[@]}" apt-get update -q
        "${SUDO[@]}" apt-get install "${APT_OPTS[@]}" "${missing[@]}"
    else
        exit 1
    fi
fi

still=()
for p in "${missing[@]}"; do installed "$p" || still+=("$p"); done
if [ "${#still[@]}" -ne 0 ]; then
    echo "install-vm-deps: still missing after install: ${still[*]}" >&2
    exit 1
fi
log "installed: ${missing[*]}"
log "kernels in /boot: $(cd /boot && ls vmlinuz-* 2>/dev/null | tr '\n' ' ')"

#!/usr/bin/env bash
# Install what building procward and running its tests needs, on Debian 12.
#
#   clang llvm bpftool          BPF objects, llvm-strip, skeletons, vmlinux.h
#   libbpf-dev libelf-dev zlib1g-dev
#                               the library's link dependencies (shared and static)
#   libcmocka-dev               unit and integration tests
#   pkg-config make gcc         the build, and the install check (pkg-config)
#   python3                     the Python binding tests
#   g++                         the C++ binding (header-only) and its tests
#   --bindings: golang-go rustc cargo
#                               the Go and Rust bindings (Debian's Go 1.19 and Rust 1.63: the floors)
#   --service: debhelper dh-python python3-all lintian fakeroot dpkg-dev debootstrap
#                               the Debian packages (make check-deb) and their chroot
#              rsyslog rsyslog-pgsql postgresql logrotate libsystemd-dev
#                               the fleet pipeline test (make check-service), logrotate's create mode
#
# Idempotent: packages already installed are left alone, and apt is not touched
# at all when nothing is missing (`apt-get update` runs only then).
# Usage: scripts/install-deps.sh [--vm] [--bench] [--bindings] [--service] [--all] [--dry-run]
#   --vm       also install what the VM kernel matrix needs (scripts/install-vm-deps.sh)
#   --bench    also install the peer tools the benchmarks compare against (scripts/install-bench-deps.sh)
#   --bindings also install the Go and Rust toolchains (make bindings; nothing is downloaded at build time)
#   --service  also install the packaging and service pipeline tools (make check-deb, check-service)
#   --all      --vm, --bench, --bindings and --service: everything `make check` uses
#   --dry-run  only report what is missing (exit 1 if anything is)
set -euo pipefail

PKGS=(
    clang
    libclang-rt-14-dev
    llvm
    libbpf-dev
    bpftool
    libelf-dev
    zlib1g-dev
    libcmocka-dev
    pkg-config
    make
    gcc
    python3
    g++
)
BINDINGS_PKGS=(
    golang-go
    rustc
    cargo
)
SERVICE_PKGS=(
    debhelper
    dh-python
    python3-all
    lintian
    fakeroot
    dpkg-dev
    debootstrap
    rsyslog
    rsyslog-pgsql
    postgresql
    logrotate
    libsystemd-dev
)

VM=0
BENCH=0
BINDINGS=0
SERVICE=0
DRY_RUN=0
for arg in "$@"; do
    case "$arg" in
        --vm) VM=1 ;;
        --bench) BENCH=1 ;;
        --bindings) BINDINGS=1 ;;
        --service) SERVICE=1 ;;
        --all) VM=1; BENCH=1; BINDINGS=1; SERVICE=1 ;;
        --dry-run) DRY_RUN=1 ;;
        -h|--help) sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "install-deps: unknown argument: $arg (try --help)" >&2; exit 2 ;;
    esac
done

log() { printf 'install-deps: %s\n' "$*"; }

# shellcheck source=scripts/dpkg-lib.sh
. "$(dirname "$0")/dpkg-lib.sh"

if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "install-deps: dpkg-query not found: this script installs Debian packages" >&2
    exit 1
fi

[ "$BINDINGS" -eq 1 ] && PKGS+=("${BINDINGS_PKGS[@]}")
[ "$SERVICE" -eq 1 ] && PKGS+=("${SERVICE_PKGS[@]}")
find_missing "${PKGS[@]}"

if [ "${#missing[@]}" -eq 0 ]; then
    log "all ${#PKGS[@]} build and test packages already installed"
elif [ "$DRY_RUN" -eq 1 ]; then
    log "missing: ${missing[*]} (--dry-run: not installing)"
else
    SUDO=()
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then
            SUDO=(sudo)
        else
            echo "install-deps: need root (or sudo) to install: ${missing[*]}" >&2
            exit 1
        fi
    fi
    export DEBIAN_FRONTEND=noninteractive
    log "missing: ${missing[*]}"
    log "running: apt-get update"
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
    log "running: apt-get install ${missing[*]}"
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
        --no-install-recommends \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
        "${missing[@]}"
    still=()
    for p in "${missing[@]}"; do
        installed "$p" || still+=("$p")
    done
    if [ "${#still[@]}" -ne 0 ]; then
        echo "install-deps: still missing after apt-get install: ${still[*]}" >&2
        exit 1
    fi
    log "installed: ${missing[*]}"
fi

if [ "$VM" -eq 1 ]; then
    vm_script="$(dirname "$0")/install-vm-deps.sh"
    if [ "$DRY_RUN" -eq 1 ]; then
        log "running: $vm_script --dry-run"
        "$vm_script" --dry-run || DRY_MISSING=1
    else
        log "running: $vm_script"
        "$vm_script"
    fi
fi

if [ "$BENCH" -eq 1 ] && [ "$DRY_RUN" -eq 0 ]; then
    log "running: $(dirname "$0")/install-bench-deps.sh"
    "$(dirname "$0")/install-bench-deps.sh"
fi

if [ "$DRY_RUN" -eq 1 ] && { [ "${#missing[@]}" -ne 0 ] || [ "${DRY_MISSING:-0}" -eq 1 ]; }; then
    exit 1
fi
exit 0

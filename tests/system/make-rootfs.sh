#!/usr/bin/env bash
# make-rootfs.sh - a Debian bookworm root filesystem with systemd, made by
# debootstrap from Debian's packages and cached between runs: the chroot of
# tests/packaging/check-deb.sh and the disk of tests/system/run-system.sh.
#
# Usage: tests/system/make-rootfs.sh [DIR]   (default: $PW_ROOTFS_CACHE/rootfs-bookworm,
#        PW_ROOTFS_CACHE=/var/cache/procward-vm). Prints the directory. Idempotent: a
#        complete cached tree (marked by .procward-rootfs-ok, which holds the package
#        list it was made with) is reused as it is.
set -euo pipefail
cache=${PW_ROOTFS_CACHE:-/var/cache/procward-vm}
dir=${1:-$cache/rootfs-bookworm}
mirror=${PW_DEBIAN_MIRROR:-http://deb.debian.org/debian}
# What the packages and the system test need beyond minbase: systemd as init,
# the library's run-time dependencies, python3 for python3-procward, what
# libprocward-dev depends on (and pkg-config to use it).
include=systemd-sysv,libbpf1,libelf1,zlib1g,python3,procps,logrotate,libbpf-dev,libelf-dev,zlib1g-dev,pkg-config
# The marker holds the package list: a cache made with another list is made anew.
if [ -f "$dir/.procward-rootfs-ok" ] && [ "$(cat "$dir/.procward-rootfs-ok")" = "$include" ]; then
    echo "$dir"
    exit 0
fi
command -v debootstrap >/dev/null || { echo "make-rootfs: debootstrap missing (scripts/install-deps.sh --all)" >&2; exit 2; }
rm -rf "$dir.tmp"
mkdir -p "$(dirname "$dir")"
debootstrap --variant=minbase --include="$include" bookworm "$dir.tmp" "$mirror" >&2
# A root that logs in on the serial console without a password (test VM only),
# no hostname lookups, and nothing started by the package scripts in a chroot.
chroot "$dir.tmp" passwd -d root >/dev/null
echo pw-system >"$dir.tmp/etc/hostname"
printf '/dev/vda / ext4 rw 0 1\n' >"$dir.tmp/etc/fstab"
chroot "$dir.tmp" apt-get clean
rm -rf "$dir" && mv "$dir.tmp" "$dir"
echo "$include" >"$dir/.procward-rootfs-ok"
echo "$dir"

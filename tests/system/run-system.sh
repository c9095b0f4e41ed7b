#!/usr/bin/env bash
# run-system.sh - `make check-system`: procward's packages on a real init. Boots Debian
# bookworm with systemd in QEMU (the root filesystem of make-rootfs.sh, made by
# debootstrap and cached), with the built packages installed and both units enabled, and
# runs guest-test.sh there (pw-system-test.service): the gate denies a rule's target, the
# audit log gets events (file and journald), `systemctl reload` swaps the rules, `systemctl
# stop` leaves no BPF program behind. Nothing of it runs on this host: the packages are
# installed into a copy of the cached root (chroot), which becomes the guest's disk.
#
# Environment: PW_DEBS (a directory with the four .debs; default: build them now with
# dpkg-buildpackage from the tracked files), SYSTEM_KERNEL (default 6.12: the newest
# /boot/vmlinuz-6.12.* and its initrd, which has virtio_blk and ext4), SYSTEM_TIMEOUT
# (seconds, default 900), VM_ACCEL (tcg, default: this machine's /dev/kvm does not boot
# Debian's kernels).
# Closes with "system: N passed, N failed" (from the guest; a guest that did not finish
# counts as one failure).
set -u
cd "$(dirname "$0")/../.." || exit 1
src_root=$PWD
kernel=${SYSTEM_KERNEL:-6.12}
timeout_s=${SYSTEM_TIMEOUT:-900}
accel=${VM_ACCEL:-tcg}
tmp=$(mktemp -d /tmp/pw-system.XXXXXX)
root=$tmp/root
cleanup() {
	umount "$root/proc" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
die() { echo "run-system: $*" >&2; echo "system: 0 passed, 1 failed"; exit 1; }
[ "$(id -u)" -eq 0 ] || die "needs root (chroot, mkfs)"
for t in qemu-system-x86_64 mkfs.ext4 dpkg-buildpackage; do
	command -v "$t" >/dev/null || die "$t missing (scripts/install-deps.sh --all)"
done

vmlinuz=$(ls /boot/vmlinuz-"$kernel".*-amd64 /boot/vmlinuz-"$kernel"-amd64 /boot/vmlinuz-"$kernel".*+deb*-amd64 2>/dev/null | sort -V | tail -1)
[ -n "$vmlinuz" ] || die "no /boot/vmlinuz-$kernel.* (scripts/install-vm-deps.sh)"
initrd=/boot/initrd.img-${vmlinuz#/boot/vmlinuz-}
[ -f "$initrd" ] || die "no $initrd"

cached=$(tests/system/make-rootfs.sh) || die "debootstrap root filesystem (tests/system/make-rootfs.sh)"

debs=${PW_DEBS:-}
if [ -z "$debs" ]; then
	echo "run-system: building the packages"
	mkdir -p "$tmp/build/procward"
	git -C "$src_root" ls-files -z | tar -C "$src_root" --null -T - -cf - | tar -xf - -C "$tmp/build/procward"
	(cd "$tmp/build/procward" && dpkg-buildpackage -us -uc -b) >"$tmp/build.log" 2>&1 ||
		{ tail -20 "$tmp/build.log"; die "dpkg-buildpackage failed"; }
	debs=$tmp/build
fi

echo "run-system: installing into a copy of $cached"
cp -a "$cached" "$root"
mkdir -p "$root/tmp/debs"
cp "$debs"/libprocward0_*.deb "$debs"/procward_*.deb "$debs"/python3-procward_*.deb "$root/tmp/debs/"
rm -f "$root"/tmp/debs/*-dbgsym_*
mount -t proc proc "$root/proc"
chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C sh -c 'dpkg -i /tmp/debs/*.deb' >"$tmp/dpkg.log" 2>&1 ||
	{ tail -20 "$tmp/dpkg.log"; die "dpkg -i in the chroot failed"; }
umount "$root/proc"
rm -rf "$root/tmp/debs"

# The test's own files: two programs, the rules, the journal as a second output of the
# audit unit, the BPF program lister, the test and the unit that runs it.
cp "$root/bin/true" "$root/usr/local/bin/pw-denied"
cp "$root/bin/true" "$root/usr/local/bin/pw-allowed"
echo "deny path /usr/local/bin/pw-denied" >"$root/etc/procward/gate.rules"
sed -i 's/^# journal = yes$/journal = yes/' "$root/etc/procward/procward.conf"
grep -q '^journal = yes' "$root/etc/procward/procward.conf" || die "procward.conf has no '# journal = yes' to turn on"
cc -static -O2 -o "$root/usr/local/bin/bpf-progs" tests/system/bpf-progs.c || die "cannot build bpf-progs"
install -m 0755 tests/system/guest-test.sh "$root/usr/local/bin/pw-system-test"
cat >"$root/etc/systemd/system/pw-system-test.service" <<'EOF'
[Unit]
Description=procward system test (tests/system/guest-test.sh)
After=procward-audit.service procward-gate.service systemd-journald.service
[Service]
Type=oneshot
ExecStart=/usr/local/bin/pw-system-test
StandardOutput=tty
StandardError=tty
TTYPath=/dev/ttyS0
[Install]
WantedBy=multi-user.target
EOF
systemctl --root="$root" enable procward-audit.service procward-gate.service pw-system-test.service >/dev/null 2>&1 ||
	die "systemctl --root enable failed"
# No getty on the console competing for it; nothing else worth waiting for.
systemctl --root="$root" mask serial-getty@ttyS0.service getty@tty1.service >/dev/null 2>&1 || true

echo "run-system: making the disk"
truncate -s 2G "$tmp/disk.img"
mkfs.ext4 -q -F -d "$root" "$tmp/disk.img" || die "mkfs.ext4 -d failed"
rm -rf "$root"

echo "run-system: booting $vmlinuz ($accel, timeout ${timeout_s}s)"
timeout -s KILL "$timeout_s" qemu-system-x86_64 -accel "$accel" -m 1024 -smp 1 -nographic -no-reboot \
	-kernel "$vmlinuz" -initrd "$initrd" \
	-append "root=/dev/vda rw console=ttyS0 panic=-1 systemd.show_status=0 quiet" \
	-drive file="$tmp/disk.img",if=virtio,format=raw -nic none </dev/null 2>&1 |
	stdbuf -o0 tr -d '\r' | tee "$tmp/console.log" | grep --line-buffered '^PW-SYSTEM'
summary=$(sed -n 's/^PW-SYSTEM \(system: [0-9]* passed, [0-9]* failed\)$/\1/p' "$tmp/console.log" | tail -1)
if [ -z "$summary" ] || ! grep -q '^PW-SYSTEM DONE' "$tmp/console.log"; then
	echo "run-system: the guest did not finish; console tail:"
	tail -30 "$tmp/console.log"
	echo "system: 0 passed, 1 failed"
	exit 1
fi
echo "$summary"
case "$summary" in *" 0 failed") exit 0 ;; *) exit 1 ;; esac

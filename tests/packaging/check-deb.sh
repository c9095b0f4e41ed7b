#!/usr/bin/env bash
# check-deb.sh - the Debian packages from a clean tree: dpkg-buildpackage, lintian
# (no errors), the contents of each package, then in a debootstrap chroot (never
# on this host): install, use, upgrade to a second build with a bumped version,
# purge, and nothing left behind (the file list of the chroot compared before and
# after). The chroot is a copy of the cached root of tests/system/make-rootfs.sh.
# Closes with "packaging: N passed, N failed, N skipped".
set -u
cd "$(dirname "$0")/../.." || exit 1
src_root=$PWD
tmp=$(mktemp -d /tmp/pw-deb-check.XXXXXX)
SUITE=packaging
# shellcheck source=tests/lib.sh
. tests/lib.sh
root=
cleanup() {
	if [ -n "$root" ]; then
		umount "$root/proc" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

for tool in dpkg-buildpackage dh lintian dh_python3; do
	command -v "$tool" >/dev/null || { fail "$tool missing (scripts/install-deps.sh)"; summary; }
done

# The tracked files as they are in the work tree: what a clean clone holds.
tree() {
	mkdir -p "$1"
	git -C "$src_root" ls-files -z | tar -C "$src_root" --null -T - -cf - | tar -xf - -C "$1"
}
# build DIR: the binary packages of the tree in DIR, unsigned, next to DIR
build() { (cd "$1" && dpkg-buildpackage -us -uc -b); }

echo "=== dpkg-buildpackage -us -uc -b (version 1)"
tree "$tmp/v1/procward"
require "dpkg-buildpackage builds from a clean tree" "$tmp/build1.log" build "$tmp/v1/procward"
v1=$(dpkg-parsechangelog -l "$tmp/v1/procward/debian/changelog" -S Version)
for p in libprocward0 libprocward-dev procward; do
	check "built ${p}_${v1}_$(dpkg --print-architecture).deb" test -f "$tmp/v1/${p}_${v1}_$(dpkg --print-architecture).deb"
done
check "built python3-procward_${v1}_all.deb" test -f "$tmp/v1/python3-procward_${v1}_all.deb"

echo "=== lintian"
lintian --tag-display-limit 0 "$tmp/v1/"*.changes >"$tmp/lintian.log" 2>&1
check "lintian: no errors" sh -c "! grep '^E:' '$tmp/lintian.log'"
grep -E '^[EW]:' "$tmp/lintian.log" | sed 's/^/        /'

echo "=== contents"
arch=$(dpkg --print-architecture)
ma=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
has() { dpkg-deb -c "$1" | awk '{print $6}' | grep -qx "\./$2"; }
deb() { echo "$tmp/v1/${1}_${v1}_$2.deb"; }
check "libprocward0: libprocward.so.0 -> libprocward.so.0.1.0" \
	sh -c "dpkg-deb -c '$(deb libprocward0 "$arch")' | grep -q 'usr/lib/$ma/libprocward.so.0 -> libprocward.so.0.1.0'"
check "libprocward0: SONAME libprocward.so.0" sh -c \
	"dpkg-deb -x '$(deb libprocward0 "$arch")' '$tmp/x0' && readelf -d '$tmp/x0/usr/lib/$ma/libprocward.so.0.1.0' | grep -q 'SONAME.*\[libprocward.so.0\]'"
check "libprocward0: symbols file" sh -c "dpkg-deb -I '$(deb libprocward0 "$arch")' symbols | grep -q '^libprocward.so.0 libprocward0'"
check "libprocward0: shlibs file" sh -c "dpkg-deb -I '$(deb libprocward0 "$arch")' shlibs | grep -q '^libprocward 0 libprocward0'"
for f in usr/include/procward.h usr/lib/$ma/libprocward.a usr/lib/$ma/pkgconfig/procward.pc; do
	check "libprocward-dev: /$f" has "$(deb libprocward-dev "$arch")" "$f"
done
check "libprocward-dev: libprocward.so -> libprocward.so.0" \
	sh -c "dpkg-deb -c '$(deb libprocward-dev "$arch")' | grep -q 'usr/lib/$ma/libprocward.so -> libprocward.so.0'"
check "libprocward-dev: procward.pc has prefix /usr" sh -c \
	"dpkg-deb -x '$(deb libprocward-dev "$arch")' '$tmp/xd' && grep -qx 'libdir=/usr/lib/$ma' '$tmp/xd/usr/lib/$ma/pkgconfig/procward.pc'"
for f in usr/bin/procward usr/share/man/man1/procward.1.gz lib/systemd/system/procward-audit.service \
	lib/systemd/system/procward-gate.service etc/procward/procward.conf etc/procward/gate.rules; do
	check "procward: /$f" has "$(deb procward "$arch")" "$f"
done
check "procward: /etc/procward files are conffiles" sh -c \
	"dpkg-deb -I '$(deb procward "$arch")' conffiles | grep -qx /etc/procward/procward.conf &&
	 dpkg-deb -I '$(deb procward "$arch")' conffiles | grep -qx /etc/procward/gate.rules"
check "python3-procward: procward.py in dist-packages" has "$(deb python3-procward all)" \
	usr/lib/python3/dist-packages/procward.py
check "python3-procward: depends on libprocward0" sh -c \
	"dpkg-deb -f '$(deb python3-procward all)' Depends | grep -q 'libprocward0'"

echo "=== dpkg-buildpackage (version 2, for the upgrade)"
tree "$tmp/v2/procward"
v2="${v1%%[-~]*}.1"
# A new changelog entry by hand (no dch needed): the version is its first line.
{
	printf 'procward (%s) unstable; urgency=medium\n\n  * Upgrade test build.\n\n -- %s  %s\n\n' \
		"$v2" "$(dpkg-parsechangelog -l "$tmp/v1/procward/debian/changelog" -S Maintainer)" "$(date -R)"
	cat "$tmp/v1/procward/debian/changelog"
} >"$tmp/v2/procward/debian/changelog"
require "second build $v2" "$tmp/build2.log" build "$tmp/v2/procward"

echo "=== install, upgrade, purge in a chroot"
if [ "$(id -u)" -ne 0 ]; then
	skip "install/upgrade/purge: needs root for the chroot"
	summary
fi
if ! cached=$(tests/system/make-rootfs.sh 2>"$tmp/rootfs.log"); then
	fail "debootstrap root filesystem (tests/system/make-rootfs.sh)"
	tail -20 "$tmp/rootfs.log" | sed 's/^/        /'
	summary
fi
root=$tmp/root
cp -a "$cached" "$root"
mount -t proc proc "$root/proc"
in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C "$@"; }
# Every file of the system, except what dpkg and the chroot itself keep changing.
listing() {
	(cd "$root" && find . -xdev \( -path ./proc -o -path ./var/lib/dpkg -o -path ./var/log/dpkg.log \
		-o -path ./var/log/apt -o -path ./var/cache/debconf -o -path ./var/cache/ldconfig \
		-o -path ./tmp -o -path ./etc/ld.so.cache -o -path ./var/lib/systemd/deb-systemd-helper-enabled \
		-o -path ./var/lib/systemd/deb-systemd-helper-masked -o -path ./var/log/alternatives.log \) -prune -o -print | sort)
}
listing >"$tmp/before.list"
mkdir -p "$root/tmp/debs1" "$root/tmp/debs2"
cp "$tmp/v1/"*.deb "$root/tmp/debs1/"
cp "$tmp/v2/"*.deb "$root/tmp/debs2/"
rm -f "$root"/tmp/debs*/*-dbgsym_*
check "install $v1 (dpkg -i, all four)" in_root dpkg -i /tmp/debs1/libprocward0_"$v1"_"$arch".deb \
	/tmp/debs1/libprocward-dev_"$v1"_"$arch".deb /tmp/debs1/procward_"$v1"_"$arch".deb \
	/tmp/debs1/python3-procward_"$v1"_all.deb
check "installed procward runs (--version)" sh -c "chroot '$root' procward --version | grep -q '^procward '"
check "installed procward snapshot lists PID 1" sh -c "chroot '$root' procward snapshot --json | grep -q '\"pid\":1,'"
check "python3 -c 'import procward' loads libprocward.so.0" \
	sh -c "chroot '$root' python3 -c 'import procward, sys; print(procward.version())' | grep -qx '${v1%%[-~]*}'"
check "pkg-config --cflags --libs procward" sh -c \
	"[ \"\$(chroot '$root' pkg-config --cflags --libs procward | tr -d ' ')\" = '-lprocward' ]"
check "units installed, not enabled" sh -c \
	"test -f '$root/lib/systemd/system/procward-gate.service' && ! ls '$root'/etc/systemd/system/*.wants/procward-* 2>/dev/null"
# An administrator's edit of a conffile survives the upgrade.
echo "deny path /nonexistent/upgrade-marker" >>"$root/etc/procward/gate.rules"
mkdir -p "$root/var/log/procward" && echo '{}' >"$root/var/log/procward/audit.jsonl" # as the services would
check "upgrade to $v2 (dpkg -i)" in_root dpkg -i /tmp/debs2/libprocward0_"$v2"_"$arch".deb \
	/tmp/debs2/libprocward-dev_"$v2"_"$arch".deb /tmp/debs2/procward_"$v2"_"$arch".deb \
	/tmp/debs2/python3-procward_"$v2"_all.deb
check "all four at $v2 after the upgrade" sh -c \
	"[ \$(chroot '$root' dpkg-query -W -f='\${Version}\n' libprocward0 libprocward-dev procward python3-procward | sort -u) = '$v2' ]"
check "conffile edit kept across the upgrade" grep -q upgrade-marker "$root/etc/procward/gate.rules"
check "python binding works after the upgrade" chroot "$root" python3 -c 'import procward; procward.version()'
check "purge all four" in_root dpkg --purge python3-procward libprocward-dev procward libprocward0
check "nothing of the packages is registered" sh -c \
	"! chroot '$root' dpkg-query -W -f='\${Status}\n' libprocward0 libprocward-dev procward python3-procward 2>/dev/null | grep -v 'not-installed'"
umount "$root/proc"
listing >"$tmp/after.list"
if diff -u "$tmp/before.list" "$tmp/after.list" >"$tmp/left.diff"; then
	pass "purge leaves nothing behind (file list identical)"
else
	fail "purge leaves nothing behind"
	grep '^[-+]\.' "$tmp/left.diff" | head -20 | sed 's/^/        /'
fi
summary

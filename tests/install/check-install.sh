#!/usr/bin/env bash
# check-install.sh - install into a temporary prefix and use it as a user would:
# pkg-config, build examples/minimal.c against the shared and the static library,
# run it (root), the installed CLI and man page, then uninstall.
# Builds in a build tree of its own, so the .pc file carries the temporary
# prefix and the main build/ stays as it was.
# Closes with "install-check: N passed, N failed, N skipped".
set -u
cd "$(dirname "$0")/../.." || exit 1
MAKE=${MAKE:-make}
CC=${CC:-cc}
tmp=$(mktemp -d /tmp/pw-install-check.XXXXXX)
prefix=$tmp/prefix
trap 'rm -rf "$tmp"' EXIT
SUITE=install-check
# shellcheck source=tests/lib.sh
. tests/lib.sh

echo "=== install into $prefix"
require "make install PREFIX=$prefix" "$tmp/make.log" \
	$MAKE --no-print-directory -j"$(nproc)" BUILD="$tmp/build" PREFIX="$prefix" install

for f in bin/procward include/procward.h lib/libprocward.a lib/libprocward.so.0.1.0 \
	lib/libprocward.so.0 lib/libprocward.so lib/pkgconfig/procward.pc \
	share/man/man1/procward.1; do
	check "installed $f" test -e "$prefix/$f"
done
check "libprocward.so -> .so.0 -> .so.0.1.0" \
	test "$(readlink "$prefix/lib/libprocward.so")" = libprocward.so.0 -a \
	"$(readlink "$prefix/lib/libprocward.so.0")" = libprocward.so.0.1.0
check "soname libprocward.so.0" \
	sh -c "readelf -d '$prefix/lib/libprocward.so.0.1.0' | grep -q 'SONAME.*\[libprocward.so.0\]'"
check "only pw_ symbols exported" sh -c \
	"! nm -D --defined-only '$prefix/lib/libprocward.so.0.1.0' | awk '\$2 ~ /[TDBR]/ {print \$3}' | grep -v '^pw_'"

echo "=== pkg-config"
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
check "pkg-config --modversion procward = 0.1.0" \
	test "$(pkg-config --modversion procward 2>&1)" = 0.1.0
check "pkg-config prefix is the install prefix" \
	test "$(pkg-config --variable=prefix procward 2>&1)" = "$prefix"
check "pkg-config --cflags points at the installed header" \
	test -e "$(pkg-config --cflags-only-I procward | sed 's/^ *-I//;s/ *$//')/procward.h"

echo "=== build examples/minimal.c against the installed library"
# shellcheck disable=SC2046,SC2086 # word splitting of $CC and pkg-config output is intended
check "cc minimal.c \$(pkg-config --cflags --libs procward)" \
	$CC -Wall -Wextra -Werror examples/minimal.c $(pkg-config --cflags --libs procward) \
	-o "$tmp/minimal"
check "minimal needs libprocward.so.0" \
	sh -c "readelf -d '$tmp/minimal' | grep -q 'NEEDED.*\[libprocward.so.0\]'"
check "minimal resolves the installed libprocward.so.0" \
	sh -c "LD_LIBRARY_PATH='$prefix/lib' ldd '$tmp/minimal' | grep -q '$prefix/lib/libprocward.so.0'"
static_libs=$(pkg-config --static --libs procward | sed 's/-lprocward\b/-l:libprocward.a/')
# shellcheck disable=SC2046,SC2086
check "cc minimal.c with pkg-config --static --libs (libprocward.a)" \
	$CC -Wall -Wextra -Werror examples/minimal.c $(pkg-config --cflags procward) $static_libs \
	-o "$tmp/minimal-static"
check "minimal-static does not need libprocward.so" \
	sh -c "! readelf -d '$tmp/minimal-static' | grep -q 'NEEDED.*libprocward'"

# shellcheck disable=SC2046,SC2086
check "cc watchdog.c \$(pkg-config --cflags --libs procward)" \
	$CC -Wall -Wextra -Werror examples/watchdog.c $(pkg-config --cflags --libs procward) \
	-o "$tmp/watchdog"

echo "=== installed CLI and man page"
check "procward --version" \
	sh -c "'$prefix/bin/procward' --version | grep -q '^procward 0.1.0 (libprocward 0.1.0)'"
check "procward --help" sh -c "'$prefix/bin/procward' --help | grep -q '^Usage: procward'"
man_page=$prefix/share/man/man1/procward.1
if command -v groff >/dev/null; then
	check "groff -man -ww -z: no warnings" \
		sh -c "out=\$(groff -man -ww -z '$man_page' 2>&1); [ -z \"\$out\" ] || { echo \"\$out\"; exit 1; }"
else
	skip "groff lint (groff not installed)"
fi
if command -v mandoc >/dev/null; then
	check "mandoc -Tlint" mandoc -Tlint -Wwarning "$man_page"
fi
if command -v man >/dev/null; then
	check "man -l renders the page" \
		sh -c "MANWIDTH=80 MANPAGER=cat man -l '$man_page' 2>/dev/null | grep -q 'procward watch'"
else
	skip "man -l (man not installed)"
fi

echo "=== run minimal against the kernel"
# run_minimal NAME BINARY: start it for 3 s, exec a marker, look for its line.
run_minimal() {
	local name=$1 bin=$2 pid rc
	local echo_image
	echo_image=$(readlink -f /bin/echo)
	LD_LIBRARY_PATH=$prefix/lib "$bin" 3 >"$tmp/$name.out" 2>"$tmp/$name.err" &
	pid=$!
	for _ in $(seq 100); do
		grep -q 'monitoring' "$tmp/$name.err" 2>/dev/null && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	/bin/echo pw-install-check >/dev/null
	wait "$pid"
	rc=$?
	if [ "$rc" -ne 0 ]; then
		fail "$name ran (exit $rc)"
		sed 's/^/        /' "$tmp/$name.err"
		return
	fi
	pass "$name ran for 3 s and exited 0"
	check "$name printed 'exec PID $echo_image /bin/echo pw-install-check'" \
		grep -qE "^exec [0-9]+ $echo_image /bin/echo pw-install-check\$" "$tmp/$name.out"
	check "$name printed an exit line" grep -qE '^exit [0-9]+ [0-9]+$' "$tmp/$name.out"
}
if [ "$(id -u)" -ne 0 ]; then
	skip "running minimal (needs root)"
elif ! "$prefix/bin/procward" features | grep -q '^bpf  *yes'; then
	skip "running minimal (this kernel cannot load the programs)"
else
	run_minimal minimal "$tmp/minimal"
	run_minimal minimal-static "$tmp/minimal-static"
fi

echo "=== uninstall"
# shellcheck disable=SC2086
check "make uninstall" $MAKE --no-print-directory BUILD="$tmp/build" PREFIX="$prefix" uninstall
check "nothing left but directories" \
	sh -c "left=\$(find '$prefix' ! -type d); [ -z \"\$left\" ] || { echo \"\$left\"; exit 1; }"

summary

#!/usr/bin/env bash
# run-vm.sh -- run static test binaries inside a QEMU (TCG) guest on a Debian kernel.
#
# Usage:
#   tests/vm/run-vm.sh [OPTIONS] -- BINARY [ARGS...] [-- BINARY2 [ARGS...]]...
#
# Options:
#   --kernel K      6.1 | 6.12 | a full version (6.12.117+deb12-amd64) | path to a vmlinuz
#                   (default: 6.12). A series picks the newest /boot/vmlinuz-K.* of the
#                   generic -amd64 flavour.
#   --timeout SEC   kill the VM after SEC seconds (default: 300); exit status 3
#   --memory MB     guest memory (default: 1024)
#   --smp N         guest CPUs (default: 1)
#   --file SRC[:DST]  copy an extra file into the guest (default DST: /tests/<basename>);
#                   may be repeated
#   --env NAME=VALUE  extra environment for the tests in the guest; may be repeated
#   --append ARGS   extra kernel command-line arguments
#   --log FILE      also write the guest console (\r stripped) to FILE
#   --quiet         do not stream the guest console to stderr (use with --log)
#   --strict        count a test exiting 77 (skip) as a failure
#   --test-timeout SEC  kill each test after SEC seconds in the guest (busybox timeout -s KILL;
#                   its result is then 137); default: none
#   --libs          allow dynamically linked ELF binaries: copy their shared libraries
#                   (the ldd closure, loader included) into the guest at the same paths
#   --keep          keep the temp dir (initramfs, /init) and print its path
#   -h, --help
#
# Each BINARY is copied to /tests/ in the guest and run in order, with cwd /tests and
# PATH=/tests:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TMPDIR=/tmp. ELF binaries must be
# static (gcc -static ... -lbpf -lelf -lz); shell scripts run under busybox sh. Arguments
# cannot be a literal "--" (that separates binaries).
#
# Guest /init mounts proc, sysfs, devtmpfs, devpts, securityfs, bpffs, tracefs, debugfs,
# cgroup2 and a tmpfs on /tmp, prints `PW-VM-INFO uname <release>` and `PW-VM-INFO lsm
# <list>`, then `PW-VM-BEGIN <name>` / `PW-VM-RESULT <name> <exit code>` per binary, and
# `PW-VM-DONE` before powering off. qemu exits 0 even when tests fail, so the verdict is
# taken from these console markers only.
#
# Exit status: 0 all passed (or skipped, exit 77, unless --strict); 1 a test failed or its
# result marker is missing; 2 usage/setup error; 3 VM timed out.
set -euo pipefail

prog=run-vm
die() { printf '%s: error: %s\n' "$prog" "$*" >&2; exit 2; }
say() { printf '%s: %s\n' "$prog" "$*"; }
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

kernel=6.12
timeout_s=300
memory=1024
smp=1
log=
quiet=0
strict=0
keep=0
with_libs=0
test_timeout=
extra_append=
files=()
envs=()

while [ $# -gt 0 ]; do
    case "$1" in
        --kernel) [ $# -ge 2 ] || die "--kernel needs a value"; kernel=$2; shift 2 ;;
        --kernel=*) kernel=${1#*=}; shift ;;
        --timeout) [ $# -ge 2 ] || die "--timeout needs a value"; timeout_s=$2; shift 2 ;;
        --timeout=*) timeout_s=${1#*=}; shift ;;
        --memory) [ $# -ge 2 ] || die "--memory needs a value"; memory=$2; shift 2 ;;
        --smp) [ $# -ge 2 ] || die "--smp needs a value"; smp=$2; shift 2 ;;
        --file) [ $# -ge 2 ] || die "--file needs a value"; files+=("$2"); shift 2 ;;
        --env) [ $# -ge 2 ] || die "--env needs a value"; envs+=("$2"); shift 2 ;;
        --append) [ $# -ge 2 ] || die "--append needs a value"; extra_append=$2; shift 2 ;;
        --log) [ $# -ge 2 ] || die "--log needs a value"; log=$2; shift 2 ;;
        --quiet) quiet=1; shift ;;
        --strict) strict=1; shift ;;
        --keep) keep=1; shift ;;
        --libs) with_libs=1; shift ;;
        --test-timeout) [ $# -ge 2 ] || die "--test-timeout needs a value"; test_timeout=$2; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        --) shift; break ;;
        *) die "unknown option '$1' (binaries go after --; see --help)" ;;
    esac
done
[ $# -gt 0 ] || die "no test binary given (usage: $0 [OPTIONS] -- BINARY [ARGS...] [-- BINARY2 ...])"
case "$timeout_s" in ''|*[!0-9]*) die "--timeout must be a number of seconds" ;; esac
case "$memory" in ''|*[!0-9]*) die "--memory must be a number of MiB" ;; esac
case "$smp" in ''|*[!0-9]*) die "--smp must be a number" ;; esac

# ---- tools ---------------------------------------------------------------------------
QEMU=${QEMU:-qemu-system-x86_64}
BUSYBOX=${BUSYBOX:-}
if [ -z "$BUSYBOX" ]; then
    for b in /bin/busybox /usr/bin/busybox; do [ -x "$b" ] && { BUSYBOX=$b; break; }; done
fi
command -v "$QEMU" >/dev/null 2>&1 || die "$QEMU not found (run scripts/install-vm-deps.sh)"
[ -n "$BUSYBOX" ] && [ -x "$BUSYBOX" ] || die "busybox not found (run scripts/install-vm-deps.sh)"
command -v cpio >/dev/null 2>&1 || die "cpio not found (run scripts/install-vm-deps.sh)"

is_elf() { [ "$(head -c 4 "$1" | od -An -c | tr -d ' \n')" = '177ELF' ]; }
is_dynamic() { readelf -lW "$1" 2>/dev/null | grep -q 'Requesting program interpreter'; }
if is_dynamic "$BUSYBOX"; then die "$BUSYBOX is dynamically linked: install busybox-static"; fi

# ---- kernel --------------------------------------------------------------------------
resolve_kernel() {
    local k=$1 c best=
    if [ -f "$k" ]; then printf '%s\n' "$k"; return; fi
    if [ -f "/boot/vmlinuz-$k" ]; then printf '%s\n' "/boot/vmlinuz-$k"; return; fi
    # Series (6.1, 6.12): newest generic -amd64 first, any flavour as a fallback.
    for c in $(ls -1 /boot/vmlinuz-"$k".* 2>/dev/null | sort -V -r); do
        case "$c" in *-cloud-amd64|*-rt-amd64) continue ;; esac
        best=$c; break
    done
    [ -n "$best" ] || best=$(ls -1 /boot/vmlinuz-"$k".* 2>/dev/null | sort -V -r | head -n1 || true)
    [ -n "$best" ] || return 1
    printf '%s\n' "$best"
}
vmlinuz=$(resolve_kernel "$kernel") ||
    die "no kernel for '$kernel' under /boot ($(ls /boot/vmlinuz-* 2>/dev/null | tr '\n' ' ')); run scripts/install-vm-deps.sh"
[ -r "$vmlinuz" ] || die "$vmlinuz is not readable"

# ---- temp dir ------------------------------------------------------------------------
tmp=$(mktemp -d "${TMPDIR:-/tmp}/pw-vm.XXXXXX")
cleanup() {
    local rc=$?
    if [ "$keep" -eq 1 ]; then say "kept temp dir: $tmp" >&2; else rm -rf "$tmp"; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
root=$tmp/root
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,run,root,mnt,tests}
chmod 1777 "$root/tmp"

# busybox + applet links (what `busybox --install -s` would create, done on the host).
cp "$BUSYBOX" "$root/bin/busybox"
"$BUSYBOX" --list-full | while IFS= read -r applet; do
    [ -n "$applet" ] && [ "$applet" != bin/busybox ] || continue
    mkdir -p "$root/$(dirname "$applet")"
    [ -e "$root/$applet" ] || ln -s /bin/busybox "$root/$applet"
done
[ -e "$root/bin/sh" ] || ln -s /bin/busybox "$root/bin/sh"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
: >"$root/etc/fstab"

# Single-quote a word for the guest's /bin/sh (busybox ash).
shq() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }

# ---- extra files ---------------------------------------------------------------------
for spec in "${files[@]+"${files[@]}"}"; do
    src=${spec%%:*}
    if [ "$src" = "$spec" ]; then dst=/tests/$(basename "$src"); else dst=${spec#*:}; fi
    case "$dst" in /*) ;; *) dst=/tests/$dst ;; esac
    [ -e "$src" ] || die "--file $src: no such file"
    mkdir -p "$root$(dirname "$dst")"
    cp -a "$src" "$root$dst"
done

# ---- test binaries -> /init ----------------------------------------------------------
names=()
runlines=
i=0
while [ $# -gt 0 ]; do
    bin=$1; shift
    args=()
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do args+=("$1"); shift; done
    [ $# -gt 0 ] && shift    # the "--" separator
    [ -f "$bin" ] || die "test binary '$bin' not found"
    if is_elf "$bin" && is_dynamic "$bin"; then
        [ "$with_libs" -eq 1 ] ||
            die "$bin is dynamically linked; the guest has no libc: link it with -static (or pass --libs)"
        # The loader and every library ldd resolves, at the paths the binary asks for.
        for lib in $(ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
            [ -e "$root$lib" ] && continue
            mkdir -p "$root$(dirname "$lib")"
            cp -L "$lib" "$root$lib"
        done
    fi
    i=$((i + 1))
    name=$(basename "$bin")
    for n in "${names[@]+"${names[@]}"}"; do [ "$n" = "$name" ] && name="$name#$i"; done
    names+=("$name")
    gbin=/tests/$(printf '%02d' "$i")-$(basename "$bin")
    cp "$bin" "$root$gbin"; chmod 0755 "$root$gbin"
    cmd=$(shq "$gbin")
    [ -z "$test_timeout" ] || cmd="timeout -s KILL $test_timeout $cmd"
    for a in "${args[@]+"${args[@]}"}"; do cmd="$cmd $(shq "$a")"; done
    runlines="${runlines}run_test $(shq "$name") $cmd
"
done

envlines=
for e in "${envs[@]+"${envs[@]}"}"; do
    case "$e" in [A-Za-z_]*=*) ;; *) die "--env '$e': expected NAME=VALUE" ;; esac
    envlines="${envlines}export ${e%%=*}=$(shq "${e#*=}")
"
done

cat >"$root/init" <<INIT
#!/bin/sh
# Generated by tests/vm/run-vm.sh
export PATH=/tests:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root TMPDIR=/tmp TERM=dumb LANG=C LC_ALL=C
${envlines}
mnt() { mkdir -p "\$3" 2>/dev/null; mount -t "\$1" "\$2" "\$3" || echo "PW-VM-INFO warn: mount \$1 on \$3 failed"; }
mnt proc proc /proc
mnt sysfs sysfs /sys
mnt devtmpfs devtmpfs /dev
mnt devpts devpts /dev/pts
mnt tmpfs tmpfs /dev/shm
mnt tmpfs tmpfs /tmp
mnt tmpfs tmpfs /run
mnt securityfs securityfs /sys/kernel/security
mnt bpf bpf /sys/fs/bpf
mnt tracefs tracefs /sys/kernel/tracing
mnt debugfs debugfs /sys/kernel/debug
mnt cgroup2 cgroup2 /sys/fs/cgroup
chmod 1777 /tmp
ulimit -l unlimited 2>/dev/null
hostname pw-vm
echo "PW-VM-INFO uname \$(uname -r)"
echo "PW-VM-INFO lsm \$(cat /sys/kernel/security/lsm 2>/dev/null || echo '(unavailable)')"
run_test() {
    name=\$1; shift
    echo "PW-VM-BEGIN \$name"
    "\$@" </dev/null
    rc=\$?
    echo "PW-VM-RESULT \$name \$rc"
}
cd /tests
${runlines}
echo "PW-VM-DONE"
sync
poweroff -f
echo o >/proc/sysrq-trigger
sleep 5
INIT
chmod 0755 "$root/init"

initrd=$tmp/initramfs.cpio.gz
( cd "$root" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet -R 0:0 ) | gzip -1 >"$initrd"

# ---- boot ----------------------------------------------------------------------------
[ -n "$log" ] || log=$tmp/console.log
mkdir -p "$(dirname "$log")"
: >"$log"
append="console=ttyS0 rdinit=/init panic=-1 quiet${extra_append:+ $extra_append}"
say "kernel: $vmlinuz" >&2
say "initramfs: $(du -h "$initrd" | cut -f1), tests: ${names[*]}" >&2
say "qemu: $QEMU -accel tcg -m $memory -smp $smp (timeout ${timeout_s}s), console log: $log" >&2

# Strip \r and SeaBIOS/console terminal escapes (ESC c, ESC [ ... letter) from the log.
strip_tty='s/\r$//; s/\x1bc//g; s/\x1b\[[0-9;?]*[A-Za-z]//g'
t0=$(date +%s.%N)
set +e
timeout -k 10 "$timeout_s" "$QEMU" -accel tcg -nographic -no-reboot -nic none \
    -m "$memory" -smp "$smp" -kernel "$vmlinuz" -initrd "$initrd" -append "$append" \
    </dev/null 2>&1 |
    if [ "$quiet" -eq 1 ]; then sed -u "$strip_tty" >"$log"; else sed -u "$strip_tty" | tee "$log" >&2; fi
qrc=${PIPESTATUS[0]}
set -e
t1=$(date +%s.%N)
elapsed=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')

# ---- verdict -------------------------------------------------------------------------
marker() { grep -a -o "PW-VM-$1.*" "$log" | sed 's/[[:space:]]*$//' || true; }
guest_uname=$(marker 'INFO uname ' | head -n1 | cut -d' ' -f3-)
guest_lsm=$(marker 'INFO lsm ' | head -n1 | cut -d' ' -f3-)

echo "== run-vm summary ($(basename "$vmlinuz")) =="
say "guest uname -r: ${guest_uname:-(no marker)}"
say "guest lsm:      ${guest_lsm:-(no marker)}"
pass=0 fail=0 skipped=0
for name in "${names[@]}"; do
    rc=$(marker RESULT | awk -v n="$name" '$2 == n { print $3; exit }')
    if [ -z "$rc" ]; then
        say "MISSING $name (no PW-VM-RESULT marker)"; fail=$((fail + 1))
    elif [ "$rc" = 0 ]; then
        say "PASS    $name"; pass=$((pass + 1))
    elif [ "$rc" = 77 ] && [ "$strict" -eq 0 ]; then
        say "SKIP    $name (exit 77)"; skipped=$((skipped + 1))
    else
        say "FAIL    $name (exit $rc)"; fail=$((fail + 1))
    fi
done
done_marker=$(marker DONE | head -n1)
if [ "$qrc" -eq 124 ] || [ "$qrc" -eq 137 ]; then
    say "TIMEOUT: VM killed after ${timeout_s}s"
elif [ "$qrc" -ne 0 ]; then
    say "qemu exited with status $qrc"
fi
[ -n "$done_marker" ] || say "warning: no PW-VM-DONE marker (guest crashed or was killed?)"
say "boot+tests+poweroff: ${elapsed}s"
say "$pass passed, $fail failed, $skipped skipped"

verdict=0
if [ "$qrc" -eq 124 ] || [ "$qrc" -eq 137 ]; then verdict=3
elif [ "$fail" -ne 0 ] || [ -z "$done_marker" ] || [ "$qrc" -ne 0 ]; then verdict=1; fi
# The console was not shown: show its end so a failure can be read here.
if [ "$verdict" -ne 0 ] && [ "$quiet" -eq 1 ]; then
    say "last 40 lines of the guest console:" >&2
    tail -n 40 "$log" | sed 's/^/  | /' >&2
fi
exit "$verdict"

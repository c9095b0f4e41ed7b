#!/usr/bin/env bash
# run-matrix.sh -- the kernel matrix: build every integration test (tests/integ/test_*.c)
# as a self-contained binary into build/vm/, run them all in a VM on each kernel of
# VM_KERNELS with run-vm.sh, print a per-kernel summary and a final
# "vm: N passed, N failed, N skipped" line counting test cases (cmocka's own
# counts from the guest's console; a binary that did not finish counts as one
# failure). Exit 0 only if every test passed on every kernel.
#
# Environment: VM_KERNELS (default "6.1 6.12"), VM_TIMEOUT (seconds per VM, default 1500),
# VM_TEST_TIMEOUT (seconds per test binary inside the guest, default 300),
# VM_BUILD (default build/vm), BUILD (the library's build dir, default build),
# VM_TESTS (test names to run; default: the kernel-facing suites, test_lifecycle,
# test_access, test_gate_behaviour (its Yama test runs only there), test_gate_liveness and
# test_gate_evasion (6.1/6.12 cannot hold execs: its hold cases are skipped there, and it checks
# that such execs are killed at exec instead), test_cli_enforce (gate --default deny and protect,
# which only the guest can run). test_cli and test_gate exercise the host's coreutils
# and CLI, which the busybox guest does not have), VM_ACCEL (run-vm.sh: tcg (default), kvm
# or auto; this machine's /dev/kvm is kvm-pvm, which does not boot Debian's kernels).
# In the guest nothing else runs: PW_TEST_EXCLUSIVE=1 lets tests fail an exec gate closed.
#
# Linking: fully static when a static libcmocka.a exists. Debian's libcmocka-dev ships
# only the shared library, so then libbpf/libelf/libz are linked statically and glibc and
# libcmocka dynamically, and run-vm.sh --libs copies those libraries into the guest.
# Inside the guest the tests run as root; PW_TEST_REQUIRE_LSM=1 makes the access
# enforcement tests fail (instead of checking the refusal) if BPF LSM is missing there.
# PW_TEST_IN_VM=1 tells the tests they are in a throw-away guest: tests that change
# machine-wide state that cannot be restored (Yama's ptrace_scope 3) run only there.
set -euo pipefail

cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
VM_BUILD=${VM_BUILD:-build/vm}
VM_KERNELS=${VM_KERNELS:-"6.1 6.12"}
VM_TESTS=${VM_TESTS:-"test_lifecycle test_access test_gate_behaviour test_gate_liveness test_gate_evasion test_cli_enforce"}
export VM_ACCEL=${VM_ACCEL:-tcg}
VM_TIMEOUT=${VM_TIMEOUT:-1500}
VM_TEST_TIMEOUT=${VM_TEST_TIMEOUT:-300} # per test binary, in the guest: a hang fails that test only
CC=${CC:-cc}
say() { printf 'run-matrix: %s\n' "$*"; }

[ -f "$BUILD/libprocward.a" ] || { say "no $BUILD/libprocward.a: run make first"; exit 2; }
mkdir -p "$VM_BUILD/integ"

static_cmocka=
for d in /usr/lib/x86_64-linux-gnu /usr/lib /usr/local/lib; do
    [ -f "$d/libcmocka.a" ] && static_cmocka=$d/libcmocka.a
done
if [ -n "$static_cmocka" ]; then
    test_link=(-static -lbpf -lelf -lz -lcmocka -lpthread)
    run_flags=()
    say "linking tests fully static ($static_cmocka)"
else
    test_link=(-Wl,-Bstatic -lbpf -lelf -lz -Wl,-Bdynamic -lcmocka -lpthread)
    run_flags=(--libs)
    say "no static libcmocka.a (Debian's libcmocka-dev has none): libbpf/libelf/libz static," \
        "glibc and libcmocka copied into the guest"
fi

cflags=(-O2 -g -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Wno-unused-parameter
        -Iinclude -Itests/integ
        -DPW_TEST_BUILD_DIR='"/tests/build"' -DPW_TEST_SRC_DIR='"/tests/src"')

# The CLI, for the tests that run it (PW_TEST_BUILD_DIR/procward in the guest).
$CC "${cflags[@]}" -DPW_VERSION_STRING='"vm"' -static -o "$VM_BUILD/procward" \
    tools/procward/*.c "$BUILD/libprocward.a" -lbpf -lelf -lz -lpthread

bins=()
for src in tests/integ/test_*.c; do
    name=$(basename "$src" .c)
    if [ -n "${VM_TESTS:-}" ] && ! printf ' %s ' $VM_TESTS | grep -q " $name "; then continue; fi
    out=$VM_BUILD/integ/$name
    common=$(ls tests/integ/*.c | grep -v '/test_' || true)
    $CC "${cflags[@]}" -o "$out" "$src" $common "$BUILD/libprocward.a" "${test_link[@]}"
    bins+=("$out")
done
[ ${#bins[@]} -gt 0 ] || { say "no tests to run"; exit 2; }

args=()
for b in "${bins[@]}"; do args+=(-- "$b"); done
total_pass=0 total_fail=0 total_skip=0 summary=

# cases CONSOLE_LOG NBINS: "passed failed skipped" over the test cases of every binary,
# from cmocka's summaries between PW-VM-BEGIN and PW-VM-RESULT. A binary that failed
# without a cmocka summary (crash, timeout), or never reported, counts as one failure.
cases() {
    tr -d '\r' <"$1" | awk -v nbins="$2" '
        /^PW-VM-BEGIN / { inbin = 1; sawfail = 0; next }
        /^PW-VM-RESULT / {
            if ($3 != 0 && !sawfail) f++
            inbin = 0; done++; next
        }
        inbin && /^\[  PASSED  \] [0-9]+ test/ { p += $4 }
        inbin && /^\[  FAILED  \] [0-9]+ test/ { f += $4; sawfail = 1 }
        inbin && /^\[  SKIPPED \] [0-9]+ test\(s\), listed below/ { s += $4 }
        END {
            if (inbin) { f++; done++ } # began, never finished
            if (done < nbins) f += nbins - done
            printf "%d %d %d\n", p, f, s
        }'
}
for k in $VM_KERNELS; do
    log=$VM_BUILD/console-matrix-$k.log
    out=$VM_BUILD/run-matrix-$k.out
    say "kernel $k: ${#bins[@]} test binaries (console: $log)"
    rc=0
    tests/vm/run-vm.sh --quiet "${run_flags[@]}" --strict --kernel "$k" --timeout "$VM_TIMEOUT" \
        --test-timeout "$VM_TEST_TIMEOUT" \
        --memory 2048 --env PW_TEST_REQUIRE_LSM=1 --env PW_TEST_IN_VM=1 --env PW_TEST_EXCLUSIVE=1 --file "$VM_BUILD/procward:/tests/build/procward" \
        --log "$log" "${args[@]}" >"$out" 2>&1 || rc=$?
    sed 's/^/  /' "$out" | grep -E 'run-vm: (PASS|FAIL|MISSING|SKIP|TIMEOUT|guest|qemu)' || true
    bp=$(sed -n 's/^run-vm: \([0-9]*\) passed, \([0-9]*\) failed.*/\1/p' "$out" | tail -n1)
    bf=$(sed -n 's/^run-vm: \([0-9]*\) passed, \([0-9]*\) failed.*/\2/p' "$out" | tail -n1)
    if [ -f "$log" ]; then read -r p f s < <(cases "$log" "${#bins[@]}"); else p=0 f=${#bins[@]} s=0; fi
    [ "$rc" -eq 0 ] || [ "$f" -gt 0 ] || f=1 # a VM that died counts as a failure
    summary="${summary}vm-kernel $k: $p passed, $f failed, $s skipped (test cases; binaries: ${bp:-0} passed, ${bf:-?} failed)
"
    total_pass=$((total_pass + p)); total_fail=$((total_fail + f)); total_skip=$((total_skip + s))
done
printf '%s' "$summary"
echo "vm: $total_pass passed, $total_fail failed, $total_skip skipped"
[ "$total_fail" -eq 0 ]

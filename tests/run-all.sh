#!/usr/bin/env bash
# run-all.sh - what `make check` runs: every suite, each to the end, then one
# closing line "check: N passed, N failed" over all of them. Exit status is
# non-zero if any suite failed.
set -u
cd "$(dirname "$0")/.."
MAKE=${MAKE:-make}
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT
total_pass=0 total_fail=0 total_skip=0 failed_suites=() timings=()

# run SUITE CMD...: run a suite, keep its output, add up its summary lines:
# every one, since a suite may run several (asan-check runs unit and integ).
run() {
	local name=$1
	shift
	echo
	echo "######## $name: $*"
	local t0=$SECONDS
	"$@" 2>&1 | tee "$log/$name.out"
	local rc=${PIPESTATUS[0]}
	# each suite's wall time, for the CI budget (make check stays under 20 minutes)
	timings+=("$name $((SECONDS - t0))s")
	# summary lines look like "<suite>: N passed, N failed[, N skipped]"
	local line p f s
	line=$(grep -E '^[A-Za-z0-9_-]+: [0-9]+ passed, [0-9]+ failed' "$log/$name.out")
	while read -r p f s; do
		total_pass=$((total_pass + p))
		total_fail=$((total_fail + f))
		total_skip=$((total_skip + s))
	done < <(awk '{ p = f = s = 0
		for (i = 2; i <= NF; i++) {
			if ($i ~ /^passed/) p = $(i - 1)
			if ($i ~ /^failed/) f = $(i - 1)
			if ($i ~ /^skipped/) s = $(i - 1)
		}
		print p + 0, f + 0, s + 0 }' <<<"$line")
	if [ "$rc" -ne 0 ]; then
		failed_suites+=("$name")
		# a suite that died before its summary still counts as a failure
		[ -z "$line" ] && total_fail=$((total_fail + 1))
	fi
}

# The binding tests, counted per test case (a class skipped in setUpClass
# counts each of its tests): tests/python/run_counted.py prints "python: ...".
python_suite() {
	python3 tests/python/run_counted.py
}

run build $MAKE all tests-build
if [ ${#failed_suites[@]} -gt 0 ]; then
	echo "check: 0 passed, 1 failed (the build failed)"
	exit 1
fi
run unit $MAKE --no-print-directory unit
run fuzz $MAKE --no-print-directory fuzz-check
run integ $MAKE --no-print-directory integ
[ -d tests/python ] && run python python_suite
# Bindings: build all, then one suite per language (its own tests and the contract).
run bindings-build $MAKE --no-print-directory bindings
run bindings-c tests/bindings/run.sh c
run bindings-cpp tests/bindings/run.sh cpp
run bindings-python tests/bindings/run.sh python
run bindings-go tests/bindings/run.sh go
run bindings-rust tests/bindings/run.sh rust
[ -x tests/install/check-install.sh ] && run install $MAKE --no-print-directory install-check
run asan $MAKE --no-print-directory asan-check
# The service: outputs, reload, the rsyslog -> PostgreSQL pipeline (~1 min);
# the Debian packages: build, lintian, install/upgrade/purge in a chroot (~2 min).
run service $MAKE --no-print-directory check-service
run packaging $MAKE --no-print-directory check-deb
# Benchmarks are not tests: CI builds them and proves every piece runs (no timing).
bench_smoke() {
	$MAKE -s -C bench smoke extra-smoke && echo "bench-smoke: 1 passed, 0 failed"
}
run bench bench_smoke
if [ -x tests/vm/run-matrix.sh ]; then
	run vm $MAKE --no-print-directory vm-check
else
	echo "vm: kernel matrix not present (tests/vm/run-matrix.sh)"
fi

echo
echo "suite times: ${timings[*]} (total ${SECONDS}s)"
if [ ${#failed_suites[@]} -gt 0 ]; then
	echo "failed suites: ${failed_suites[*]}"
	# CI keeps only the tail of the output: repeat what each failed suite said
	# of its failures (FAIL/not ok lines and the checks just before them).
	for name in "${failed_suites[@]}"; do
		echo "--- $name: failures"
		grep -n -B6 -E '(^|[[:space:]])(FAIL|not ok|FAILED|panicked)|: CHECK|exception:' "$log/$name.out" |
			grep -v -E '^[0-9]+-[[:space:]]*ok[[:space:]]' | tail -60
	done
fi
echo "check: $total_pass passed, $total_fail failed, $total_skip skipped"
[ ${#failed_suites[@]} -eq 0 ] && [ "$total_fail" -eq 0 ]

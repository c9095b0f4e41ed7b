#!/usr/bin/env bash
# run-all.sh - what `make check` runs: every suite, each to the end, then one
# closing line "check: N passed, N failed" over all of them. Exit status is
# non-zero if any suite failed.
set -u
cd "$(dirname "$0")/.."
MAKE=${MAKE:-make}
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT
total_pass=0 total_fail=0 total_skip=0 failed_suites=()

# run SUITE CMD...: run a suite, keep its output, add up its summary line(s).
run() {
	local name=$1
	shift
	echo
	echo "######## $name: $*"
	"$@" 2>&1 | tee "$log/$name.out"
	local rc=${PIPESTATUS[0]}
	# summary lines look like "<suite>: N passed, N failed[, N skipped]"
	local line p f s
	line=$(grep -E '^[A-Za-z0-9_-]+: [0-9]+ passed, [0-9]+ failed' "$log/$name.out" | tail -1)
	p=$(sed -n 's/.*: \([0-9]*\) passed.*/\1/p' <<<"$line")
	f=$(sed -n 's/.* \([0-9]*\) failed.*/\1/p' <<<"$line")
	s=$(sed -n 's/.* \([0-9]*\) skipped.*/\1/p' <<<"$line")
	total_pass=$((total_pass + ${p:-0}))
	total_fail=$((total_fail + ${f:-0}))
	total_skip=$((total_skip + ${s:-0}))
	if [ "$rc" -ne 0 ]; then
		failed_suites+=("$name")
		# a suite that died before its summary still counts as a failure
		[ -z "$line" ] && total_fail=$((total_fail + 1))
	fi
}

# python unittest prints "Ran N tests" / "OK" / "FAILED (failures=N)": translate.
python_suite() {
	local out rc ran fails
	out=$(mktemp)
	python3 -m unittest discover -s tests/python -v 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	ran=$(sed -n 's/^Ran \([0-9]*\) test.*/\1/p' "$out")
	fails=$(grep -oE '(failures|errors)=[0-9]+' "$out" | cut -d= -f2 | awk '{s+=$1} END {print s+0}')
	skips=$(grep -oE 'skipped=[0-9]+' "$out" | cut -d= -f2)
	rm -f "$out"
	echo "python: $(( ${ran:-0} - ${fails:-0} - ${skips:-0} )) passed, ${fails:-0} failed, ${skips:-0} skipped"
	return "$rc"
}

run build $MAKE all tests-build
if [ ${#failed_suites[@]} -gt 0 ]; then
	echo "check: 0 passed, 1 failed (the build failed)"
	exit 1
fi
run unit $MAKE --no-print-directory unit
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
[ ${#failed_suites[@]} -gt 0 ] && echo "failed suites: ${failed_suites[*]}"
echo "check: $total_pass passed, $total_fail failed, $total_skip skipped"
[ ${#failed_suites[@]} -eq 0 ] && [ "$total_fail" -eq 0 ]

#!/usr/bin/env bash
# run-tests.sh SUITE BIN... - run cmocka test binaries, print each one's
# output, and close with one "SUITE: N passed, N failed" line.
set -u
suite=$1
shift
passed=0 failed=0 skipped=0 broken=()
for bin in "$@"; do
	echo "=== $suite: $(basename "$bin")"
	out=$(mktemp)
	"$bin" 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -1)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -1)
	# cmocka's PASSED count excludes skipped tests, which it sums up in one line
	s=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test(s), listed below.*/\1/p' "$out" | tail -1)
	rm -f "$out"
	passed=$((passed + ${p:-0}))
	skipped=$((skipped + ${s:-0}))
	failed=$((failed + ${f:-0}))
	if [ "$rc" -ne 0 ] && [ -z "$f" ]; then
		# crashed or exited before cmocka's summary
		failed=$((failed + 1))
		broken+=("$(basename "$bin") (exit $rc)")
	fi
done
[ ${#broken[@]} -gt 0 ] && echo "$suite: binaries that did not finish: ${broken[*]}"
echo "$suite: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]

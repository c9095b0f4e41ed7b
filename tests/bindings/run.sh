#!/usr/bin/env bash
# run.sh LANG - one binding's own tests, then the contract (contract.py) for
# it, against `make bindings` output in $BUILD (default build). Prints
# "bindings-LANG: N passed, N failed, N skipped" (tests/run-all.sh adds it up).
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
MAKE=${MAKE:-make}
lang=${1:?usage: run.sh c|cpp|python|go|rust}
pass=0 fail=0 skip=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT

summary() {
	echo "bindings-$lang: $pass passed, $fail failed, $skip skipped${1:+ ($1)}"
	[ "$fail" -eq 0 ]
	exit
}
# add a "NAME: N passed, N failed[, N skipped]" line from $out
add_summary() {
	local line
	line=$(grep -E "^$1: [0-9]+ passed, [0-9]+ failed" "$out" | tail -1)
	if [ -z "$line" ]; then
		fail=$((fail + 1)) # died before its summary
		return
	fi
	pass=$((pass + $(sed -n 's/.*: \([0-9]*\) passed.*/\1/p' <<<"$line")))
	fail=$((fail + $(sed -n 's/.* \([0-9]*\) failed.*/\1/p' <<<"$line")))
	skip=$((skip + $(sed -n 's/.* \([0-9]*\) skipped.*/\1/p' <<<"$line" | grep . || echo 0)))
}

case $lang in
go) tool=${GO:-go} ;;
rust) tool=${CARGO:-cargo} ;;
cpp) tool=${CXX:-g++} ;;
*) tool= ;;
esac
if [ -n "$tool" ] && ! command -v "$tool" >/dev/null; then
	skip=1
	summary "$tool not installed: scripts/install-deps.sh --bindings"
fi

case $lang in
cpp)
	"$BUILD/bindings/cpp/test_procward" 2>&1 | tee "$out"
	add_summary cpp
	;;
go)
	$MAKE -s --no-print-directory BUILD="$BUILD" bindings-test-go 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	pass=$((pass + $(grep -c -- '^--- PASS' "$out")))
	fail=$((fail + $(grep -c -- '^--- FAIL' "$out")))
	skip=$((skip + $(grep -c -- '^--- SKIP' "$out")))
	[ "$rc" -ne 0 ] && [ "$(grep -c -- '^--- FAIL' "$out")" -eq 0 ] && fail=$((fail + 1))
	;;
rust)
	$MAKE -s --no-print-directory BUILD="$BUILD" bindings-test-rust 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	while read -r p f; do
		pass=$((pass + p))
		fail=$((fail + f))
	done < <(sed -n 's/^test result: [a-zA-Z]*\. \([0-9]*\) passed; \([0-9]*\) failed.*/\1 \2/p' "$out")
	[ "$rc" -ne 0 ] && ! grep -q '^test result: FAILED' "$out" && fail=$((fail + 1))
	;;
esac

python3 tests/bindings/contract.py --build "$BUILD" "$lang" 2>&1 | tee "$out"
add_summary "contract-$lang"
summary

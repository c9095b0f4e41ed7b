#!/usr/bin/env bash
# run-fuzz.sh SECONDS CORPUS_ROOT BIN... - run each libFuzzer target for SECONDS,
# starting from its committed seeds (tests/fuzz/corpus/NAME) plus CORPUS_ROOT/NAME,
# where new inputs are kept. A crash, leak, sanitizer report or timeout fails the
# target; its input lands in CORPUS_ROOT/artifacts/. Closes with
# "fuzz: N passed, N failed" (one case per target).
set -u
seconds=$1 root=$2
shift 2
cd "$(dirname "$0")/../.." || exit 1
passed=0 failed=0 bad=()
mkdir -p "$root/artifacts"
for bin in "$@"; do
	name=$(basename "$bin")
	mkdir -p "$root/$name"
	echo "=== fuzz: $name (${seconds}s)"
	log=$(mktemp)
	# -timeout: one input taking over 10 s is a hang; -rss_limit_mb bounds memory
	"$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=1024 -print_final_stats=1 \
		-artifact_prefix="$root/artifacts/$name-" "$root/$name" "tests/fuzz/corpus/$name" \
		>"$log" 2>&1
	rc=$?
	grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|Done|#[0-9]+.*DONE)' "$log" | sed 's/^/  /'
	if [ "$rc" -eq 0 ]; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		bad+=("$name")
		tail -40 "$log" | sed 's/^/  /'
	fi
	rm -f "$log"
done
[ ${#bad[@]} -gt 0 ] && echo "fuzz: failed targets: ${bad[*]} (inputs in $root/artifacts)"
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

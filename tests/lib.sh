# shellcheck shell=bash
# lib.sh - sourced by the shell test scripts (install, packaging, service): the
# pass/fail/skip counters and the closing line. The caller sets SUITE first; the
# run ends with "SUITE: N passed, N failed, N skipped".

passed=0 failed=0 skipped=0

pass() { echo "  ok    $*"; passed=$((passed + 1)); }
fail() { echo "  FAIL  $*"; failed=$((failed + 1)); }
skip() { echo "  skip  $*"; skipped=$((skipped + 1)); }

# summary: the closing line; exits 0 only if nothing failed.
summary() {
	echo "${SUITE:?tests/lib.sh: set SUITE}: $passed passed, $failed failed, $skipped skipped"
	[ "$failed" -eq 0 ]
	exit
}

# indent_tail N: the last N lines of stdin, indented under the check they belong to
indent_tail() { tail -"$1" | sed 's/^/        /'; }

# check DESCRIPTION CMD...: one check, its output shown only when it fails
check() {
	local what=$1 out
	shift
	if out=$("$@" 2>&1); then
		pass "$what"
	else
		fail "$what"
		printf '%s\n' "$out" | indent_tail 20
	fi
}

# expect DESCRIPTION ACTUAL EXPECTED
expect() {
	if [ "$2" = "$3" ]; then pass "$1"; else fail "$1 (got '$2', expected '$3')"; fi
}

# require DESCRIPTION LOG CMD...: a step the rest of the run needs (a build, an
# install). Its output goes to LOG; when it fails, the tail of LOG is shown and
# the run ends here.
require() {
	local what=$1 log=$2
	shift 2
	if "$@" >"$log" 2>&1; then
		pass "$what"
	else
		fail "$what"
		indent_tail 30 <"$log"
		summary
	fi
}

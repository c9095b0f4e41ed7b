#!/usr/bin/env bash
# bench/rss.sh: resident memory of procward's pipeline (build/pw-bench-null,
# the library with an empty callback, all events) with many live processes
# tracked, against the same on a quiet machine.
#
#   bench/rss.sh [--smoke] [--md FILE]        (root)
#
# 1. quiet: start pw-bench-null, wait until it is idle, read VmRSS/VmHWM.
# 2. start N sleeping processes (build/pw-bench-sleepers N: N children that
#    pause()), then start pw-bench-null (it seeds its process table from
#    /proc), read; start N more sleepers (the monitor sees them as events),
#    wait until it is idle, read again. processes_tracked comes from the
#    monitor's own counters at the end.
# N = 10000 (--smoke: 500). Every process started here is killed on exit,
# whatever the exit (trap): the sleepers by process group (they also die
# with their parent: PR_SET_PDEATHSIG), the monitor by pid. pid_max is
# raised only if too small for 2N more processes, and restored.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
B=$HERE/build
NULL=$B/pw-bench-null
SLEEP=$B/pw-bench-sleepers
N=10000
MD=
SMOKE=
while [ $# -gt 0 ]; do
	case $1 in
	--smoke) N=500; SMOKE=" --smoke" ;;
	--md) MD=$2; shift ;;
	*) echo "usage: rss.sh [--smoke] [--md FILE]" >&2; exit 2 ;;
	esac
	shift
done
[ "$(id -u)" = 0 ] || { echo "rss.sh: run as root (BPF)" >&2; exit 1; }
for f in "$NULL" "$SLEEP"; do
	[ -x "$f" ] || { echo "rss.sh: $f missing: make -C bench" >&2; exit 1; }
done
TMP=$B/extra
mkdir -p "$TMP"

MON= SLA= SLB= OLD_PID_MAX=
cleanup() {
	trap - EXIT INT TERM HUP
	[ -n "$MON" ] && kill -KILL "$MON" 2>/dev/null
	for s in $SLA $SLB; do
		kill -TERM "$s" 2>/dev/null          # kills and reaps its children
	done
	for s in $SLA $SLB; do
		for _ in $(seq 100); do kill -0 "$s" 2>/dev/null || break; sleep 0.1; done
		kill -KILL -- "-$s" 2>/dev/null      # whatever is left of the group
	done
	wait 2>/dev/null
	if [ -n "$OLD_PID_MAX" ]; then echo "$OLD_PID_MAX" > /proc/sys/kernel/pid_max; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# root is exempt from RLIMIT_NPROC, but be explicit (this shell only).
ulimit -u unlimited 2>/dev/null || ulimit -u 200000 2>/dev/null
nproc_now=$(ls -d /proc/[0-9]* | wc -l)
pid_max=$(cat /proc/sys/kernel/pid_max)
if [ "$pid_max" -lt $((nproc_now + 2 * N + 5000)) ]; then
	OLD_PID_MAX=$pid_max
	echo $((nproc_now + 2 * N + 5000)) > /proc/sys/kernel/pid_max
fi

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null; }
wait_idle() {   # until the process used no CPU tick over 0.5 s (max 60 s)
	local last now i
	last=$(cpu_ticks "$1")
	for i in $(seq 120); do
		sleep 0.5
		now=$(cpu_ticks "$1")
		[ "$now" = "$last" ] && return 0
		last=$now
	done
}
kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
start_mon() {
	: > "$TMP/rss-null.stderr"
	PW_BENCH_VERBOSE=1 "$NULL" 2> "$TMP/rss-null.stderr" < /dev/null > /dev/null &
	MON=$!
	for _ in $(seq 300); do
		grep -q "pwnull: ready" "$TMP/rss-null.stderr" && break
		kill -0 "$MON" 2>/dev/null || { cat "$TMP/rss-null.stderr" >&2; exit 1; }
		sleep 0.1
	done
	wait_idle "$MON"
	sleep 1
}
stop_mon() {   # sets TRACKED: processes_tracked from the monitor's counters
	kill -INT "$MON"
	wait "$MON" 2>/dev/null
	MON=
	TRACKED=$(sed -n 's/.*tracked \([0-9]*\).*/\1/p' "$TMP/rss-null.stderr")
}
start_sleepers() {   # $1: name of the variable to set to its pid
	local out=$TMP/rss-sleepers.$1 pid
	"$SLEEP" "$N" > "$out" 2>&1 < /dev/null &
	pid=$!
	eval "$1=$pid"
	for _ in $(seq 600); do
		grep -q '^ready' "$out" && return 0
		kill -0 "$pid" 2>/dev/null || { cat "$out" >&2; exit 1; }
		sleep 0.1
	done
	echo "rss.sh: sleepers not ready in 60 s" >&2; exit 1
}
nprocs() { ls -d /proc/[0-9]* | wc -l; }

# 1. quiet machine
start_mon
P0=$(nprocs); R0=$(kb "$MON" VmRSS); H0=$(kb "$MON" VmHWM)
stop_mon; T0=$TRACKED
echo "rss: quiet: $P0 processes, VmRSS $R0 kB, VmHWM $H0 kB, tracked $T0"

# 2. N sleeping, then the monitor (seeded from /proc), then N more
start_sleepers SLA
start_mon
P1=$(nprocs); R1=$(kb "$MON" VmRSS); H1=$(kb "$MON" VmHWM)
echo "rss: $N before start: $P1 processes, VmRSS $R1 kB, VmHWM $H1 kB"
start_sleepers SLB
wait_idle "$MON"; sleep 1
P2=$(nprocs); R2=$(kb "$MON" VmRSS); H2=$(kb "$MON" VmHWM)
stop_mon; T2=$TRACKED
echo "rss: +$N after start: $P2 processes, VmRSS $R2 kB, VmHWM $H2 kB, tracked $T2"

cleanup
left=$(nprocs)
echo "rss: after cleanup: $left processes"

md="### Resident memory of pw-bench-null (rss.sh$SMOKE)

| state | processes on the machine | tracked (monitor's table) | VmRSS kB | VmHWM kB |
|---|---|---|---|---|
| quiet machine | $P0 | $T0 | $R0 | $H0 |
| $N sleeping before start (seeded from /proc) | $P1 | - | $R1 | $H1 |
| + $N more after start (from events) | $P2 | $T2 | $R2 | $H2 |

Difference loaded - quiet: VmRSS $((R2 - R0)) kB for $((P2 - P0)) more processes ($(awk -v a=$((R2 - R0)) -v b=$((P2 - P0)) 'BEGIN{printf "%.0f", b ? a * 1024 / b : 0}') bytes each); processes left after cleanup: $left.
"
echo
echo "$md"
[ -n "$MD" ] && echo "$md" > "$MD"
exit 0

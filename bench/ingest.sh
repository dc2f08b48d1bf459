#!/bin/bash
# bench/ingest.sh: ccmonitor ingest throughput on one core, and its memory
# and CPU with a realistic fleet of 1,000 hosts.  See bench/README.md.
#
#   bench/ingest.sh [BUILDDIR]        (or: make bench-ingest)
#
# Run 1, flat out (repeated RUNS times, each on a fresh monitor):
#   ccmonitor pinned to CPU 0, bench/ingest_load pinned to CPU 1 with
#   HOSTS connections sending 30-instance reports as fast as they are
#   acknowledged.  After WARMUP s, the monitor's own counter ("samples" in
#   GET /api/v1/status) and its utime+stime (/proc/PID/stat) are read twice,
#   WINDOW s apart.
# Run 2, a fleet: FLEET_HOSTS hosts x 30 instances, 1 report/s each on
#   wall-clock seconds, for FLEET_SECS s: the monitor's CPU, VmRSS, VmHWM.
# Run 3, memory at full retention: 60 s of a fleet holds a minute of history;
#   the rings fill for 384 days.  PROJ_HOSTS hosts send PROJ_DAYS days of
#   hourly reports flat out (time_ms 1 h apart, ending now), which touches
#   every chunk of every ring; VmRSS per instance is then scaled to the
#   fleet's FLEET_HOSTS x INSTANCES, and the saved history.db is measured.
#
# Environment (defaults): HOSTS=100 INSTANCES=30 WARMUP=10 WINDOW=20 RUNS=3
#   FLEET_HOSTS=1000 FLEET_SECS=60 PROJ_HOSTS=10 PROJ_DAYS=400 (PROJ_HOSTS=0
#   skips run 3) MON_CPU=0 GEN_CPU=1 PERF= (1: perf record
#   the monitor during the first flat-out window and print its top symbols)
#   BENCH_KEEP= (1: keep the scratch directory)
# Ports are taken at random among free ones in 30000-39999, on 127.0.0.1.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

build=${1:-}
CCMONITOR=${CCMONITOR:-${build:+$build/monitor/ccmonitor}}
INGEST_LOAD=${INGEST_LOAD:-${build:+$build/bench/ingest_load}}
for b in "$CCMONITOR" "$INGEST_LOAD"; do
	if [ -z "$b" ] || [ ! -x "$b" ]; then
		echo "usage: $0 BUILDDIR (or set CCMONITOR and INGEST_LOAD);" \
		    "build with: make && make bench/ingest_load" >&2
		exit 2
	fi
done
HOSTS=${HOSTS:-100}
INSTANCES=${INSTANCES:-30}
WARMUP=${WARMUP:-10}
WINDOW=${WINDOW:-20}
RUNS=${RUNS:-3}
FLEET_HOSTS=${FLEET_HOSTS:-1000}
FLEET_SECS=${FLEET_SECS:-60}
PROJ_HOSTS=${PROJ_HOSTS:-10}
PROJ_DAYS=${PROJ_DAYS:-400}
MON_CPU=${MON_CPU:-0}
GEN_CPU=${GEN_CPU:-1}
PERF=${PERF:-}

bench_init ingest
mapfile -t ports < <(free_ports 2)
[ "${#ports[@]}" -eq 2 ] || exit 1
port=${ports[0]}
hport=${ports[1]}
status_url="http://127.0.0.1:$hport/api/v1/status"

echo "# bench/ingest.sh on $(hostname), $(nproc) CPUs, $(uname -r); $(date -u +%FT%TZ)"
echo "# $("$CCMONITOR" --version 2>&1 | head -1)"
echo "# command: $0 $*   (HOSTS=$HOSTS INSTANCES=$INSTANCES WARMUP=$WARMUP" \
    "WINDOW=$WINDOW RUNS=$RUNS FLEET_HOSTS=$FLEET_HOSTS FLEET_SECS=$FLEET_SECS" \
    "PROJ_HOSTS=$PROJ_HOSTS PROJ_DAYS=$PROJ_DAYS)"

samples() {
	curl -sf "$status_url" | jq -r .samples
}

start_monitor() {	# tag
	local data="$BENCH_TMP/data-$1"
	mkdir -p "$data"
	MON_CMD="taskset -c $MON_CPU $CCMONITOR -f --bind 127.0.0.1 --port $port \
--http-port $hport --data-dir $data --save-interval 1h --log-level warn"
	echo "# monitor:   $MON_CMD"
	# shellcheck disable=SC2086
	bench_start "monitor-$1" $MON_CMD
	MON_PID=$BENCH_PID
	wait_http "$status_url" 10 || exit 1
}

stop_monitor() {	# tag
	local t0 t1
	t0=$(now_s)
	bench_stop "$MON_PID" 120
	t1=$(now_s)
	echo "# monitor stopped (SIGTERM, history saved) in $(awk -v a="$t1" -v b="$t0" 'BEGIN { printf "%.1f", a - b }') s;" \
	    "$(grep -c . "$BENCH_TMP/monitor-$1.log") log lines, of which" \
	    "$(grep -Ec ' (warn|error) ' "$BENCH_TMP/monitor-$1.log") warn/error"
}

# ---- run 1: flat out --------------------------------------------------------
echo
echo "== Run 1: flat out, $HOSTS connections x $INSTANCES instances," \
    "monitor on CPU $MON_CPU, generator on CPU $GEN_CPU"
results=()
for run in $(seq 1 "$RUNS"); do
	start_monitor "flat$run"
	GEN_CMD="taskset -c $GEN_CPU $INGEST_LOAD -a 127.0.0.1:$port -n $HOSTS \
-i $INSTANCES -d $((WARMUP + WINDOW + 3)) -q"
	echo "# generator: $GEN_CMD"
	# shellcheck disable=SC2086
	bench_start "gen-flat$run" $GEN_CMD
	gen=$BENCH_PID
	sleep "$WARMUP"
	s0=$(samples); m0=$(cpu_ticks "$MON_PID"); g0=$(cpu_ticks "$gen")
	c0=$(cpu_busy_ticks "$MON_CPU"); t0=$(now_s)
	if [ -n "$PERF" ] && [ "$run" = 1 ]; then
		perf record -q -g -p "$MON_PID" -o "$BENCH_TMP/perf.data" \
		    -- sleep "$WINDOW" >/dev/null 2>&1
	else
		sleep "$WINDOW"
	fi
	s1=$(samples); m1=$(cpu_ticks "$MON_PID"); g1=$(cpu_ticks "$gen")
	c1=$(cpu_busy_ticks "$MON_CPU"); t1=$(now_s)
	rss=$(status_kb "$MON_PID" VmRSS)
	bench_wait "$gen"
	grep -v '^# command' "$BENCH_TMP/gen-flat$run.log" | sed 's/^/  gen: /'
	stop_monitor "flat$run"
	el=$(awk -v a="$t1" -v b="$t0" 'BEGIN { print a - b }')
	rate=$(div $((s1 - s0)) "$el" %.0f)
	mcpu=$(awk -v t=$((m1 - m0)) -v h="$CLK_TCK" -v e="$el" \
	    'BEGIN { printf "%.1f", 100 * t / h / e }')
	gcpu=$(awk -v t=$((g1 - g0)) -v h="$CLK_TCK" -v e="$el" \
	    'BEGIN { printf "%.1f", 100 * t / h / e }')
	other=$(awk -v t=$((c1 - c0 - (m1 - m0))) -v h="$CLK_TCK" -v e="$el" \
	    'BEGIN { v = 100 * t / h / e; if (v < 0) v = 0; printf "%.1f", v }')
	per_cpu_s=$(awk -v s=$((s1 - s0)) -v t=$((m1 - m0)) -v h="$CLK_TCK" \
	    'BEGIN { if (t == 0) print "-"; else printf "%.0f", s * h / t }')
	printf 'run %d: %s instance samples/s over %.1f s | monitor CPU %s%% ' \
	    "$run" "$rate" "$el" "$mcpu"
	printf '(%s samples per monitor CPU-second) | generator CPU %s%% | ' \
	    "$per_cpu_s" "$gcpu"
	printf 'others on CPU %s: %s%% | monitor RSS %s kB\n' "$MON_CPU" \
	    "$other" "$rss"
	results+=("$rate $per_cpu_s $mcpu $gcpu $other")
done
echo
echo "Run 1 summary (instance samples/s on one core, from the monitor's counter):"
printf '%s\n' "${results[@]}" | sort -n | awk '
	{ r[NR] = $1; p[NR] = $2; m[NR] = $3; g[NR] = $4; o[NR] = $5 }
	END {
		printf "  samples/s: min %d, median %d, max %d over %d runs\n",
		    r[1], r[int((NR + 1) / 2)], r[NR], NR
		printf "  (median run: monitor CPU %s%%, %s samples per monitor CPU-second, generator CPU %s%%, others on the monitor CPU %s%%)\n",
		    m[int((NR + 1) / 2)], p[int((NR + 1) / 2)], g[int((NR + 1) / 2)], o[int((NR + 1) / 2)]
		printf "  goal >= 300000 samples/s: %s\n", (r[NR] >= 300000 ? "met" : "MISSED")
	}'
if [ -n "$PERF" ] && [ -f "$BENCH_TMP/perf.data" ]; then
	echo
	echo "perf (run 1, flat out; self time, symbols >= 1%):"
	perf report -i "$BENCH_TMP/perf.data" --no-children --percent-limit 1 \
	    --stdio 2>/dev/null | grep -E '^ +[0-9]' | head -30
fi

# ---- run 2: the fleet -------------------------------------------------------
echo
echo "== Run 2: $FLEET_HOSTS hosts x $INSTANCES instances at 1 report/s" \
    "per host, $FLEET_SECS s"
start_monitor fleet
GEN_CMD="taskset -c $GEN_CPU $INGEST_LOAD -a 127.0.0.1:$port -n $FLEET_HOSTS \
-i $INSTANCES -r 1 -s 1000 -d $((FLEET_SECS + 40)) -q"
echo "# generator: $GEN_CMD"
# shellcheck disable=SC2086
bench_start gen-fleet $GEN_CMD
gen=$BENCH_PID
for i in $(seq 1 300); do
	n=$(curl -sf "$status_url" | jq -r .agents_connected)
	[ "${n:-0}" -ge "$FLEET_HOSTS" ] && break
	sleep 0.1
done
echo "# $n agents connected after $(div "$i" 10 %.1f) s"
sleep 5
s0=$(samples); m0=$(cpu_ticks "$MON_PID"); t0=$(now_s)
rss0=$(status_kb "$MON_PID" VmRSS)
sleep "$FLEET_SECS"
s1=$(samples); m1=$(cpu_ticks "$MON_PID"); t1=$(now_s)
rss=$(status_kb "$MON_PID" VmRSS); hwm=$(status_kb "$MON_PID" VmHWM)
st=$(curl -sf "$status_url")
bench_stop "$gen" 5
grep -v '^# command' "$BENCH_TMP/gen-fleet.log" | sed 's/^/  gen: /'
stop_monitor fleet
el=$(awk -v a="$t1" -v b="$t0" 'BEGIN { print a - b }')
printf 'fleet: %s hosts, %s instances known | %s instance samples/s over %.1f s' \
    "$(echo "$st" | jq -r .hosts)" "$(echo "$st" | jq -r .instances)" \
    "$(div $((s1 - s0)) "$el" %.0f)" "$el"
printf ' | monitor CPU %s%% of one core\n' "$(awk -v t=$((m1 - m0)) \
    -v h="$CLK_TCK" -v e="$el" 'BEGIN { printf "%.2f", 100 * t / h / e }')"
printf 'fleet: monitor VmRSS %s kB at the start of the window, %s kB at the end, VmHWM %s kB\n' \
    "$rss0" "$rss" "$hwm"

# ---- run 3: memory at full retention ----------------------------------------
[ "$PROJ_HOSTS" -gt 0 ] || exit 0
echo
echo "== Run 3: full retention, $PROJ_HOSTS hosts x $INSTANCES instances," \
    "$PROJ_DAYS days of hourly reports, flat out"
start_monitor proj
rss0=$(status_kb "$MON_PID" VmRSS)
GEN_CMD="taskset -c $GEN_CPU $INGEST_LOAD -a 127.0.0.1:$port -n $PROJ_HOSTS \
-i $INSTANCES -s 3600000 -m $((PROJ_DAYS * 24)) -d 1200 -q"
echo "# generator: $GEN_CMD"
# shellcheck disable=SC2086
bench_start gen-proj $GEN_CMD
bench_wait "$BENCH_PID"
grep -v '^# command' "$BENCH_TMP/gen-proj.log" | sed 's/^/  gen: /'
st=$(curl -sf "$status_url")
rss=$(status_kb "$MON_PID" VmRSS)
ni=$(echo "$st" | jq -r .instances)
stop_monitor proj
db=$(stat -c %s "$BENCH_TMP/data-proj/history.db" 2>/dev/null || echo 0)
awk -v r0="$rss0" -v r="$rss" -v n="$ni" -v db="$db" \
    -v fleet=$((FLEET_HOSTS * INSTANCES)) 'BEGIN {
	per = (r - r0) / n
	printf "retention: %d instances, VmRSS %d kB idle -> %d kB full: %.0f kB per instance;", n, r0, r, per
	printf " history.db %.1f MB (%.0f kB per instance)\n", db / 1048576, db / 1024 / n
	printf "retention: projected for %d instances (%d hosts x %d): VmRSS %.1f GB, history.db %.1f GB per save\n",
	    fleet, fleet / '"$INSTANCES"', '"$INSTANCES"', (r0 + per * fleet) / 1048576,
	    db / n * fleet / 1073741824
}'

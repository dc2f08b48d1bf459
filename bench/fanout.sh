#!/bin/bash
# bench/fanout.sh: probe fan-out, ccmonitor's CPU for T probe targets at a
# 1 s probe-interval.  See bench/README.md.
#
#   bench/fanout.sh [BUILDDIR]        (or: make bench-fanout)
#
# REDIS real redis-servers (pinned to CPU REDIS_CPU) stay up for the whole
# run.  For each T in TARGETS, a fresh ccmonitor (pinned to CPU MON_CPU)
# gets a config file with T "instance" lines, tNNNNN -> the redis-servers
# round-robin (T / REDIS names per port, one connection each), probe
# defaults (interval 1s, timeout 500ms, failures 3).  Once every target is
# up, and WARMUP s more, the script reads ccnode_monitor_probes_total
# (/metrics) and the monitor's utime+stime (/proc/PID/stat), then again
# WINDOW s later.  It prints the monitor's CPU (% of one core, and per 1,000
# targets), probes/s, the probe round trips (ccnode_probe_duration_seconds
# across the targets: median, 99th percentile, max), the health states,
# the failures during the window, what else ran on CPU MON_CPU and the
# redis-servers' CPU, VmRSS and open fds.  No scrape falls inside the CPU
# window (a /metrics of 10,000 targets is some MB).
#
# Each target holds one connection: the script raises "ulimit -n" (to
# 65536, or the hard limit), and gives each redis-server --maxclients for
# its share.
#
# Environment (defaults): REDIS=40 TARGETS="1000 5000 10000" WARMUP=10
#   WINDOW=25 MON_CPU=0 REDIS_CPU=1 (empty: not pinned) UP_TIMEOUT=90 PROBE_ARGS=
#   (extra directives for the monitor, as "--name value") PERF=0 (1: perf
#   record -g the monitor during the largest T's window, print its top
#   symbols)
#   REDIS_SERVER=/usr/bin/redis-server CCMONITOR BENCH_KEEP=
set -u
export LC_ALL=C
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

build=${1:-}
CCMONITOR=${CCMONITOR:-${build:+$build/monitor/ccmonitor}}
REDIS_SERVER=${REDIS_SERVER:-/usr/bin/redis-server}
REDIS=${REDIS:-40}
TARGETS=${TARGETS:-1000 5000 10000}
WARMUP=${WARMUP:-10}
WINDOW=${WINDOW:-25}
MON_CPU=${MON_CPU-0}
REDIS_CPU=${REDIS_CPU-1}
if [ -n "$MON_CPU" ]; then MON_CPU_LABEL="CPU $MON_CPU"; else MON_CPU_LABEL="all CPUs"; fi
UP_TIMEOUT=${UP_TIMEOUT:-90}
PROBE_ARGS=${PROBE_ARGS:-}
PERF=${PERF:-0}

if [ -z "$CCMONITOR" ] || [ ! -x "$CCMONITOR" ]; then
	echo "usage: $0 BUILDDIR (or set CCMONITOR)" >&2
	exit 2
fi
if [ "$PERF" = 1 ] && ! command -v perf >/dev/null; then
	echo "$0: PERF=1 needs perf (Debian: linux-perf)" >&2
	exit 2
fi
for b in "$REDIS_SERVER" redis-cli ss curl taskset; do
	if ! command -v "$b" >/dev/null; then
		echo "$0: $b is missing (Debian: redis-server, iproute2, curl," \
		    "util-linux)" >&2
		exit 2
	fi
done

max_t=0
for t in $TARGETS; do
	[ "$t" -le "$max_t" ] || max_t=$t
done
# One fd per target, the listeners, the log, a little slack.
want=65536
hard=$(ulimit -Hn)
[ "$hard" = unlimited ] || [ "$hard" -ge "$want" ] || want=$hard
ulimit -n "$want" || exit 1
if [ "$(ulimit -n)" -lt $((max_t + 200)) ]; then
	echo "$0: ulimit -n is $(ulimit -n) (hard limit $hard): too low for" \
	    "$max_t targets" >&2
	exit 2
fi

bench_init fanout
mapfile -t ports < <(free_ports $((REDIS + 2)))
[ "${#ports[@]}" -eq $((REDIS + 2)) ] || exit 1
port=${ports[0]}
hport=${ports[1]}
rports=("${ports[@]:2}")
metrics_url="http://127.0.0.1:$hport/metrics"
maxclients=$((max_t / REDIS + 100))

echo "# bench/fanout.sh on $(hostname), $(nproc) CPUs, $(uname -r); $(date -u +%FT%TZ)"
echo "# command: $0 $*   (REDIS=$REDIS TARGETS=\"$TARGETS\" WARMUP=$WARMUP" \
    "WINDOW=$WINDOW MON_CPU=$MON_CPU REDIS_CPU=$REDIS_CPU PROBE_ARGS=\"$PROBE_ARGS\" PERF=$PERF)"
echo "# $("$CCMONITOR" --version 2>&1 | head -1); $("$REDIS_SERVER" --version |
    cut -d' ' -f1-3); ulimit -n $(ulimit -n)"
echo "# load average at start: $(cut -d' ' -f1-3 /proc/loadavg)" \
    "(a shared machine: other work steals CPU)"

# ---- the redis-servers ---------------------------------------------------------
echo
echo "== $REDIS redis-servers on ports ${rports[0]}-${rports[$((REDIS - 1))]}, CPU ${REDIS_CPU:-any}"
echo "# each: ${REDIS_CPU:+taskset -c $REDIS_CPU }$REDIS_SERVER --port P --bind 127.0.0.1" \
    "--save '' --appendonly no --daemonize no --maxclients $maxclients --dir D --logfile D/redis.log"
REDIS_PIDS=()
for p in "${rports[@]}"; do
	d="$BENCH_TMP/redis-$p"
	mkdir -p "$d"
	bench_start "redis-$p" ${REDIS_CPU:+taskset -c "$REDIS_CPU"} "$REDIS_SERVER" --port "$p" \
	    --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
	    --maxclients "$maxclients" --dir "$d" --logfile "$d/redis.log"
	REDIS_PIDS+=("$BENCH_PID")
done
for p in "${rports[@]}"; do
	for _ in $(seq 1 100); do
		[ "$(redis-cli -p "$p" ping 2>/dev/null)" = PONG ] && break
		sleep 0.1
	done
	[ "$(redis-cli -p "$p" ping 2>/dev/null)" = PONG ] || {
		echo "redis-server on $p does not answer" >&2
		exit 1
	}
done

redis_ticks() {
	local p s=0
	for p in "${REDIS_PIDS[@]}"; do
		s=$((s + $(cpu_ticks "$p")))
	done
	echo "$s"
}

# scrape FILE: /metrics into FILE.
scrape() {
	curl -sf --max-time 30 -o "$1" "$metrics_url"
}

# health_counts FILE: "up suspect down unknown" over the targets.
health_counts() {
	awk '/^ccnode_instance_health\{/ && $2 == 1 {
		match($0, /state="[a-z]+"/); c[substr($0, RSTART + 7, RLENGTH - 8)]++ }
	    END { printf "%d %d %d %d\n", c["up"], c["suspect"], c["down"], c["unknown"] }' "$1"
}

# prom_sum FILE NAME: the sum of a metric's samples (0 when absent).
prom_sum() {
	awk -v n="$2" 'index($0, n "{") == 1 || index($0, n " ") == 1 { s += $NF }
	    END { printf "%.0f\n", s }' "$1"
}

RESULTS=()
run_one() {	# T
	local T=$1 conf="$BENCH_TMP/mon-$1.conf" data="$BENCH_TMP/data-$1"
	local t_start t_http t_up counts mon m0 m1 c0 c1 r0 r1 t0 t1 p0 p1
	local ta tb el cpu per1k other rcpu rate rtt rss hwm nfd fails0 fails1
	mkdir -p "$data"
	{
		echo "# bench/fanout.sh: $T targets on $REDIS redis-servers"
		echo "bind 127.0.0.1"
		echo "port $port"
		echo "http-port $hport"
		echo "data-dir $data"
		echo "save-interval 1h"
		echo "log-level warn"
		echo "probe-interval 1s"
		awk -v n="$T" -v ports="${rports[*]}" 'BEGIN {
			k = split(ports, p, " ")
			for (i = 1; i <= n; i++)
				printf "instance t%05d 127.0.0.1:%s\n", i, p[(i - 1) % k + 1]
		}'
	} >"$conf"
	echo
	echo "== $T targets ($((T / REDIS)) per redis-server), probe-interval 1s, monitor on CPU ${MON_CPU:-any}"
	MON_CMD="${MON_CPU:+taskset -c $MON_CPU }$CCMONITOR -f -c $conf $PROBE_ARGS"
	echo "# monitor: $MON_CMD"
	echo "#   $conf: bind, port $port, http-port $hport, data-dir, save-interval 1h,"
	echo "#   log-level warn, probe-interval 1s, then $T lines \"instance tNNNNN 127.0.0.1:PORT\""
	t_start=$(now_s)
	# shellcheck disable=SC2086
	bench_start "monitor-$T" $MON_CMD
	mon=$BENCH_PID
	wait_http "$metrics_url" 60 || exit 1
	t_http=$(now_s)
	t_up=
	for _ in $(seq 1 $((UP_TIMEOUT / 2))); do
		bench_alive "$mon" "monitor-$T"
		scrape "$BENCH_TMP/m.prom" || { sleep 2; continue; }
		counts=$(health_counts "$BENCH_TMP/m.prom")
		if [ "${counts%% *}" -ge "$T" ]; then
			t_up=$(now_s)
			break
		fi
		sleep 2
	done
	if [ -z "$t_up" ]; then
		echo "  not all $T targets up after $UP_TIMEOUT s: up suspect down unknown = $counts" >&2
		BENCH_KEEP=1
		exit 1
	fi
	printf '  HTTP answers %.2f s after the start; all %d up after %.1f s (the first scrape that showed it)\n' \
	    "$(awk -v a="$t_http" -v b="$t_start" 'BEGIN { print a - b }')" "$T" \
	    "$(awk -v a="$t_up" -v b="$t_start" 'BEGIN { print a - b }')"
	sleep "$WARMUP"
	scrape "$BENCH_TMP/m0.prom" || exit 1
	ta=$(now_s)
	m0=$(cpu_ticks "$mon"); c0=$(cpu_busy_ticks "$MON_CPU"); r0=$(redis_ticks)
	t0=$(now_s)
	if [ "$PERF" = 1 ] && [ "$T" = "$max_t" ]; then
		perf record -q -g -p "$mon" -o "$BENCH_TMP/perf.data" \
		    -- sleep "$WINDOW" >/dev/null 2>&1
	else
		sleep "$WINDOW"
	fi
	m1=$(cpu_ticks "$mon"); c1=$(cpu_busy_ticks "$MON_CPU"); r1=$(redis_ticks)
	t1=$(now_s)
	tb=$(now_s)
	scrape "$BENCH_TMP/m1.prom" || exit 1
	rss=$(status_kb "$mon" VmRSS); hwm=$(status_kb "$mon" VmHWM)
	nfd=$(find "/proc/$mon/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
	p0=$(prom_sum "$BENCH_TMP/m0.prom" ccnode_monitor_probes_total)
	p1=$(prom_sum "$BENCH_TMP/m1.prom" ccnode_monitor_probes_total)
	fails0=$(prom_sum "$BENCH_TMP/m0.prom" ccnode_monitor_probe_failures_total)
	fails1=$(prom_sum "$BENCH_TMP/m1.prom" ccnode_monitor_probe_failures_total)
	el=$(awk -v a="$t1" -v b="$t0" 'BEGIN { print a - b }')
	rate=$(awk -v p=$((p1 - p0)) -v a="$tb" -v b="$ta" 'BEGIN { printf "%.0f", p / (a - b) }')
	cpu=$(awk -v t=$((m1 - m0)) -v h="$CLK_TCK" -v e="$el" 'BEGIN { printf "%.2f", 100 * t / h / e }')
	per1k=$(awk -v c="$cpu" -v n="$T" 'BEGIN { printf "%.2f", c * 1000 / n }')
	other=$(awk -v t=$((c1 - c0 - (m1 - m0))) -v h="$CLK_TCK" -v e="$el" \
	    'BEGIN { v = 100 * t / h / e; if (v < 0) v = 0; printf "%.1f", v }')
	rcpu=$(awk -v t=$((r1 - r0)) -v h="$CLK_TCK" -v e="$el" 'BEGIN { printf "%.1f", 100 * t / h / e }')
	rtt=$(awk '/^ccnode_probe_duration_seconds\{/ { print $NF * 1000 }' \
	    "$BENCH_TMP/m1.prom" | sort -g | awk '{ v[NR] = $1 }
	    END { if (NR == 0) { print "- - - 0"; exit }
		q = int(NR * 0.99 + 0.5); if (q < 1) q = 1
		printf "%.3f %.3f %.3f %d\n", v[int((NR + 1) / 2)], v[q], v[NR], NR }')
	counts=$(health_counts "$BENCH_TMP/m1.prom")
	printf '  monitor CPU %s%% of one core over %.1f s = %s%% per 1,000 targets | %s probes/s (%d targets at 1 s: %d expected)\n' \
	    "$cpu" "$el" "$per1k" "$rate" "$T" "$T"
	printf '  probe round trip (ccnode_probe_duration_seconds, last probe of each of %s targets): median %s ms, p99 %s ms, max %s ms\n' \
	    "${rtt##* }" "$(echo "$rtt" | cut -d' ' -f1)" "$(echo "$rtt" | cut -d' ' -f2)" \
	    "$(echo "$rtt" | cut -d' ' -f3)"
	printf '  health at the end: up %s, suspect %s, down %s, unknown %s | probes failed in the window: %d\n' \
	    $counts $((fails1 - fails0))
	printf '  others on %s: %s%% | the %d redis-servers: %s%% of a core | monitor VmRSS %s kB, VmHWM %s kB, %s fds\n' \
	    "$MON_CPU_LABEL" "$other" "$REDIS" "$rcpu" "$rss" "$hwm" "$nfd"
	echo "  monitor log: $(grep -c . "$BENCH_TMP/monitor-$T.log") lines," \
	    "$(grep -c TILT "$BENCH_TMP/monitor-$T.log") TILT"
	grep -E ' (warn|error) ' "$BENCH_TMP/monitor-$T.log" | head -5 | sed 's/^/    /'
	# What one look at the HTTP port costs (the loop does nothing else
	# meanwhile): after the window.
	printf '  one GET, time to the whole answer: /metrics %s; /api/v1/instances %s\n' \
	    "$(curl -s -o /dev/null --max-time 60 -w '%{time_total} s, %{size_download} bytes' "$metrics_url")" \
	    "$(curl -s -o /dev/null --max-time 60 -w '%{time_total} s, %{size_download} bytes' \
	    "http://127.0.0.1:$hport/api/v1/instances")"
	bench_stop "$mon" 60
	RESULTS+=("$T $cpu $per1k $rate $(echo "$rtt" | cut -d' ' -f1-3) $other $counts")
}

for t in $TARGETS; do
	run_one "$t"
done

echo
echo "# load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "Probe fan-out, probe-interval 1s, $REDIS redis-servers (monitor on CPU ${MON_CPU:-any}, redis on CPU ${REDIS_CPU:-any}):"
printf '%8s %10s %12s %10s %23s %9s %s\n' targets "CPU %" "% per 1000" probes/s \
    "RTT ms med/p99/max" "others %" "up/suspect/down"
for r in "${RESULTS[@]}"; do
	set -- $r
	printf '%8s %10s %12s %10s %23s %9s %s\n' "$1" "$2" "$3" "$4" "$5 / $6 / $7" "$8" "$9/${10}/${11}"
done
if [ "$PERF" = 1 ] && [ -f "$BENCH_TMP/perf.data" ]; then
	echo
	echo "perf ($max_t targets, the window; self time, symbols >= 1%):"
	perf report -i "$BENCH_TMP/perf.data" --no-children --percent-limit 1 \
	    --stdio 2>/dev/null | grep -E '^ +[0-9]' | head -30
	echo "perf (by shared object):"
	perf report -i "$BENCH_TMP/perf.data" --no-children --sort dso \
	    --stdio 2>/dev/null | grep -E '^ +[0-9]' | head -8
fi
for r in "${RESULTS[@]}"; do
	set -- $r
	if [ "$1" = 10000 ]; then
		echo "goal: 10,000 targets at 1 s under 20% of one core: $(awk -v c="$2" \
		    'BEGIN { print (c < 20 ? "met" : "MISSED") }') ($2%)"
	fi
done

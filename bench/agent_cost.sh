#!/bin/bash
# bench/agent_cost.sh: what it costs to sample 16 local redis-servers every
# second, for ccagent and for the two usual alternatives.  See
# bench/README.md.
#
#   bench/agent_cost.sh [BUILDDIR]        (or: make bench-agent)
#
# 16 redis-servers (no persistence, a little data each) stay up through the
# whole run.  Then, one after the other, each tool runs alone against all 16
# for WARM s, and is measured over the next SECS s:
#   ccagent        --sample-interval 1s, shipping its reports to a real
#                  ccmonitor on loopback (the monitor's own cost not counted)
#   redis_exporter one prometheus-redis-exporter process, scraped through
#                  its multi-target endpoint /scrape?target=redis://... for
#                  all 16 every second (what a Prometheus would do), by curl
#   exporter x16   one exporter per redis-server (the sidecar layout), each
#                  /metrics scraped every second (EXPORTER16=0 skips it)
#   collectd       collectd 5.12 with the redis plugin, 16 <Node> blocks,
#                  Interval 1, no write plugin
# For each: CPU (utime+stime from /proc/PID/stat over the window, % of one
# core), VmRSS at the end and VmHWM; and on the Redis side, over the same
# window (CONFIG RESETSTAT at its start): calls and usec of INFO, of all
# commands, and connections accepted.
#
# Environment (defaults): SECS=60 WARM=5 EXPORTER16=1 BENCH_KEEP=
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

build=${1:-}
CCAGENT=${CCAGENT:-${build:+$build/agent/ccagent}}
CCMONITOR=${CCMONITOR:-${build:+$build/monitor/ccmonitor}}
EXPORTER=${EXPORTER:-/usr/bin/prometheus-redis-exporter}
COLLECTD=${COLLECTD:-/usr/sbin/collectd}
SECS=${SECS:-60}
WARM=${WARM:-5}
EXPORTER16=${EXPORTER16:-1}
N=16

for b in "$CCAGENT" "$CCMONITOR"; do
	if [ -z "$b" ] || [ ! -x "$b" ]; then
		echo "usage: $0 BUILDDIR (or set CCAGENT and CCMONITOR)" >&2
		exit 2
	fi
done
for b in redis-server redis-cli curl "$EXPORTER" "$COLLECTD"; do
	if ! command -v "$b" >/dev/null; then
		echo "$0: $b is missing (Debian: redis-server," \
		    "prometheus-redis-exporter, collectd-core, curl)" >&2
		exit 2
	fi
done
if [ ! -f /usr/lib/collectd/redis.so ]; then
	echo "$0: /usr/lib/collectd/redis.so is missing (collectd-core)" >&2
	exit 2
fi

bench_init agent
# 16 redis, the monitor (2), the agent's management port, 16 exporters.
mapfile -t ports < <(free_ports $((N + 3 + N)))
[ "${#ports[@]}" -eq $((N + 3 + N)) ] || exit 1
rports=("${ports[@]:0:N}")
mport=${ports[N]}
mhport=${ports[N + 1]}
aport=${ports[N + 2]}
eports=("${ports[@]:N+3:N}")

echo "# bench/agent_cost.sh on $(hostname), $(nproc) CPUs, $(uname -r); $(date -u +%FT%TZ)"
echo "# command: $0 $*   (SECS=$SECS WARM=$WARM EXPORTER16=$EXPORTER16)"
echo "# $("$CCAGENT" --version 2>&1 | head -1); $(redis-server --version | cut -d' ' -f1-3);" \
    "prometheus-redis-exporter $(dpkg-query -W -f '${Version}' prometheus-redis-exporter 2>/dev/null);" \
    "collectd $(dpkg-query -W -f '${Version}' collectd-core 2>/dev/null)"

# ---- the 16 redis-servers ---------------------------------------------------
for i in $(seq 0 $((N - 1))); do
	d="$BENCH_TMP/redis$i"
	mkdir -p "$d"
	bench_start "redis$i" redis-server --port "${rports[i]}" \
	    --bind 127.0.0.1 --save '' --appendonly no --dir "$d" \
	    --daemonize no
done
for i in $(seq 0 $((N - 1))); do
	wait_port "${rports[i]}" 10 || exit 1
	# A little data: 1000 strings and a hash in db0, 200 keys with a TTL in db1.
	redis-cli -p "${rports[i]}" EVAL "for i = 1, 1000 do \
redis.call('SET', 'k:' .. i, string.rep('x', 100)) end \
for i = 1, 100 do redis.call('HSET', 'h', 'f' .. i, i) end" 0 >/dev/null
	redis-cli -p "${rports[i]}" -n 1 EVAL "for i = 1, 200 do \
redis.call('SET', 't:' .. i, i, 'EX', 3600) end" 0 >/dev/null
done
echo "# $N redis-servers on 127.0.0.1 ports ${rports[0]}..${rports[N - 1]}" \
    "(--save '' --appendonly no; 1000 keys + a hash in db0, 200 keys with TTL in db1)"

redis_reset() {
	local p
	for p in "${rports[@]}"; do
		redis-cli -p "$p" CONFIG RESETSTAT >/dev/null
	done
}

# Sums over the 16 instances since the last reset: INFO calls and usec, all
# calls and usec (but our CONFIG RESETSTAT), connections (less ours), and
# the commands seen.
redis_read() {
	local p
	for p in "${rports[@]}"; do
		redis-cli -p "$p" INFO everything
	done | tr -d '\r' | awk '
	/^cmdstat_/ {
		split($0, kv, ":")
		name = substr(kv[1], 9)
		if (name == "config|resetstat")
			next
		n = split(kv[2], f, ",")
		for (j = 1; j <= n; j++) {
			split(f[j], x, "=")
			v[x[1]] = x[2]
		}
		calls += v["calls"]; usec += v["usec"]
		if (name == "info") { icalls += v["calls"]; iusec += v["usec"] }
		seen[name] += v["calls"]
	}
	/^total_connections_received:/ {
		split($0, kv, ":"); conns += kv[2] - 1	# our redis-cli
	}
	END {
		cmds = ""
		for (c in seen)
			cmds = cmds (cmds == "" ? "" : ",") c "=" seen[c]
		printf "%d %d %d %d %d %s\n", icalls, iusec, calls, usec, conns, cmds
	}'
}

ROWS=()
# measure NAME PID...: WARM s of warm-up, then SECS s; appends to ROWS.
measure() {
	local name=$1 p t0 t1 c0=0 c1=0 rss=0 hwm=0 el r
	shift
	sleep "$WARM"
	redis_reset
	for p in "$@"; do c0=$((c0 + $(cpu_ticks "$p"))); done
	t0=$(now_s)
	sleep "$SECS"
	for p in "$@"; do
		if ! kill -0 "$p" 2>/dev/null; then
			echo "$name: pid $p died during the window; logs kept in" \
			    "$BENCH_TMP" >&2
			BENCH_KEEP=1
			exit 1
		fi
		c1=$((c1 + $(cpu_ticks "$p")))
		rss=$((rss + $(status_kb "$p" VmRSS)))
		hwm=$((hwm + $(status_kb "$p" VmHWM)))
	done
	t1=$(now_s)
	r=$(redis_read)
	el=$(awk -v a="$t1" -v b="$t0" 'BEGIN { print a - b }')
	ROWS+=("$name|$(awk -v t=$((c1 - c0)) -v h="$CLK_TCK" -v e="$el" \
	    'BEGIN { printf "%.3f", 100 * t / h / e }')|$rss|$hwm|$el|$r")
	echo "  $name: cpu $((c1 - c0)) ticks over $(printf %.1f "$el") s; VmRSS $rss kB," \
	    "VmHWM $hwm kB; redis (all $N): $r"
}

# ---- 1. ccagent --------------------------------------------------------------
echo
echo "== ccagent (sample-interval 1s) shipping to ccmonitor on 127.0.0.1:$mport"
mkdir -p "$BENCH_TMP/monitor" "$BENCH_TMP/agent"
MON_CMD="$CCMONITOR -f --bind 127.0.0.1 --port $mport --http-port $mhport \
--data-dir $BENCH_TMP/monitor --save-interval 10s --log-level warn"
echo "# monitor: $MON_CMD"
# shellcheck disable=SC2086
bench_start monitor $MON_CMD
mon=$BENCH_PID
wait_http "http://127.0.0.1:$mhport/api/v1/status" 10 || exit 1
watches=()
for i in $(seq 0 $((N - 1))); do
	watches+=(--watch "r$((i + 1))" "127.0.0.1:${rports[i]}")
done
AGENT_CMD="$CCAGENT -f --host-name bench-agent --bind 127.0.0.1 \
--port $aport --monitor 127.0.0.1:$mport --state-dir $BENCH_TMP/agent \
--spool-dir $BENCH_TMP/agent/spool --sample-interval 1s --sample-timeout 500ms --log-level warn"
echo "# agent:   $AGENT_CMD --watch r1 127.0.0.1:${rports[0]} ..." \
    "--watch r$N 127.0.0.1:${rports[N - 1]}"
# shellcheck disable=SC2086
bench_start agent $AGENT_CMD "${watches[@]}"
agent=$BENCH_PID
sleep 1
bench_alive "$agent" agent
r0=$(curl -sf "http://127.0.0.1:$mhport/api/v1/status" | jq -r .reports)
measure ccagent "$agent"
st=$(curl -sf "http://127.0.0.1:$mhport/api/v1/status")
up=$(curl -sf "http://127.0.0.1:$mhport/metrics" | grep -c '^redis_up{.*} 1$')
echo "  monitor: $(echo "$st" | jq -r .reports) reports received" \
    "($(( $(echo "$st" | jq -r .reports) - r0 )) during warm-up and window)," \
    "$(echo "$st" | jq -r .samples) instance samples, redis_up 1 for $up of $N"
bench_stop "$agent" 10
bench_stop "$mon" 30
if grep -Eq ' (warn|error) ' "$BENCH_TMP/agent.log"; then
	echo "  agent warnings:"; grep -E ' (warn|error) ' "$BENCH_TMP/agent.log" | head -5
fi

# ---- 2. one redis_exporter, multi-target ------------------------------------
# scrape_loop SECONDS URL...: every URL once per wall-clock second (one curl
# per round, keep-alive), until SECONDS have passed.  Logs status codes.
scrape_loop() {
	local secs=$1 end args=() u
	shift
	for u in "$@"; do args+=(-o /dev/null "$u"); done
	end=$(($(date +%s) + secs))
	while [ "$(date +%s)" -lt "$end" ]; do
		curl -s -m 5 -w '%{http_code} %{size_download}\n' "${args[@]}"
		sleep "$(awk -v t="$(date +%s.%N)" \
		    'BEGIN { printf "%.3f", 1 - (t - int(t)) }')"
	done
}

scrape_report() {	# log name
	awk -v n="$2" '{ c[$1]++; b += $2 } END {
		printf "  %s: %d scrapes answered 200, %d not; %.0f bytes per scrape\n",
		    n, c["200"], NR - c["200"], NR ? b / NR : 0 }' "$BENCH_TMP/$1.log"
}

echo
echo "== prometheus-redis-exporter, one process, /scrape?target= for all $N every 1 s"
EXP_CMD="$EXPORTER -web.listen-address 127.0.0.1:${eports[0]} -redis.addr="
echo "# exporter: $EXP_CMD"
# shellcheck disable=SC2086
bench_start exporter $EXP_CMD
exp=$BENCH_PID
wait_port "${eports[0]}" 10 || exit 1
urls=()
for p in "${rports[@]}"; do
	urls+=("http://127.0.0.1:${eports[0]}/scrape?target=redis://127.0.0.1:$p")
done
echo "# scraper: curl of ${urls[0]} ... (all $N, once a second)"
if ! curl -sf "${urls[0]}" | grep -q '^redis_up 1'; then
	echo "  the exporter does not report redis_up 1; its log:" >&2
	cat "$BENCH_TMP/exporter.log" >&2
fi
bench_start scrape scrape_loop $((WARM + SECS + 5)) "${urls[@]}"
scr=$BENCH_PID
measure "redis_exporter" "$exp"
bench_stop "$scr" 5
bench_stop "$exp" 5
scrape_report scrape "scraper"

# ---- 3. sixteen redis_exporters ---------------------------------------------
if [ "$EXPORTER16" = 1 ]; then
	echo
	echo "== prometheus-redis-exporter x$N, one per redis-server, /metrics every 1 s"
	echo "# exporters: $EXPORTER -web.listen-address 127.0.0.1:${eports[0]}" \
	    "-redis.addr redis://127.0.0.1:${rports[0]} ... (x$N)"
	epids=()
	urls=()
	for i in $(seq 0 $((N - 1))); do
		bench_start "exporter16-$i" "$EXPORTER" \
		    -web.listen-address "127.0.0.1:${eports[i]}" \
		    -redis.addr "redis://127.0.0.1:${rports[i]}"
		epids+=("$BENCH_PID")
		urls+=("http://127.0.0.1:${eports[i]}/metrics")
	done
	for i in $(seq 0 $((N - 1))); do
		wait_port "${eports[i]}" 10 || exit 1
	done
	bench_start scrape16 scrape_loop $((WARM + SECS + 5)) "${urls[@]}"
	scr=$BENCH_PID
	measure "redis_exporter x$N" "${epids[@]}"
	bench_stop "$scr" 5
	for p in "${epids[@]}"; do bench_stop "$p" 5; done
	scrape_report scrape16 "scraper"
fi

# ---- 4. collectd -----------------------------------------------------------
echo
echo "== collectd redis plugin, Interval 1, $N nodes, no write plugin"
cd_dir="$BENCH_TMP/collectd"
mkdir -p "$cd_dir"
{
	echo "Hostname \"bench\""
	echo "FQDNLookup false"
	echo "BaseDir \"$cd_dir\""
	echo "PIDFile \"$cd_dir/collectd.pid\""
	echo "PluginDir \"/usr/lib/collectd\""
	echo "TypesDB \"/usr/share/collectd/types.db\""
	echo "Interval 1"
	echo "LoadPlugin redis"
	echo "<Plugin redis>"
	for i in $(seq 0 $((N - 1))); do
		echo "  <Node \"r$((i + 1))\">"
		echo "    Host \"127.0.0.1\""
		echo "    Port \"${rports[i]}\""
		echo "    Timeout 2000"
		echo "  </Node>"
	done
	echo "</Plugin>"
} > "$cd_dir/collectd.conf"
"$COLLECTD" -C "$cd_dir/collectd.conf" -t || exit 1
echo "# collectd: $COLLECTD -C $cd_dir/collectd.conf -f   (the file: Interval 1," \
    "LoadPlugin redis, <Node> Host 127.0.0.1 Port P Timeout 2000 x$N)"
bench_start collectd "$COLLECTD" -C "$cd_dir/collectd.conf" -f
cdpid=$BENCH_PID
measure collectd "$cdpid"
bench_stop "$cdpid" 10

# ---- the table ---------------------------------------------------------------
echo
echo "Cost of sampling $N redis-servers every 1 s (CPU over $SECS s; Redis columns summed over the $N):"
printf '%s\n' "${ROWS[@]}" | awk -F'|' -v n="$N" '
	function mb(kb) { return sprintf("%.1f MB", kb / 1024) }
	{
		split($6, r, " ")
		name[NR] = $1; cpu[NR] = $2; rss[NR] = $3; hwm[NR] = $4; el = $5
		row[NR] = sprintf("%-20s %7.3f%% %9s %9s %8.1f %9.1f %9.0f %8.1f %7.2f",
		    $1, $2, mb($3), mb($4), r[1] / el, r[1] ? r[2] / r[1] : 0,
		    r[4] / el, r[3] / el, r[5] / el)
		if ($1 == "ccagent") a = NR
		if ($1 == "redis_exporter") e = NR
		if ($1 ~ /^redis_exporter x/) e16 = NR
		if ($1 == "collectd") c = NR
	}
	END {
		printf "%-20s %8s %9s %9s %8s %9s %9s %8s %7s\n", "tool", "CPU", "VmRSS",
		    "VmHWM", "INFO/s", "us/INFO", "redis us/s", "cmds/s", "conns/s"
		for (i = 1; i <= NR; i++)
			print row[i]
		print ""
		if (a && e)
			printf "ccagent / redis_exporter:     CPU %.3f, RSS %.2f\n",
			    cpu[a] / cpu[e], rss[a] / rss[e]
		if (a && e16)
			printf "ccagent / redis_exporter x%d: CPU %.3f, RSS %.2f\n",
			    n, cpu[a] / cpu[e16], rss[a] / rss[e16]
		if (a && c)
			printf "ccagent / collectd:           CPU %.3f, RSS %.2f\n",
			    cpu[a] / cpu[c], rss[a] / rss[c]
		if (a && e) {
			printf "goal: ccagent CPU <= 1/4 of redis_exporter: %s (%.3f%% vs %.3f%%)\n",
			    (cpu[a] <= cpu[e] / 4 ? "met" : "MISSED"), cpu[a], cpu[e]
			printf "goal: ccagent RSS < 10 MB: %s (VmRSS %s, VmHWM %s)\n",
			    (hwm[a] < 10240 && rss[a] < 10240 ? "met" : "MISSED"),
			    mb(rss[a]), mb(hwm[a])
		}
	}'
echo "(CPU: utime+stime over the window as % of one core; us/INFO: Redis's own"
echo " usec_per_call of INFO; redis us/s: main-thread usec of all commands per"
echo " second; conns/s: connections accepted per second, all $N together)"

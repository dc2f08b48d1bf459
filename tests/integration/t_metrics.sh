#!/bin/bash
# t_metrics.sh: redis + ccagent + ccmonitor.  /metrics shows redis_up 1 and
# passes promtool; redis_connected_clients follows clients as they connect and
# go; the JSON API lists the instance and its series; bad query parameters get
# 400 with a JSON error and an unknown instance 404.
[ -z "${BASH_VERSION:-}" ] && exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
itest_init redis-server redis-cli curl jq promtool

alloc_ports 4
P_R1=${PORTS[0]} P_MON=${PORTS[1]} P_HTTP=${PORTS[2]} P_AG=${PORTS[3]}

start_redis r1 "$P_R1"
start_monitor mon --port "$P_MON" --http-port "$P_HTTP" --data-dir "$T/mdata" \
    --save-interval 2s
start_agent agent --port "$P_AG" --monitor "127.0.0.1:$P_MON" \
    --spool-dir "$T/spool" --state-dir "$T/state" --sample-interval 1s \
    --sample-timeout 500ms --host-name h1 --watch r1 "127.0.0.1:$P_R1" \
    --hotkeys-budget 0
# (No hot-key sampling: its MONITOR connection comes and goes, and this
# test counts r1's clients exactly.)

UP='redis_up{instance="r1",host="h1"}'
CC='redis_connected_clients{instance="r1",host="h1"}'

wait_for 15 "$UP is 1 on /metrics" 'num_eq "$(prom_value $P_HTTP "$UP")" 1'
grep -F "$UP" <(http_get "$P_HTTP" /metrics)

# --- promtool on the whole exposition ------------------------------------
http_get "$P_HTTP" /metrics >"$T/metrics.txt"
say "/metrics: $(wc -l <"$T/metrics.txt") lines, $(grep -vc '^#' "$T/metrics.txt") samples"
check "/metrics has redis_connected_clients for r1" grep -qF "$CC " "$T/metrics.txt"
check "/metrics has ccnode_agent_connected{host=\"h1\"} 1" \
    grep -qxF 'ccnode_agent_connected{host="h1"} 1' "$T/metrics.txt"
for m in redis_memory_used_bytes redis_commands_processed_total \
    ccnode_agent_spool_reports ccnode_agent_dropped_reports_total; do
	check "/metrics has $m" grep -q "^$m{" "$T/metrics.txt"
done
promtool check metrics <"$T/metrics.txt" >"$T/promtool.out" 2>&1
prc=$?
cat "$T/promtool.out"
check "promtool check metrics passes (status $prc)" test "$prc" = 0

# --- redis_connected_clients follows the clients -----------------------------
# Baseline: the agent's and the monitor's probe connections (and nothing
# else) once they are steady.
wait_for 10 "the monitor's probe of r1 answers" \
    'test "$(instance_field $P_HTTP r1 .probe.result)" = ok'
wait_for 10 "$CC settles at the number of clients redis reports minus redis-cli" \
    'c=$(prom_value $P_HTTP "$CC"); r=$(redis-cli -p $P_R1 info clients | tr -d "\r" | sed -n "s/^connected_clients://p"); [ -n "$c" ] && [ "$c" = $((r - 1)) ]'
C0=$(prom_value "$P_HTTP" "$CC")
say "baseline $CC = $C0"

N=5
declare -a FDS=()
for ((i = 0; i < N; i++)); do
	exec {fd}<>"/dev/tcp/127.0.0.1/$P_R1" || fail "cannot connect to redis"
	FDS+=("$fd")
done
say "opened $N idle client connections to r1 (fds ${FDS[*]})"
wait_for 10 "$CC rises to $((C0 + N))" \
    'v=$(prom_value $P_HTTP "$CC"); say "  $CC = $v"; num_eq "$v" $((C0 + N))'

for fd in "${FDS[@]}"; do exec {fd}>&-; done
say "closed them"
wait_for 10 "$CC falls back to $C0" \
    'v=$(prom_value $P_HTTP "$CC"); say "  $CC = $v"; num_eq "$v" $C0'

# --- JSON API -----------------------------------------------------------------
http_get "$P_HTTP" /api/v1/instances >"$T/instances.json"
jq -c '.items[] | {name, host, port, state}' "$T/instances.json"
check "/api/v1/instances lists r1 on h1, port $P_R1, state up" \
    jqt "$T/instances.json" --argjson p "$P_R1" \
    '.items | map(select(.name == "r1" and .host == "h1" and .port == $p and .state == "up")) | length == 1'

SERIES="/api/v1/instances/r1/series?metric=redis_connected_clients"
wait_for 20 "$SERIES returns items" \
    'n=$(http_get $P_HTTP "$SERIES" | jq ".items | length"); say "  items: $n"; num_ge "$n" 1'
http_get "$P_HTTP" "$SERIES" | jq -c '{metric, step, items: .items[-3:]}'
code=$(http_status "$P_HTTP" "$SERIES&step=1m" "$T/body")
check "series with step=1m answers 200 (got $code)" test "$code" = 200
check "series items are {time, value}" \
    jqt "$T/body" '.items | all(has("time") and has("value"))'

# Bad parameters: 400 with {"error": "..."}.
bad_param() {	# path expected-code
	local code
	code=$(http_status "$P_HTTP" "$1" "$T/body")
	say "GET $1 -> $code $(head -c 200 "$T/body")"
	expect "GET $1 answers $2" test "$code" = "$2"
	expect "GET $1 body is JSON with an error string" \
	    jqt "$T/body" '.error | type == "string" and length > 0'
}
bad_param "/api/v1/instances/r1/series?metric=nope" 400
bad_param "/api/v1/instances/r1/series?metric=redis_connected_clients&step=7s" 400
bad_param "/api/v1/instances/r1/series?metric=redis_connected_clients&from=junk" 400
bad_param "/api/v1/instances/r1/series?metric=redis_connected_clients&to=junk" 400
bad_param "/api/v1/instances/r1/series?metric=redis_connected_clients&bogus=1" 400
bad_param "/api/v1/instances/r1/series" 400
bad_param "/api/v1/instances/nosuch/series?metric=redis_connected_clients" 404

# The daemons still serve after all that.
check "redis_up still 1" num_eq "$(prom_value "$P_HTTP" "$UP")" 1
pass

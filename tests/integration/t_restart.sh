#!/bin/bash
# t_restart.sh: a monitor restart loses no sequence number.  The agent reports
# every 1 s to a monitor saving every 2 s; the monitor is (a) stopped with
# SIGTERM and started again, (b) SIGKILLed between saves and started again.
# At the end every sequence number is stored exactly once (reports ==
# last_seq, missing == 0), the history from before the restarts is still
# there, and the agent's spool drained.
[ -z "${BASH_VERSION:-}" ] && exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
itest_init redis-server redis-cli curl jq

alloc_ports 4
P_R1=${PORTS[0]} P_MON=${PORTS[1]} P_HTTP=${PORTS[2]} P_AG=${PORTS[3]}
MON_ARGS=(--port "$P_MON" --http-port "$P_HTTP" --data-dir "$T/mdata"
    --save-interval 2s)

start_redis r1 "$P_R1"
start_monitor mon "${MON_ARGS[@]}"
start_agent agent --port "$P_AG" --monitor "127.0.0.1:$P_MON" \
    --spool-dir "$T/spool" --state-dir "$T/state" --sample-interval 1s \
    --sample-timeout 500ms --host-name h1 --watch r1 "127.0.0.1:$P_R1"

agent_seq() { agent_host_field "$P_AG" last_seq; }
agent_spool() { agent_host_field "$P_AG" spool_reports; }
mon_seq() { machine_field "$P_HTTP" h1 .agent.last_seq; }
show_machine() {
	http_get "$P_HTTP" /api/v1/machines |
	    jq -c '.items[] | select(.host == "h1") | .agent | {connected, reports, last_seq, durable_seq, missing, duplicates, spool_reports, dropped_reports}'
}
show_agent() {
	ctl -a "127.0.0.1:$P_AG" host --json |
	    jq -c '{monitor_connected, last_seq, acked_seq, spool_reports, dropped_reports}'
}
SERIES="/api/v1/instances/r1/series?metric=redis_connected_clients&step=5s"

wait_for 15 "monitor has at least 3 reports from h1" \
    'num_ge "$(machine_field $P_HTTP h1 .agent.reports)" 3'
wait_for 20 "the redis_connected_clients series of r1 has a point" \
    'num_ge "$(http_get $P_HTTP "$SERIES" | jq ".items | length")" 1'
show_machine
show_agent
FIRST_POINT=$(http_get "$P_HTTP" "$SERIES" | jq '.items[0].time')
say "first point of the series before any restart: time $FIRST_POINT"

# --- (a) SIGTERM, down for a while, start again on the same data-dir --------------
T_STOP1=$(date +%s)
SEQ_STOP1=$(agent_seq)
say "(a) SIGTERM the monitor; agent last_seq=$SEQ_STOP1"
stop_daemon mon || fail "monitor did not shut down cleanly on SIGTERM"
check "monitor saved its history at shutdown" test -s "$(ls -d "$T"/mdata/* | head -1)"
wait_for 15 "monitor down for 3 sample intervals: agent last_seq >= $((SEQ_STOP1 + 3)), spool_reports >= 3" \
    'j=$(ctl -a 127.0.0.1:$P_AG host --json); say "  agent last_seq=$(jq .last_seq <<<"$j") spool_reports=$(jq .spool_reports <<<"$j")"; num_ge "$(jq .last_seq <<<"$j")" $((SEQ_STOP1 + 3)) && num_ge "$(jq .spool_reports <<<"$j")" 3'
SPOOL_PEAK1=$(agent_spool)
SEQ_DOWN1=$(agent_seq)
start_monitor mon "${MON_ARGS[@]}"
wait_for 20 "monitor catches up past seq $SEQ_DOWN1 after the SIGTERM restart" \
    'num_ge "$(mon_seq)" $SEQ_DOWN1'
show_machine
wait_for 15 "agent spool drains back from $SPOOL_PEAK1 to at most 3 reports, all up to seq $SEQ_DOWN1 acknowledged" \
    'j=$(ctl -a 127.0.0.1:$P_AG host --json); v=$(jq .spool_reports <<<"$j"); say "  agent spool_reports=$v acked_seq=$(jq .acked_seq <<<"$j")"; [ -n "$v" ] && [ "$v" -le 3 ] && num_ge "$(jq .acked_seq <<<"$j")" $SEQ_DOWN1'

# --- (b) SIGKILL between saves ---------------------------------------------------------
# Wait for a save, then for a report stored after it: that report is only in
# the killed monitor's memory, and the agent must resend it.
LS=$(ctl -m "127.0.0.1:$P_HTTP" monitor status --json | jq -r .last_save)
wait_for 10 "monitor saves again (last_save was $LS)" \
    'l=$(ctl -m "127.0.0.1:$P_HTTP" monitor status --json | jq -r .last_save); [ "$l" != "$LS" ]'
R0=$(mon_seq)
wait_for 5 "one more report after that save (monitor last_seq > $R0)" \
    'num_gt "$(mon_seq)" $R0'
SEQ_KILL=$(mon_seq)
say "(b) SIGKILL the monitor; monitor last_seq=$SEQ_KILL, agent: $(show_agent)"
kill_daemon mon KILL
wait_for 15 "monitor dead for 3 sample intervals: agent last_seq >= $((SEQ_KILL + 3)), spool_reports >= 3" \
    'j=$(ctl -a 127.0.0.1:$P_AG host --json); say "  agent last_seq=$(jq .last_seq <<<"$j") spool_reports=$(jq .spool_reports <<<"$j")"; num_ge "$(jq .last_seq <<<"$j")" $((SEQ_KILL + 3)) && num_ge "$(jq .spool_reports <<<"$j")" 3'
SEQ_DOWN2=$(agent_seq)
start_monitor mon "${MON_ARGS[@]}"
wait_for 20 "monitor catches up past seq $SEQ_DOWN2 after the SIGKILL restart" \
    'num_ge "$(mon_seq)" $SEQ_DOWN2'
wait_for 15 "agent spool drains back to at most 3 reports, all up to seq $SEQ_DOWN2 acknowledged" \
    'j=$(ctl -a 127.0.0.1:$P_AG host --json); v=$(jq .spool_reports <<<"$j"); say "  agent spool_reports=$v acked_seq=$(jq .acked_seq <<<"$j")"; [ -n "$v" ] && [ "$v" -le 3 ] && num_ge "$(jq .acked_seq <<<"$j")" $SEQ_DOWN2'

# A couple more reports on the new link.
S=$(mon_seq)
wait_for 10 "reports keep flowing (monitor last_seq > $S)" 'num_gt "$(mon_seq)" $((S + 1))'

# --- verdict ---------------------------------------------------------------------------------
http_get "$P_HTTP" /api/v1/machines >"$T/machines.json"
jq -c '.items[] | select(.host == "h1") | .agent' "$T/machines.json"
A=$(jq -c '.items[] | select(.host == "h1") | .agent' "$T/machines.json")
REPORTS=$(jq -r .reports <<<"$A")
LAST=$(jq -r .last_seq <<<"$A")
MISSING=$(jq -r .missing <<<"$A")
say "monitor: reports=$REPORTS last_seq=$LAST missing=$MISSING; agent last_seq=$(agent_seq)"
expect "every sequence number stored exactly once: reports ($REPORTS) == last_seq ($LAST)" \
    num_eq "$REPORTS" "$LAST"
expect "no sequence number missing (missing=$MISSING)" num_eq "$MISSING" 0
expect "last_seq ($LAST) advanced past both outages (> $SEQ_DOWN2)" num_gt "$LAST" "$SEQ_DOWN2"
expect "monitor counts no missing reports on /metrics" \
    num_eq "$(prom_value "$P_HTTP" 'ccnode_agent_missing_reports_total{host="h1"}')" 0

http_get "$P_HTTP" "$SERIES&from=$((FIRST_POINT - 60))" >"$T/series.json"
say "series: $(jq -c '[.items[] | .time] | {n: length, first: .[0], last: .[-1]}' "$T/series.json")"
expect "series still has the point from before the first restart (time $FIRST_POINT <= $T_STOP1)" \
    jqt "$T/series.json" --argjson t "$FIRST_POINT" '.items | map(select(.time == $t)) | length == 1'
expect "series has points from before the first restart and after the second" \
    jqt "$T/series.json" --argjson a "$T_STOP1" --argjson b "$(date +%s)" \
    '(.items | map(.time) | min) < $a and (.items | map(.time) | max) > $a'
pass

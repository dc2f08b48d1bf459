#!/bin/bash
# t_spool.sh: an agent with no monitor spools its reports; past
# spool-max-size (1mb, the minimum) the oldest are dropped and counted; the
# spool survives an agent restart (SIGTERM); when a monitor comes, the agent
# delivers the rest: every sequence number is either stored at the monitor
# or counted as dropped by the agent, and the spool drains.
[ -z "${BASH_VERSION:-}" ] && exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
itest_init redis-server redis-cli curl jq

alloc_ports 4
P_R1=${PORTS[0]} P_MON=${PORTS[1]} P_HTTP=${PORTS[2]} P_AG=${PORTS[3]}
MAX=$((1024 * 1024))

start_redis r1 "$P_R1"
# Thirty watches of the same redis make a report of about 15 KB, so 1 MB of
# spool fills in a few seconds at 10 reports a second.
WATCHES=()
for i in $(seq -w 1 30); do WATCHES+=(--watch "w$i" "127.0.0.1:$P_R1"); done
AGENT_ARGS=(--port "$P_AG" --monitor "127.0.0.1:$P_MON" --spool-dir "$T/spool"
    --state-dir "$T/state" --sample-interval 100ms --sample-timeout 50ms
    --spool-max-size 1mb --host-name h1 "${WATCHES[@]}")
check "nothing listens on the monitor port $P_MON" not port_listening "$P_MON"
start_agent agent "${AGENT_ARGS[@]}"

host_json() { ctl -a "127.0.0.1:$P_AG" host --json; }
show() { host_json | jq -c '{monitor_connected, last_seq, acked_seq, spool_reports, spool_bytes, dropped_reports}'; }
field() { host_json | jq -r ".$1"; }

# --- reports pile up, then the oldest are dropped ------------------------------------------------
wait_for 10 "spool_reports reaches 5" 'v=$(field spool_reports); num_ge "$v" 5'
S1=$(field spool_reports)
wait_for 10 "spool_reports keeps rising past $S1" 'num_gt "$(field spool_reports)" $((S1 + 5))'
show
over=0
wait_for 40 "the spool is full and drops the oldest (dropped_reports > 0)" \
    'j=$(host_json); say "  $(jq -c "{spool_reports, spool_bytes, dropped_reports, last_seq}" <<<"$j")"; b=$(jq .spool_bytes <<<"$j"); [ "$b" -le $MAX ] || over=$b; num_gt "$(jq .dropped_reports <<<"$j")" 0'
check "spool_bytes never went past spool-max-size ($MAX)${over:+ (saw $over)}" test "$over" = 0
D0=$(field dropped_reports)
wait_for 10 "more are dropped as new reports come (dropped_reports > $D0)" \
    'num_gt "$(field dropped_reports)" $D0'
J=$(host_json)
say "full spool: $(jq -c '{spool_reports, spool_bytes, dropped_reports, last_seq}' <<<"$J")"
check "spool_bytes <= $MAX" test "$(jq .spool_bytes <<<"$J")" -le "$MAX"
check "the spool still holds reports" num_gt "$(jq .spool_reports <<<"$J")" 10
check "spool_reports + dropped_reports == last_seq (nothing acknowledged yet)" \
    test "$(jq '.spool_reports + .dropped_reports' <<<"$J")" = "$(jq .last_seq <<<"$J")"
check "the agent logs the drops" log_has agent 'spool full.*dropped'

# --- restart the agent while the monitor is still away ----------------------------------------------------
stop_daemon agent || fail "the agent did not stop cleanly"
cat "$T/spool/spool.state" 2>/dev/null | tr '\n' ' '; echo
SPOOLED=$(du -sb "$T/spool" | cut -f1)
say "spool dir after the stop: $SPOOLED bytes: $(ls "$T/spool" | tr '\n' ' ')"
check "the spool is on disk after SIGTERM" test "$SPOOLED" -gt $((MAX / 2))
L1=$(jq .last_seq <<<"$J")
D1=$(jq .dropped_reports <<<"$J")
start_agent agent "${AGENT_ARGS[@]}"
J=$(host_json)
say "after the restart: $(jq -c '{spool_reports, spool_bytes, dropped_reports, last_seq}' <<<"$J")"
check "last_seq continues (>= $L1) after the restart" num_ge "$(jq .last_seq <<<"$J")" "$L1"
check "dropped_reports is kept (>= $D1) across the restart" num_ge "$(jq .dropped_reports <<<"$J")" "$D1"
check "the spooled reports are back (spool_reports >= 10)" num_ge "$(jq .spool_reports <<<"$J")" 10
expect "spool_reports + dropped_reports == last_seq after the restart (no drop counted twice)" \
    test "$(jq '.spool_reports + .dropped_reports' <<<"$J")" = "$(jq .last_seq <<<"$J")"
P_SPOOL=$(jq .spool_reports <<<"$J")

# --- the monitor comes: the agent delivers the rest --------------------------------------------------------
start_monitor mon --port "$P_MON" --http-port "$P_HTTP" --data-dir "$T/mdata" \
    --save-interval 1s
L2=$(field last_seq)
wait_for 30 "the monitor catches up past seq $L2" \
    'v=$(machine_field $P_HTTP h1 .agent.last_seq); say "  monitor last_seq=$v"; num_ge "$v" $L2'
wait_for 20 "the agent's spool drains (acked_seq >= $L2, spool_reports <= 30, was $P_SPOOL)" \
    'j=$(host_json); say "  $(jq -c "{acked_seq, spool_reports, spool_bytes}" <<<"$j")"; num_ge "$(jq .acked_seq <<<"$j")" $L2 && [ "$(jq .spool_reports <<<"$j")" -le 30 ]'

# One consistent view: stop the agent, so nothing moves any more.
stop_daemon agent || fail "the agent did not stop cleanly"
DFINAL=$(sed -n 's/^dropped //p' "$T/spool/spool.state")
LFINAL=$(( $(sed -n 's/^next-seq //p' "$T/spool/spool.state") - 1 ))
wait_for 10 "the monitor sees the agent gone" \
    '[ "$(machine_field $P_HTTP h1 .agent.connected)" = false ]'
http_get "$P_HTTP" /api/v1/machines >"$T/machines.json"
A=$(jq -c '.items[] | select(.host == "h1") | .agent' "$T/machines.json")
say "monitor: $A"
say "agent (spool.state): last seq $LFINAL, dropped $DFINAL"
R=$(jq .reports <<<"$A"); MI=$(jq .missing <<<"$A"); L=$(jq .last_seq <<<"$A")
expect "monitor last_seq ($L) == the agent's last seq ($LFINAL)" test "$L" = "$LFINAL"
expect "monitor missing ($MI) == reports the agent dropped ($DFINAL)" test "$MI" = "$DFINAL"
expect "monitor reports + missing ($R + $MI) == last_seq ($L): no other gap" \
    test $((R + MI)) = "$L"
expect "the monitor shows the agent's dropped count ($(jq .dropped_reports <<<"$A") == $DFINAL)" \
    test "$(jq .dropped_reports <<<"$A")" = "$DFINAL"
expect "/metrics: ccnode_agent_missing_reports_total == $DFINAL" \
    num_eq "$(prom_value "$P_HTTP" 'ccnode_agent_missing_reports_total{host="h1"}')" "$DFINAL"
expect "/metrics: ccnode_agent_dropped_reports_total == $DFINAL" \
    num_eq "$(prom_value "$P_HTTP" 'ccnode_agent_dropped_reports_total{host="h1"}')" "$DFINAL"
pass

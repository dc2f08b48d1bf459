#!/bin/bash
# t_proxy.sh: the health of an interface process (nutcracker) takes in its
# backends.  twemproxy answers PING itself even with every backend dead, so
# the monitor's PING alone would call it up.  The agent reads the proxy's
# stats port each round; when every backend's errors rise, the monitor's
# probe of the proxy fails (cause error), and it recovers with its backend.
#  - px1 in front of r1: up, backends total 1, failing 0, on the API and
#    /metrics.
#  - r1 stopped on purpose, clients still sending through px1: px1 goes
#    down, cause error, "all 1 backends failing"; the control center hears.
#    r1 itself is unknown, not down: nobody is told of a stop they asked for,
#    not even after a monitor restart.
#  - r1 started again: px1 recovers (instance_up).
[ -z "${BASH_VERSION:-}" ] && exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
sup_init redis-server redis-cli nutcracker curl jq promtool

[ -x "${HTTP_SINK:-}" ] || skip "http_sink is not built"
alloc_ports 7
P_MON=${PORTS[0]} P_HTTP=${PORTS[1]} P_AG=${PORTS[2]} P_R1=${PORTS[3]}
P_PX=${PORTS[4]} P_PXS=${PORTS[5]} P_CC=${PORTS[6]}
SUP_MONITOR=127.0.0.1:$P_MON

start_helper cc "$HTTP_SINK" -p "$P_CC" -o "$T/cc.txt"
wait_for 10 "the control-center sink listens" "port_listening $P_CC"
start_monitor mon --port "$P_MON" --http-port "$P_HTTP" --data-dir "$T/mdata" \
    --probe-interval 300ms --probe-timeout 200ms --probe-failures 3 \
    --control-center-url "http://127.0.0.1:$P_CC/events"
SUP_HOST=h1 sup_agent ag "$P_AG" "$T/ag" --sample-interval 1s

check "start r1" ictl "$P_AG" instance start r1 --kind redis --port "$P_R1"
check "start px1 in front of r1" ictl "$P_AG" instance start px1 \
    --kind interface --port "$P_PX" --param "servers=127.0.0.1:$P_R1" \
    --param "stats-port=$P_PXS"
wait_for 15 "px1 is up, with 1 backend read from its stats port" \
    '[ "$(instance_field $P_HTTP px1 ".state + \" \" + (.backends.total|tostring)")" = "up 1" ]'
check "... none failing" test "$(instance_field "$P_HTTP" px1 .backends.failing)" = 0
check "/metrics has ccnode_proxy_backends for px1" \
    num_eq "$(prom_value "$P_HTTP" 'ccnode_proxy_backends{instance="px1",host="h1"}')" 1

# Traffic through the proxy: errors rise only when requests reach a backend.
start_helper load bash -c "while :; do redis-cli -p $P_PX get k >/dev/null 2>&1; sleep 0.1; done"

check "stop r1 (on purpose: the agent does not restart it)" \
    ictl "$P_AG" instance stop r1
t0=$(now_ms)
wait_for 20 "px1 is down, cause error, every backend failing" \
    '[ "$(instance_field $P_HTTP px1 ".state + \" \" + .cause")" = "down error" ]'
say "px1 down $(( $(now_ms) - t0 )) ms after r1 stopped"
instance_field "$P_HTTP" px1 '{state, cause, probe, backends}' | jq -c .
check "the probe error names the backends" \
    grep -q 'all 1 backends failing' <<<"$(instance_field "$P_HTTP" px1 .probe.error)"
# r1 itself was stopped on purpose: not a failure.
check "r1, stopped on purpose, is unknown, not down" \
    test "$(instance_field "$P_HTTP" r1 .state)" = unknown
check "... and the control center heard nothing of r1 going down" \
    eval '! grep "\"instance\":\"r1\"" "$T/cc.txt" | grep -q "instance_down\|instance_suspect"'
# A monitor restart forgets the agent's stop event, but the agent no longer
# reports r1: still not probed, still no verdict.
MON_ARGS=(--port "$P_MON" --http-port "$P_HTTP" --data-dir "$T/mdata"
    --probe-interval 300ms --probe-timeout 200ms --probe-failures 3
    --control-center-url "http://127.0.0.1:$P_CC/events")
stop_daemon mon
start_monitor mon "${MON_ARGS[@]}"
wait_for 15 "the restarted monitor hears from the agent again (px1 known)" \
    '[ -n "$(instance_field $P_HTTP px1 .state)" ]'
sleep 3
check "after the restart r1 is still not down ($(instance_field "$P_HTTP" r1 .state))" \
    test "$(instance_field "$P_HTTP" r1 .state)" != down
check "... and still nothing of r1 at the control center" \
    eval '! grep "\"instance\":\"r1\"" "$T/cc.txt" | grep -q "instance_down\|instance_suspect"'
wait_for 20 "px1 is down again after the restart (its backend is still gone)" \
    '[ "$(instance_field $P_HTTP px1 ".state + \" \" + .cause")" = "down error" ]'
check "PING through px1 still answers (twemproxy answers it itself)" \
    test "$(redis-cli -p "$P_PX" ping)" = PONG
wait_for 10 "the control center got instance_down for px1, cause error" \
    'grep "\"instance_down\"" "$T/cc.txt" | grep -q "\"instance\":\"px1\".*\"cause\":\"error\""'

check "start r1 again" ictl "$P_AG" instance start r1 --kind redis --port "$P_R1"
wait_for 20 "px1 recovers" \
    '[ "$(instance_field $P_HTTP px1 ".state + \" \" + .cause")" = "up recovered" ]'
wait_for 10 "the control center got instance_up for px1" \
    'grep "\"instance_up\"" "$T/cc.txt" | grep -q "\"instance\":\"px1\""'
check "promtool check metrics passes" \
    eval 'http_get "$P_HTTP" /metrics | promtool check metrics'
pass

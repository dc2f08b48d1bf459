#!/bin/bash
# t_analytics_faults: analytics under faults (issue 5):
#  - a redis with MONITOR, SLOWLOG and LATENCY renamed away: each of those
#    sources is marked unavailable with the server's reason, and top commands
#    go on (from commandstats, marked as such);
#  - the hot-key sampler's MONITOR connection is killed mid-window: the
#    next window opens a new one;
#  - the instance restarts in the middle of a big-key scan: the scan starts
#    over on the new server and its result, complete, counts every key once;
#  - keys that expire while the scan runs do not stop it;
#  - keys gone between SCAN and TYPE are counted as vanished and left out.
[ -z "${BASH_VERSION:-}" ] && exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
sup_init redis-server redis-cli redis-benchmark curl jq

alloc_ports 5
P_MON=${PORTS[0]} P_HTTP=${PORTS[1]} P_AG=${PORTS[2]} P_R1=${PORTS[3]}
P_W=${PORTS[4]}
SUP_MONITOR=127.0.0.1:$P_MON
api() { http_get "$P_HTTP" "/api/v1/instances/$1/$2"; }

start_redis w1 "$P_W" --rename-command MONITOR "" --rename-command SLOWLOG "" \
    --rename-command LATENCY ""
start_monitor mon --port "$P_MON" --http-port "$P_HTTP" --data-dir "$T/mdata" \
    --probe-interval 5s --probe-timeout 1s
SUP_HOST=h1 sup_agent ag "$P_AG" "$T/ag" --watch w1 "127.0.0.1:$P_W" \
    --bigkey-scan-window off --bigkey-scan-rate 20000 --hotkeys-budget 20

# ---- renamed commands ------------------------------------------------------------
wait_for 20 "w1: MONITOR, SLOWLOG and LATENCY are marked unavailable, with reasons" \
    '[ "$(instance_field $P_HTTP w1 "[.analytics.unavailable[]? | select(.reason | length > 0) | .source] | sort | join(\",\")")" = "latency-histogram,monitor,slowlog" ]'
instance_field "$P_HTTP" w1 .analytics | jq -c .
for i in $(seq 1 50); do printf 'SET k%d v\r\n' "$i"; done |
    redis-cli -p "$P_W" --pipe >/dev/null 2>&1
wait_for 15 "w1: top commands go on, set with 50 calls" \
    '[ "$(api w1 "top-commands?span=30m" | jq -r "[.items[] | select(.cmd == \"set\")][0].count")" = 50 ]'
api w1 'latency-dist?span=30m' | jq -c .
check "w1: the latency comes from commandstats means, and says so" \
    test "$(api w1 'latency-dist?span=30m' | jq -r .source)" = commandstats-mean
check "the agent logged hot keys unavailable once, not every window" \
    test "$(grep -c 'hot keys unavailable' "$T/ag.log")" = 1

# ---- KillAllConnections and the MONITOR connection --------------------------------
check "start r1 with an append-only file" ictl "$P_AG" instance start r1 \
    --kind redis --port "$P_R1" --param appendonly=yes
start_helper hot redis-benchmark -p "$P_R1" -t get -n 100000000 -c 1 -q
wait_for 30 "r1: a hot-key window is in" \
    '[ "$(api r1 "hotkeys?span=realtime" | jq -r ".items[0].key")" = "key:__rand_int__" ]'
# KillAllConnections spares the agent's own user, so kill the MONITOR
# connection by its id, while a window has it open.
hk_id() {
	acli "$T/ag/state" r1 "$P_R1" client list |
	    awk '/name=ccagent-hotkeys/ { sub("id=", "", $1); print $1; exit }'
}
t_kill=$(date +%s)
kill_hk() {	# kills the MONITOR connection if a window has it open now
	local id
	id=$(hk_id)
	[ -n "$id" ] && [ "$(acli "$T/ag/state" r1 "$P_R1" client kill id "$id")" = 1 ]
}
wait_for 30 "the MONITOR connection is killed mid-window" kill_hk
stop_daemon hot
start_helper hot2 redis-benchmark -p "$P_R1" -t set -n 100000000 -c 1 -q
window_after() {	# UNIX-SECONDS: the realtime window began later, and saw the load
	api r1 "hotkeys?span=realtime" | jqe --argjson t "$1" \
	    '(.from | sub("\\.[0-9]+Z$"; "Z") | fromdateiso8601) > $t and .lines > 0 and
	    .items[0].key == "key:__rand_int__"' >/dev/null
}
wait_for 30 "r1: a later window, through a new MONITOR connection, saw the load" \
    "window_after $t_kill"
stop_daemon hot2

# ---- restart in the middle of a scan ---------------------------------------------
acli "$T/ag/state" r1 "$P_R1" eval "for i=1,100000 do redis.call('set','k:'..i,'v') end return 1" 0 >/dev/null
acli "$T/ag/state" r1 "$P_R1" eval "for i=1,30000 do redis.call('set','e:'..i,'v','PX',500 + i % 4000) end return 1" 0 >/dev/null
nkeys=$(acli "$T/ag/state" r1 "$P_R1" dbsize)
say "r1 holds $nkeys keys, 30000 of them expiring within 4.5 s"
check "analyze r1 (20,000 keys/s: about 6 s)" ictl "$P_AG" instance analyze r1
sleep 2
check "restart r1 in the middle of the scan" ictl "$P_AG" instance restart r1
wait_for 60 "the scan ends, complete, after starting over on the new server" \
    '[ "$(api r1 bigkeys | jq -r "select(.complete == true) | .restarts")" -ge 1 ] 2>/dev/null'
api r1 bigkeys | jq -c '{complete, keys, vanished, restarts, reason}'
check "it counted the 100,000 lasting keys once each (no mix of two servers)" \
    jqt <(api r1 bigkeys/type-dist) '[.items[] | select(.type == "string")][0].count >= 100000 and
    [.items[] | select(.type == "string")][0].count <= 130000'
check "acli sees r1 restarted with its keys (the append-only file)" \
    num_ge "$(acli "$T/ag/state" r1 "$P_R1" dbsize)" 100000

# ---- keys that vanish between SCAN and TYPE --------------------------------------
# Keys that live 20 ms, set all the time: some of those a SCAN returns are
# gone when TYPE, MEMORY USAGE or the length asks for them.  About (sets
# per second) x (the time from SCAN to the last length command) of them:
# pipelined, to make that dozens rather than a handful.
start_helper churn redis-benchmark -p "$P_R1" -r 1000000 -n 1000000000 -c 2 -P 16 \
    set 'c:__rand_int__' v px 20
churning() {	# r1 holds keys with a TTL: the churn's (the e: keys are gone)
	num_gt "$(acli "$T/ag/state" r1 "$P_R1" info keyspace |
	    sed -n 's/^db0:.*expires=\([0-9]*\).*/\1/p')" 0
}
wait_for 15 "short-lived keys come and go in r1" churning
started=$(api r1 bigkeys | jq -r .started)
check "analyze r1 again, under the churn" ictl "$P_AG" instance analyze r1
new_scan() {
	api r1 bigkeys >"$T/churn.json" &&
	    jqt "$T/churn.json" --arg s "$started" '.started != $s and .complete == true'
}
wait_for 60 "the new scan ends, complete" new_scan
stop_daemon churn
jq -c '{complete, keys, vanished, restarts, reason}' "$T/churn.json"
check "keys gone between SCAN and TYPE are counted as vanished" \
    jqt "$T/churn.json" '.vanished > 0'
check "... and left out: the type distribution adds up to the keys the scan kept" \
    jqt <(api r1 bigkeys/type-dist) --slurpfile b "$T/churn.json" \
    '([.items[].count] | add) == $b[0].keys'
pass

#!/bin/bash
# t_analytics: the deep analytics of one watched redis, end to end through
# ccagent and ccmonitor's JSON API (issue 5):
#  - big keys: a 10 MB+ string, and a list, hash, set and zset of 20,000
#    elements come out of an Analyze scan with their type and size, while
#    200,000 small keys are listed as none of them; a key named with a
#    newline and invalid UTF-8 comes out escaped; type-dist and size-dist
#    count every key; top=N lists the largest per type.
#  - slowlog: three slow Lua scripts appear exactly once each, also after
#    the agent is killed and restarted.
#  - top commands: 3,000 INCR and 1,000 GET give that order and those counts;
#    the agent's own SCAN, TYPE, MEMORY USAGE, SLOWLOG and LATENCY calls are
#    not in the list.
#  - latency: the ladder is non-empty and its sizes add up to the calls.
#  - hot keys: the key that gets most reads comes first, marked estimate.
#  - ccctl monitor bigkeys|hotkeys|slowlog|top|latency print them.
[ -z "${BASH_VERSION:-}" ] && exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
sup_init redis-server redis-cli redis-benchmark curl jq

alloc_ports 4
P_MON=${PORTS[0]} P_HTTP=${PORTS[1]} P_AG=${PORTS[2]} P_R=${PORTS[3]}
SUP_MONITOR=127.0.0.1:$P_MON

start_redis r1 "$P_R" --slowlog-log-slower-than 1000000
rc() { timeout $((20 * TF)) redis-cli -p "$P_R" "$@"; }
api() { http_get "$P_HTTP" "/api/v1/instances/r1/$1"; }

# ---- the data set ------------------------------------------------------------
rc eval "for i=1,200000 do redis.call('set','small:'..i,'v') end return 1" 0 >/dev/null
rc eval "redis.call('setrange','big:string',10500000,'x') return 1" 0 >/dev/null
rc eval "for i=1,20000 do redis.call('rpush','big:list',i) end return 1" 0 >/dev/null
rc eval "for i=1,20000 do redis.call('hset','big:hash','f'..i,i) end return 1" 0 >/dev/null
rc eval "for i=1,20000 do redis.call('sadd','big:set',i) end return 1" 0 >/dev/null
rc eval "for i=1,20000 do redis.call('zadd','big:zset',i,i) end return 1" 0 >/dev/null
rc eval "redis.call('setrange','bin\n'..string.char(255)..'key',10500000,'y') return 1" 0 >/dev/null
check "the data set is loaded (200,006 keys)" \
    test "$(rc dbsize)" = 200006

start_monitor mon --port "$P_MON" --http-port "$P_HTTP" --data-dir "$T/mdata" \
    --probe-interval 5s --probe-timeout 1s
AG_ARGS=(--port "$P_AG" --state-dir "$T/ag/state" --spool-dir "$T/ag/spool"
    --log-dir "$T/ag/logs" --monitor "$SUP_MONITOR" --host-name h1
    --sample-interval 1s --sample-timeout 800ms --watch r1 "127.0.0.1:$P_R"
    --bigkey-scan-window off --bigkey-scan-rate 200000 --hotkeys-budget 20)
mkdir -p "$T/ag"
start_agent ag "${AG_ARGS[@]}"
wait_for 20 "the monitor knows r1" \
    '[ -n "$(instance_field $P_HTTP r1 .name)" ]'

# ---- big keys ------------------------------------------------------------------
check "ccctl instance analyze r1" ctl -a "127.0.0.1:$P_AG" instance analyze r1
wait_for 120 "the scan's result is at the monitor, complete" \
    '[ "$(api bigkeys | jq -r .complete)" = true ]'
api bigkeys >"$T/bigkeys.json"
jq -c '.items[] | {key, type, size, elements}' "$T/bigkeys.json"
check "six keys over the limits, no small key among them" \
    jqt "$T/bigkeys.json" '(.items | length) == 6 and
    ([.items[].key | select(startswith("small:"))] | length) == 0'
for t in list hash set zset; do
	check "big:$t is a $t of 20000 elements" jqt "$T/bigkeys.json" \
	    --arg k "big:$t" --arg t "$t" \
	    '.items[] | select(.key == $k) | .type == $t and .elements == 20000 and .size > 0'
done
check "big:string is a string of 10500001 bytes" jqt "$T/bigkeys.json" \
    '.items[] | select(.key == "big:string") | .type == "string" and .elements == 10500001 and .size >= 10500001'
check "the binary key name comes out escaped: newline, then \\xff" \
    jqt "$T/bigkeys.json" '[.items[].key] | index("bin\n\\xffkey") != null'
check "each item has db and updatetime" \
    jqt "$T/bigkeys.json" 'all(.items[]; .db == 0 and (.updatetime | test("^[0-9]{4}-")))'
check "type=string lists only strings" \
    jqt <(api 'bigkeys?type=string') '(.items | length) == 2 and all(.items[]; .type == "string")'
check "top=1 lists the largest of each type" \
    jqt <(api 'bigkeys?top=1') '(.items | length) == 5 and ([.items[] | select(.type == "string")][0].size >= 10500001)'
api bigkeys/type-dist >"$T/types.json"
jq -c '.items[]' "$T/types.json"
check "type-dist counts every key: 200,002 strings, one of each other type" \
    jqt "$T/types.json" '([.items[] | select(.type == "string")][0].count == 200002) and
    ([.items[] | select(.type == "list")][0].count == 1) and
    ([.items[].count] | add) == 200006'
check "size-dist adds up to every key" \
    jqt <(api bigkeys/size-dist) '([.items[].size] | add) == 200006'
check "date=YYYYMMDD answers the same scan" \
    jqt <(api "bigkeys?date=$(date +%Y%m%d)") '(.items | length) == 6'
check "a date with no scan answers no items" \
    jqt <(api 'bigkeys?date=20000101') '(.items | length) == 0'

# ---- slowlog -------------------------------------------------------------------
# Nothing is slow yet: the query has no entry to sort (UBSan once stopped
# the monitor on qsort(NULL, 0)).
check "an empty slowlog answers total 0 and no items" \
    jqt <(api "slowlog?min_us=20000") '.total == 0 and (.items | length) == 0'
rc config set slowlog-log-slower-than 20000 >/dev/null
for n in 1 2 3; do
	rc eval "local i=0 while i<4000000 do i=i+1 end return $n -- slow$n" 0 >/dev/null
done
wait_for 20 "three slow scripts are in the monitor's slowlog" \
    '[ "$(api "slowlog?min_us=20000" | jq "[.items[] | select(.commandline | test(\"slow[123]\"))] | length")" = 3 ]'
stop_daemon ag
start_agent ag "${AG_ARGS[@]}"
rc eval "local i=0 while i<4000000 do i=i+1 end return 4 -- slow4" 0 >/dev/null
wait_for 20 "a fourth slow script after the agent's restart is there too" \
    '[ "$(api "slowlog?min_us=20000" | jq "[.items[] | select(.commandline | test(\"slow4\"))] | length")" = 1 ]'
api "slowlog?min_us=20000" >"$T/slow.json"
for n in 1 2 3 4; do
	check "slow$n appears exactly once" jqt "$T/slow.json" --arg n "slow$n" \
	    '[.items[] | select(.commandline | contains($n))] | length == 1'
done
check "entries have duration, client, command, executetime; total counts them" \
    jqt "$T/slow.json" 'all(.items[]; .duration >= 20000 and .command == "eval" and
    (.executetime | test("^[0-9]{4}-")) and (.client | length) > 0) and .total == (.items | length)'
check "limit and offset page through them" \
    jqt <(api "slowlog?min_us=20000&limit=1&offset=1") '(.items | length) == 1 and .total >= 4'
http_status "$P_HTTP" "/api/v1/instances/r1/slowlog?begin=0&end=200000" "$T/err.json" >"$T/code"
check "a span over 1 day is refused (400)" test "$(cat "$T/code")" = 400

# ---- top commands and latency ------------------------------------------------
rc config resetstat >/dev/null
sleep 2
for i in $(seq 1 3000); do printf 'INCR counter\r\n'; done | rc --pipe >/dev/null 2>&1
for i in $(seq 1 1000); do printf 'GET counter\r\n'; done | rc --pipe >/dev/null 2>&1
sleep 3
api 'top-commands?span=30m&by=count&limit=50' >"$T/top.json"
jq -c '.items' "$T/top.json"
check "incr leads with 3000 calls, get follows with 1000" \
    jqt "$T/top.json" '.items[0] == {"cmd": "incr", "count": 3000} and .items[1] == {"cmd": "get", "count": 1000}'
# The monitor's own probes (PING, INFO replication, and CLIENT SETNAME on
# connect) are workload to the agent: they may show, the agent's may not.
check "the agent's own calls are left out" \
    jqt "$T/top.json" '[.items[].cmd | select(. == "scan" or . == "type" or . == "memory|usage" or
    . == "slowlog|get" or . == "latency|histogram" or . == "strlen" or . == "llen" or
    . == "hlen" or . == "scard" or . == "zcard" or . == "monitor" or . == "select" or
    . == "multi" or . == "exec" or . == "object|freq")] | length == 0'
check "by=time lists took" \
    jqt <(api 'top-commands?span=30m&by=time') '.items | length > 0 and all(.[]; .took >= 0)'
api 'latency-dist?span=30m' >"$T/lat.json"
jq -c . "$T/lat.json"
check "the latency ladder is non-empty and adds up to the calls" \
    jqt "$T/lat.json" '.calls > 0 and ([.items[].size] | add) == .calls and .source == "latency-histogram" and (.edges_us | length) > 0'
check "per command: incr's ladder adds up to 3000" \
    jqt <(api 'latency-dist?span=30m&cmd=incr') '.calls == 3000 and ([.items[].size] | add) == 3000'

# ---- hot keys ------------------------------------------------------------------
start_helper hot redis-benchmark -p "$P_R" -t get -n 100000000 -c 2 -P 4 -q
start_helper cold redis-benchmark -p "$P_R" -t get -r 100000 -n 100000000 -c 1 -q
wait_for 30 "the hottest key is key:__rand_int__, as an estimate" \
    '[ "$(api "hotkeys?span=realtime" | jq -r "select(.estimate == true) | .items[0].key")" = "key:__rand_int__" ]'
check "... and over 30m too" \
    test "$(api 'hotkeys?span=30m' | jq -r '.items[0].key')" = "key:__rand_int__"
stop_daemon hot
stop_daemon cold

# ---- ccctl ---------------------------------------------------------------------------
for c in bigkeys hotkeys slowlog top latency; do
	check "ccctl monitor $c r1" eval 'ctl -m "127.0.0.1:$P_HTTP" monitor '$c' r1 >"$T/ctl-'$c'.txt" && [ -s "$T/ctl-'$c'.txt" ]'
done
check "ccctl monitor bigkeys shows big:hash" grep -q 'big:hash' "$T/ctl-bigkeys.txt"
check "ccctl monitor top --by time" ctl -m "127.0.0.1:$P_HTTP" monitor top r1 --by time --span 30m
ctl -m "127.0.0.1:$P_HTTP" monitor top nosuch >/dev/null; rc_ctl=$?
check "ccctl monitor top for an unknown instance fails with status 1" \
    test "$rc_ctl" = 1
pass

#!/bin/bash
# t_probe.sh: each way a monitor probe can fail has its own outcome.  One
# ccmonitor (probe-interval 300ms, probe-timeout 200ms, probe-failures 3)
# probes config instances (instance lines) and posts control-center events
# to a fake control center (http_sink):
#  - refused: nothing listens -> suspect, then down, cause refused,
#    probe.result "refused";
#  - hung: a redis-server under SIGSTOP -> suspect, then down, cause hung,
#    probe.result "timeout"; after SIGCONT up, cause recovered (the times
#    from the signals to the sink's receipt of the events are printed);
#  - error: a redis-server with PING renamed away answers an error -> down,
#    cause error, probe.error naming the error;
#  - not ready: a fake server (resp_stub) answering every command with
#    -LOADING -> alive, not a failure: up, probe.result "not-ready", never
#    suspect or down, no event;
#  - role change: a replica made master (REPLICAOF NO ONE) -> role master,
#    an instance_role event (cause role_changed, evidence.previous_role
#    replica), the log line, ccnode_instance_role_changes_total 1;
#  - CLIENT KILL of the probe connection, again and again, idle and with
#    a PING in flight: no failure, no event,
#    ccnode_probe_consecutive_failures 0, _failures_total unchanged.
# The control center gets exactly the expected events per instance, in
# order, each with the spec's fields and a unique idempotency_key; the
# outbox drains; /metrics passes promtool while the instances are in
# their states.
[ -z "${BASH_VERSION:-}" ] && exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
itest_init redis-server redis-cli curl jq promtool

: "${HTTP_SINK:=$top_builddir/tests/helpers/http_sink}"
[ -x "$HTTP_SINK" ] || { echo "not built: $HTTP_SINK (set HTTP_SINK)" >&2; exit 1; }
RESP_STUB=${RESP_STUB:-$top_builddir/tests/helpers/resp_stub}
[ -x "$RESP_STUB" ] || skip "resp_stub is not built ($RESP_STUB)"

alloc_ports 11
P_MON=${PORTS[0]} P_HTTP=${PORTS[1]} P_SINK=${PORTS[2]} P_REF=${PORTS[3]}
P_HUNG=${PORTS[4]} P_ERR=${PORTS[5]} P_LOAD=${PORTS[6]} P_M=${PORTS[7]}
P_R=${PORTS[8]} P_K=${PORTS[9]} P_OK=${PORTS[10]}
INTERVAL_MS=300
SINK_OUT=$T/sink.out
LOADING_REPLY='-LOADING Redis is loading the dataset in memory'

# ---- helpers ------------------------------------------------------------------------------
# sink_json: every request the sink logged, one JSON object a line:
# {ts, st, uri, ev} (ev: the body, or {bad: body} if it is not JSON).
sink_json() {
	[ -f "$SINK_OUT" ] || return 0
	jq -c -R 'split(" ") as $f | {ts: ($f[0] | tonumber), st: $f[1],
	    uri: $f[3], ev: ($f[4:] | join(" ") | (fromjson? // {bad: .}))}' \
	    <"$SINK_OUT"
}
# events NAME: NAME's events as received, "event:cause" separated by spaces.
events() {
	sink_json | jq -r --arg n "$1" 'select(.ev.instance == $n) |
	    "\(.ev.event):\(.ev.cause)"' | paste -sd' ' -
}
# event_ts NAME EVENT: when the sink received NAME's first EVENT (unix ms).
event_ts() {
	sink_json | jq -r --arg n "$1" --arg e "$2" \
	    'select(.ev.instance == $n and .ev.event == $e) | .ts' | head -n 1
}
show_sink() {
	sink_json | jq -c '{ts, st, e: .ev.event, i: .ev.instance, c: .ev.cause,
	    role: .ev.role, seq: .ev.seq, k: .ev.idempotency_key}'
}
st() { instance_field "$P_HTTP" "$1" .state; }
field() { instance_field "$P_HTTP" "$1" "$2"; }
# is NAME STATE CAUSE: the API shows NAME in STATE with CAUSE.
is() { [ "$(field "$1" '"\(.state) \(.cause)"')" = "$2 $3" ]; }
# sr NAME: "STATE PROBE-RESULT"
sr() { field "$1" '"\(.state) \(.probe.result)"'; }
show() {
	http_get "$P_HTTP" /api/v1/instances | jq -c '.items[] | {name, state,
	    cause, role, p: (.probe | {result, error, failures, role})}'
}
pm() {	# pm METRIC NAME: the metric's sample for config instance NAME
	prom_value "$P_HTTP" "$1{instance=\"$2\",host=\"\"}"
}
# health_is NAME STATE: ccnode_instance_health is 1 for STATE alone.
health_is() {
	local s v ok=0
	for s in up suspect down unknown; do
		v=$(prom_value "$P_HTTP" \
		    "ccnode_instance_health{instance=\"$1\",host=\"\",state=\"$s\"}")
		if [ "$s" = "$2" ]; then num_eq "$v" 1 || ok=1
		else num_eq "$v" 0 || ok=1; fi
	done
	return $ok
}
# no_bad_transition NAME: the monitor never logged NAME going suspect/down.
no_bad_transition() {
	! log_has mon "instance $1: [a-z]+ -> (suspect|down) "
}

# ---- the targets ------------------------------------------------------------------------------
start_helper sink "$HTTP_SINK" -p "$P_SINK" -o "$SINK_OUT"
wait_for 10 "the sink listens on $P_SINK" 'port_listening "$P_SINK"'
start_helper loading "$RESP_STUB" -p "$P_LOAD" -r "$LOADING_REPLY"
wait_for 10 "resp_stub listens on $P_LOAD" 'port_listening "$P_LOAD"'
check "resp_stub answers PING with the LOADING error" \
    eval 'redis-cli -p "$P_LOAD" ping 2>&1 | grep -q "^LOADING Redis is loading"'
# PING renamed away: the server answers PING with an error reply.
# (start_redis waits for a PONG; this one never gives one.)
mkdir -p "$T/errping"
start_helper errping redis-server --port "$P_ERR" --bind 127.0.0.1 --save '' \
    --appendonly no --daemonize no --dir "$T/errping" --logfile '' \
    --rename-command PING ''
wait_for 10 "errping answers PING with an unknown-command error" \
    'redis-cli -p "$P_ERR" ping 2>&1 | grep -q "unknown command"'
start_redis hung "$P_HUNG"
start_redis rm "$P_M"
start_redis rr "$P_R" --replicaof 127.0.0.1 "$P_M"
start_redis killed "$P_K" --enable-debug-command local
start_redis healthy "$P_OK"
check "nothing listens on the refused port $P_REF" not port_listening "$P_REF"

start_monitor mon --port "$P_MON" --http-port "$P_HTTP" --data-dir "$T/mdata" \
    --save-interval 2s --log-level debug --probe-interval "${INTERVAL_MS}ms" \
    --probe-timeout 200ms --probe-failures 3 \
    --control-center-url "http://127.0.0.1:$P_SINK/events" \
    --instance refused "127.0.0.1:$P_REF" \
    --instance hung "127.0.0.1:$P_HUNG" \
    --instance errping "127.0.0.1:$P_ERR" \
    --instance loading "127.0.0.1:$P_LOAD" \
    --instance rm "127.0.0.1:$P_M" \
    --instance rr "127.0.0.1:$P_R" \
    --instance killed "127.0.0.1:$P_K" \
    --instance healthy "127.0.0.1:$P_OK"
T_START=$(now_ms)

# ---- first verdicts ------------------------------------------------------------------------------
for n in hung rm rr killed healthy; do
	wait_for 10 "$n is up, its probe ok" '[ "$(sr '"$n"')" = "up ok" ]'
done
check "the config instances have host null and source config" \
    test "$(http_get "$P_HTTP" /api/v1/instances | jq -r '[.items[] |
	select(.host != null or .source != "config")] | length')" = 0

# refused: nothing listens.
wait_for 10 "refused is down, cause refused" 'is refused down refused'
check "refused: probe.result is \"refused\"" test "$(field refused .probe.result)" = refused
say "refused: probe.error: $(field refused .probe.error)"
check "refused: probe.failures >= 3" num_ge "$(field refused .probe.failures)" 3
wait_for 10 "the control center got refused's events" \
    '[ -n "$(event_ts refused instance_down)" ]'
check "refused: events instance_suspect, then instance_down, cause refused ($(events refused))" \
    test "$(events refused)" = "instance_suspect:refused instance_down:refused"
check "the log has refused's move to down" \
    log_has mon "warn probe instance refused: suspect -> down cause=refused addr=127.0.0.1:$P_REF"

# error reply: PING renamed away.
wait_for 10 "errping is down, cause error" 'is errping down error'
E=$(field errping .probe.error)
say "errping: probe.result $(field errping .probe.result), probe.error: $E"
check "errping: probe.result is \"error\"" test "$(field errping .probe.result)" = error
check "errping: probe.error names the error reply (unknown command)" \
    grep -q "ERR unknown command" <<<"$E"
wait_for 10 "the control center got errping's events" \
    '[ -n "$(event_ts errping instance_down)" ]'
check "errping: events instance_suspect, then instance_down, cause error ($(events errping))" \
    test "$(events errping)" = "instance_suspect:error instance_down:error"
check "errping: the instance_down event's evidence has the error" \
    eval 'sink_json | jq -e -s "map(select(.ev.instance == \"errping\" and
	.ev.event == \"instance_down\"))[0].ev.evidence.probe |
	(.result == \"error\" and (.error | test(\"unknown command\")) and .failures >= 3)" >/dev/null'

# LOADING: alive, not ready.
wait_for 10 "loading's probe result is not-ready" \
    '[ "$(field loading .probe.result)" = not-ready ]'
check "loading is up" test "$(st loading)" = up
say "loading: probe.error: $(field loading .probe.error)"
check "loading: probe.error has the LOADING reply" \
    grep -q '^LOADING' <<<"$(field loading .probe.error)"
check "loading: probe.failures is 0" test "$(field loading .probe.failures)" = 0
show

# ---- role change: the replica becomes master ------------------------------------------------------
wait_for 10 "rr's role is replica (probe.role)" \
    '[ "$(field rr .probe.role)" = replica ]'
say "rr: .role=$(field rr .role) .probe.role=$(field rr .probe.role)"
check "rm's role is master" test "$(field rm .probe.role)" = master
check "ccnode_instance_role_changes_total for rr is 0 so far" \
    num_eq "$(pm ccnode_instance_role_changes_total rr)" 0
out=$(redis-cli -p "$P_R" replicaof no one)
say "redis-cli -p $P_R replicaof no one: $out"
T_PROMOTE=$(now_ms)
wait_for 10 "rr's role becomes master (probe.role)" \
    '[ "$(field rr .probe.role)" = master ]'
say "rr: .role=$(field rr .role) .probe.role=$(field rr .probe.role)"
wait_for 10 "the control center got rr's instance_role event" \
    '[ -n "$(event_ts rr instance_role)" ]'
say "rr: instance_role received $(( $(event_ts rr instance_role) - T_PROMOTE )) ms after REPLICAOF NO ONE"
check "rr: the event has role master, cause role_changed, evidence.previous_role replica" \
    eval 'sink_json | jq -e -s "map(select(.ev.instance == \"rr\" and
	.ev.event == \"instance_role\"))[0].ev |
	(.role == \"master\" and .cause == \"role_changed\" and
	 .evidence.previous_role == \"replica\")" >/dev/null'
check "the log has 'instance rr: role replica -> master'" \
    log_has mon "instance rr: role replica -> master"
check "ccnode_instance_role_changes_total for rr is 1" \
    num_eq "$(pm ccnode_instance_role_changes_total rr)" 1
check "ccnode_instance_role_changes_total for rm is 0" \
    num_eq "$(pm ccnode_instance_role_changes_total rm)" 0
check "rr stays up" test "$(st rr)" = up

# ---- CLIENT KILL of the probe connection ------------------------------------------------------------
# (a) Between probes: the probe connection is idle when it is killed.
# (b) In flight: DEBUG SLEEP 0.1 and CLIENT KILL pipelined on one
#     connection, so that a PING the probe sends during the sleep is still
#     unread when its connection is killed (the kill runs before redis
#     reads any other client; 100 ms is well under probe-timeout, so such a
#     PING is closed under the probe, never timed out).  The monitor's
#     debug log counts the kills that caught a probe in flight.
wait_for 10 "killed has the monitor's probe connection (client name ccmonitor-probe)" \
    'redis-cli -p "$P_K" client list | grep -q "name=ccmonitor-probe "'
f0=$(pm ccnode_probe_failures_total killed)
probes0=$(field killed .probe.time)
nk=0
for i in 1 2 3 4 5; do
	k=$(redis-cli -p "$P_K" client kill type normal)
	nk=$((nk + ${k:-0}))
	sleep "0.$((3 + RANDOM % 5))"	# a few probe rounds in between
done
say "killed: 5 CLIENT KILL TYPE normal between probes: $nk connection(s) killed"
check "the kills closed connections ($nk >= 3)" test "$nk" -ge 3
# kill_in_flight: DEBUG SLEEP 0.1 + CLIENT KILL TYPE normal in one write;
# prints how many connections the kill closed.
kill_in_flight() {
	local l1 l2
	exec 3<>"/dev/tcp/127.0.0.1/$P_K" || return 1
	printf 'DEBUG SLEEP 0.1\r\nCLIENT KILL TYPE normal\r\n' >&3
	IFS= read -r -t $((5 * TF)) l1 <&3
	IFS= read -r -t $((5 * TF)) l2 <&3
	exec 3<&-
	l2=${l2%$'\r'}
	[ "${l1%$'\r'}" = +OK ] && [ "${l2#:}" != "$l2" ] || return 1
	echo "${l2#:}"
}
c0=$(grep -c 'instance killed: probe connection closed' "${D_LOG[mon]}")
nk=0
for i in $(seq 1 20); do
	k=$(kill_in_flight) || fail "DEBUG SLEEP + CLIENT KILL on $P_K failed"
	nk=$((nk + k))
	sleep "0.$((2 + RANDOM % 3))"
done
c1=$(grep -c 'instance killed: probe connection closed' "${D_LOG[mon]}")
say "killed: 20 DEBUG SLEEP 0.1 + CLIENT KILL: $nk connection(s) killed, $((c1 - c0)) with a probe in flight (monitor's debug log)"
[ "$((c1 - c0))" = 0 ] && say "note: no kill caught a probe in flight this time"
grep 'instance killed: ' "${D_LOG[mon]}" | tail -n 12
wait_for 10 "killed's probe connection is back after the kills" \
    'redis-cli -p "$P_K" client list | grep -q "name=ccmonitor-probe "'
wait_for 5 "killed was probed again after the kills" \
    '[ "$(field killed .probe.time)" != "$probes0" ] && [ "$(field killed .probe.result)" = ok ]'
expect "killed is up" test "$(st killed)" = up
expect "ccnode_probe_consecutive_failures for killed is 0" \
    num_eq "$(pm ccnode_probe_consecutive_failures killed)" 0
expect "ccnode_probe_failures_total for killed did not move ($f0 -> $(pm ccnode_probe_failures_total killed))" \
    num_eq "$(pm ccnode_probe_failures_total killed)" "$f0"
expect "no event for killed ($(events killed))" test -z "$(events killed)"
expect "the monitor never logged killed as suspect or down" no_bad_transition killed

# ---- hung: SIGSTOP, then SIGCONT --------------------------------------------------------------------
check "hung is up before SIGSTOP" test "$(st hung)" = up
kill -STOP "$(pid_of hung)"
T_STOP=$(now_ms)
say "SIGSTOP hung (pid $(pid_of hung))"
wait_for 10 "hung is down, cause hung" 'is hung down hung'
check "hung: probe.result is \"timeout\"" test "$(field hung .probe.result)" = timeout
say "hung: probe.error: $(field hung .probe.error)"
wait_for 10 "the control center got hung's instance_down" \
    '[ -n "$(event_ts hung instance_down)" ]'
check "hung: events instance_suspect, then instance_down, cause hung ($(events hung))" \
    test "$(events hung)" = "instance_suspect:hung instance_down:hung"
say "MEASURED: SIGSTOP -> instance_suspect at the sink: $(( $(event_ts hung instance_suspect) - T_STOP )) ms"
DOWN_MS=$(( $(event_ts hung instance_down) - T_STOP ))
say "MEASURED: SIGSTOP -> instance_down at the sink: $DOWN_MS ms (probe-interval ${INTERVAL_MS} ms x 3 failures)"
check "the log has hung's move to down" \
    log_has mon "warn probe instance hung: suspect -> down cause=hung addr=127.0.0.1:$P_HUNG"

# Every target is in its state now: the metrics agree, and promtool passes.
check "ccnode_instance_health: hung down" health_is hung down
check "ccnode_instance_health: refused down" health_is refused down
check "ccnode_instance_health: errping down" health_is errping down
check "ccnode_instance_health: loading up" health_is loading up
check "ccnode_instance_health: rr up" health_is rr up
check "ccnode_probe_success for loading is 1 (an answer)" \
    num_eq "$(pm ccnode_probe_success loading)" 1
check "ccnode_probe_success for refused is 0" num_eq "$(pm ccnode_probe_success refused)" 0
check "ccnode_probe_consecutive_failures for refused >= 3" \
    num_ge "$(pm ccnode_probe_consecutive_failures refused)" 3
check "ccnode_probe_consecutive_failures for loading is 0" \
    num_eq "$(pm ccnode_probe_consecutive_failures loading)" 0
http_get "$P_HTTP" /metrics >"$T/metrics.txt"
grep -E '^ccnode_(instance_health|probe_|instance_role)' "$T/metrics.txt" |
    grep -v ' 0$' | head -n 40
promtool check metrics <"$T/metrics.txt" >"$T/promtool.out" 2>&1
prc=$?
cat "$T/promtool.out"
check "promtool check metrics passes (status $prc)" test "$prc" = 0
show

kill -CONT "$(pid_of hung)"
T_CONT=$(now_ms)
say "SIGCONT hung"
wait_for 10 "hung is up, cause recovered" 'is hung up recovered'
check "hung: probe.result is ok again" test "$(field hung .probe.result)" = ok
wait_for 10 "the control center got hung's instance_up" \
    '[ -n "$(event_ts hung instance_up)" ]'
say "MEASURED: SIGCONT -> instance_up at the sink: $(( $(event_ts hung instance_up) - T_CONT )) ms"
check "hung: events suspect, down (hung), then up (recovered) ($(events hung))" \
    test "$(events hung)" = "instance_suspect:hung instance_down:hung instance_up:recovered"
check "ccnode_instance_health: hung up" health_is hung up

# ---- not ready is never a failure -------------------------------------------------------------------
# The whole test has run meanwhile; make sure of at least 10 probe intervals.
left=$(( T_START + 10 * INTERVAL_MS - $(now_ms) ))
[ "$left" -gt 0 ] && sleep "$(awk -v ms="$left" 'BEGIN { printf "%.3f", ms / 1000 }')"
say "loading observed for $(( $(now_ms) - T_START )) ms ($(( ($(now_ms) - T_START) / INTERVAL_MS )) probe intervals)"
check "loading is still up, probe.result not-ready" \
    test "$(sr loading)" = "up not-ready"
check "no event for loading" test -z "$(events loading)"
check "the monitor never logged loading as suspect or down" no_bad_transition loading
check "ccnode_probe_failures_total for loading is 0" \
    num_eq "$(pm ccnode_probe_failures_total loading)" 0

# ---- every event -------------------------------------------------------------------------------------
wait_for 10 "the outbox is empty (ccnode_monitor_outbox_events 0)" \
    'num_eq "$(prom_value "$P_HTTP" ccnode_monitor_outbox_events)" 0'
show_sink
sink_json | jq -s . >"$T/events.json"
expect "every request was a POST to /events answered 200" \
    jqt "$T/events.json" 'all(.[]; .st == "200" and .uri == "/events")'
expect "every body is JSON" jqt "$T/events.json" 'all(.[]; .ev.bad == null)'
expect "every event has the spec's fields" jqt "$T/events.json" '
    all(.[].ev; has("event") and has("instance") and has("host") and
	has("addr") and has("kind") and has("role") and has("cause") and
	has("since") and has("evidence") and has("idempotency_key") and
	has("seq"))'
expect "every event: host null (config instances), kind redis, addr 127.0.0.1:PORT" \
    jqt "$T/events.json" 'all(.[].ev; .host == null and .kind == "redis" and
	(.addr | test("^127\\.0\\.0\\.1:[0-9]+$")))'
expect "every event: since is RFC 3339, role is master|replica|unknown" \
    jqt "$T/events.json" 'all(.[].ev; (.since | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+(Z|[+-][0-9:]+)$")) and
	(.role == "master" or .role == "replica" or .role == "unknown"))'
expect "every event's evidence has probe{result,error,failures,time,rtt_us}, agent, tilt" \
    jqt "$T/events.json" 'all(.[].ev.evidence; (.probe | has("result") and
	has("error") and has("failures") and has("time") and has("rtt_us")) and
	has("agent") and (.tilt | type == "boolean"))'
expect "the addr of refused's events is 127.0.0.1:$P_REF" \
    jqt "$T/events.json" --arg a "127.0.0.1:$P_REF" \
    'all(.[].ev | select(.instance == "refused"); .addr == $a)'
n=$(jq length "$T/events.json")
u=$(jq '[.[].ev.idempotency_key] | unique | length' "$T/events.json")
expect "the $n idempotency keys are unique ($u distinct)" test "$n" = "$u"
expect "the seq numbers are unique" \
    jqt "$T/events.json" '([.[].ev.seq] | unique | length) == length'
expect "each instance's events arrived in seq order" \
    jqt "$T/events.json" 'group_by(.ev.instance) | all(.[]; [.[].ev.seq] as $s | $s == ($s | sort))'
expect "the suspect events have evidence.probe.failures 1, the down events >= 3" \
    jqt "$T/events.json" 'all(.[].ev; if .event == "instance_suspect" then .evidence.probe.failures == 1
	elif .event == "instance_down" then .evidence.probe.failures >= 3 else true end)'
expect "the up event has evidence.probe.result ok" \
    jqt "$T/events.json" 'all(.[].ev | select(.event == "instance_up"); .evidence.probe.result == "ok")'
expect "hung's events have evidence.probe.result timeout, refused's refused" \
    jqt "$T/events.json" 'all(.[].ev | select(.instance == "hung" and .event != "instance_up"); .evidence.probe.result == "timeout") and
	all(.[].ev | select(.instance == "refused"); .evidence.probe.result == "refused")'
expect "exactly the expected events: 8 ($n)" test "$n" = 8
for n in rm loading killed healthy; do
	expect "no event for $n" test -z "$(events "$n")"
done
expect "rr: exactly one event, instance_role" test "$(events rr)" = "instance_role:role_changed"
expect "healthy is up, probe ok, 0 failures" \
    test "$(field healthy '"\(.state) \(.probe.result) \(.probe.failures)"')" = "up ok 0"
show
pass

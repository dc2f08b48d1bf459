#!/bin/bash
# t_cc.sh: control-center events through the monitor's outbox, against a
# fake control center (http_sink).
#  (a) kill -9 of a redis-server the agent supervises: the control center
#      gets instance_down with cause crashed (host = the agent's host name,
#      kind redis, evidence.agent naming the SIGKILL) and, once the agent
#      has restarted it, instance_up with cause recovered.  Five kills; the
#      time from each kill to the sink's receipt of each event is printed
#      with its median and maximum (the 200 ms goal is printed, not
#      asserted; only a loose bound is).
#  (b) The control center answers 503, then hangs, then is gone, while a
#      config instance (SIGSTOP, SIGCONT) goes down and comes back: the
#      events wait in data-dir/outbox/journal (counted in /metrics, retries too),
#      survive a monitor restart, and are delivered once the control center
#      answers 200: in seq order, exactly once per idempotency_key among
#      the 200-answered requests, leaving the outbox empty.
#  (c) A 400 is not retried: the event becomes a dead letter (a line of
#      outbox/dead.jsonl with the status, logged, counted) and the
#      instance's next event goes.
#  (d) A 429 is retried, not a dead letter, and delivered after a 200.
#  (e) After a restart with the outbox drained, new events are numbered
#      (seq) past every event delivered before.
[ -z "${BASH_VERSION:-}" ] && exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
sup_init redis-server redis-cli curl jq

: "${HTTP_SINK:=$top_builddir/tests/helpers/http_sink}"
[ -x "$HTTP_SINK" ] || { echo "not built: $HTTP_SINK (set HTTP_SINK)" >&2; exit 1; }

alloc_ports 8
P_MON=${PORTS[0]} P_HTTP=${PORTS[1]} P_AG=${PORTS[2]} P_R1=${PORTS[3]}
P_SINK=${PORTS[4]} P_X1=${PORTS[5]} P_X2=${PORTS[6]} P_X3=${PORTS[7]}
SUP_MONITOR=127.0.0.1:$P_MON
SINK_OUT=$T/sink.out
SINK_STATUS=$T/sink.status
OB=$T/mdata/outbox
KILLS=5
GOAL_MS=200

# ---- the fake control center --------------------------------------------------------------
# set_status 200|400|429|503|hang: what the sink answers from now on.
set_status() {
	printf '%s\n' "$1" >"$SINK_STATUS.tmp" && mv -f "$SINK_STATUS.tmp" "$SINK_STATUS"
	say "control center (sink) answers: $1"
}
start_sink() {
	start_helper sink "$HTTP_SINK" -p "$P_SINK" -o "$SINK_OUT" -s "$SINK_STATUS"
	wait_for 10 "the sink listens on $P_SINK" 'port_listening "$P_SINK"'
}
# sink_lines [FROM]: the requests the sink logged after line FROM, one JSON
# object a line: {ts, st, ev} (ev: the body; {bad: line} if it is no JSON).
sink_lines() {
	[ -f "$SINK_OUT" ] || return 0
	tail -n +$(( ${1:-0} + 1 )) "$SINK_OUT" |
	    sed -E 's/^([0-9]+) ([^ ]+) [^ ]+ [^ ]+ (.*)$/{"ts":\1,"st":"\2","ev":\3}/' |
	    jq -c -R 'fromjson? // {bad: .}'
}
# jv FILTER: stdin (JSON) passes FILTER (jqe: quiet, empty input fails).
jv() { jqe "$1"; }
sink_n() { [ -f "$SINK_OUT" ] && wc -l <"$SINK_OUT" || echo 0; }
# sink_find FROM JQ-FILTER: the first line after FROM matching the filter
# (on {ts, st, ev}).
sink_find() { sink_lines "$1" | jq -c "select($2)" | head -n 1; }
# sink_count FROM JQ-FILTER
sink_count() { sink_lines "$1" | jq -c "select($2)" | wc -l; }
show_sink() {
	sink_lines "${1:-0}" | jq -c '{ts, st, e: .ev.event, i: .ev.instance, c: .ev.cause, seq: .ev.seq, k: .ev.idempotency_key}'
}

# ---- set-up ---------------------------------------------------------------------------------------
set_status 200
start_sink
start_redis x1 "$P_X1"
start_redis x2 "$P_X2"
start_redis x3 "$P_X3"
MON_ARGS=(--port "$P_MON" --http-port "$P_HTTP" --data-dir "$T/mdata"
    --save-interval 2s --probe-interval 500ms --probe-timeout 300ms
    --probe-failures 3 --control-center-url "http://127.0.0.1:$P_SINK/events"
    --instance x1 "127.0.0.1:$P_X1" --instance x2 "127.0.0.1:$P_X2"
    --instance x3 "127.0.0.1:$P_X3")
start_monitor mon "${MON_ARGS[@]}"
# Five kills in a row must not look like a crash loop.
SUP_HOST=h1 sup_agent agent "$P_AG" "$T/a" --crash-loop 100 30s

mstate() { instance_field "$P_HTTP" "$1" .state; }
mprobe() { instance_field "$P_HTTP" "$1" .probe.result; }
outbox_events() { prom_value "$P_HTTP" ccnode_monitor_outbox_events; }
# The journal: "+SEQ JSON" when an event is added, "-SEQ" when settled.
pending_bodies() {
	awk '/^\+/ { s = substr($1, 2); sub(/^[^ ]* /, ""); p[s] = $0; o[++n] = s }
	    /^-/ { delete p[substr($1, 2)] }
	    END { for (i = 1; i <= n; i++) if (o[i] in p) print p[o[i]] }' \
	    "$OB/journal" 2>/dev/null
}
outbox_files() { pending_bodies | wc -l; }
dead_files() { cat "$OB/dead.jsonl" 2>/dev/null | wc -l; }
mshow() {
	http_get "$P_HTTP" /api/v1/instances |
	    jq -c '.items[] | {name, host, state, cause, probe: (.probe | {result, failures, source})}'
}

check "instance start r1 exits 0" ictl "$P_AG" instance start r1 --kind redis --port "$P_R1"
wait_for 15 "the monitor shows r1 up, probe result ok" \
    '[ "$(mstate r1)" = up ] && [ "$(mprobe r1)" = ok ]'
wait_for 15 "the monitor shows x1 x2 x3 up" \
    '[ "$(mstate x1)" = up ] && [ "$(mstate x2)" = up ] && [ "$(mstate x3)" = up ]'
mshow
check "finding instances up sent the control center nothing" test "$(sink_n)" = 0

# ---- (a) kill -9 of a supervised redis-server -------------------------------------------------------
declare -a DOWN_MS=() UP_MS=()
for ((i = 1; i <= KILLS; i++)); do
	n0=$(sink_n)
	PID=$(inst_field "$P_AG" r1 .pid)
	check "kill #$i: r1 has a live redis-server pid ($PID)" eval 'pid_running "$PID" && _sup_is_server "$PID"'
	t0=$(now_ms)
	kill -KILL "$PID"
	wait_for 10 "kill #$i: the control center got instance_down for r1" \
	    '[ -n "$(sink_find "$n0" '\''.st == "200" and .ev.event == "instance_down" and .ev.instance == "r1"'\'')" ]'
	wait_for 15 "kill #$i: the control center got instance_up for r1" \
	    '[ -n "$(sink_find "$n0" '\''.st == "200" and .ev.event == "instance_up" and .ev.instance == "r1"'\'')" ]'
	down=$(sink_find "$n0" '.st == "200" and .ev.event == "instance_down" and .ev.instance == "r1"')
	up=$(sink_find "$n0" '.st == "200" and .ev.event == "instance_up" and .ev.instance == "r1"')
	d_ms=$(( $(jq -r .ts <<<"$down") - t0 ))
	u_ms=$(( $(jq -r .ts <<<"$up") - t0 ))
	DOWN_MS+=("$d_ms")
	UP_MS+=("$u_ms")
	say "CRASH->EVENT kill #$i (pid $PID): instance_down after $d_ms ms, instance_up after $u_ms ms"
	say "  down: $(jq -c .ev <<<"$down")"
	say "  up:   $(jq -c '.ev | {event, cause, since, seq, evidence}' <<<"$up")"
	check "kill #$i: instance_down: cause crashed, host h1, kind redis, addr 127.0.0.1:$P_R1" \
	    test "$(jq -r '.ev | [.cause, .host, .kind, .addr] | join(" ")' <<<"$down")" = "crashed h1 redis 127.0.0.1:$P_R1"
	check "kill #$i: evidence.agent names the kill (killed by SIGKILL)" \
	    grep -q 'killed by SIGKILL' <<<"$(jq -r '.ev.evidence.agent // ""' <<<"$down")"
	check "kill #$i: instance_up: cause recovered, host h1" \
	    test "$(jq -r '.ev | [.cause, .host] | join(" ")' <<<"$up")" = "recovered h1"
	check "kill #$i: instance_up comes after instance_down (seq $(jq .ev.seq <<<"$down") < $(jq .ev.seq <<<"$up"))" \
	    test "$(jq .ev.seq <<<"$down")" -lt "$(jq .ev.seq <<<"$up")"
	check "kill #$i: instance_down reached the sink within $((5 * TF)) s of the kill ($d_ms ms)" \
	    test "$d_ms" -lt $((5000 * TF))
	say "kill #$i: instance_suspect events for r1 meanwhile: $(sink_count "$n0" '.ev.event == "instance_suspect" and .ev.instance == "r1"')"
	wait_for 15 "kill #$i: r1 is running again (agent), up with probe ok (monitor)" \
	    '[ "$(inst_field "$P_AG" r1 .state)" = running ] && [ "$(mstate r1)" = up ] && [ "$(mprobe r1)" = ok ]'
done
med() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
max() { printf '%s\n' "$@" | sort -n | tail -n 1; }
DMED=$(med "${DOWN_MS[@]}") DMAX=$(max "${DOWN_MS[@]}")
UMED=$(med "${UP_MS[@]}") UMAX=$(max "${UP_MS[@]}")
say "CRASH->EVENT instance_down (ms): ${DOWN_MS[*]}; median $DMED, max $DMAX"
say "CRASH->EVENT instance_up   (ms): ${UP_MS[*]}; median $UMED, max $UMAX"
if [ "$DMED" -le "$GOAL_MS" ]; then
	say "CRASH->EVENT goal (median kill -9 -> instance_down <= $GOAL_MS ms): met ($DMED ms)"
else
	say "CRASH->EVENT goal (median kill -9 -> instance_down <= $GOAL_MS ms): NOT met ($DMED ms)"
fi
check "r1 is still one redis-server" test "$(inst_pids "$T/a/state" r1 | wc -l)" = 1

# ---- (b) control center down, monitor restart, control center back ----------------------------------
nb=$(sink_n)
r0=$(prom_value "$P_HTTP" ccnode_monitor_outbox_retries_total)
set_status 503
kill -STOP "$(pid_of x1)"
say "SIGSTOP x1 (pid $(pid_of x1))"
wait_for 10 "the monitor's API shows x1 down (the control center answers 503)" '[ "$(mstate x1)" = down ]'
say "x1: $(instance_field "$P_HTTP" x1 '{state, cause, probe}' | jq -c .)"
# Events of one instance go in order: the first (suspect) is retried, the
# down waits behind it.
wait_for 10 "the sink answered x1's first event with 503, twice (retried)" \
    '[ "$(sink_count "$nb" '\''.st == "503" and .ev.instance == "x1"'\'')" -ge 2 ]'
wait_for 10 "retries are counted (ccnode_monitor_outbox_retries_total > ${r0:-0})" \
    'num_gt "$(prom_value "$P_HTTP" ccnode_monitor_outbox_retries_total)" "${r0:-0}"'
# Hang: a request gets no answer at all (until http-client-timeout).
nh=$(sink_n)
set_status hang
wait_for 30 "a retry reached the hanging sink" \
    '[ -n "$(sink_find "$nh" '\''.st == "hang" and .ev.instance == "x1"'\'')" ]'
wait_for 15 "the monitor gave up on the hung request (http-client-timeout 5s) and will retry" \
    'log_has mon "event not delivered instance=x1 seq=[0-9]+ \(timeout, status 0\); retry in"'
# Gone: nothing listens.
stop_daemon sink
kill -CONT "$(pid_of x1)"
say "SIGCONT x1"
wait_for 10 "the monitor's API shows x1 up again (no control center)" '[ "$(mstate x1)" = up ]'
mshow
wait_for 10 "ccnode_monitor_outbox_events >= 2 (down and up wait)" 'num_ge "$(outbox_events)" 2'
say "outbox: $(outbox_events) events; journal: $(outbox_files) waiting"
check "... and as many waiting in $OB/journal (>= 2)" test "$(outbox_files)" -ge 2
check "ccnode_monitor_outbox_retries_total > 0 before the restart ($(prom_value "$P_HTTP" ccnode_monitor_outbox_retries_total))" \
    num_gt "$(prom_value "$P_HTTP" ccnode_monitor_outbox_retries_total)" 0
check "the waiting events are x1's, suspect/down then up" \
    eval 'pending_bodies | jq -s -e '\''map(select(.instance == "x1") | .event) | index("instance_down") as $d | index("instance_up") as $u | $d != null and $u != null and $d < $u'\'' >/dev/null'
nfiles=$(outbox_files)
stop_daemon mon
check "the journal still holds them after the monitor stopped ($(outbox_files))" test "$(outbox_files)" = "$nfiles"
start_monitor mon "${MON_ARGS[@]}"
check "the restarted monitor loaded the outbox (ccnode_monitor_outbox_events $(outbox_events) = $nfiles)" \
    num_eq "$(outbox_events)" "$nfiles"
check "... and logged it" log_has mon "outbox: $nfiles events from the last run to deliver"
set_status 200
start_sink
wait_for 30 "the outbox drains (ccnode_monitor_outbox_events 0, nothing waiting in the journal)" \
    'num_eq "$(outbox_events)" 0 && [ "$(outbox_files)" = 0 ]'
show_sink "$nb"
X1=$(sink_lines "$nb" | jq -c 'select(.st == "200" and .ev.instance == "x1") | .ev' | jq -s -c .)
say "x1 events delivered (200): $(jq -c 'map([.event, .cause, .seq])' <<<"$X1")"
check "x1's instance_down (cause hung) then instance_up (cause recovered) were delivered" \
    jv 'map(.event) as $e | ($e | index("instance_down")) != null and ($e | index("instance_up")) != null and ($e | index("instance_down")) < ($e | index("instance_up"))' <<<"$X1"
check "... instance_down has cause hung, host null, kind redis" \
    jv 'map(select(.event == "instance_down")) | .[0] | .cause == "hung" and .host == null and .kind == "redis"' <<<"$X1"
check "... instance_up has cause recovered" \
    jv 'map(select(.event == "instance_up")) | .[0].cause == "recovered"' <<<"$X1"
check "... in seq order" jv 'map(.seq) as $s | $s == ($s | sort)' <<<"$X1"
check "... exactly once each per idempotency_key (200 answers)" \
    jv 'map(.idempotency_key) as $k | ($k | length) == ($k | unique | length)' <<<"$X1"
check "... and the 503/hang attempts had the same keys (the outbox kept them)" \
    eval 'sink_lines "$nb" | jq -c '\''select(.st != "200" and .ev.instance == "x1") | .ev.idempotency_key'\'' | jq -s -e --argjson d "$X1" '\''unique - ($d | map(.idempotency_key)) == []'\'' >/dev/null'
wait_for 10 "the restarted monitor shows x1 up" '[ "$(mstate x1)" = up ]'

# ---- (c) dead letters: 400 ----------------------------------------------------------------------------
nc=$(sink_n)
dead0=$(dead_files)
dl0=$(prom_value "$P_HTTP" ccnode_monitor_outbox_dead_letters)
set_status 400
kill -STOP "$(pid_of x2)"
say "SIGSTOP x2 (pid $(pid_of x2))"
wait_for 10 "the monitor's API shows x2 down" '[ "$(mstate x2)" = down ]'
wait_for 10 "the sink answered x2's instance_down with 400" \
    '[ -n "$(sink_find "$nc" '\''.st == "400" and .ev.event == "instance_down" and .ev.instance == "x2"'\'')" ]'
# Nothing happens here by design: past several retry delays (0.5 s, 1 s, 2 s).
sleep 4
show_sink "$nc"
check "no key of x2 was sent twice (a 400 is not retried)" \
    eval 'sink_lines "$nc" | jq -c '\''select(.ev.instance == "x2") | .ev.idempotency_key'\'' | jq -s -e '\''length > 0 and length == (unique | length)'\'' >/dev/null'
nd=$(sink_count "$nc" '.ev.instance == "x2"')
check "x2's events ($nd) are dead letters in $OB/dead.jsonl ($dead0 -> $(dead_files))" \
    test "$(dead_files)" -eq $((dead0 + nd))
check "... with the instance_down among them" \
    eval 'jq -c .event "$OB/dead.jsonl" | jq -s -e '\''any(.[]; .instance == "x2" and .event == "instance_down")'\'' >/dev/null'
check "... with the status 400" eval 'jq -s -e '\''map(select(.event.instance == "x2")) | all(.status == 400)'\'' "$OB/dead.jsonl" >/dev/null'
check "... none left waiting" eval '! pending_bodies | grep -q "\"instance\":\"x2\""'
check "the log says the control center refused it, kept as a dead letter" \
    log_has mon 'event refused by the control center instance=x2 seq=[0-9]+ status=400: kept as a dead letter'
check "ccnode_monitor_outbox_dead_letters >= 1 ($dl0 -> $(prom_value "$P_HTTP" ccnode_monitor_outbox_dead_letters))" \
    num_ge "$(prom_value "$P_HTTP" ccnode_monitor_outbox_dead_letters)" $(( ${dl0:-0} + 1 ))
nc2=$(sink_n)
set_status 200
kill -CONT "$(pid_of x2)"
say "SIGCONT x2"
wait_for 10 "x2's next event (instance_up, recovered) is delivered" \
    '[ -n "$(sink_find "$nc2" '\''.st == "200" and .ev.event == "instance_up" and .ev.instance == "x2" and .ev.cause == "recovered"'\'')" ]'
wait_for 10 "the outbox is empty" 'num_eq "$(outbox_events)" 0 && [ "$(outbox_files)" = 0 ]'

# ---- (d) 429 is retried ---------------------------------------------------------------------------------
nd0=$(sink_n)
dead1=$(dead_files)
set_status 429
kill -STOP "$(pid_of x3)"
say "SIGSTOP x3 (pid $(pid_of x3))"
wait_for 10 "the monitor's API shows x3 down" '[ "$(mstate x3)" = down ]'
wait_for 15 "an event of x3 was answered 429 twice (retried)" \
    '[ "$(sink_lines "$nd0" | jq -r '\''select(.st == "429" and .ev.instance == "x3") | .ev.idempotency_key'\'' | sort | uniq -c | sort -rn | awk '\''NR == 1 { print $1 }'\'')" -ge 2 ]'
check "no dead letter for a 429 ($(dead_files))" test "$(dead_files)" = "$dead1"
check "x3's events still wait in the outbox" eval 'pending_bodies | grep -q "\"instance\":\"x3\""'
set_status 200
wait_for 40 "x3's instance_down is delivered after the 200" \
    '[ -n "$(sink_find "$nd0" '\''.st == "200" and .ev.event == "instance_down" and .ev.instance == "x3"'\'')" ]'
kill -CONT "$(pid_of x3)"
say "SIGCONT x3"
wait_for 10 "x3's instance_up is delivered" \
    '[ -n "$(sink_find "$nd0" '\''.st == "200" and .ev.event == "instance_up" and .ev.instance == "x3"'\'')" ]'
wait_for 10 "the outbox is empty" 'num_eq "$(outbox_events)" 0 && [ "$(outbox_files)" = 0 ]'
check "no dead letter for x3" test "$(dead_files)" = "$dead1"
show_sink "$nd0"

# ---- (e) seq after a restart with a drained outbox ----------------------------------------------
# seq orders the events for the control center: a restarted monitor must
# not number new events from where the files left on disk say (here: only
# the dead letters of (c)), reusing numbers already delivered.
all_gt() { local m=$1 q; shift; [ "$#" -gt 0 ] || return 1; for q; do [ "$q" -gt "$m" ] || return 1; done; }
maxseq=$(sink_lines 0 | jq -r 'select(.st == "200") | .ev.seq' | sort -n | tail -n 1)
stop_daemon mon
check "nothing waits in the outbox before the restart" test "$(outbox_files)" = 0
nconn=$(grep -c 'agent connected host=h1 ' "${D_LOG[mon]}")
start_monitor mon "${MON_ARGS[@]}"
# The agent's word (the exit it saw) must reach this monitor.
wait_for 15 "the agent is connected to the restarted monitor" \
    '[ "$(grep -c "agent connected host=h1 " "${D_LOG[mon]}")" -gt "$nconn" ]'
wait_for 15 "the restarted monitor shows r1 up, probe result ok" \
    '[ "$(mstate r1)" = up ] && [ "$(mprobe r1)" = ok ]'
ne=$(sink_n)
PID=$(inst_field "$P_AG" r1 .pid)
kill -KILL "$PID"
say "kill -9 r1 (pid $PID)"
wait_for 10 "the control center got instance_down for r1" \
    '[ -n "$(sink_find "$ne" '\''.st == "200" and .ev.event == "instance_down" and .ev.instance == "r1"'\'')" ]'
wait_for 15 "... and instance_up" \
    '[ -n "$(sink_find "$ne" '\''.st == "200" and .ev.event == "instance_up" and .ev.instance == "r1"'\'')" ]'
show_sink "$ne"
seqs=$(sink_lines "$ne" | jq -r 'select(.st == "200") | .ev.seq' | tr '\n' ' ')
expect "events after the restart are numbered past every seq delivered before it ($maxseq): $seqs" \
    all_gt "$maxseq" $seqs
wait_for 15 "r1 is running again, up" \
    '[ "$(inst_field "$P_AG" r1 .state)" = running ] && [ "$(mstate r1)" = up ]'

# ---- all along --------------------------------------------------------------------------------------------
ALL=$(sink_lines 0 | jq -c 'select(.st == "200") | .ev' | jq -s -c .)
check "exactly once per idempotency_key among all 200-answered requests ($(jq length <<<"$ALL"))" \
    jv 'map(.idempotency_key) as $k | ($k | length) == ($k | unique | length)' <<<"$ALL"
check "per instance, delivered in seq order" \
    jv 'group_by(.instance) | all(.[]; map(.seq) as $s | $s == ($s | sort) and ($s | length) == ($s | unique | length))' <<<"$ALL"
check "every request was a POST to /events" \
    test "$(awk '$3 != "POST" || $4 != "/events"' "$SINK_OUT" | wc -l)" = 0
check "no request body was bad JSON" test "$(sink_count 0 '.bad != null')" = 0
pass

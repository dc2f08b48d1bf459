#!/bin/bash
# t_sup_crash.sh: processes that die.
#  (a) A binary that exits at once (redis-server-path /bin/false): the start
#      answers a failure; backoff, then fatal after crash-loop LIMIT exits;
#      the agent goes on serving; the monitor gets the fatal event; with
#      crash-loop-action retry it keeps retrying at the capped delay, with
#      stop it stays fatal and spawns nothing more.
#  (b) A redis param that redis-server refuses at start but the agent
#      accepts (cluster-enabled yes with replicaof): backoff, then fatal.
#  (c) kill -9 of a running supervised redis: restarted at once, answering
#      PING again (the time is measured and printed); last_exit has signal 9
#      and no OOM suspicion: a SIGKILL the agent did not send, while the
#      host's oom_kill count (/proc/vmstat) did not move.
[ -z "${BASH_VERSION:-}" ] && exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
sup_init redis-server redis-cli curl jq

alloc_ports 10
P_MON=${PORTS[0]} P_HTTP=${PORTS[1]} P_A1=${PORTS[2]} P_A2=${PORTS[3]}
P_A3=${PORTS[4]} P_F1=${PORTS[5]} P_F2=${PORTS[6]} P_B1=${PORTS[7]}
P_K1=${PORTS[8]} P_X=${PORTS[9]}
SUP_MONITOR=127.0.0.1:$P_MON
LIMIT=4

start_monitor mon --port "$P_MON" --http-port "$P_HTTP" --data-dir "$T/mdata" \
    --save-interval 2s
SUP_HOST=h1 sup_agent a1 "$P_A1" "$T/a1" --redis-server-path /bin/false \
    --crash-loop "$LIMIT" 30s --crash-loop-action retry
SUP_HOST=h2 sup_agent a2 "$P_A2" "$T/a2" --redis-server-path /bin/false \
    --crash-loop "$LIMIT" 30s --crash-loop-action stop
SUP_HOST=h3 sup_agent a3 "$P_A3" "$T/a3" --crash-loop "$LIMIT" 30s

# log_since NAME LINE: the daemon's log after line LINE.
log_since() { tail -n +$(($2 + 1)) "${D_LOG[$1]}"; }
nlines() { wc -l <"${D_LOG[$1]}"; }
# exits_before_fatal AGENT INSTANCE: how many exits the agent logged for
# the instance before its first move to fatal.
exits_before_fatal() {
	awk -v i="instance $2:" 'index($0, i) && / -> fatal / { exit }
	    index($0, i) && /: pid [0-9]+ (exit|killed)/ { n++ } END { print n + 0 }' "${D_LOG[$1]}"
}

# ---- (a) /bin/false, crash-loop-action retry -------------------------------------------------
t0=$(now_ms)
out=$(ictl "$P_A1" instance start f1 --kind redis --port "$P_F1"); rc=$?
say "a1: instance start f1: status $rc after $(( $(now_ms) - t0 )) ms: $(ctl_err)"
check "the start of f1 (a binary that exits at once) fails (status 1)" test "$rc" = 1
check "... with the reason (exit 1)" grep -q "f1 did not start: exit 1" <<<"$(ctl_err)"
wait_for 10 "f1 goes fatal" '[ "$(inst_field "$P_A1" f1 .state)" = fatal ]'
ictl "$P_A1" instance list --json | jq -c '.items[] | {name, state, desired, restarts, error, last_exit}'
n=$(exits_before_fatal a1 f1)
check "f1 went fatal after exactly crash-loop LIMIT=$LIMIT exits ($n)" test "$n" = "$LIMIT"
check "f1 went through backoff first" log_has a1 'instance f1: starting -> backoff reason="exit 1"'
check "... the first restart at once, the next ones after a delay" \
    eval 'log_has a1 "instance f1: restarting at once" && log_has a1 "instance f1: restart in [0-9]+ ms"'
grep 'instance f1: restart in' "${D_LOG[a1]}" | head -n 3
check "the move to fatal is logged as a warning with the reason" \
    log_has a1 "warn supervisor instance f1: [a-z]+ -> fatal reason=\"$LIMIT exits within 30 s \(last: exit 1\); retrying"
check "last_exit: code 1, no signal" \
    test "$(inst_field "$P_A1" f1 '(.last_exit.code|tostring) + " " + (.last_exit.signal|tostring)')" = "1 0"
check "desired.json still wants f1 running" \
    jqt "$T/a1/state/desired.json" '.instances[] | select(.name == "f1") | .desired == "running"'
# The agent goes on serving.
check "a1 still answers instance list" ictl "$P_A1" instance list >/dev/null
check "a1 still answers host" test "$(agent_host_field "$P_A1" host)" = h1
# The monitor got the fatal event at once.
wait_for 10 "the monitor has the fatal event of f1 (process.state, or its log)" \
    '[ "$(instance_field "$P_HTTP" f1 .process.state)" = fatal ] || log_has mon "event host=h1 instance=f1 event=fatal"'
wait_for 10 "the monitor's /api/v1/instances shows f1's process state fatal" \
    '[ "$(instance_field "$P_HTTP" f1 .process.state)" = fatal ]'
say "monitor: $(http_get "$P_HTTP" /api/v1/instances | jq -c '.items[] | select(.name == "f1") | {name, state, process}')"
# retry: it is not given up; the restarts go on at the capped delay (1 s).
r0=$(inst_field "$P_A1" f1 .restarts)
wait_for 5 "f1 is retried while fatal (restarts > $r0)" '[ "$(inst_field "$P_A1" f1 .restarts)" -gt "$r0" ]'
check "f1 is back to fatal after the retry, never given up silently" \
    eval 'poll_until $((5 * TF)) "[ \"\$(inst_field $P_A1 f1 .state)\" = fatal ]"'

# ---- (a) /bin/false, crash-loop-action stop ----------------------------------------------------
out=$(ictl "$P_A2" instance start f2 --kind redis --port "$P_F2"); rc=$?
check "a2: the start of f2 fails (status 1: $(ctl_err))" test "$rc" = 1
wait_for 10 "f2 goes fatal" '[ "$(inst_field "$P_A2" f2 .state)" = fatal ]'
n=$(exits_before_fatal a2 f2)
check "f2 went fatal after exactly $LIMIT exits ($n)" test "$n" = "$LIMIT"
check "the reason says it stopped" log_has a2 'instance f2: [a-z]+ -> fatal reason=".*; stopped"'
spawns=$(grep -c 'instance f2: spawned pid=' "${D_LOG[a2]}")
r0=$(inst_field "$P_A2" f2 .restarts)
# Nothing happens here by design: wait past two capped delays (2 x 1 s).
sleep $((2 * TF)).5
check "f2 is still fatal" test "$(inst_field "$P_A2" f2 .state)" = fatal
check "no new pid for f2 ($spawns spawns, restarts $r0)" \
    eval 'test "$(grep -c "instance f2: spawned pid=" "${D_LOG[a2]}")" = "$spawns" && test "$(inst_field "$P_A2" f2 .restarts)" = "$r0"'
check "list: f2 has no pid" test "$(inst_field "$P_A2" f2 .pid)" = 0
check "a2 still serves" ictl "$P_A2" host >/dev/null
check "the monitor log has f2's fatal event" log_has mon "event host=h2 instance=f2 event=fatal"
# f2 went fatal before the agent's first sample introduced it to the
# monitor; the monitor must still show the state it ended in.
say "monitor: $(http_get "$P_HTTP" /api/v1/instances | jq -c '.items[] | select(.name == "f2") | {name, state, process}')"
expect "the monitor's /api/v1/instances shows f2's process state fatal" \
    test "$(instance_field "$P_HTTP" f2 .process.state)" = fatal
expect "... and the fatal event as its last event" \
    test "$(instance_field "$P_HTTP" f2 .process.last_event.event)" = fatal
# A start brings a fatal instance back (here: into the same crash loop).
n0=$(nlines a2)
ictl "$P_A2" instance start f2 --kind redis --port "$P_F2" >/dev/null
check "a new start of the fatal f2 is tried (spawned again)" \
    eval 'log_since a2 $n0 | grep -q "instance f2: spawned pid="'
wait_for 10 "f2 is fatal again" '[ "$(inst_field "$P_A2" f2 .state)" = fatal ]'
check "stop of a fatal instance: stopped" ictl "$P_A2" instance stop f2
check "list: f2 stopped" test "$(inst_field "$P_A2" f2 .state)" = stopped

# ---- (b) redis-server refuses its config -------------------------------------------------------
out=$(ictl "$P_A3" instance start b1 --kind redis --port "$P_B1" \
    --param cluster-enabled=yes --param "replicaof=127.0.0.1 $P_X"); rc=$?
say "a3: instance start b1 (cluster-enabled + replicaof): status $rc: $(ctl_err)"
check "the start of b1 fails (status 1)" test "$rc" = 1
check "... with redis-server's exit status (exit 1)" grep -q "b1 did not start: exit 1" <<<"$(ctl_err)"
check "redis-server said why on its stderr (log-dir/b1.out)" \
    grep -q "replicaof directive not allowed in cluster mode" "$T/a3/logs/b1.out"
wait_for 10 "b1 goes fatal" '[ "$(inst_field "$P_A3" b1 .state)" = fatal ]'
n=$(exits_before_fatal a3 b1)
check "b1 went fatal after exactly $LIMIT exits ($n)" test "$n" = "$LIMIT"
check "b1 went through backoff first" log_has a3 'instance b1: starting -> backoff reason="exit 1"'
check "nothing listens on b1's port" not port_listening "$P_B1"
check "a3 still serves" ictl "$P_A3" instance list >/dev/null
wait_for 10 "the monitor has the fatal event of b1" \
    '[ "$(instance_field "$P_HTTP" b1 .process.state)" = fatal ] || log_has mon "event host=h3 instance=b1 event=fatal"'
# Stopping it ends the retries.
check "stop b1" ictl "$P_A3" instance stop b1

# ---- (c) kill -9 of a running redis --------------------------------------------------------------
check "a3: instance start k1 exits 0" ictl "$P_A3" instance start k1 --kind redis --port "$P_K1"
PID1=$(inst_field "$P_A3" k1 .pid)
check "k1 answers PING (pid $PID1)" pong "$P_K1"
n0=$(nlines a3)
t0=$(now_ms)
kill -KILL "$PID1"
end=$((t0 + 10000 * TF))
until pong "$P_K1"; do
	[ "$(now_ms)" -ge "$end" ] && fail "k1 does not answer PING $((10 * TF)) s after kill -9"
done
el=$(( $(now_ms) - t0 ))
say "RESTART LATENCY: kill -9 of k1 (pid $PID1) to PONG: $el ms"
check "k1 answers PING again within 2 s of the kill ($el ms)" test "$el" -le $((2000 * TF))
wait_for 5 "list: k1 running" '[ "$(inst_field "$P_A3" k1 .state)" = running ]'
PID2=$(inst_field "$P_A3" k1 .pid)
ictl "$P_A3" instance list --json | jq -c '.items[] | select(.name == "k1") | {pid, state, restarts, last_exit}'
check "k1 has a new pid ($PID1 -> $PID2)" eval 'test "$PID2" != "$PID1" && pid_running "$PID2"'
check "it listens on $P_K1" test "$(listeners "$P_K1")" = "$PID2"
# An operator's kill -9, not the OOM killer: the host counted no OOM kill.
check "last_exit: signal 9, not suspected of being the OOM killer" \
    test "$(inst_field "$P_A3" k1 '(.last_exit.signal|tostring) + " " + (.last_exit.oom_suspected|tostring)')" = "9 false"
check "restarts is 1" test "$(inst_field "$P_A3" k1 .restarts)" = 1
check "the agent restarted it at once (the first restart)" \
    eval 'log_since a3 $n0 | grep -q "instance k1: restarting at once"'
check "the exit is logged with the signal" \
    eval 'log_since a3 $n0 | grep -q "instance k1: pid $PID1 killed by SIGKILL (not by ccagent)"'
wait_for 10 "the monitor got k1's events (last event: running)" \
    '[ "$(instance_field "$P_HTTP" k1 .process.state)" = running ] && log_has mon "event host=h3 instance=k1 event=backoff"'
# A second kill soon after: this restart waits restart-backoff MIN.
n0=$(nlines a3)
kill -KILL "$PID2"
wait_for 10 "k1 answers again after a second kill -9" \
    'pong "$P_K1" && [ "$(inst_field "$P_A3" k1 .pid)" != "$PID2" ] && [ "$(inst_field "$P_A3" k1 .state)" = running ]'
check "the second restart came after a backoff delay" \
    eval 'log_since a3 $n0 | grep -q "instance k1: restart in [0-9]* ms"'
check "only one redis-server for k1" test "$(inst_pids "$T/a3/state" k1 | wc -l)" = 1
pass

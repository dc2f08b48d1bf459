#!/bin/bash
# t_sup_basic.sh: the agent supervises a redis-server.  Start answers once
# it answers PING, and list shows it running with its pid; SetParams
# (maxmemory, maxmemory-policy) is checked with CONFIG GET; a start-only
# param (appendonly) needs a restart and holds after one; disable-command-list
# gives the default user NOPERM while the agent's user (and its INFO
# sampling, seen at the monitor) keep working; FlushInstance empties it;
# stop is a SIGTERM, and a process that ignores it is SIGKILLed after
# stop-timeout; the desired state, the audit log and the generated
# redis.conf say what they should.  A restart of a stopped instance is
# kept as desired running; the agent exits 0 on SIGTERM while a request waits.
[ -z "${BASH_VERSION:-}" ] && exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
sup_init redis-server redis-cli curl jq

alloc_ports 6
P_AG=${PORTS[0]} P_R1=${PORTS[1]} P_R2=${PORTS[2]} P_MON=${PORTS[3]}
P_HTTP=${PORTS[4]}
SUP_MONITOR=127.0.0.1:$P_MON
D=$T/a
S=$D/state

start_monitor mon --port "$P_MON" --http-port "$P_HTTP" --data-dir "$T/mdata" \
    --save-interval 2s
sup_agent agent "$P_AG" "$D"

mstate() { instance_field "$P_HTTP" "$1" .state; }
stime() { instance_field "$P_HTTP" "$1" .sample.time; }
cget() { acli "$S" r1 "$P_R1" config get "$1" | sed -n 2p; }
desired() { jq -r --arg n "$1" ".instances[] | select(.name == \$n) | $2" "$S/desired.json"; }

# ---- start ----------------------------------------------------------------------------------
t0=$(now_ms)
out=$(ictl "$P_AG" instance start r1 --kind redis --port "$P_R1" \
    --param maxmemory=10mb --param notify-keyspace-events=Ex); rc=$?
say "instance start r1: status $rc after $(( $(now_ms) - t0 )) ms: $(head -n 1 <<<"$out") $(ctl_err)"
check "instance start r1 exits 0" test "$rc" = 0
check "... and r1 answers PING by then" pong "$P_R1"
PID1=$(inst_field "$P_AG" r1 .pid)
say "r1: $(ictl "$P_AG" instance list --json | jq -c '.items[] | select(.name == "r1") | {pid, state, desired, adopted, port}')"
check "list: r1 is running, desired running" \
    test "$(inst_field "$P_AG" r1 '.state + " " + .desired')" = "running running"
check "list: r1's pid ($PID1) is a live redis-server" \
    eval 'pid_running "$PID1" && _sup_is_server "$PID1"'
check "r1's pid is the one listening on $P_R1" test "$(listeners "$P_R1")" = "$PID1"
check "the start message names the pid" grep -q "pid $PID1" <<<"$out"
check "desired.json: r1, redis, port $P_R1, desired running" \
    test "$(desired r1 '.kind + " " + (.port|tostring) + " " + .desired')" = "redis $P_R1 running"
check "the agent's log has the state changes of r1" \
    eval 'log_has agent "instance r1: stopped -> starting" && log_has agent "instance r1: starting -> running"'

# ---- SetParams, online ---------------------------------------------------------------------------
ictl "$P_AG" instance set r1 maxmemory=64mb maxmemory-policy=allkeys-lru --json >"$T/set1.json"; rc=$?
jq -c '{message, applied, needs_restart}' "$T/set1.json"
check "instance set maxmemory maxmemory-policy exits 0" test "$rc" = 0
check "... both applied online, none needs a restart" \
    jqt "$T/set1.json" '(.applied | sort) == ["maxmemory", "maxmemory-policy"] and .needs_restart == []'
check "CONFIG GET maxmemory is 64mb (67108864)" test "$(cget maxmemory)" = 67108864
check "CONFIG GET maxmemory-policy is allkeys-lru" test "$(cget maxmemory-policy)" = allkeys-lru
check "desired.json keeps maxmemory=64mb, maxmemory-policy=allkeys-lru" \
    test "$(desired r1 '.params.maxmemory + " " + .params["maxmemory-policy"]')" = "64mb allkeys-lru"
check "the pid did not change" test "$(inst_field "$P_AG" r1 .pid)" = "$PID1"

# ---- SetParams, start-only ---------------------------------------------------------------------------
out=$(ictl "$P_AG" instance set r1 appendonly=yes); rc=$?
echo "$out"
ictl "$P_AG" instance set r1 appendonly=yes --json >"$T/set2.json"
check "instance set appendonly=yes exits 0" test "$rc" = 0
check "... and says it needs a restart" \
    eval 'grep -qi "restart.*appendonly" <<<"$out" && jqt "$T/set2.json" ".needs_restart == [\"appendonly\"] and .applied == []"'
check "CONFIG GET appendonly is still no" test "$(cget appendonly)" = no
check "desired.json holds appendonly=yes" test "$(desired r1 '.params.appendonly')" = yes

# ---- disable-command-list ---------------------------------------------------------------------------
acli "$S" r1 "$P_R1" set k1 v1 >/dev/null
ictl "$P_AG" instance set r1 disable-command-list=keys,flushall --json >"$T/set3.json"; rc=$?
check "instance set disable-command-list=keys,flushall exits 0, applied online" \
    eval 'test $rc = 0 && jqt "$T/set3.json" ".applied == [\"disable-command-list\"]"'
out=$(redis-cli -p "$P_R1" keys '*' 2>&1)
say "default user: KEYS * -> $out"
check "the default user gets NOPERM for KEYS" grep -q NOPERM <<<"$out"
out=$(redis-cli -p "$P_R1" flushall 2>&1)
check "the default user gets NOPERM for FLUSHALL ($out)" grep -q NOPERM <<<"$out"
check "the default user may still GET" test "$(redis-cli -p "$P_R1" get k1)" = v1
out=$(acli "$S" r1 "$P_R1" -e keys '*' 2>&1); rc=$?
check "user ccagent may still run KEYS (status $rc: $out)" eval 'test $rc = 0 && test "$out" = k1'
out=$(timeout 5 redis-cli -p "$P_R1" --user ccprobe --pass "$(cat "$S/instances/r1/probe.pass")" \
    --no-auth-warning info server 2>&1 | grep -c '^redis_version:')
check "user ccprobe may run INFO" test "$out" = 1
out=$(timeout 5 redis-cli -p "$P_R1" --user ccprobe --pass "$(cat "$S/instances/r1/probe.pass")" \
    --no-auth-warning get k1 2>&1)
check "user ccprobe may not GET ($out)" grep -q NOPERM <<<"$out"
# The agent samples r1 (INFO, as ccagent): the monitor sees it up, and its
# sample time keeps advancing after the commands were disabled.
wait_for 15 "the monitor shows r1 up (sampled by the agent)" '[ "$(mstate r1)" = up ]'
prev=$(stime r1)
wait_for 10 "r1's sample time advances past $prev after disable-command-list" \
    '[ "$(stime r1)" \> "$prev" ] && [ "$(mstate r1)" = up ]'
check "the agent's sampling connection (ccagent-sample) is connected" \
    eval 'acli "$S" r1 "$P_R1" client list | grep -q "name=ccagent-sample .*user=ccagent"'

# ---- restart: the start-only param holds ------------------------------------------------------------
out=$(ictl "$P_AG" instance restart r1); rc=$?
say "instance restart r1: status $rc: $(head -n 1 <<<"$out") $(ctl_err)"
check "instance restart r1 exits 0" test "$rc" = 0
PID2=$(inst_field "$P_AG" r1 .pid)
check "r1 has a new pid ($PID1 -> $PID2), the old one is gone" \
    eval 'test "$PID2" != "$PID1" && ! pid_running "$PID1" && pid_running "$PID2"'
check "after the restart CONFIG GET appendonly is yes" test "$(cget appendonly)" = yes
check "... maxmemory is still 64mb" test "$(cget maxmemory)" = 67108864
check "... maxmemory-policy is still allkeys-lru" test "$(cget maxmemory-policy)" = allkeys-lru
check "... notify-keyspace-events (given at start) holds" \
    eval 'cget notify-keyspace-events | grep -q "^[Ex]*$" && test -n "$(cget notify-keyspace-events)"'
out=$(redis-cli -p "$P_R1" keys '*' 2>&1)
check "... KEYS is still disabled for the default user ($out)" grep -q NOPERM <<<"$out"
check "list: r1 running with pid $PID2" \
    test "$(inst_field "$P_AG" r1 '.state + " " + (.pid|tostring)')" = "running $PID2"

# ---- the generated redis.conf ---------------------------------------------------------------------------
CONF=$S/instances/r1/redis.conf
grep -v '^user ' "$CONF"
check "redis.conf: maxmemory quoted" grep -qx 'maxmemory "64mb"' "$CONF"
check "redis.conf: maxmemory-policy quoted" grep -qx 'maxmemory-policy "allkeys-lru"' "$CONF"
check "redis.conf: notify-keyspace-events quoted" grep -qx 'notify-keyspace-events "Ex"' "$CONF"
check "redis.conf: dir and logfile quoted, under the state and log dirs" \
    eval 'grep -qx "dir \"$S/instances/r1/data\"" "$CONF" && grep -qx "logfile \"$D/logs/r1.log\"" "$CONF"'
check "redis.conf: port, bind 127.0.0.1, daemonize no, appendonly yes" \
    eval 'grep -qx "port $P_R1" "$CONF" && grep -qx "bind 127.0.0.1" "$CONF" && grep -qx "daemonize no" "$CONF" && grep -qx "appendonly yes" "$CONF"'
check "redis.conf: the default user, with the disabled commands taken away" \
    grep -qE '^user default on nopass ~\* &\* \+@all( -[a-z|]+| \+acl\|whoami)* -keys -flushall$' "$CONF"
check "redis.conf: the default user can never reach ACL, CONFIG or SHUTDOWN" \
    eval 'grep "^user default " "$CONF" | grep -q -- " -acl .*-config .*-shutdown "'
check "redis.conf: user ccagent with the password of agent.pass" \
    grep -qF "user ccagent on >$(cat "$S/instances/r1/agent.pass") " "$CONF"
check "redis.conf: user ccprobe with probe.pass, only PING, INFO, ROLE" \
    eval 'grep "^user ccprobe on >$(cat "$S/instances/r1/probe.pass") " "$CONF" | grep -q -- "-@all +ping +info +role"'
check "agent.pass and probe.pass are mode 600" \
    test "$(stat -c %a "$S/instances/r1/agent.pass" "$S/instances/r1/probe.pass" | sort -u)" = 600

# ---- FlushInstance ------------------------------------------------------------------------------------------
for i in $(seq 1 50); do echo "SET key:$i $i"; done | acli "$S" r1 "$P_R1" >/dev/null
n=$(acli "$S" r1 "$P_R1" dbsize)
check "r1 holds keys before the flush ($n)" test "$n" -ge 50
out=$(ictl "$P_AG" instance flush r1); rc=$?
say "instance flush r1: status $rc: $(head -n 1 <<<"$out") $(ctl_err)"
check "instance flush r1 exits 0" test "$rc" = 0
wait_for 5 "DBSIZE is 0 after the flush" '[ "$(acli "$S" r1 "$P_R1" dbsize)" = 0 ]'

# ---- stop: SIGTERM ---------------------------------------------------------------------------------------------
out=$(ictl "$P_AG" instance stop r1); rc=$?
say "instance stop r1: status $rc: $(head -n 1 <<<"$out") $(ctl_err)"
check "instance stop r1 exits 0" test "$rc" = 0
wait_for 5 "r1's pid $PID2 is gone" '! pid_running "$PID2"'
check "nothing listens on $P_R1" not port_listening "$P_R1"
check "redis logged that it received SIGTERM" grep -q "Received SIGTERM" "$D/logs/r1.log"
check "the agent did not need SIGKILL for r1" not log_has agent 'instance r1: still running .* SIGKILL'
check "list: r1 stopped, desired stopped, no pid" \
    test "$(inst_field "$P_AG" r1 '.state + " " + .desired + " " + (.pid|tostring)')" = "stopped stopped 0"
check "desired.json: r1 desired stopped" test "$(desired r1 .desired)" = stopped
check "desired.json still holds r1's params" test "$(desired r1 '.params.appendonly')" = yes

# ---- the audit log ------------------------------------------------------------------------------------------------
AUDIT=$D/logs/audit.log
cat "$AUDIT"
check "audit.log: the flush of r1, with the caller" \
    grep -Eq ' peer=127\.0\.0\.1:[0-9]+ name="ccctl" request=FlushInstance instance="r1" result=ok' "$AUDIT"
check "audit.log: the stop of r1, with the caller" \
    grep -Eq ' peer=127\.0\.0\.1:[0-9]+ name="ccctl" request=StopInstance instance="r1" result=ok' "$AUDIT"
check "audit.log: the restart of r1" grep -q 'request=RestartInstance instance="r1" result=ok' "$AUDIT"
check "audit.log lines start with a UTC time" \
    test "$(grep -cvE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z ' "$AUDIT")" = 0

# ---- restart of a stopped instance: it runs, and the desired state says so ------------------------------
check "instance restart of the stopped r1 exits 0" ictl "$P_AG" instance restart r1
check "r1 answers PING again" pong "$P_R1"
check "list: r1 running, desired running" \
    test "$(inst_field "$P_AG" r1 '.state + " " + .desired')" = "running running"
# A restarted agent goes by desired.json: it must say running too.
expect "desired.json: r1 desired running after the restart request" \
    test "$(desired r1 .desired)" = running
check "stop r1 again" ictl "$P_AG" instance stop r1

# ---- stop of a process that ignores SIGTERM: SIGKILL after stop-timeout (2s) --------------------------------
check "instance start r2 exits 0" ictl "$P_AG" instance start r2 --kind redis --port "$P_R2"
PID3=$(inst_field "$P_AG" r2 .pid)
kill -STOP "$PID3"
t0=$(now_ms)
ictl "$P_AG" instance stop r2 >/dev/null; rc=$?
el=$(( $(now_ms) - t0 ))
say "instance stop r2 (SIGSTOPped, pid $PID3): status $rc after $el ms"
check "instance stop r2 exits 0" test "$rc" = 0
check "... after stop-timeout: 2 s <= $el ms <= $((4000 * TF)) ms" \
    eval 'test "$el" -ge 1900 && test "$el" -le $((4000 * TF))'
check "the agent logged the SIGKILL" log_has agent 'instance r2: still running .* SIGKILL'
wait_for 5 "r2's pid $PID3 is gone" '! pid_running "$PID3"'
ictl "$P_AG" instance list --json | jq -c '.items[] | select(.name == "r2") | {state, last_exit}'
check "list: r2 stopped; last exit SIGKILL, sent by the agent (no OOM suspicion)" \
    test "$(inst_field "$P_AG" r2 '.state + " " + (.last_exit.signal|tostring) + " " + (.last_exit.oom_suspected|tostring)')" = "stopped 9 false"

# ---- the agent stops cleanly (SIGTERM, exit 0) while a request waits ---------------------------------------
check "instance start r2 again" ictl "$P_AG" instance start r2 --kind redis --port "$P_R2"
PID4=$(inst_field "$P_AG" r2 .pid)
kill -STOP "$PID4"
n0=$(wc -l <"${D_LOG[agent]}")
timeout $((30 * TF)) "$CCCTL" -a "127.0.0.1:$P_AG" instance stop r2 >/dev/null 2>>"$T/ccctl-bg.log" &
CTL_BG=$!
wait_for 5 "the stop of r2 is under way (the SIGSTOPped redis ignores SIGTERM)" \
    'tail -n +$((n0 + 1)) "${D_LOG[agent]}" | grep -q "instance r2: running -> stopping"'
expect "SIGTERM of the agent while a stop request waits: exit 0, no sanitizer report" stop_daemon agent
kill -CONT "$PID4"
wait "$CTL_BG"
say "the waiting ccctl instance stop r2: status $?: $(cat "$T/ccctl-bg.log")"
pass

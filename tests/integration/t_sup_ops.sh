#!/bin/bash
# t_sup_ops.sh: the online requests on supervised instances.
#  - KillAllConnections drops a blocked client (BLPOP), a pubsub client
#    (SUBSCRIBE), a MONITOR client and an idle one, and keeps the agent's
#    own connections (ccagent-sample, ccagent-control), a monitor probe's
#    (ccmonitor-probe, user ccprobe) and the replication link.
#  - PromoteInstance turns a replica started with replicaof into a master,
#    and desired.json no longer has replicaof (a restart keeps it a master).
#  - The interface process (nutcracker) proxies a SET to its backend.
#  - Analyze starts a big-key scan; an unknown instance is refused (status 1).
[ -z "${BASH_VERSION:-}" ] && exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
sup_init redis-server redis-cli nutcracker jq

alloc_ports 5
P_AG=${PORTS[0]} P_M1=${PORTS[1]} P_R1=${PORTS[2]} P_PX=${PORTS[3]} P_PXS=${PORTS[4]}
D=$T/a
S=$D/state

sup_agent agent "$P_AG" "$D"
mcli() { acli "$S" m1 "$P_M1" "$@"; }
rcli() { acli "$S" r1 "$P_R1" "$@"; }
# clients: m1's CLIENT LIST, one "id name flags cmd user" line per client.
clients() {
	mcli client list | awk '{
	    for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = substr($i, length(kv[1]) + 2) }
	    print f["id"], (f["name"] == "" ? "-" : f["name"]), f["flags"], f["cmd"], f["user"] }'
}
client_id() {	# AWK-CONDITION on $2 name, $3 flags, $4 cmd: the first match's id
	clients | awk "$1 { print \$1; exit }"
}

check "start m1" ictl "$P_AG" instance start m1 --kind redis --port "$P_M1"
check "start r1, a replica of m1 (replicaof=127.0.0.1 $P_M1)" \
    ictl "$P_AG" instance start r1 --kind redis --port "$P_R1" --param "replicaof=127.0.0.1 $P_M1"
check "start px1, nutcracker in front of m1" ictl "$P_AG" instance start px1 --kind interface \
    --port "$P_PX" --param "servers=127.0.0.1:$P_M1" --param "stats-port=$P_PXS"
wait_for 10 "r1 replicates from m1 (master_link_status:up)" \
    'rcli info replication | grep -q "^master_link_status:up"'

# ---- the interface proxies to its backend -----------------------------------------------------------------
check "SET through the proxy answers OK" test "$(redis-cli -p "$P_PX" set via-proxy hello)" = OK
check "GET on the backend (m1) directly sees it" test "$(mcli get via-proxy)" = hello
check "GET through the proxy sees it" test "$(redis-cli -p "$P_PX" get via-proxy)" = hello
wait_for 5 "the replica has it too" '[ "$(rcli get via-proxy)" = hello ]'

# ---- KillAllConnections -----------------------------------------------------------------------------------
PROBE_PASS=$(cat "$S/instances/m1/probe.pass")
start_helper blocked redis-cli -p "$P_M1" blpop no-such-list 0
start_helper pubsub redis-cli -p "$P_M1" subscribe some-channel
start_helper monitor redis-cli -p "$P_M1" monitor
start_helper idle bash -c "(echo 'CLIENT SETNAME app-client'; exec sleep 600) | exec redis-cli -p $P_M1"
# A client that names itself like the agent: a name proves nothing.
start_helper spoof bash -c "(echo 'CLIENT SETNAME ccagent-spoof'; exec sleep 600) | exec redis-cli -p $P_M1"
start_helper probe bash -c "(echo 'CLIENT SETNAME ccmonitor-probe'; exec sleep 600) |
    exec redis-cli -p $P_M1 --user ccprobe --pass $PROBE_PASS --no-auth-warning"
wait_for 10 "m1 has the blocked, pubsub, MONITOR, idle, probe, agent and replica clients" \
    'c=$(clients)
     grep -q " blpop " <<<"$c" && grep -q " subscribe " <<<"$c" && grep -q "^[0-9]* - O " <<<"$c" &&
     grep -q " app-client " <<<"$c" && grep -q " ccmonitor-probe .* ccprobe$" <<<"$c" &&
     grep -q " ccagent-spoof .* default$" <<<"$c" &&
     grep -q " ccagent-sample " <<<"$c" && grep -q " ccagent-control " <<<"$c" && grep -q " S " <<<"$c"'
clients | tee "$T/clients.before"
ID_SAMPLE=$(client_id '$2 == "ccagent-sample"')
ID_CONTROL=$(client_id '$2 == "ccagent-control"')
ID_PROBE=$(client_id '$2 == "ccmonitor-probe"')
ID_REPL=$(client_id '$3 ~ /S/')
out=$(ictl "$P_AG" instance kill-clients m1); rc=$?
say "instance kill-clients m1: status $rc: $(head -n 1 <<<"$out") $(ctl_err)"
check "instance kill-clients m1 exits 0" test "$rc" = 0
check "... and says how many it killed (at least 4)" \
    eval 'n=$(sed -n "s/.*killed \([0-9]*\) client connections.*/\1/p" <<<"$out" | head -n 1); test "${n:-0}" -ge 4'
for h in blocked pubsub monitor; do
	wait_for 5 "the $h client's redis-cli saw its connection closed and exited" '! alive '"$h"
done
clients | tee "$T/clients.after"
c=$(clients)
check "no blocked (BLPOP) client left" not grep -q ' blpop ' <<<"$c"
check "no pubsub (SUBSCRIBE) client left" not grep -q ' subscribe ' <<<"$c"
check "no MONITOR client left" not grep -q '^[0-9]* - O ' <<<"$c"
check "the idle app-client is gone" not grep -q ' app-client ' <<<"$c"
check "the default-user client named ccagent-spoof is gone" not grep -q ' ccagent-spoof ' <<<"$c"
check "the agent's ccagent-sample connection is kept (id $ID_SAMPLE)" \
    test "$(client_id '$2 == "ccagent-sample"')" = "$ID_SAMPLE"
check "the agent's ccagent-control connection is kept (id $ID_CONTROL)" \
    test "$(client_id '$2 == "ccagent-control"')" = "$ID_CONTROL"
check "the monitor's ccmonitor-probe connection is kept (id $ID_PROBE)" \
    test "$(client_id '$2 == "ccmonitor-probe"')" = "$ID_PROBE"
check "the replica's link is kept (id $ID_REPL), r1 still in sync" \
    eval 'test "$(client_id "\$3 ~ /S/")" = "$ID_REPL" && rcli info replication | grep -q "^master_link_status:up"'
check "the audit log has the kill-clients request" \
    grep -q 'request=KillAllConnections instance="m1" result=ok' "$D/logs/audit.log"
out=$(ictl "$P_AG" instance kill-clients px1); rc=$?
check "kill-clients on the interface is refused (status $rc: $(ctl_err))" \
    eval 'test $rc = 1 && grep -q "only kind redis" <<<"$(ctl_err)"'

# ---- PromoteInstance ------------------------------------------------------------------------------------
check "r1 is a replica (ROLE)" test "$(rcli role | head -n 1)" = slave
check "desired.json: r1 has replicaof" \
    jqt "$S/desired.json" --arg v "127.0.0.1 $P_M1" '.instances[] | select(.name == "r1") | .params.replicaof == $v'
out=$(ictl "$P_AG" instance promote r1); rc=$?
say "instance promote r1: status $rc: $(head -n 1 <<<"$out") $(ctl_err)"
check "instance promote r1 exits 0" test "$rc" = 0
check "ROLE of r1 is master" test "$(rcli role | head -n 1)" = master
check "INFO replication of r1: role:master" eval 'rcli info replication | grep -q "^role:master"'
check "r1 takes writes" test "$(rcli set after-promote 1)" = OK
check "desired.json: r1 has no replicaof" \
    jqt "$S/desired.json" '.instances[] | select(.name == "r1") | (.params | has("replicaof") | not)'
check "list: r1 has no replicaof param" test "$(inst_field "$P_AG" r1 '.params | has("replicaof")')" = false
check "the audit log has the promotion" grep -q 'request=PromoteInstance instance="r1" result=ok' "$D/logs/audit.log"
check "instance restart r1" ictl "$P_AG" instance restart r1
check "after a restart r1 is still a master (ROLE)" test "$(rcli role | head -n 1)" = master
check "... and its redis.conf has no replicaof" not grep -q '^replicaof' "$S/instances/r1/redis.conf"
check "m1 is a master too" test "$(mcli role | head -n 1)" = master

# ---- Analyze ---------------------------------------------------------------------------------------------
out=$(ictl "$P_AG" instance analyze m1); rc=$?
say "instance analyze m1: status $rc: $out"
check "instance analyze m1 starts a big-key scan" \
    eval '[ "$rc" = 0 ] && grep -q "big-key scan of m1 started" <<<"$out"'
ictl "$P_AG" instance analyze nosuch >/dev/null; rc=$?
check "instance analyze of an unknown instance exits 1, naming it" \
    eval '[ "$rc" = 1 ] && grep -q "no instance nosuch" <<<"$(ctl_err)"'
check "the agent still serves" ictl "$P_AG" instance list >/dev/null
pass

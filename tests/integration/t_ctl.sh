#!/bin/bash
# t_ctl.sh: ccctl.  Usage errors exit 2; instance list and host (table and
# --json) against the agent; monitor status|instances|machines against the
# monitor; a closed port or a hung peer exits 1 with the reason on stderr.
[ -z "${BASH_VERSION:-}" ] && exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
itest_init redis-server redis-cli curl jq

alloc_ports 5
P_R1=${PORTS[0]} P_MON=${PORTS[1]} P_HTTP=${PORTS[2]} P_AG=${PORTS[3]}
P_CLOSED=${PORTS[4]}
A="127.0.0.1:$P_AG"
M="127.0.0.1:$P_HTTP"

# ---- usage errors: status 2, usage on stderr, nothing on stdout -----------------------------
usage_error() {
	local out rc
	out=$(ctl "$@"); rc=$?
	say "ccctl $*: status $rc, stderr: $(head -n 1 <<<"$(ctl_err)")"
	expect "ccctl $* is a usage error (status 2)" test "$rc" = 2
	expect "ccctl $*: message on stderr" test -n "$(ctl_err)"
	expect "ccctl $*: nothing on stdout" test -z "$out"
}
usage_error
usage_error bogus
usage_error instance
usage_error instance frobnicate
usage_error instance list extra
usage_error host --bogus
usage_error -a
usage_error -a notanaddr host
usage_error -a 127.0.0.1:99999 host
usage_error --timeout
usage_error --timeout xyz host
usage_error monitor
usage_error -m "$M" monitor nope
usage_error -m "$M" monitor status --bogus
# Asking for help is not a usage error.
out=$(ctl --help); rc=$?
say "ccctl --help: status $rc, $(wc -l <<<"$out$(ctl_err)") lines"
expect "ccctl --help exits 0" test "$rc" = 0
expect "ccctl --help prints the usage on stdout" grep -q '^usage: ccctl' <<<"$out"

# ---- a closed port: status 1 and a reason ---------------------------------------------------------------
check "nothing listens on $P_CLOSED" not port_listening "$P_CLOSED"
for args in "-a 127.0.0.1:$P_CLOSED host" "-a 127.0.0.1:$P_CLOSED instance list --json" \
    "-m 127.0.0.1:$P_CLOSED monitor status" "-m 127.0.0.1:$P_CLOSED monitor machines --json"; do
	out=$(ctl $args); rc=$?
	say "ccctl $args: status $rc, stderr: $(ctl_err)"
	expect "ccctl $args against a closed port exits 1" test "$rc" = 1
	expect "ccctl $args says why on stderr, naming the address" grep -q "127.0.0.1:$P_CLOSED: ." <<<"$(ctl_err)"
	expect "ccctl $args prints nothing on stdout" test -z "$out"
done

# ---- against the daemons ---------------------------------------------------------------------------------------
start_redis r1 "$P_R1"
start_monitor mon --port "$P_MON" --http-port "$P_HTTP" --data-dir "$T/mdata" \
    --save-interval 2s
start_agent agent --port "$P_AG" --monitor "127.0.0.1:$P_MON" \
    --spool-dir "$T/spool" --state-dir "$T/state" --sample-interval 1s \
    --sample-timeout 500ms --host-name h1 --watch r1 "127.0.0.1:$P_R1"
wait_for 15 "r1 is up at the monitor" '[ "$(instance_field $P_HTTP r1 .state)" = up ]'

# instance list
ctl -a "$A" instance list --json >"$T/list.json"; rc=$?
jq -c . "$T/list.json"
check "instance list --json exits 0 (status $rc)" test "$rc" = 0
check "instance list --json: {\"items\": [...]}" jqt "$T/list.json" '.items | type == "array"'
check "instance list --json: r1 with name, kind, pid, port, state" \
    jqt "$T/list.json" --argjson p "$P_R1" \
    '.items[] | select(.name == "r1") | (has("kind") and has("pid") and has("state") and .port == $p)'
check "instance list --json: r1's pid is the redis-server's ($(pid_of r1))" \
    jqt "$T/list.json" --argjson pid "$(pid_of r1)" '.items[] | select(.name == "r1") | .pid == $pid'
check "instance list --json: r1 is running" \
    jqt "$T/list.json" '.items[] | select(.name == "r1") | .state == "running"'
out=$(ctl -a "$A" instance list); rc=$?
echo "$out"
check "instance list (table) exits 0" test "$rc" = 0
check "instance list (table) has a header and r1" \
    eval 'grep -q NAME <<<"$out" && grep -q "^r1 " <<<"$out"'

# host
ctl -a "$A" host --json >"$T/host.json"; rc=$?
jq -c . "$T/host.json"
check "host --json exits 0 (status $rc)" test "$rc" = 0
check "host --json: host h1, machineip 127.0.0.1" \
    jqt "$T/host.json" '.host == "h1" and .machineip == "127.0.0.1"'
check "host --json: memorysize is a positive number" \
    jqt "$T/host.json" '(.memorysize | type == "number") and .memorysize > 0'
check "host --json: spool_reports is a number" jqt "$T/host.json" '.spool_reports | type == "number"'
check "host --json: warnings is an array of strings" \
    jqt "$T/host.json" '(.warnings | type == "array") and (.warnings | all(type == "string"))'
out=$(ctl -a "$A" host); rc=$?
echo "$out"
check "host (table) exits 0" test "$rc" = 0
check "host (table) shows machineip and spool_reports" \
    eval 'grep -q "^machineip  *127.0.0.1" <<<"$out" && grep -q "^spool_reports " <<<"$out"'

# monitor status | instances | machines
for sub in status instances machines; do
	out=$(ctl -m "$M" monitor "$sub"); rc=$?
	echo "$out"
	check "monitor $sub (table) exits 0 with output (status $rc)" test "$rc" = 0 -a -n "$out"
	ctl -m "$M" monitor "$sub" --json >"$T/$sub.json"; rc=$?
	check "monitor $sub --json exits 0 and prints JSON (status $rc)" \
	    eval 'test $rc = 0 && jqe . "$T/$sub.json" >/dev/null'
done
jq -c . "$T/status.json"
check "monitor status --json: one agent connected, one host, a version" \
    jqt "$T/status.json" '.agents_connected == 1 and .hosts == 1 and (.version | type == "string")'
check "monitor instances --json: r1 up on h1" \
    jqt "$T/instances.json" '.items[] | select(.name == "r1") | .state == "up" and .host == "h1"'
check "monitor machines --json: h1 with its agent connected" \
    jqt "$T/machines.json" '.items[] | select(.host == "h1") | .agent.connected == true'
check "monitor instances --json matches /api/v1/instances (same names)" \
    test "$(jq -c '[.items[].name] | sort' "$T/instances.json")" = \
    "$(http_get "$P_HTTP" /api/v1/instances | jq -c '[.items[].name] | sort')"
out=$(ctl -m "$M" monitor instances)
check "monitor instances (table) lists r1" grep -q '^r1 ' <<<"$out"
out=$(ctl -m "$M" monitor machines)
check "monitor machines (table) lists h1" grep -q '^h1 ' <<<"$out"

# ---- a peer that accepts but never answers: --timeout, status 1 ---------------------------------------------
kill -STOP "$(pid_of agent)"
t0=$(now_ms)
ctl -a "$A" --timeout 1s host >/dev/null; rc=$?
el=$(( $(now_ms) - t0 ))
kill -CONT "$(pid_of agent)"
say "ccctl --timeout 1s host against a stopped agent: status $rc after $el ms, stderr: $(ctl_err)"
expect "ccctl --timeout 1s against a hung agent exits 1" test "$rc" = 1
expect "... within a few seconds ($el ms)" test "$el" -le $((3000 * TF))
expect "... and says why on stderr" test -n "$(ctl_err)"
# The agent serves again after SIGCONT.
check "ccctl host answers after SIGCONT" \
    test "$(agent_host_field "$P_AG" host)" = h1
pass

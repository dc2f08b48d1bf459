#!/bin/bash
# t_hung.sh: a hung redis (SIGSTOP) is reported down by the agent, with a
# timeout reason, within two sample intervals while the other instances keep
# updating, and judged down (cause hung) by the monitor's probes; it comes
# back after SIGCONT.  A dead redis is down with "connection refused";
# a redis with requirepass watched without credentials is down with NOAUTH,
# and watched with USER PASSWORD-FILE it is up.
[ -z "${BASH_VERSION:-}" ] && exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
itest_init redis-server redis-cli curl jq

alloc_ports 6
P_R1=${PORTS[0]} P_R2=${PORTS[1]} P_R3=${PORTS[2]} P_MON=${PORTS[3]}
P_HTTP=${PORTS[4]} P_AG=${PORTS[5]}
INTERVAL_MS=1000

PASS3=$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')
secret_file "$T/r3.pass" "$PASS3"

start_redis r1 "$P_R1"
start_redis r2 "$P_R2"
start_redis r3 "$P_R3" --requirepass "$PASS3"
start_monitor mon --port "$P_MON" --http-port "$P_HTTP" --data-dir "$T/mdata" \
    --save-interval 2s
start_agent agent --port "$P_AG" --monitor "127.0.0.1:$P_MON" \
    --spool-dir "$T/spool" --state-dir "$T/state" --sample-interval 1s \
    --sample-timeout 500ms --host-name h1 \
    --watch r1 "127.0.0.1:$P_R1" --watch r2 "127.0.0.1:$P_R2" \
    --watch r3 "127.0.0.1:$P_R3" default "$T/r3.pass" \
    --watch r3noauth "127.0.0.1:$P_R3"

# state: the monitor's verdict (its probes and the agent's view);
# aview: the agent's last sample alone.
state() { instance_field "$P_HTTP" "$1" .state; }
aview() { instance_field "$P_HTTP" "$1" 'if .sample.ok then "up" else "down" end'; }
err() { instance_field "$P_HTTP" "$1" '.sample.error // ""'; }
stime() { instance_field "$P_HTTP" "$1" .sample.time; }
up() { prom_value "$P_HTTP" "redis_up{instance=\"$1\",host=\"h1\"}"; }
show() {
	http_get "$P_HTTP" /api/v1/instances |
	    jq -c '.items[] | {name, state, t: .sample.time, ok: .sample.ok, error: .sample.error}'
}

wait_for 15 "r1 and r2 are up" '[ "$(state r1)" = up ] && [ "$(state r2)" = up ]'

# --- requirepass ---------------------------------------------------------------------
wait_for 15 "r3 (user default + password file) is up" '[ "$(state r3)" = up ]'
check "redis_up for r3 is 1" num_eq "$(up r3)" 1
wait_for 15 "the agent reports r3noauth (no credentials) down with a NOAUTH reason" \
    '[ "$(aview r3noauth)" = down ] && err r3noauth | grep -q NOAUTH'
# The monitor's probe has no credentials for watched instances either, but
# an answer, even NOAUTH, shows the server alive.
wait_for 15 "the monitor's verdict on r3noauth and r3: up, probe result auth-failed" \
    '[ "$(instance_field $P_HTTP r3noauth ".state + \" \" + .probe.result")" = "up auth-failed" ] &&
     [ "$(instance_field $P_HTTP r3 ".state + \" \" + .probe.result")" = "up auth-failed" ]'
check "the monitor logs what to configure" \
    log_has mon 'instance r3: the probe cannot authenticate .*instance line with USER PASSWORD-FILE'
say "r3noauth error: $(err r3noauth)"
check "redis_up for r3noauth is 0" num_eq "$(up r3noauth)" 0
show

# --- hung: SIGSTOP r2 -------------------------------------------------------------------
T1_BEFORE=$(stime r1)
kill -STOP "$(pid_of r2)"
T0=$(now_ms)
say "SIGSTOP r2 (pid $(pid_of r2)); r1 sample time $T1_BEFORE"
wait_for 10 "the agent reports r2 down" '[ "$(aview r2)" = down ]'
EL=$(( $(now_ms) - T0 ))
# Two sample intervals, plus what the test's own polling adds (0.2 s poll,
# HTTP round trips); sanitizer builds get a little more.
LIMIT=$(( 2 * INTERVAL_MS + 400 * TF ))
check "r2 was reported down in $EL ms, within two sample intervals (<= $LIMIT ms)" \
    test "$EL" -le "$LIMIT"
E=$(err r2)
say "r2 error: $E"
check "r2's sample error mentions the timeout" grep -qi 'time' <<<"$E"
check "redis_up for r2 is 0" num_eq "$(up r2)" 0
wait_for 10 "the monitor's verdict: r2 down, cause hung" \
    '[ "$(instance_field $P_HTTP r2 ".state + \" \" + .cause")" = "down hung" ]'

# r1 keeps updating while r2 hangs.
for i in 1 2 3; do
	prev=$(stime r1)
	wait_for 5 "r1's sample time advances past $prev while r2 hangs ($i)" \
	    '[ "$(stime r1)" \> "$prev" ]'
	check "r1 still up" test "$(state r1)" = up
	check "r2 still down" test "$(state r2)" = down
done
check "redis_up for r1 is 1 while r2 hangs" num_eq "$(up r1)" 1
show

kill -CONT "$(pid_of r2)"
say "SIGCONT r2"
wait_for 10 "r2 is up again (the monitor's verdict and the agent's sample)" \
    '[ "$(state r2)" = up ] && [ "$(aview r2)" = up ]'
check "redis_up for r2 is 1 again" num_eq "$(up r2)" 1
show

# --- dead: kill r2 ---------------------------------------------------------------------------
kill_daemon r2 KILL
wait_for 10 "r2 is down with a connection-refused reason" \
    '[ "$(state r2)" = down ] && err r2 | grep -qi refused'
say "r2 error: $(err r2)"
check "redis_up for r2 is 0" num_eq "$(up r2)" 0
prev=$(stime r1)
wait_for 5 "r1 keeps updating after r2 died" '[ "$(stime r1)" \> "$prev" ]'
check "r1 still up" test "$(state r1)" = up
check "r3 still up" test "$(state r3)" = up
show

# ccctl's view agrees.
ctl -a "127.0.0.1:$P_AG" instance list --json >"$T/list.json"
jq -c '.items[] | {name, state, up, error}' "$T/list.json"
expect "ccctl instance list: r2 not up, with an error" \
    jqt "$T/list.json" '.items[] | select(.name == "r2") | (.up == false and (.error | length > 0))'
expect "ccctl instance list: r1 up" \
    jqt "$T/list.json" '.items[] | select(.name == "r1") | .up == true'
pass

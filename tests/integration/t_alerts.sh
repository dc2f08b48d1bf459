#!/bin/bash
# t_alerts.sh: alert rules and hooks.
#  (a) A rule with "for 2s" (redis_connected_clients > 20, severity warning,
#      labels team=cache) on a watched redis: a 1 s spike of idle client
#      connections makes it pending and no more; a longer spike makes it
#      fire (not before 2 s), then resolve when the connections go.  Seen in
#      /api/v1/alerts, ccctl monitor alerts (table and --json), the
#      /api/v1/alerts/history entry (start, end, value) and the log.
#  (b) Hooks get every firing and every resolve: alert-exec (argv STATUS
#      ALERT INSTANCE SEVERITY VALUE, CC_* environment, output logged), in
#      order; alert-webhook (Alertmanager webhook JSON, version 4).  A hook
#      script that hangs is killed, with its process group, after
#      alert-exec-timeout, is counted, and the monitor goes on: it answers
#      HTTP meanwhile and the next notification still runs the script.
#  (c) alertmanager-url with a real Alertmanager (prometheus-alertmanager,
#      clustering off): the built-in instance_down of a config instance with
#      nothing listening is listed by Alertmanager's own API, and leaves its
#      active list once a redis-server listens there.
#  (d) SIGHUP with a config file that still has the rule (plus a new one)
#      keeps the firing alert, with its start, and sends no second firing;
#      a reload that drops the rule resolves its alert.
[ -z "${BASH_VERSION:-}" ] && exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
itest_init redis-server redis-cli curl jq prometheus-alertmanager
[ -n "${HTTP_SINK:-}" ] || HTTP_SINK=$top_builddir/tests/helpers/http_sink
[ -x "$HTTP_SINK" ] || fail "not built: $HTTP_SINK (make check builds it)"

alloc_ports 10
P_R1=${PORTS[0]} P_MON=${PORTS[1]} P_HTTP=${PORTS[2]} P_AG=${PORTS[3]}
P_WH=${PORTS[4]} P_MON2=${PORTS[5]} P_HTTP2=${PORTS[6]} P_AM=${PORTS[7]}
P_DEAD=${PORTS[8]}
NCONN=30

# ---- hook scripts (made here, run by the monitors) ------------------------------------
# exec.sh: one JSON line per run in exec.jsonl: argv and the environment.
cat >"$T/exec.sh" <<EOF
#!/bin/bash
jq -nc --args '{argv: \$ARGS.positional, env: env}' "\$@" >>"$T/exec.jsonl"
echo "hook ran: \$1 \$2 \$3"
EOF
# hang.sh: records each run; on the firing of instance_down, it hangs in a
# child (sleep) it leaves a pid file for.
cat >"$T/hang.sh" <<EOF
#!/bin/bash
echo "\$(date +%s%3N) \$1 \$2 \$3 pid=\$\$" >>"$T/hang.runs"
echo "hang hook: \$1 \$2 \$3"
if [ "\$1 \$2" = "firing instance_down" ]; then
	sleep 1000 &
	echo \$! >"$T/hang.sleep.pid"
	wait
fi
echo "hang hook: \$1 \$2 done"
EOF
chmod 755 "$T/exec.sh" "$T/hang.sh"
: >"$T/exec.jsonl"

RULE_CLIENTS="rule clients_high redis_connected_clients > 20 for 2s severity warning labels team=cache"
write_conf() {	# lines of the monitor's config file
	printf '%s\n' "alert-exec $T/exec.sh" \
	    "alert-webhook http://127.0.0.1:$P_WH/hook" "$@" >"$T/mon.conf"
}
write_conf "$RULE_CLIENTS"

# ---- helpers ------------------------------------------------------------------------------
declare -a FDS=()
open_conns() {	# NCONN idle client connections to r1
	local i fd
	for ((i = 0; i < NCONN; i++)); do
		exec {fd}<>"/dev/tcp/127.0.0.1/$P_R1" || fail "connect to r1"
		FDS+=("$fd")
	done
}
close_conns() {
	local fd
	for fd in "${FDS[@]}"; do exec {fd}>&-; done
	FDS=()
}
rclients() { redis-cli -p "$P_R1" info clients | tr -d '\r' | awk -F: '$1 == "connected_clients" { print $2 }'; }
alerts() { http_get "$1" /api/v1/alerts; }
alert_field() {	# HTTPPORT RULE INSTANCE JQ-PATH
	alerts "$1" | jq -r --arg r "$2" --arg i "$3" \
	    '.items[] | select(.rule == $r and .instance == $i) | '"$4" 2>/dev/null
}
stime() { instance_field "$P_HTTP" r1 .sample.time; }
# two_samples: wait until two more samples of r1 came in.
two_samples() {
	local s
	for s in 1 2; do
		prev=$(stime)
		wait_for 10 "a new sample of r1 ($s)" '[ "$(stime)" \> "$prev" ]'
	done
}
nfiring() { grep -c "alert clients_high firing instance=r1" "${D_LOG[mon]}"; }
execs() {	# the alert-exec runs for an alert: "STATUS" a line
	jq -r --arg a "$1" 'select(.argv[1] == $a) | .argv[0]' "$T/exec.jsonl"
}
hooks_body() {	# the webhook bodies, one a line
	cut -d' ' -f5- "$T/wh.out" 2>/dev/null
}
hooks_for() {	# webhook bodies about alert $1
	hooks_body | jq -c --arg a "$1" 'select(.alerts[0].labels.alertname == $a)' 2>/dev/null
}
iso_ms() {	# RFC 3339 time -> unix ms (GNU date)
	local s
	s=$(date -d "$1" +%s%3N 2>/dev/null) || return 1
	echo "$s"
}

# ---- start ------------------------------------------------------------------------------
start_redis r1 "$P_R1"
start_helper wh "$HTTP_SINK" -p "$P_WH" -o "$T/wh.out"
start_monitor mon -c "$T/mon.conf" --port "$P_MON" --http-port "$P_HTTP" \
    --data-dir "$T/mdata" --save-interval 2s
start_agent agent --port "$P_AG" --monitor "127.0.0.1:$P_MON" \
    --spool-dir "$T/spool" --state-dir "$T/state" --sample-interval 1s \
    --sample-timeout 500ms --host-name h1 --watch r1 "127.0.0.1:$P_R1"
wait_for 10 "webhook sink listens" 'port_listening "$P_WH"'
wait_for 15 "r1 is up in the monitor" '[ "$(instance_field "$P_HTTP" r1 .state)" = up ]'
say "r1 connected_clients at rest: $(rclients)"

# ---- (a) a 1 s spike: pending, never firing ----------------------------------------------------
open_conns
say "opened $NCONN connections to r1: connected_clients $(rclients)"
wait_for 10 "clients_high is pending for r1" \
    'log_has mon "clients_high pending instance=r1 "'
check "/api/v1/alerts has it pending (or it has just gone)" \
    eval '[ "$(alert_field "$P_HTTP" clients_high r1 .state)" != firing ]'
sleep 1
close_conns
say "closed them: connected_clients $(rclients)"
wait_for 10 "clients_high has gone from /api/v1/alerts" \
    '[ "$(alerts "$P_HTTP" | jq .total)" = 0 ]'
two_samples
check "the 1 s spike did not fire clients_high" test "$(nfiring)" = 0
check "... nor ran alert-exec" test ! -s "$T/exec.jsonl"
check "... nor called the webhook" test ! -s "$T/wh.out"
check "... nor entered the history" \
    test "$(http_get "$P_HTTP" /api/v1/alerts/history | jq .total)" = 0

# ---- (a) a long spike: fires after 2 s, resolves when it ends ----------------------------------
T_OPEN=$(now_ms)
open_conns
say "opened $NCONN connections to r1 again: connected_clients $(rclients)"
wait_for 10 "clients_high is firing for r1" \
    '[ "$(alert_field "$P_HTTP" clients_high r1 .state)" = firing ]'
EL=$(( $(now_ms) - T_OPEN ))
say "clients_high firing seen $EL ms after the connections opened"
check "it did not fire before its 'for 2s' ($EL ms >= 2000)" test "$EL" -ge 2000
alerts "$P_HTTP" | jq -c '.items[]'
alerts "$P_HTTP" >"$T/alerts.json"
expect "/api/v1/alerts: rule, instance, host, severity, value, start, summary, labels" \
    jqt "$T/alerts.json" '.total == 1 and (.items[0] | .rule == "clients_high" and
	.instance == "r1" and .host == "h1" and .state == "firing" and
	.severity == "warning" and .value > 20 and (.start | type) == "string" and
	(.summary | test("redis_connected_clients > 20")) and
	.labels.alertname == "clients_high" and .labels.instance == "r1" and
	.labels.severity == "warning" and .labels.team == "cache")'
START=$(jq -r '.items[0].start' "$T/alerts.json")
START_MS=$(iso_ms "$START")
say "alert start $START ($START_MS), connections opened at $T_OPEN"
expect "the alert's start is when the condition first held (after the connections opened)" \
    eval 'num_ge "$START_MS" $((T_OPEN - 1000)) && num_ge $(( $(now_ms) - 2000 )) "$START_MS"'
expect "ccnode_monitor_alerts{state=\"firing\"} is 1" \
    num_eq "$(prom_value "$P_HTTP" 'ccnode_monitor_alerts{state="firing"}')" 1

out=$(ctl -m "127.0.0.1:$P_HTTP" monitor alerts); rc=$?
printf '%s\n' "$out"
check "ccctl monitor alerts: exit 0" test "$rc" = 0
expect "ccctl monitor alerts: a header and the firing row" \
    eval 'grep -q "^RULE  *INSTANCE  *STATE" <<<"$out" &&
	grep -Eq "^clients_high +r1 +firing +warning +$START +redis_connected_clients > 20" <<<"$out"'
ctl -m "127.0.0.1:$P_HTTP" monitor alerts --json >"$T/ctl_alerts.json"; rc=$?
check "ccctl monitor alerts --json: exit 0" test "$rc" = 0
expect "ccctl monitor alerts --json: the same alert" \
    jqt "$T/ctl_alerts.json" '.total == 1 and .items[0].rule == "clients_high" and
	.items[0].state == "firing" and .items[0].labels.team == "cache"'

# Held past 3.5 s in all (it is firing already).
while [ $(( $(now_ms) - T_OPEN )) -lt 3500 ]; do sleep 0.1; done
T_CLOSE=$(now_ms)
close_conns
say "closed the connections $((T_CLOSE - T_OPEN)) ms after opening them: connected_clients $(rclients)"
wait_for 10 "clients_high resolves" '[ "$(alerts "$P_HTTP" | jq .total)" = 0 ]'
say "resolved $(( $(now_ms) - T_CLOSE )) ms after the connections closed"
http_get "$P_HTTP" /api/v1/alerts/history >"$T/history.json"
jq -c '.items[]' "$T/history.json"
expect "/api/v1/alerts/history: one entry with start, end, value" \
    jqt "$T/history.json" --arg s "$START" '.total == 1 and (.items[0] |
	.rule == "clients_high" and .instance == "r1" and .host == "h1" and
	.severity == "warning" and .value > 20 and .start == $s and
	(.end | type) == "string" and .end > .start)'
END_MS=$(iso_ms "$(jq -r '.items[0].end' "$T/history.json")")
expect "the history entry ends after the connections closed" num_ge "$END_MS" $((T_CLOSE - 1000))
expect "log: clients_high firing (once)" test "$(nfiring)" = 1
expect "log: clients_high resolved" log_has mon "alert clients_high resolved instance=r1 "
grep -E 'alert clients_high (firing|resolved|pending)' "${D_LOG[mon]}"
expect "ccnode_monitor_alerts_fired_total 1, _resolved_total 1, no alert active" eval '
	num_eq "$(prom_value "$P_HTTP" ccnode_monitor_alerts_fired_total)" 1 &&
	num_eq "$(prom_value "$P_HTTP" ccnode_monitor_alerts_resolved_total)" 1 &&
	num_eq "$(prom_value "$P_HTTP" "ccnode_monitor_alerts{state=\"firing\"}")" 0 &&
	num_eq "$(prom_value "$P_HTTP" "ccnode_monitor_alerts{state=\"pending\"}")" 0'

# ---- (b) alert-exec and alert-webhook ------------------------------------------------------------
wait_for 10 "alert-exec ran for the firing and the resolve" \
    '[ "$(execs clients_high | tr "\n" " ")" = "firing resolved " ]'
jq -c '{argv, env: (.env | with_entries(select(.key | startswith("CC_"))))}' "$T/exec.jsonl"
jq -s '.' "$T/exec.jsonl" >"$T/execs.json"
expect "alert-exec argv: firing clients_high r1 warning VALUE" \
    jqt "$T/execs.json" '.[0].argv[0:4] == ["firing", "clients_high", "r1", "warning"] and
	(.[0].argv[4] | tonumber) > 20 and (.[0].argv | length) == 5'
expect "alert-exec argv: resolved clients_high r1 warning VALUE" \
    jqt "$T/execs.json" '.[1].argv[0:4] == ["resolved", "clients_high", "r1", "warning"] and
	(.[1].argv | length) == 5'
expect "alert-exec env (firing): CC_STATUS, CC_ALERT, CC_INSTANCE, CC_HOST, CC_SEVERITY, CC_VALUE, CC_SUMMARY, CC_STARTS_AT, CC_LABEL_team" \
    jqt "$T/execs.json" --arg s "$START" '.[0].env | .CC_STATUS == "firing" and
	.CC_ALERT == "clients_high" and .CC_INSTANCE == "r1" and .CC_HOST == "h1" and
	.CC_SEVERITY == "warning" and (.CC_VALUE | tonumber) > 20 and
	(.CC_SUMMARY | test("redis_connected_clients")) and .CC_STARTS_AT == $s and
	.CC_LABEL_team == "cache"'
expect "alert-exec env (resolved): CC_STATUS resolved, CC_ENDS_AT set, CC_LABEL_team" \
    jqt "$T/execs.json" --arg s "$START" '.[1].env | .CC_STATUS == "resolved" and
	.CC_STARTS_AT == $s and (.CC_ENDS_AT | length) > 0 and .CC_ENDS_AT > $s and
	.CC_LABEL_team == "cache"'
expect "alert-exec env: nothing but PATH and CC_*" \
    jqt "$T/execs.json" 'all(.[]; .env | keys | all(. == "PATH" or startswith("CC_") or
	. == "PWD" or . == "SHLVL" or . == "_"))'
expect "alert-exec output is logged (alert-exec pid=N: ...), firing then resolved" \
    eval 'grep -E "alert-exec pid=[0-9]+: hook ran: (firing|resolved) clients_high r1" "${D_LOG[mon]}" |
	sed -E "s/.*hook ran: ([a-z]+) .*/\1/" | tr "\n" " " | grep -qx "firing resolved "'
expect "alert-exec exits are logged" log_has mon "alert-exec pid=[0-9]+ exited 0 after [0-9]+ ms"

wait_for 10 "the webhook got the firing and the resolve" \
    '[ "$(hooks_for clients_high | jq -r .status | tr "\n" " ")" = "firing resolved " ]'
hooks_for clients_high | jq -s '.' >"$T/wh.json"
jq -c '.[]' "$T/wh.json"
expect "webhook requests are POST /hook" \
    eval '[ "$(cut -d" " -f3,4 "$T/wh.out" | sort -u)" = "POST /hook" ]'
expect "webhook v4 body (firing): version, status, receiver, groupKey, externalURL, alerts[0]" \
    jqt "$T/wh.json" --arg s "$START" --arg ext "http://127.0.0.1:$P_HTTP" '.[0] |
	.version == "4" and .status == "firing" and (.receiver | length) > 0 and
	(.groupKey | length) > 0 and .externalURL == $ext and (.alerts | length) == 1 and
	(.alerts[0] | .status == "firing" and .labels.alertname == "clients_high" and
	 .labels.instance == "r1" and .labels.severity == "warning" and
	 .labels.team == "cache" and .startsAt == $s and
	 (.generatorURL | startswith($ext)) and (.fingerprint | length) > 0 and
	 (.annotations.summary | length) > 0)'
expect "webhook v4 body (resolved): status resolved, endsAt after startsAt, same fingerprint" \
    jqt "$T/wh.json" --arg s "$START" '.[1].version == "4" and .[1].status == "resolved" and
	(.[1].alerts[0] | .status == "resolved" and .startsAt == $s and .endsAt > $s and
	 (.endsAt | startswith("0001")) == false) and
	.[1].alerts[0].fingerprint == .[0].alerts[0].fingerprint and
	.[1].groupKey == .[0].groupKey'
expect "firing endsAt is the zero time (as Alertmanager sends it)" \
    jqt "$T/wh.json" '.[0].alerts[0].endsAt | startswith("0001-01-01")'
expect "hook counters: runs >= 4, no failures, no timeouts" eval '
	num_ge "$(prom_value "$P_HTTP" ccnode_monitor_hook_runs_total)" 4 &&
	num_eq "$(prom_value "$P_HTTP" ccnode_monitor_hook_failures_total)" 0 &&
	num_eq "$(prom_value "$P_HTTP" ccnode_monitor_hook_timeouts_total)" 0'

# ---- (d) SIGHUP keeps active alerts, and resolves those whose rule went ------------------------
open_conns
say "opened $NCONN connections to r1 (reload part): connected_clients $(rclients)"
wait_for 10 "clients_high fires again" \
    '[ "$(alert_field "$P_HTTP" clients_high r1 .state)" = firing ]'
START2=$(alert_field "$P_HTTP" clients_high r1 .start)
wait_for 10 "alert-exec ran for the second firing" \
    '[ "$(execs clients_high | tr "\n" " ")" = "firing resolved firing " ]'
NF=$(nfiring); NEXEC=$(wc -l <"$T/exec.jsonl"); NWH=$(hooks_for clients_high | wc -l)
say "clients_high start $START2; firing logged $NF times; $NEXEC alert-exec runs"

write_conf "$RULE_CLIENTS" "rule r1_has_keys redis_db_keys >= 0 severity info labels team=cache"
NHUP=$(grep -c 'SIGHUP: reloading' "${D_LOG[mon]}")
kill -HUP "$(pid_of mon)"
wait_for 10 "the reload is logged" \
    '[ "$(grep -c "SIGHUP: reloading" "${D_LOG[mon]}")" -gt "$NHUP" ]'
wait_for 10 "the added rule r1_has_keys fires (the reload took)" \
    '[ "$(alert_field "$P_HTTP" r1_has_keys r1 .state)" = firing ]'
two_samples
alerts "$P_HTTP" | jq -c '.items[] | {rule, instance, state, start}'
expect "clients_high is still firing after the reload" \
    test "$(alert_field "$P_HTTP" clients_high r1 .state)" = firing
expect "... with its original start ($START2)" \
    test "$(alert_field "$P_HTTP" clients_high r1 .start)" = "$START2"
expect "no second 'clients_high firing' in the log" test "$(nfiring)" = "$NF"
expect "no new clients_high alert-exec run" \
    test "$(execs clients_high | tr '\n' ' ')" = "firing resolved firing "
expect "no new clients_high webhook" test "$(hooks_for clients_high | wc -l)" = "$NWH"
expect "nothing resolved by the reload" \
    not log_has mon "alert clients_high resolved instance=r1 .*reason=rule or instance gone"

write_conf "rule r1_has_keys redis_db_keys >= 0 severity info labels team=cache"
NHUP=$(grep -c 'SIGHUP: reloading' "${D_LOG[mon]}")
kill -HUP "$(pid_of mon)"
wait_for 10 "the second reload is logged" \
    '[ "$(grep -c "SIGHUP: reloading" "${D_LOG[mon]}")" -gt "$NHUP" ]'
wait_for 10 "clients_high (its rule gone) leaves /api/v1/alerts" \
    '[ -z "$(alert_field "$P_HTTP" clients_high r1 .state)" ]'
expect "it was resolved because its rule went" \
    log_has mon "alert clients_high resolved instance=r1 .*reason=rule or instance gone"
wait_for 10 "alert-exec ran for the resolve" \
    '[ "$(execs clients_high | tr "\n" " ")" = "firing resolved firing resolved " ]'
wait_for 10 "the webhook got the resolve" \
    '[ "$(hooks_for clients_high | jq -r .status | tr "\n" " ")" = "firing resolved firing resolved " ]'
expect "the history has it, with its start" \
    test "$(http_get "$P_HTTP" /api/v1/alerts/history | jq -r '.items[0] | .rule + " " + .start')" = "clients_high $START2"
expect "r1_has_keys is still firing" \
    test "$(alert_field "$P_HTTP" r1_has_keys r1 .state)" = firing
close_conns
two_samples
expect "clients_high does not come back (no rule) with the connections gone" \
    eval '[ -z "$(alert_field "$P_HTTP" clients_high r1 .state)" ] && [ "$(nfiring)" = "$NF" ]'

# ---- (b) a hanging alert-exec, (c) Alertmanager --------------------------------------------------
mkdir -p "$T/am"
cat >"$T/am.yml" <<EOF
route:
  receiver: 'null'
  group_wait: 1s
receivers:
  - name: 'null'
EOF
start_helper am prometheus-alertmanager --config.file="$T/am.yml" \
    --storage.path="$T/am" --web.listen-address="127.0.0.1:$P_AM" \
    --cluster.listen-address= --log.level=warn
wait_for 30 "Alertmanager is ready" \
    '[ "$(curl -s -o /dev/null -w "%{http_code}" --max-time 2 "http://127.0.0.1:$P_AM/-/ready")" = 200 ]'
am_alerts() {	# Alertmanager's active alerts for instance dead1 [named $1]
	curl -s --max-time $((5 * TF)) "http://127.0.0.1:$P_AM/api/v2/alerts?active=true" |
	    jq -c --arg a "${1:-}" '[.[] | select(.labels.instance == "dead1" and
		($a == "" or .labels.alertname == $a))]' 2>/dev/null
}

start_monitor mon2 --port "$P_MON2" --http-port "$P_HTTP2" --data-dir "$T/mdata2" \
    --probe-interval 500ms --probe-timeout 400ms \
    --instance dead1 "127.0.0.1:$P_DEAD" \
    --alert-exec "$T/hang.sh" --alert-exec-timeout 1s \
    --alertmanager-url "http://127.0.0.1:$P_AM"
wait_for 15 "dead1 is down" '[ "$(instance_field "$P_HTTP2" dead1 .state)" = down ]'
wait_for 10 "instance_down fires for dead1" \
    '[ "$(alert_field "$P_HTTP2" instance_down dead1 .state)" = firing ]'
wait_for 10 "the hook script started on the firing (and hangs)" 'test -s "$T/hang.sleep.pid"'
SLEEP_PID=$(cat "$T/hang.sleep.pid")
HANG_PID=$(awk '$2 == "firing" && $3 == "instance_down" { sub("pid=", "", $5); print $5 }' "$T/hang.runs")
say "hook script pid $HANG_PID, its sleep child pid $SLEEP_PID"
# The monitor answers while its hook hangs, until the kill.
T_HANG=$(now_ms); nreq=0; nbad=0
while ! log_has mon2 "alert-exec pid=$HANG_PID still running after 1000 ms: killed"; do
	[ $(( $(now_ms) - T_HANG )) -gt $((20000 * TF)) ] && break
	if http_get "$P_HTTP2" /api/v1/status | jqe . >/dev/null 2>&1; then
		nreq=$((nreq + 1))
	else
		nbad=$((nbad + 1))
	fi
	sleep 0.1
done
say "monitor answered $nreq of $((nreq + nbad)) HTTP requests while the hook hung"
check "the hanging hook (pid $HANG_PID) was killed after alert-exec-timeout (logged)" \
    log_has mon2 "alert-exec pid=$HANG_PID still running after 1000 ms: killed"
expect "... and the monitor answered every HTTP request meanwhile" test "$nbad" = 0
grep -E 'alert-exec|instance_down' "${D_LOG[mon2]}"
wait_for 10 "its sleep child is gone too (process group killed)" 'not pid_running "$SLEEP_PID"'
wait_for 10 "ccnode_monitor_hook_timeouts_total >= 1" \
    'num_ge "$(prom_value "$P_HTTP2" ccnode_monitor_hook_timeouts_total)" 1'
expect "the kill is logged as such" log_has mon2 "alert-exec pid=$HANG_PID killed after its timeout"
expect "the script itself is gone" not pid_running "$HANG_PID"

# (c) Alertmanager has it.
wait_for 15 "Alertmanager lists instance_down for dead1" \
    '[ "$(am_alerts instance_down | jq length)" = 1 ]'
am_alerts instance_down | jq '.[0] | {labels, startsAt, endsAt, generatorURL, status}'
am_alerts instance_down >"$T/am_firing.json"
expect "Alertmanager: labels alertname, instance, severity critical; generatorURL to the monitor" \
    jqt "$T/am_firing.json" --arg g "http://127.0.0.1:$P_HTTP2/" '.[0] |
	.labels.alertname == "instance_down" and .labels.instance == "dead1" and
	.labels.severity == "critical" and (.generatorURL | startswith($g)) and
	.status.state == "active"'
AM_END=$(iso_ms "$(jq -r '.[0].endsAt' "$T/am_firing.json")")
expect "Alertmanager: endsAt is in the future" num_gt "$AM_END" "$(now_ms)"
expect "the monitor's Alertmanager posts succeed (no 'not delivered')" \
    not log_has mon2 "alertmanager-url: not delivered"

# Recovery: a redis-server on dead1's port.
T_REC=$(now_ms)
start_redis dead1 "$P_DEAD"
wait_for 15 "dead1 is up" '[ "$(instance_field "$P_HTTP2" dead1 .state)" = up ]'
say "dead1 up $(( $(now_ms) - T_REC )) ms after its redis-server started (a down target is probed less often)"
wait_for 10 "instance_down for dead1 resolves in the monitor" \
    '[ -z "$(alert_field "$P_HTTP2" instance_down dead1 .state)" ]'
wait_for 15 "Alertmanager no longer lists it as active" '[ "$(am_alerts)" = "[]" ]'
wait_for 10 "the hook script ran again for the resolve of instance_down, and exited 0" \
    'grep -q " resolved instance_down dead1 " "$T/hang.runs" &&
	log_has mon2 "alert-exec pid=[0-9]+: hang hook: resolved instance_down done"'
cat "$T/hang.runs"
expect "the hook ran, in order: instance_suspect firing, resolved; instance_down firing, resolved" \
    test "$(awk '{ print $2 "/" $3 }' "$T/hang.runs" | tr '\n' ' ')" = \
    "firing/instance_suspect resolved/instance_suspect firing/instance_down resolved/instance_down "
expect "mon2 still answers" eval 'http_get "$P_HTTP2" /api/v1/status | jqe . >/dev/null'
pass

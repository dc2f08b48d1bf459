#!/bin/bash
# t_config.sh: -t on the shipped examples and on broken files (FILE:LINE:
# message, exit 1); the examples are exactly what --example-config prints;
# --directive value overrides win; a non-loopback bind needs a secret; SIGHUP
# reloads (faster sampling, a new watch), and a bad reload keeps the old
# configuration.
[ -z "${BASH_VERSION:-}" ] && exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
itest_init redis-server redis-cli curl jq cmp diff

# ---- -t on the shipped examples ---------------------------------------------------------------
for d in ccagent:"$CCAGENT" ccmonitor:"$CCMONITOR"; do
	name=${d%%:*} bin=${d#*:}
	conf="$top_srcdir/etc/$name.conf"
	out=$("$bin" -t -c "$conf" 2>&1); rc=$?
	say "$name -t -c etc/$name.conf: status $rc: $out"
	expect "$name -t accepts etc/$name.conf (status 0)" test "$rc" = 0
	expect "$name -t prints 'configuration OK'" grep -qx 'configuration OK' <<<"$out"

	# The examples are generated from the directive tables: no drift.
	"$bin" --example-config >"$T/$name.example" 2>"$T/$name.example.err"; rc=$?
	say "$name --example-config: status $rc, $(wc -l <"$T/$name.example") lines"
	expect "$name --example-config exits 0" test "$rc" = 0
	if cmp -s "$T/$name.example" "$conf"; then
		say "ok: $name --example-config is byte for byte etc/$name.conf"
	else
		diff -u "$conf" "$T/$name.example" | head -40
		expect "$name --example-config is byte for byte etc/$name.conf (regenerate etc/$name.conf)" false
	fi
	# Every directive of --help is in the example.
	for dir in $("$bin" --help 2>&1 | sed -n 's/^  \([a-z][a-z-]*\) .*/\1/p'); do
		grep -q "^# $dir\b" "$conf" ||
		    expect "etc/$name.conf documents directive $dir" false
	done
done

# ---- -t on broken files: FILE:LINE: message, exit 1 ----------------------------------------------
# bad_conf BIN LINE REGEX CONTENT: write CONTENT to a file, run -t, expect
# exit 1 and a first output line "FILE:LINE: ..." matching REGEX.
n=0
bad_conf() {
	local bin=$1 line=$2 re=$3 content=$4 f out rc
	n=$((n + 1))
	f="$T/bad$n.conf"
	printf '%b' "$content" >"$f"
	out=$("$bin" -t -c "$f" 2>&1); rc=$?
	say "$(basename "$bin") -t -c bad$n.conf: status $rc: $out"
	expect "status 1 for bad$n.conf" test "$rc" = 1
	expect "'$f:$line: ' message matching /$re/" grep -Eq "^$f:$line: .*($re)" <<<"$out"
	expect "no 'configuration OK' for bad$n.conf" not grep -q 'configuration OK' <<<"$out"
}
bad_conf "$CCAGENT" 3 "bogus-directive" \
    '# a comment\nport 5000\nbogus-directive 1\n'
bad_conf "$CCMONITOR" 3 "frobnicate" \
    '# a comment\n\nfrobnicate yes\n'
bad_conf "$CCAGENT" 2 "sample-interval|duration" \
    'port 5000\nsample-interval 5parsecs\n'
bad_conf "$CCMONITOR" 1 "save-interval|duration" \
    'save-interval soon\n'
bad_conf "$CCAGENT" 4 "port|65535" \
    '# port\n\n\nport 70000\n'
bad_conf "$CCMONITOR" 2 "http-port|65535" \
    'port 55100\nhttp-port 0\n'
bad_conf "$CCAGENT" 2 "include|$T/missing.conf" \
    "port 5000\ninclude $T/missing.conf\n"
bad_conf "$CCMONITOR" 3 "include|$T/missing.conf" \
    "# x\nport 55100\ninclude $T/missing.conf\n"
# An error inside an included file names that file and its line.
printf 'port 5000\n\nsample-interval 1parsec\n' >"$T/inc.conf"
out=$("$CCAGENT" -t -c <(printf 'include %s\n' "$T/inc.conf") 2>&1); rc=$?
say "ccagent -t, error in an included file: status $rc: $out"
expect "an error in an included file: status 1" test "$rc" = 1
expect "an error in an included file names $T/inc.conf:3" grep -q "^$T/inc.conf:3: " <<<"$out"

# -t must refuse what the daemon itself refuses at start.
printf 'short\n' >"$T/short.secret"; chmod 600 "$T/short.secret"
out=$("$CCAGENT" -t --auth-secret-file "$T/short.secret" 2>&1); rc=$?
say "ccagent -t --auth-secret-file (6-byte secret): status $rc: $out"
expect "ccagent -t rejects a secret the daemon would refuse (status 1)" test "$rc" = 1
out=$("$CCMONITOR" -t --tls-cert-file "$T/none.pem" --tls-key-file "$T/none.key" 2>&1); rc=$?
say "ccmonitor -t with a missing TLS certificate: status $rc: $out"
expect "ccmonitor -t rejects a missing tls-cert-file (status 1)" test "$rc" = 1

# ---- non-loopback bind ------------------------------------------------------------------------------
secret_file "$T/secret"
secret_file "$T/token"
out=$("$CCAGENT" -t --bind 0.0.0.0 2>&1); rc=$?
say "ccagent -t --bind 0.0.0.0: status $rc: $out"
expect "ccagent refuses a non-loopback bind without a secret (status 1)" test "$rc" = 1
expect "... and says why" grep -qi 'loopback' <<<"$out"
out=$("$CCAGENT" -t --bind 0.0.0.0 --auth-secret-file "$T/secret" 2>&1); rc=$?
say "ccagent -t --bind 0.0.0.0 --auth-secret-file: status $rc: $out"
expect "ccagent accepts a non-loopback bind with a secret (status 0)" test "$rc" = 0
out=$("$CCMONITOR" -t --bind 0.0.0.0 2>&1); rc=$?
say "ccmonitor -t --bind 0.0.0.0: status $rc: $out"
expect "ccmonitor refuses a non-loopback bind without a secret (status 1)" test "$rc" = 1
out=$("$CCMONITOR" -t --bind 0.0.0.0 --auth-secret-file "$T/secret" 2>&1); rc=$?
say "ccmonitor -t --bind 0.0.0.0 --auth-secret-file (no HTTP token): status $rc: $out"
expect "ccmonitor refuses a non-loopback bind without http-auth-token-file (status 1)" test "$rc" = 1
out=$("$CCMONITOR" -t --bind 0.0.0.0 --auth-secret-file "$T/secret" \
    --http-auth-token-file "$T/token" 2>&1); rc=$?
say "ccmonitor -t --bind 0.0.0.0 with secret and token: status $rc: $out"
expect "ccmonitor accepts a non-loopback bind with a secret and a token (status 0)" test "$rc" = 0

# The daemon itself refuses to start that way (it never listens).
alloc_ports 10
P_X=${PORTS[0]} P_MON=${PORTS[1]} P_HTTP=${PORTS[2]} P_AO=${PORTS[3]}
P_AO2=${PORTS[4]} P_AR=${PORTS[5]} P_R1=${PORTS[6]} P_R2=${PORTS[7]}
P_HTTP2=${PORTS[8]} P_MON2=${PORTS[9]}
timeout $((10 * TF)) "$CCAGENT" -f --bind 0.0.0.0 --port "$P_X" \
    --state-dir "$T/x-state" --spool-dir "$T/x-spool" >"$T/bind-refused.out" 2>&1
rc=$?
say "ccagent -f --bind 0.0.0.0: status $rc: $(tail -n 1 "$T/bind-refused.out")"
expect "ccagent -f --bind 0.0.0.0 without a secret exits with status 1" test "$rc" = 1

# ---- overrides win -------------------------------------------------------------------------------------
start_redis r1 "$P_R1"
start_redis r2 "$P_R2"
start_monitor mon --port "$P_MON" --http-port "$P_HTTP" --data-dir "$T/mdata" \
    --save-interval 2s

cat >"$T/override.conf" <<EOF
# The command line overrides these.
port $P_AO2
sample-interval 5s
host-name from-file
monitor 127.0.0.1:$P_MON
state-dir $T/o-state
spool-dir $T/o-spool
EOF
start_agent ao -c "$T/override.conf" --port "$P_AO" --sample-interval 3s \
    --sample-interval 1s --sample-timeout 200ms --host-name hover
wait_for 15 "agent hover (host-name from the command line) reports" \
    'num_ge "$(prom_value $P_HTTP "ccnode_agent_reports_total{host=\"hover\"}")" 2'
si=$(machine_field "$P_HTTP" hover .agent.sample_interval_ms)
say "hover: sample_interval_ms=$si"
check "the last --sample-interval on the command line wins over the file and the earlier one (1000 ms)" \
    num_eq "$si" 1000
check "--port $P_AO wins over the file's port $P_AO2" port_listening "$P_AO"
check "nothing listens on the file's port $P_AO2" not port_listening "$P_AO2"
check "no host 'from-file' at the monitor" \
    test -z "$(machine_field "$P_HTTP" from-file .host)"
stop_daemon ao || fail "ao did not stop cleanly"

# ---- SIGHUP reload ------------------------------------------------------------------------------------
RC="$T/reload.conf"
write_reload_conf() {	# sample-interval sample-timeout [extra lines]
	cat >"$RC" <<EOF
port $P_AR
monitor 127.0.0.1:$P_MON
state-dir $T/r-state
spool-dir $T/r-spool
host-name hr
sample-interval $1
sample-timeout $2
watch r1 127.0.0.1:$P_R1
EOF
	[ -n "${3:-}" ] && printf '%b' "$3" >>"$RC"
	return 0
}
write_reload_conf 2s 500ms
WAIT_PORT=$P_AR start_agent ar -c "$RC"
REP='ccnode_agent_reports_total{host="hr"}'
wait_for 15 "agent hr reports, with sample_interval_ms 2000" \
    'num_eq "$(machine_field $P_HTTP hr .agent.sample_interval_ms)" 2000'
wait_for 10 "r1 is up (sampled by hr)" '[ "$(instance_field $P_HTTP r1 .state)" = up ]'

# rate_check N SECS DESC: N more reports from hr arrive within SECS.
reports_within() {
	local need=$1 secs=$2 r0 t0 el
	r0=$(prom_value "$P_HTTP" "$REP"); t0=$(now_ms)
	poll_until $((secs * TF + 5)) 'num_ge "$(prom_value $P_HTTP "$REP")" $((r0 + need))'
	el=$(( $(now_ms) - t0 ))
	say "  $need more reports from hr took $el ms (reports now $(prom_value "$P_HTTP" "$REP"))"
	[ "$el" -le $((secs * 1000 * TF)) ]
}
# At 2 s, 2 more reports need at least 2 s.
r0=$(prom_value "$P_HTTP" "$REP"); t0=$(now_ms)
wait_for 15 "2 more reports at sample-interval 2s" \
    'num_ge "$(prom_value $P_HTTP "$REP")" $((r0 + 2))'
el=$(( $(now_ms) - t0 ))
check "before the reload 2 reports took $el ms (>= 1800 at 2 s)" test "$el" -ge 1800

n_hup=$(grep -c 'SIGHUP' "${D_LOG[ar]}")
write_reload_conf 250ms 100ms
kill -HUP "$(pid_of ar)"
say "sample-interval 2s -> 250ms in the file; SIGHUP to ar"
wait_for 10 "ar logs the reload" '[ "$(grep -c SIGHUP "${D_LOG[ar]}")" -gt '"$n_hup"' ]'
grep 'SIGHUP\|reload' "${D_LOG[ar]}" | tail -n 2
check "the reload did not fail" not log_has ar 'reload failed'
wait_for 10 "monitor sees sample_interval_ms 250 from hr" \
    'num_eq "$(machine_field $P_HTTP hr .agent.sample_interval_ms)" 250'
check "samples come faster: 8 reports within 4 s" reports_within 8 4

# An invalid line: the reload fails, the old configuration stays.
write_reload_conf 250ms 100ms 'sample-interval banana\n'
kill -HUP "$(pid_of ar)"
say "wrote 'sample-interval banana' on line 9; SIGHUP to ar"
wait_for 10 "ar logs 'reload failed'" 'log_has ar "reload failed"'
grep 'reload failed' "${D_LOG[ar]}" | tail -n 1
expect "the failure names the file and line ($RC:9)" log_has ar "reload failed.*$RC:9"
check "ar keeps running" alive ar
check "still sampling fast under the old configuration: 8 reports within 4 s" reports_within 8 4
check "sample_interval_ms still 250" num_eq "$(machine_field "$P_HTTP" hr .agent.sample_interval_ms)" 250
check "ccctl host still answers" test "$(agent_host_field "$P_AR" host)" = hr

# A watch added in the file: the new instance appears at the monitor.
write_reload_conf 250ms 100ms "watch r2 127.0.0.1:$P_R2\n"
kill -HUP "$(pid_of ar)"
say "added 'watch r2 127.0.0.1:$P_R2'; SIGHUP to ar"
wait_for 10 "r2 appears at the monitor, up, on host hr" \
    '[ "$(instance_field $P_HTTP r2 .state)" = up ] && [ "$(instance_field $P_HTTP r2 .host)" = hr ]'
check "r1 is still up" test "$(instance_field "$P_HTTP" r1 .state)" = up
check "ccctl instance list shows r1 and r2" \
    test "$(ctl -a "127.0.0.1:$P_AR" instance list --json | jq -r '[.items[].name] | sort | join(",")')" = r1,r2

# ---- SIGHUP on the monitor ----------------------------------------------------------------------------
MC="$T/mon.conf"
printf 'port %s\nhttp-port %s\ndata-dir %s\nsave-interval 5s\n' \
    "$P_MON2" "$P_HTTP2" "$T/m2data" >"$MC"
WAIT_PORT=$P_HTTP2 start_monitor mon2 -c "$MC"
printf 'port %s\nhttp-port %s\ndata-dir %s\nsave-interval 1s\nlog-level debug\n' \
    "$P_MON2" "$P_HTTP2" "$T/m2data" >"$MC"
kill -HUP "$(pid_of mon2)"
wait_for 10 "mon2 logs the reload" 'log_has mon2 SIGHUP'
check "mon2's reload did not fail" not log_has mon2 'reload failed'
s0=$(prom_value "$P_HTTP2" ccnode_monitor_saves_total)
wait_for 6 "mon2 saves every second now (saves_total $s0 -> +3)" \
    'num_ge "$(prom_value $P_HTTP2 ccnode_monitor_saves_total)" $((s0 + 3))'
printf 'port %s\nhttp-port %s\ndata-dir %s\nsave-interval forever\n' \
    "$P_MON2" "$P_HTTP2" "$T/m2data" >"$MC"
kill -HUP "$(pid_of mon2)"
wait_for 10 "mon2 logs 'reload failed'" 'log_has mon2 "reload failed"'
grep 'reload failed' "${D_LOG[mon2]}" | tail -n 1
expect "the failure names the file and line ($MC:4)" log_has mon2 "reload failed.*$MC:4"
check "mon2 keeps running" alive mon2
s0=$(prom_value "$P_HTTP2" ccnode_monitor_saves_total)
wait_for 6 "mon2 still saves every second (old configuration kept)" \
    'num_ge "$(prom_value $P_HTTP2 ccnode_monitor_saves_total)" $((s0 + 3))'
pass

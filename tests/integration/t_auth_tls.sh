#!/bin/bash
# t_auth_tls.sh: (a) the shared secret: the right one connects, a wrong one is
# refused and logged with the peer and the reason, ccctl needs it too.  (b) TLS
# and mutual TLS with certificates made here by the openssl CLI: a client
# certificate from the CA gets in; TLS without a client certificate, a
# certificate from another CA, and plain TCP are refused; an agent that does
# not trust the monitor's CA does not report; ccctl speaks TLS to the agent.
[ -z "${BASH_VERSION:-}" ] && exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
itest_init curl jq openssl

alloc_ports 12
P_M1=${PORTS[0]} P_H1=${PORTS[1]} P_M2=${PORTS[2]} P_H2=${PORTS[3]}
P_A1=${PORTS[4]} P_A2=${PORTS[5]} P_A3=${PORTS[6]} P_A4=${PORTS[7]}
P_A5=${PORTS[8]} P_A6=${PORTS[9]} P_A7=${PORTS[10]}

agent_args() {	# host-name mgmt-port monitor-port
	echo --port "$2" --monitor "127.0.0.1:$3" --spool-dir "$T/spool-$1" \
	    --state-dir "$T/state-$1" --sample-interval 500ms \
	    --sample-timeout 200ms --host-name "$1"
}
connected() {	# http-port host
	prom_value "$1" "ccnode_agent_connected{host=\"$2\"}"
}
reports() {	# http-port host
	prom_value "$1" "ccnode_agent_reports_total{host=\"$2\"}"
}
refusals() { grep -c 'refused peer=' "${D_LOG[$1]}"; }

# reports_flow HTTP HOST: connected, and reports keep arriving.
reports_flow() {
	local hp=$1 h=$2 r0
	wait_for 15 "$h is connected to the monitor (ccnode_agent_connected 1)" \
	    'num_eq "$(connected '"$hp $h"')" 1'
	r0=$(reports "$hp" "$h")
	wait_for 10 "reports from $h keep rising past $r0" \
	    'num_gt "$(reports '"$hp $h"')" $((r0 + 1))'
}

# refused MON HTTP AGENTNAME HOST REASON-REGEX: the agent (already started)
# gets a new refusal in the monitor's log matching REASON-REGEX, with the
# peer's address; it never shows up as connected.  Then it is stopped.
refused() {
	local mon=$1 hp=$2 ag=$3 h=$4 re=$5 n0=$6 min=${7:-2} line
	# Refusals are logged rate limited (a burst per 10 s): allow for that.
	wait_for 25 "monitor logs a refusal for $h (reason ~ /$re/)" \
	    'tail -n +$((n0 + 1)) <(grep "refused peer=" "${D_LOG[$mon]}") | grep -Eq "$re"'
	line=$(grep 'refused peer=' "${D_LOG[$mon]}" | tail -n +$((n0 + 1)) | grep -E "$re" | head -1)
	say "  monitor log: $line"
	check "the refusal names the peer's address and a reason" \
	    grep -Eq 'refused peer=127\.0\.0\.1:[0-9]+ reason="[^"]+"' <<<"$line"
	# Give it a couple of retries, then make sure it never got in.
	wait_for 25 "$ag was refused $min time(s) or more" \
	    '[ "$(tail -n +$((n0 + 1)) <(grep "refused peer=" "${D_LOG[$mon]}") | grep -Ec "$re")" -ge $min ]'
	check "$h never appears as a connected agent" \
	    test -z "$(connected "$hp" "$h")" -o "$(connected "$hp" "$h")" = 0
	check "$h has no reports on the monitor" \
	    test -z "$(reports "$hp" "$h")" -o "$(reports "$hp" "$h")" = 0
	check "$h is not in /api/v1/machines as connected" \
	    test "$(machine_field "$hp" "$h" .agent.connected)" != true
	say "  $ag log: $(grep -E 'monitor|refus' "${D_LOG[$ag]}" | tail -n 1)"
	stop_daemon "$ag" || fail "$ag did not stop cleanly"
}

# ===== (a) shared secret ============================================================
secret_file "$T/secret"
secret_file "$T/wrong-secret"
say "secret: $(wc -c <"$T/secret") bytes, mode $(stat -c %a "$T/secret")"

# A secret readable by others, or too short, keeps the daemon from starting.
# (Whether -t catches it too is t_config.sh's business.)
refuses_to_start() {	# desc binary args...
	local desc=$1 bin=$2 pid rc; shift 2
	"$bin" -f "$@" >"$T/refuse.out" 2>&1 &
	pid=$!
	if poll_until $((10 * TF)) "! kill -0 $pid 2>/dev/null"; then
		wait "$pid"; rc=$?
	else
		kill -TERM "$pid"; wait "$pid"; rc=running
	fi
	say "$desc: status $rc: $(tail -n 1 "$T/refuse.out")"
	cat "$T/refuse.out" >>"$T/refusals-at-start.log"
	expect "$desc refuses to start (status 1)" test "$rc" = 1
}
cp "$T/secret" "$T/secret-644"; chmod 644 "$T/secret-644"
secret_file "$T/short" "0123456789"
refuses_to_start "ccmonitor with a mode-644 secret" "$CCMONITOR" --port "$P_M1" \
    --http-port "$P_H1" --data-dir "$T/m0data" --auth-secret-file "$T/secret-644"
refuses_to_start "ccagent with a mode-644 secret" "$CCAGENT" \
    $(agent_args h0 "$P_A7" "$P_M1") --auth-secret-file "$T/secret-644"
refuses_to_start "ccagent with an 11-byte secret" "$CCAGENT" \
    $(agent_args h0 "$P_A7" "$P_M1") --auth-secret-file "$T/short"
refuses_to_start "ccmonitor with an 11-byte secret" "$CCMONITOR" --port "$P_M1" \
    --http-port "$P_H1" --data-dir "$T/m0data" --auth-secret-file "$T/short"

start_monitor m1 --port "$P_M1" --http-port "$P_H1" --data-dir "$T/m1data" \
    --save-interval 2s --auth-secret-file "$T/secret"
start_agent a1 $(agent_args h1 "$P_A1" "$P_M1") --auth-secret-file "$T/secret"
reports_flow "$P_H1" h1

n0=$(refusals m1)
start_agent a2 $(agent_args h2 "$P_A2" "$P_M1") --auth-secret-file "$T/wrong-secret"
refused m1 "$P_H1" a2 h2 'secret' "$n0"

# No secret at all against the secret-protected monitor.
n0=$(refusals m1)
start_agent a2b $(agent_args h2b "$P_A2" "$P_M1")
refused m1 "$P_H1" a2b h2b '.' "$n0"

# ccctl against a1's management port (which uses the same secret).
h=$(ctl -a "127.0.0.1:$P_A1" --secret-file "$T/secret" host --json | jq -r .host)
check "ccctl --secret-file (right secret) host answers (host=$h)" test "$h" = h1
ctl -a "127.0.0.1:$P_A1" --secret-file "$T/wrong-secret" host --json >/dev/null
rc=$?
say "ccctl with the wrong secret: status $rc, stderr: $(ctl_err)"
check "ccctl with the wrong secret fails with status 1" test "$rc" = 1
check "ccctl says why on stderr" test -n "$(ctl_err)"
ctl -a "127.0.0.1:$P_A1" host --json >/dev/null
rc=$?
say "ccctl without a secret: status $rc, stderr: $(ctl_err)"
check "ccctl without the secret fails with status 1" test "$rc" = 1
check "agent logs ccctl's refusals with the peer" \
    grep -Eq 'refused peer=127\.0\.0\.1:[0-9]+ reason="[^"]+"' "${D_LOG[a1]}"
grep 'refused peer=' "${D_LOG[a1]}" | tail -n 2
reports_flow "$P_H1" h1
stop_daemon a1 || fail "a1 did not stop cleanly"
stop_daemon m1 || fail "m1 did not stop cleanly"

# ===== (b) TLS and mutual TLS ======================================================
say "making a CA, a monitor certificate and agent certificates with openssl"
ossl() { openssl "$@" >>"$T/openssl.out" 2>&1 || { cat "$T/openssl.out"; fail "openssl $1 failed"; }; }
mkca() {	# name
	ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	    -keyout "$T/$1.key" -out "$T/$1.pem" -days 2 -subj "/CN=ccnode test $1" \
	    -addext basicConstraints=critical,CA:TRUE \
	    -addext keyUsage=critical,keyCertSign,cRLSign
}
mkcert() {	# name ca eku
	ossl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	    -keyout "$T/$1.key" -out "$T/$1.csr" -subj "/CN=$1"
	printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=%s\nsubjectAltName=IP:127.0.0.1\n' \
	    "$3" >"$T/$1.ext"
	ossl x509 -req -in "$T/$1.csr" -CA "$T/$2.pem" -CAkey "$T/$2.key" \
	    -CAcreateserial -out "$T/$1.pem" -days 2 -extfile "$T/$1.ext"
	chmod 600 "$T/$1.key"
}
mkca ca
mkca otherca
mkcert monitor ca serverAuth
mkcert agent ca serverAuth,clientAuth
mkcert rogue otherca serverAuth,clientAuth
for c in monitor agent rogue; do
	v=$(openssl verify -CAfile "$T/ca.pem" "$T/$c.pem" 2>&1)
	say "openssl verify $c.pem against ca.pem: $v"
done
openssl x509 -in "$T/monitor.pem" -noout -ext subjectAltName 2>/dev/null | tr '\n' ' '; echo

start_monitor m2 --port "$P_M2" --http-port "$P_H2" --data-dir "$T/m2data" \
    --save-interval 2s --tls-cert-file "$T/monitor.pem" \
    --tls-key-file "$T/monitor.key" --tls-ca-cert-file "$T/ca.pem"

# No TLS at all: the plain agent waits for the server's challenge while the
# TLS server waits for a ClientHello, so this one is refused only at the
# handshake timeout (10 s).  It runs while the other cases go on.
start_agent a6 $(agent_args h6 "$P_A6" "$P_M2")

# Mutual TLS: the agent's certificate from the CA.  Its management port
# uses the same certificate, with the CA for ccctl's client certificates.
start_agent a3 $(agent_args h3 "$P_A3" "$P_M2") --tls-cert-file "$T/agent.pem" \
    --tls-key-file "$T/agent.key" --tls-ca-cert-file "$T/ca.pem"
reports_flow "$P_H2" h3
say "a3 log: $(grep 'report link up' "${D_LOG[a3]}" | tail -n 1)"

# TLS, but no client certificate.
n0=$(refusals m2)
start_agent a4 $(agent_args h4 "$P_A4" "$P_M2") --tls-ca-cert-file "$T/ca.pem"
refused m2 "$P_H2" a4 h4 '.' "$n0"

# A client certificate from another CA.
n0=$(refusals m2)
start_agent a5 $(agent_args h5 "$P_A5" "$P_M2") --tls-cert-file "$T/rogue.pem" \
    --tls-key-file "$T/rogue.key" --tls-ca-cert-file "$T/ca.pem"
refused m2 "$P_H2" a5 h5 '.' "$n0"

# The agent must check the monitor's certificate too: an agent that trusts
# only another CA does not report (its link never comes up; the monitor sees
# the agent's alert).
n0=$(refusals m2)
start_agent a7 $(agent_args h7 "$P_A7" "$P_M2") --tls-cert-file "$T/agent.pem" \
    --tls-key-file "$T/agent.key" --tls-ca-cert-file "$T/otherca.pem"
refused m2 "$P_H2" a7 h7 'TLS' "$n0"
check "a7's report link never came up" not log_has a7 'report link up'
check "a7 says why it cannot reach the monitor" log_has a7 'cannot reach monitor.*reason="TLS'

# ccctl over TLS to a3's management port.
h=$(ctl -a "127.0.0.1:$P_A3" --tls-ca "$T/ca.pem" --tls-cert "$T/agent.pem" \
    --tls-key "$T/agent.key" host --json | jq -r .host)
say "ccctl over mutual TLS: host=$h stderr: $(ctl_err)"
check "ccctl --tls-ca --tls-cert --tls-key host answers (host=$h)" test "$h" = h3
ctl -a "127.0.0.1:$P_A3" --tls-ca "$T/ca.pem" --tls-cert "$T/agent.pem" \
    --tls-key "$T/agent.key" instance list --json >"$T/list.json"
check "ccctl over mutual TLS: instance list --json answers" jqt "$T/list.json" '.items | type == "array"'
# (A plain client waits for the challenge, the TLS server for a ClientHello:
# --timeout keeps this from taking the 10 s handshake timeout.)
ctl -a "127.0.0.1:$P_A3" --timeout 3s host --json >/dev/null
rc=$?
say "ccctl without TLS against the TLS port: status $rc, stderr: $(ctl_err)"
check "ccctl without TLS fails with status 1" test "$rc" = 1
ctl -a "127.0.0.1:$P_A3" --tls-ca "$T/ca.pem" host --json >/dev/null
rc=$?
say "ccctl with TLS but no client certificate: status $rc, stderr: $(ctl_err)"
check "ccctl without a client certificate fails with status 1" test "$rc" = 1
ctl -a "127.0.0.1:$P_A3" --tls-ca "$T/ca.pem" --tls-cert "$T/rogue.pem" \
    --tls-key "$T/rogue.key" host --json >/dev/null
rc=$?
say "ccctl with a client certificate from another CA: status $rc, stderr: $(ctl_err)"
check "ccctl with a certificate from another CA fails with status 1" test "$rc" = 1
ctl -a "127.0.0.1:$P_A3" --tls-ca "$T/otherca.pem" --tls-cert "$T/agent.pem" \
    --tls-key "$T/agent.key" host --json >/dev/null
rc=$?
say "ccctl trusting another CA: status $rc, stderr: $(ctl_err)"
check "ccctl that does not trust the agent's certificate fails with status 1" test "$rc" = 1

# The plain-TCP agent a6, started before the others.
refused m2 "$P_H2" a6 h6 'no authentication within' 0 1

# Still flowing after all the refusals.
reports_flow "$P_H2" h3
pass

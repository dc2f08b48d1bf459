#!/bin/bash
# t_sup_bad.sh: bad StartInstance and SetParams requests are refused with a
# reason, and nothing happens: no new process, no state dir entry for the
# name, desired.json unchanged, and the refusal (with the offending value)
# in the agent's log.  Cases: a path in the name, port 0, 70000 or 1023, a
# duplicate port (another instance's, or an interface's stats port), a port
# held by a foreign process, an unknown param, a forbidden one (dir=/etc),
# a newline in a value, a bad kind, an interface without servers; and a
# wrong or missing secret (the agent has auth-secret-file); password files
# outside secrets-dir, directly or through a symlink.  Then a password file
# inside it: the client-facing user needs it and cannot reach CONFIG or ACL.
[ -z "${BASH_VERSION:-}" ] && exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
sup_init redis-server redis-cli jq

alloc_ports 8
P_AG=${PORTS[0]} P_R1=${PORTS[1]} P_FOREIGN=${PORTS[2]} P_NEW=${PORTS[3]}
P_R2=${PORTS[4]} P_PX=${PORTS[5]} P_PXS=${PORTS[6]} P_PW=${PORTS[7]}
D=$T/a
S=$D/state
secret_file "$T/secret"
secret_file "$T/other-secret"

SEC=$T/secrets
mkdir -m 700 "$SEC"
printf 'pw-%s\n' "$RANDOM$RANDOM" >"$SEC/r.pass"
printf 'outside\n' >"$T/outside.pass"
ln -s "$T/outside.pass" "$SEC/link.pass"
sup_agent agent "$P_AG" "$D" --auth-secret-file "$T/secret" --secrets-dir "$SEC"
SUP_CTL_OPTS=(--secret-file "$T/secret")

# A foreign redis-server (not the agent's) holds P_FOREIGN.
start_redis foreign "$P_FOREIGN"
check "instance start r1 exits 0" ictl "$P_AG" instance start r1 --kind redis --port "$P_R1"
check "instance start px1 (interface, stats port $P_PXS) exits 0" \
    ictl "$P_AG" instance start px1 --kind interface --port "$P_PX" \
    --param "servers=127.0.0.1:$P_R1" --param "stats-port=$P_PXS"
PID_R1=$(inst_field "$P_AG" r1 .pid)
PID_PX=$(inst_field "$P_AG" px1 .pid)

# The world before each request, to compare with after it.
snapshot() {
	{
		echo "desired: $(sha256sum <"$S/desired.json")"
		echo "instances: $(cd "$S/instances" && ls -A | tr '\n' ' ')"
		echo "procs: $(sup_pids_under "$T" | sort -n | tr '\n' ' ')"
		echo "list: $(ictl "$P_AG" instance list --json |
		    jq -c '[.items[] | {name, pid, state, port, params}]')"
	} >"$1"
}

n_refused=0
# refused DESC REASON-REGEX CCCTL-ARGS...: the request exits 1 with
# REASON-REGEX on stderr, changes nothing, and the agent logs the refusal.
refused() {
	local desc=$1 re=$2 out rc nlog; shift 2
	snapshot "$T/before"
	nlog=$(wc -l <"$T/agent.log")
	out=$(ictl "$P_AG" "$@"); rc=$?
	say "$desc: status $rc, stderr: $(ctl_err | head -n 2)"
	expect "$desc: refused (status 1)" test "$rc" = 1
	expect "$desc: the reason says why (/$re/)" grep -Eq -- "$re" <<<"$(ctl_err)"
	expect "$desc: nothing on stdout" test -z "$out"
	# A spawn would be under way by now; a little later is checked too.
	snapshot "$T/after"
	expect "$desc: nothing changed (desired.json, state dirs, processes, list)" \
	    cmp -s "$T/before" "$T/after" || diff "$T/before" "$T/after"
	expect "$desc: the agent logged the refusal with the reason" \
	    eval 'tail -n +$((nlog + 1)) "$T/agent.log" | grep -E "refused" | grep -Eq -- "$re"'
	n_refused=$((n_refused + 1))
}

for name in ../x a/b .x .. x/../../y ''; do
	refused "name '$name'" "'${name//./\\.}' is not a valid name" \
	    instance start "$name" --kind redis --port "$P_NEW"
done
long=$(printf 'n%.0s' $(seq 1 65))
refused "a 65-character name" "is not a valid name" \
    instance start "$long" --kind redis --port "$P_NEW"
for port in 0 70000 1023 65536; do
	refused "port $port" "port $port is outside 1024-65535" \
	    instance start x1 --kind redis --port "$port"
done
refused "r1's port" "port $P_R1 is taken by instance r1" \
    instance start x1 --kind redis --port "$P_R1"
refused "px1's stats port" "port $P_PXS is taken by instance px1" \
    instance start x1 --kind redis --port "$P_PXS"
refused "an interface whose stats port is r1's port" "port $P_R1 is taken by instance r1" \
    instance start x1 --kind interface --port "$P_NEW" \
    --param "servers=127.0.0.1:$P_R1" --param "stats-port=$P_R1"
refused "a port held by a foreign process" "cannot bind 127\.0\.0\.1:$P_FOREIGN: in use" \
    instance start x1 --kind redis --port "$P_FOREIGN"
refused "the name of a running instance" "r1 is already running" \
    instance start r1 --kind redis --port "$P_NEW"
refused "an unknown param" "unknown parameter 'frobnicate'" \
    instance start x1 --kind redis --port "$P_NEW" --param frobnicate=1
for kv in dir=/etc dbfilename=x.rdb logfile=/tmp/x pidfile=/tmp/x include=/etc/passwd \
    loadmodule=/tmp/x.so 'rename-command=CONFIG ""'; do
	refused "forbidden param ${kv%%=*}" "'${kv%%=*}' is never forwarded" \
	    instance start x1 --kind redis --port "$P_NEW" --param "$kv"
done
refused "a newline in a value" "'maxmemory' holds a control character" \
    instance start x1 --kind redis --port "$P_NEW" \
    --param $'maxmemory=10mb\nslaveof 127.0.0.1 1'
refused "a carriage return in a value" "'save' holds a control character" \
    instance start x1 --kind redis --port "$P_NEW" --param $'save=60 1\r'
refused "a bad value (maxmemory-policy=everything)" "maxmemory-policy: 'everything' is not a valid value" \
    instance start x1 --kind redis --port "$P_NEW" --param maxmemory-policy=everything
refused "a bad kind" "kind 'memcached' is neither redis nor interface" \
    instance start x1 --kind memcached --port "$P_NEW"
refused "an interface without servers" "an interface needs servers=" \
    instance start x1 --kind interface --port "$P_NEW"
refused "a redis param on an interface" "'maxmemory' is not a parameter of kind interface" \
    instance start x1 --kind interface --port "$P_NEW" \
    --param "servers=127.0.0.1:$P_R1" --param maxmemory=1mb
for f in /etc/passwd "$T/outside.pass" "$SEC/link.pass" "$SEC/../outside.pass" "$SEC" \
    "$SEC/missing" secrets/r.pass; do
	refused "requirepass-file=$f" "requirepass-file: '${f//./\\.}' is not a file in secrets-dir" \
	    instance start x1 --kind redis --port "$P_NEW" --param "requirepass-file=$f"
done
refused "masterauth-file=/etc/shadow" "masterauth-file: '/etc/shadow' is not a file in secrets-dir" \
    instance start x1 --kind redis --port "$P_NEW" --param replicaof="127.0.0.1 $P_R1" \
    --param masterauth-file=/etc/shadow
refused "redis-auth-file=/etc/passwd" "redis-auth-file: '/etc/passwd' is not a file in secrets-dir" \
    instance start x1 --kind interface --port "$P_NEW" \
    --param "servers=127.0.0.1:$P_R1" --param redis-auth-file=/etc/passwd
refused "SetParams requirepass-file=/etc/passwd" "is not a file in secrets-dir" \
    instance set r1 requirepass-file=/etc/passwd

# SetParams: refused by name; the running redis keeps its settings.
dir0=$(acli "$S" r1 "$P_R1" config get dir | sed -n 2p)
refused "SetParams dir=/etc" "'dir' is never forwarded" \
    instance set r1 dir=/etc
refused "SetParams an unknown param" "unknown parameter 'frobnicate'" \
    instance set r1 frobnicate=1
refused "SetParams a newline in a value" "holds a control character" \
    instance set r1 $'maxmemory-policy=noeviction\nx'
refused "SetParams of an unknown instance" "no such instance" \
    instance set nosuch maxmemory=1mb
check "CONFIG GET dir of r1 is unchanged ($dir0)" \
    test "$(acli "$S" r1 "$P_R1" config get dir | sed -n 2p)" = "$dir0"
check "r1's dir is its own data dir" test "$dir0" = "$S/instances/r1/data"

# ---- a wrong secret, and none at all: nothing happens ------------------------------------------
nlog=$(wc -l <"$T/agent.log")
snapshot "$T/before"
for sec in "--secret-file $T/other-secret" ""; do
	for req in "instance start evil --kind redis --port $P_R2" "instance stop r1" \
	    "instance flush r1" "instance set r1 maxmemory=1mb"; do
		# shellcheck disable=SC2086
		out=$(ctl -a "127.0.0.1:$P_AG" $sec $req); rc=$?
		say "${sec:-(no secret)} $req: status $rc: $(ctl_err)"
		who=${sec:+a wrong secret}
		expect "${who:-no secret}: $req is refused (status 1, a reason)" \
		    eval 'test $rc = 1 && test -n "$(ctl_err)" && test -z "$out"'
	done
done
check "the wrong secret is reported as an authentication failure" \
    eval 'ctl -a "127.0.0.1:$P_AG" --secret-file "$T/other-secret" host; grep -qi "auth" <<<"$(ctl_err)"'
snapshot "$T/after"
check "after the unauthenticated requests nothing changed" cmp -s "$T/before" "$T/after"
check "no state dir for 'evil'" test ! -e "$S/instances/evil"
check "r1 still runs with pid $PID_R1; px1 with pid $PID_PX" \
    eval 'pid_running "$PID_R1" && pid_running "$PID_PX" && test "$(inst_field "$P_AG" r1 .pid)" = "$PID_R1"'
check "the agent logged the wrong secret" \
    eval 'tail -n +$((nlog + 1)) "$T/agent.log" | grep -q "refused.*wrong secret"'
check "the agent logged the peer without a secret" \
    eval 'tail -n +$((nlog + 1)) "$T/agent.log" | grep -q "refused peer="'
check "no audit line for an unauthenticated request" \
    not grep -q 'evil\|maxmemory=1mb' "$D/logs/audit.log"

# Everything refused; the agent is fine, and a good request still works.
say "$n_refused refusals checked"
check "instance list still answers with r1 and px1 only" \
    test "$(ictl "$P_AG" instance list --json | jq -c '[.items[].name] | sort')" = '["px1","r1"]'
check "a good start still works" ictl "$P_AG" instance start x1 --kind redis --port "$P_NEW"
check "... and x1 answers" pong "$P_NEW"

# A password file inside secrets-dir: clients need it, the agent does not.
check "instance start pw1 with requirepass-file in secrets-dir exits 0" \
    ictl "$P_AG" instance start pw1 --kind redis --port "$P_PW" --param "requirepass-file=$SEC/r.pass"
PW=$(cat "$SEC/r.pass")
check "pw1 refuses a client without the password" \
    eval 'timeout 5 redis-cli -p "$P_PW" get k | grep -q NOAUTH'
check "pw1 answers a client with it" \
    test "$(timeout 5 redis-cli -p "$P_PW" -a "$PW" --no-auth-warning ping)" = PONG
for cmd in "config get dir" "config set dir /tmp" "acl setuser ccagent off" "shutdown nosave" \
    "replicaof 127.0.0.1 $P_R1" "acl list"; do
	# shellcheck disable=SC2086
	check "pw1's client-facing user is refused: $cmd" \
	    eval 'timeout 5 redis-cli -p "$P_PW" -a "$PW" --no-auth-warning $cmd | grep -q NOPERM'
done
check "pw1 is running in the agent's list (its health check does not need the password)" \
    test "$(inst_field "$P_AG" pw1 .state)" = running
pass

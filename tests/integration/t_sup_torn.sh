#!/bin/bash
# t_sup_torn.sh: kill -9 of the agent at random moments while start, stop,
# restart and set requests stream in (so some kills fall between writing
# the desired state and spawning).  After each kill desired.json parses and
# holds only whole instances; the agent comes up again on it each time,
# never with a duplicate (at most one redis-server per instance and per
# port), and brings every instance to its desired state.
[ -z "${BASH_VERSION:-}" ] && exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
sup_init redis-server redis-cli jq

ITER=${TORN_ITERATIONS:-20}
alloc_ports 4
P_AG=${PORTS[0]}
NAMES=(t1 t2 t3)
declare -A PORT_OF=([t1]=${PORTS[1]} [t2]=${PORTS[2]} [t3]=${PORTS[3]})
PORTS_JSON=$(for n in "${NAMES[@]}"; do echo "$n ${PORT_OF[$n]}"; done |
    jq -Rn '[inputs | split(" ") | {(.[0]): (.[1] | tonumber)}] | add')
D=$T/a
S=$D/state

restart_agent() { sup_agent agent "$P_AG" "$D"; }

# The request stream: two loops of random requests, for the whole test;
# while the agent is down they fail at once, and go on.  While $T/pause
# exists they pause (and say so in $T/ID.paused), so that the checks after
# a restart see the agent's own doing.
request_loop() {
	local n op
	while :; do
		if [ -e "$T/pause" ]; then
			: >"$T/$1.paused"
			sleep 0.01
			continue
		fi
		n=${NAMES[RANDOM % 3]}
		case $((RANDOM % 6)) in
		0|1) op=(instance start "$n" --kind redis --port "${PORT_OF[$n]}"
		    --param "maxmemory=$((RANDOM % 90 + 10))mb");;
		2|3) op=(instance stop "$n");;
		4) op=(instance restart "$n");;
		5) op=(instance set "$n" "maxmemory=$((RANDOM % 90 + 10))mb");;
		esac
		timeout 10 "$CCCTL" -a "127.0.0.1:$P_AG" --timeout 5s "${op[@]}" >/dev/null 2>>"$T/$1-ccctl.log"
		[ $? = 0 ] || sleep 0.005
	done
}

# desired.json is whole: it parses, and every instance has every field,
# with a known name, its own port, and no name twice.
whole() {
	jqe --argjson ports "$PORTS_JSON" '
	    .version == 1 and (.instances | type == "array") and
	    (.instances | all(
		(.name | type == "string") and ($ports[.name] != null) and
		.kind == "redis" and .port == $ports[.name] and
		(.desired == "running" or .desired == "stopped") and
		(.params | type == "object") and
		(.params | to_entries | all(.key == "maxmemory" and (.value | test("^[0-9]+mb$")))))) and
	    ([.instances[].name] | length == (unique | length))' "$S/desired.json" >/dev/null 2>&1
}

# settled: every instance of the list is running, stopped or fatal.
settled() {
	local states
	states=$(ictl "$P_AG" --timeout 5s instance list --json | jq -r '.items[].state' 2>/dev/null) || return 1
	! grep -qv '^\(running\|stopped\|fatal\)$' <<<"$states"
}

restart_agent
start_helper loop1 request_loop loop1
start_helper loop2 request_loop loop2
kills=0 adopted=0 spawned=0 not_converged=0
pause_loops() {
	rm -f "$T"/loop*.paused
	: >"$T/pause"
	wait_for 10 "the request loops paused" '[ -e "$T/loop1.paused" ] && [ -e "$T/loop2.paused" ]'
}
for ((i = 1; i <= ITER; i++)); do
	# Requests flow again once the agent is up; kill it a random moment later.
	rm -f "$T/pause"
	wait_for 10 "iteration $i: requests reach the agent" \
	    '[ "$(grep -c "request \(start\|stop\|restart\|set\) instance=" "${D_LOG[agent]}")" -gt "${nreq:-0}" ]'
	delay=$((RANDOM % 50))
	sleep "0.0$(printf %02d "$delay")"
	kill_daemon agent KILL
	kills=$((kills + 1))
	pause_loops
	nreq=$(grep -c "request \(start\|stop\|restart\|set\) instance=" "${D_LOG[agent]}")
	if ! whole; then
		echo "---- $S/desired.json"; cat "$S/desired.json"
		fail "iteration $i: desired.json is torn or invalid after a kill -9 ${delay} ms in"
	fi
	say "iteration $i: killed ${delay} ms in; desired.json is whole: $(jq -c '[.instances[] | "\(.name)=\(.desired)"]' "$S/desired.json")"
	n0=$(wc -l <"${D_LOG[agent]}")
	restart_agent
	wait_for 10 "iteration $i: every instance settled" settled
	adopted=$((adopted + $(tail -n +$((n0 + 1)) "${D_LOG[agent]}" | grep -c ': adopted pid ')))
	spawned=$((spawned + $(tail -n +$((n0 + 1)) "${D_LOG[agent]}" | grep -c 'should run but does not; starting')))
	ictl "$P_AG" instance list --json >"$T/list.json"
	for n in "${NAMES[@]}"; do
		np=$(inst_pids "$S" "$n" | wc -l)
		nl=$(listeners "${PORT_OF[$n]}" | wc -l)
		[ "$np" -le 1 ] || fail "iteration $i: $np processes for $n: $(inst_pids "$S" "$n" | tr '\n' ' ')"
		[ "$nl" -le 1 ] || fail "iteration $i: $nl processes listen on $n's port ${PORT_OF[$n]}"
		st=$(jq -r --arg n "$n" '.items[] | select(.name == $n) | "\(.state) \(.desired) \(.pid)"' "$T/list.json")
		[ -z "$st" ] && continue
		read -r state want pid <<<"$st"
		if [ "$state" = running ] && [ "$(listeners "${PORT_OF[$n]}")" != "$pid" ]; then
			fail "iteration $i: $n is running as pid $pid, but $(listeners "${PORT_OF[$n]}") listens on its port"
		fi
		if [ "$state" != "$want" ]; then
			not_converged=$((not_converged + 1))
			printf '%s [%s] FAIL: iteration %s: after the agent restart %s is %s but its desired state is %s\n' \
			    "$(ts)" "$ITEST_NAME" "$i" "$n" "$state" "$want" >&2
			ITEST_FAILED=1
		fi
	done
done
say "$kills kills; after them the agent adopted $adopted and started $spawned instances; $not_converged not in their desired state"
stop_daemon loop1
stop_daemon loop2
check "the request loops ran requests ($(grep -c 'request start instance=' "${D_LOG[agent]}") starts)" \
    test "$(grep -c 'request start instance=' "${D_LOG[agent]}")" -gt 0
check "the agent never found desired.json damaged" not log_has agent 'desired.json.*not valid'
pass

#!/bin/bash
# t_sup_adopt.sh: the supervised processes outlive their agent, and a new
# agent on the same state-dir adopts them.
#  - kill -9 of the agent while a redis and a nutcracker in front of it run:
#    both stay up (same pids, still answering, the proxy still proxies);
#    the new agent adopts both with the same pids and starts nothing new;
#    a kill -9 of the adopted redis is noticed (pidfd) and it is restarted.
#  - SIGTERM of the agent: the children keep running; adopted again.
#  - A recycled pid: the proc file names another process (a sleep) with
#    the old start time, or with its own start time and the redis binary:
#    it is not adopted (the log says why), a fresh redis is started, and
#    the other process is left alone.
#  - An upgraded binary (/proc/PID/exe reads "... (deleted)") is adopted.
[ -z "${BASH_VERSION:-}" ] && exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
sup_init redis-server redis-cli nutcracker jq

alloc_ports 4
P_AG=${PORTS[0]} P_R1=${PORTS[1]} P_PX=${PORTS[2]} P_PXS=${PORTS[3]}
D=$T/a
S=$D/state
AGENT_ARGS=()

restart_agent() { sup_agent agent "$P_AG" "$D" "${AGENT_ARGS[@]}"; }
nlines() { wc -l <"${D_LOG[agent]}"; }
log_since() { tail -n +$(($1 + 1)) "${D_LOG[agent]}"; }
field() { inst_field "$P_AG" "$@"; }
# one_each: exactly one live process for r1 and for px1, the listeners.
one_each() {
	local nr np
	nr=$(inst_pids "$S" r1 | wc -l)
	np=$(inst_pids "$S" px1 | wc -l)
	say "processes: r1: $nr ($(inst_pids "$S" r1 | tr '\n' ' ')), px1: $np ($(inst_pids "$S" px1 | tr '\n' ' ')); listening on $P_R1: $(listeners "$P_R1" | tr '\n' ' '), on $P_PX: $(listeners "$P_PX" | tr '\n' ' ')"
	[ "$nr" = 1 ] && [ "$np" = 1 ] && [ "$(listeners "$P_R1" | wc -l)" = 1 ] &&
	    [ "$(listeners "$P_PX" | wc -l)" = 1 ]
}
# proxied KEY VALUE: SET through the proxy, GET from the proxy and from r1.
proxied() {
	[ "$(timeout 5 redis-cli -p "$P_PX" set "$1" "$2")" = OK ] &&
	    [ "$(timeout 5 redis-cli -p "$P_PX" get "$1")" = "$2" ] &&
	    [ "$(acli "$S" r1 "$P_R1" get "$1")" = "$2" ]
}
adopted_both() {
	[ "$(field r1 '.state + " " + (.adopted|tostring) + " " + (.pid|tostring)')" = "running true $1" ] &&
	    [ "$(field px1 '.state + " " + (.adopted|tostring) + " " + (.pid|tostring)')" = "running true $2" ]
}

restart_agent
check "start r1" ictl "$P_AG" instance start r1 --kind redis --port "$P_R1"
check "start px1 (nutcracker in front of r1)" ictl "$P_AG" instance start px1 --kind interface \
    --port "$P_PX" --param "servers=127.0.0.1:$P_R1" --param "stats-port=$P_PXS"
R=$(field r1 .pid)
X=$(field px1 .pid)
say "r1 pid $R, px1 pid $X"
check "the proxy proxies a SET to r1" proxied k0 v0
check "one process each" one_each

# ---- kill -9 of the agent -------------------------------------------------------------------
kill_daemon agent KILL
check "r1 (pid $R) and px1 (pid $X) are still running" eval 'pid_running "$R" && pid_running "$X"'
check "r1 answers PING" pong "$P_R1"
check "the proxy still proxies a SET/GET to r1" proxied k1 v1
check "r1 and px1 are in their own sessions (not the agent's)" \
    eval 'test "$(ps -o sid= -p "$R" | tr -d " ")" = "$R" && test "$(ps -o sid= -p "$X" | tr -d " ")" = "$X"'
n0=$(nlines)
restart_agent
wait_for 10 "the new agent adopted r1 (pid $R) and px1 (pid $X): running, adopted" 'adopted_both "$R" "$X"'
ictl "$P_AG" instance list --json | jq -c '.items[] | {name, pid, state, adopted}'
check "the log says so" eval 'log_since $n0 | grep -q "instance r1: adopted pid $R" && log_since $n0 | grep -q "instance px1: adopted pid $X"'
check "the new agent spawned nothing" eval '! log_since $n0 | grep -q "spawned pid="'
check "exactly one redis-server and one nutcracker, and one listener each" one_each
check "the proxy still proxies" proxied k2 v2

# ---- kill -9 of an adopted redis: noticed through its pidfd, restarted -----------------------
n0=$(nlines)
t0=$(now_ms)
kill -KILL "$R"
end=$((t0 + 10000 * TF))
until pong "$P_R1" && [ "$(listeners "$P_R1")" != "$R" ]; do
	[ "$(now_ms)" -ge "$end" ] && fail "the adopted r1 was not restarted within $((10 * TF)) s"
done
say "RESTART LATENCY (adopted r1, kill -9 to PONG): $(( $(now_ms) - t0 )) ms"
wait_for 5 "r1 is running again, not adopted, with a new pid" \
    '[ "$(field r1 ".state + \" \" + (.adopted|tostring)")" = "running false" ] && [ "$(field r1 .pid)" != "$R" ]'
R2=$(field r1 .pid)
check "the exit of the adopted r1 was seen (status unknown: adopted)" \
    eval 'log_since $n0 | grep -q "instance r1: pid $R exited (status unknown: adopted)"'
check "px1 was not touched (pid $X, adopted)" test "$(field px1 '(.pid|tostring) + " " + (.adopted|tostring)')" = "$X true"
R=$R2
check "one process each after the restart" one_each
wait_for 10 "the proxy proxies to the new r1" 'proxied k3 v3'

# ---- SIGTERM of the agent: the children stay; adopted again -------------------------------------
check "the agent stops cleanly on SIGTERM (exit 0)" stop_daemon agent
check "r1 (pid $R) and px1 (pid $X) still run" eval 'pid_running "$R" && pid_running "$X" && pong "$P_R1"'
check "the proxy still proxies with no agent" proxied k4 v4
n0=$(nlines)
restart_agent
wait_for 10 "adopted again: r1 (pid $R), px1 (pid $X)" 'adopted_both "$R" "$X"'
check "nothing spawned" eval '! log_since $n0 | grep -q "spawned pid="'
check "one process each" one_each

# ---- a recycled pid: the start time differs -------------------------------------------------------
check "stop the agent" stop_daemon agent
read -r _ RSTART REXE <"$S/instances/r1/proc"
say "r1's proc file: $(cat "$S/instances/r1/proc")"
kill -KILL "$R"
wait_for 5 "r1 (pid $R) is gone and its port free" '! pid_running "$R" && ! port_listening "$P_R1"'
start_helper other sleep 1000
SLEEP=$(pid_of other)
wait_for 5 "the other process runs sleep" '[ "$(readlink /proc/$SLEEP/exe)" = "$(command -v sleep | xargs readlink -f)" ]'
SLEEP_START=$(pid_starttime "$SLEEP")
echo "$SLEEP $RSTART $REXE" >"$S/instances/r1/proc"
say "r1's proc file now names pid $SLEEP (sleep, started at $SLEEP_START) with r1's start time $RSTART"
n0=$(nlines)
restart_agent
wait_for 10 "r1 runs again, a fresh redis-server (not adopted), px1 adopted" \
    '[ "$(field r1 ".state + \" \" + (.adopted|tostring)")" = "running false" ] && [ "$(field px1 ".adopted")" = true ]'
log_since "$n0" | grep 'instance r1:'
R=$(field r1 .pid)
check "r1's new pid is not the sleep's ($R, $SLEEP)" eval 'test "$R" != "$SLEEP" && _sup_is_server "$R"'
check "the log says why it was not adopted" \
    eval 'log_since $n0 | grep -q "instance r1: pid $SLEEP is gone or is another process now (start time differs)"'
check "... and that it started r1" eval 'log_since $n0 | grep -q "instance r1: spawned pid=$R"'
check "the sleep is untouched (same pid, same start time, not stopped)" \
    eval 'pid_running "$SLEEP" && test "$(pid_starttime "$SLEEP")" = "$SLEEP_START" && test "$(sed "s/.*) //" /proc/$SLEEP/stat | cut -c1)" = S'
check "one process each" one_each

# ---- a recycled pid: the start time matches, the binary does not ----------------------------------
check "stop the agent" stop_daemon agent
kill -KILL "$R"
wait_for 5 "r1 (pid $R) is gone and its port free" '! pid_running "$R" && ! port_listening "$P_R1"'
echo "$SLEEP $SLEEP_START $REXE" >"$S/instances/r1/proc"
say "r1's proc file now names pid $SLEEP with its own start time and $REXE"
n0=$(nlines)
restart_agent
wait_for 10 "r1 runs again, a fresh redis-server (not adopted)" \
    '[ "$(field r1 ".state + \" \" + (.adopted|tostring)")" = "running false" ]'
R=$(field r1 .pid)
check "r1's new pid is not the sleep's ($R)" test "$R" != "$SLEEP"
check "the log says the pid does not run the redis binary" \
    eval 'log_since $n0 | grep -q "instance r1: pid $SLEEP does not run .*; not adopted"'
check "the sleep is untouched" \
    eval 'pid_running "$SLEEP" && test "$(pid_starttime "$SLEEP")" = "$SLEEP_START"'
check "one process each" one_each
check "the proxy proxies to the fresh r1" proxied k5 v5

# ---- an upgraded binary: /proc/PID/exe reads "... (deleted)"; still adopted ------------------------
alloc_ports 2
P_AG2=${PORTS[0]} P_U1=${PORTS[1]}
mkdir -p "$T/bin"
cp "$(readlink -f "$(command -v redis-server)")" "$T/bin/redis-server"
sup_agent agent2 "$P_AG2" "$T/b" --redis-server-path "$T/bin/redis-server"
check "agent2: start u1 (redis-server-path $T/bin/redis-server)" \
    ictl "$P_AG2" instance start u1 --kind redis --port "$P_U1"
U=$(inst_field "$P_AG2" u1 .pid)
kill_daemon agent2 KILL
# The package manager's way: a new file renamed over the old one.
cp "$T/bin/redis-server" "$T/bin/redis-server.new"
mv -f "$T/bin/redis-server.new" "$T/bin/redis-server"
say "u1 (pid $U) now runs $(readlink "/proc/$U/exe")"
check "u1's exe reads '(deleted)'" eval 'readlink "/proc/$U/exe" | grep -q " (deleted)$"'
sup_agent agent2 "$P_AG2" "$T/b" --redis-server-path "$T/bin/redis-server"
wait_for 10 "agent2 adopted u1 (pid $U) though its binary was replaced" \
    '[ "$(inst_field "$P_AG2" u1 ".state + \" \" + (.adopted|tostring) + \" \" + (.pid|tostring)")" = "running true $U" ]'
check "one redis-server for u1" test "$(inst_pids "$T/b/state" u1 | wc -l)" = 1
pass

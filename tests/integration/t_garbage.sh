#!/bin/bash
# t_garbage.sh: garbage on the monitor's report port and on the agent's
# management port (random bytes, a 4 GiB length prefix, a truncated frame, a
# malformed frame, an HTTP request, a silent peer, a 1-byte-per-second
# sender).  Each connection is closed by the daemon and logged with the peer's
# address, and both daemons go on serving: /metrics keeps updating, the
# agent's reports keep arriving, ccctl host still answers.
[ -z "${BASH_VERSION:-}" ] && exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
itest_init redis-server redis-cli curl jq

alloc_ports 4
P_R1=${PORTS[0]} P_MON=${PORTS[1]} P_HTTP=${PORTS[2]} P_AG=${PORTS[3]}

start_redis r1 "$P_R1"
start_monitor mon --port "$P_MON" --http-port "$P_HTTP" --data-dir "$T/mdata" \
    --save-interval 2s
start_agent agent --port "$P_AG" --monitor "127.0.0.1:$P_MON" \
    --spool-dir "$T/spool" --state-dir "$T/state" --sample-interval 1s \
    --sample-timeout 500ms --host-name h1 --watch r1 "127.0.0.1:$P_R1"

UP='redis_up{instance="r1",host="h1"}'
REPORTS='ccnode_agent_reports_total{host="h1"}'
wait_for 15 "$UP is 1" 'num_eq "$(prom_value $P_HTTP "$UP")" 1'

# Both daemons still serve: the agent is connected, reports keep arriving,
# redis_up is 1, and ccctl host answers.
still_serving() {
	local what=$1 r0 h
	r0=$(prom_value "$P_HTTP" "$REPORTS")
	[ -n "$r0" ] || fail "after $what: /metrics has no $REPORTS"
	wait_for 10 "after $what: monitor's reports from h1 rise past $r0" \
	    'num_gt "$(prom_value $P_HTTP "$REPORTS")" $r0'
	check "after $what: $UP is 1" num_eq "$(prom_value "$P_HTTP" "$UP")" 1
	check "after $what: ccnode_agent_connected{host=\"h1\"} is 1" \
	    num_eq "$(prom_value "$P_HTTP" 'ccnode_agent_connected{host="h1"}')" 1
	h=$(ctl -a "127.0.0.1:$P_AG" host --json | jq -r .host)
	check "after $what: ccctl host answers (host=$h)" test "$h" = h1
}

# The local address of this shell's connection on fd $2 to port $1.
local_addr_of() {
	ss -Htnp "( dport = :$1 )" 2>/dev/null |
	    awk -v pid="pid=$$," -v fd="fd=$2)" \
	    'index($0, pid) && index($0, fd) { print $4; exit }'
}

# garbage PORT DESC GENERATOR...: connect, send what GENERATOR writes, then
# expect the daemon to close the connection (within 15 s) and log a refusal
# naming our address.  CLOSE_FIRST=1: we close right after sending instead.
declare -A REFUSED_PEERS=()
garbage() {
	local port=$1 desc=$2 fd peer start rc el; shift 2
	exec {fd}<>"/dev/tcp/127.0.0.1/$port" || fail "$desc: cannot connect to $port"
	peer=$(local_addr_of "$port" "$fd")
	start=$(now_ms)
	# External commands: a write to a closed socket kills them, not us.
	"$@" >&"$fd" 2>/dev/null
	if [ "${CLOSE_FIRST:-0}" = 1 ]; then
		exec {fd}>&-
		say "$desc -> port $port from $peer: sent, closed by us"
	else
		timeout 15 cat <&"$fd" >/dev/null 2>&1
		rc=$?
		el=$(( $(now_ms) - start ))
		exec {fd}>&-
		say "$desc -> port $port from $peer: read status $rc after $el ms"
		check "$desc: port $port closed the connection (status $rc, 124 = still open after 15 s)" \
		    test "$rc" != 124
	fi
	[ -n "$peer" ] && REFUSED_PEERS["$port $peer"]=$desc
}

hdr_4g() { /usr/bin/printf '\377\377\377\377'; }
trunc_frame() { /usr/bin/printf '\000\000\000\144'; head -c 10 /dev/urandom; }
bad_frame() { /usr/bin/printf '\000\000\000\010\377\377\377\377\377\377\377\377'; }
http_req() { /usr/bin/printf 'GET / HTTP/1.0\r\n\r\n'; }
rand_bytes() { head -c 10000 /dev/urandom; }

# Silent and slow peers, in the background (they take the handshake timeout).
# Each writes "STATUS ELAPSED_MS PEER" to its result file.
silent_peer() {	# port outfile [slow]
	local start rc pid peer
	exec 3<>"/dev/tcp/127.0.0.1/$1" || { echo "connect-failed" >"$2"; return; }
	start=$(now_ms)
	peer=$(ss -Htnp "( dport = :$1 )" | awk -v pid="pid=$BASHPID," 'index($0, pid) && index($0, "fd=3)") { print $4; exit }')
	if [ "${3:-}" = slow ]; then
		# A 64-byte frame, one byte a second: never completes in time.
		( for b in '\000' '\000' '\000' '\100'; do
			/usr/bin/printf "$b" || exit; sleep 1; done
		  for i in $(seq 64); do /usr/bin/printf a || exit; sleep 1; done
		) >&3 2>/dev/null &
		pid=$!
	fi
	timeout 20 cat <&3 >/dev/null 2>&1
	rc=$?
	echo "$rc $(( $(now_ms) - start )) $peer" >"$2"
	[ -n "${pid:-}" ] && kill "$pid" 2>/dev/null
	exec 3>&-
	wait
}
for p in "$P_MON" "$P_AG"; do
	start_helper "silent_$p" silent_peer "$p" "$T/silent_$p.res"
	start_helper "slow_$p" silent_peer "$p" "$T/slow_$p.res" slow
done

for p in "$P_MON" "$P_AG"; do
	[ "$p" = "$P_MON" ] && where="monitor report port" || where="agent management port"
	garbage "$p" "10000 random bytes on the $where" rand_bytes
	still_serving "random bytes on the $where"
	garbage "$p" "a 4 GiB length prefix on the $where" hdr_4g
	still_serving "a 4 GiB length prefix on the $where"
	CLOSE_FIRST=1 garbage "$p" "a truncated frame (100 claimed, 10 sent) on the $where" trunc_frame
	still_serving "a truncated frame on the $where"
	garbage "$p" "a malformed 8-byte frame on the $where" bad_frame
	still_serving "a malformed frame on the $where"
	garbage "$p" "an HTTP request on the $where" http_req
	still_serving "an HTTP request on the $where"
done

# The silent and slow peers: closed by the daemon after the handshake
# timeout (about 10 s), within 15 s.
for p in "$P_MON" "$P_AG"; do
	for kind in silent slow; do
		wait_for 25 "the $kind peer on port $p has a result" "test -s $T/${kind}_$p.res"
		read -r rc el peer <"$T/${kind}_$p.res"
		say "$kind peer on port $p from $peer: read status $rc after $el ms"
		check "$kind peer on port $p was closed by the daemon (status $rc, 124 = not closed)" \
		    test "$rc" != 124 -a "$rc" != connect-failed
		check "$kind peer on port $p was closed within 15 s ($el ms)" test "$el" -le 15000
		[ -n "$peer" ] && REFUSED_PEERS["$p $peer"]="$kind peer"
	done
done
still_serving "the silent and slow peers"

# Every refusal is logged with the peer's address.
say "log lines about our peers:"
for key in "${!REFUSED_PEERS[@]}"; do
	read -r p peer <<<"$key"
	[ "$p" = "$P_MON" ] && name=mon || name=agent
	line=$(grep -F "peer=$peer " "${D_LOG[$name]}" | head -1)
	say "  $name ${REFUSED_PEERS[$key]} ($peer): $line"
	expect "$name log has a refusal for ${REFUSED_PEERS[$key]} naming peer=$peer" \
	    grep -Eq "refused peer=$peer reason=\".+\"" "${D_LOG[$name]}"
done
n=$(grep -c 'refused peer=127\.0\.0\.1:' "${D_LOG[mon]}")
expect "monitor log has refusals with the peer address ($n lines)" test "$n" -ge 5
n=$(grep -c 'refused peer=127\.0\.0\.1:' "${D_LOG[agent]}")
expect "agent log has refusals with the peer address ($n lines)" test "$n" -ge 5
refused=$(prom_value "$P_HTTP" ccnode_monitor_refused_connections_total)
expect "ccnode_monitor_refused_connections_total counts them ($refused >= 5)" num_ge "$refused" 5

# The agent's link to the monitor was never the one refused.
expect "the agent's report link never went down" \
    test "$(grep -c 'report link up' "${D_LOG[agent]}")" = 1

# SIGTERM while unauthenticated peers are still connected is a clean exit
# too (status 0, nothing leaked).
exec {s1}<>"/dev/tcp/127.0.0.1/$P_MON" || fail "cannot connect to $P_MON"
exec {s2}<>"/dev/tcp/127.0.0.1/$P_AG" || fail "cannot connect to $P_AG"
# Each daemon speaks first (its challenge): read a frame header from both.
check "the monitor accepted a silent peer" timeout 5 head -c 4 <&"$s1" >/dev/null
check "the agent accepted a silent peer" timeout 5 head -c 4 <&"$s2" >/dev/null
say "stopping both daemons with a silent peer connected to each"
expect "the agent exits cleanly on SIGTERM with a peer mid-handshake" stop_daemon agent
expect "the monitor exits cleanly on SIGTERM with a peer mid-handshake" stop_daemon mon
exec {s1}>&- {s2}>&-
pass

#!/bin/bash
# bench/detect.sh: failure detection time, ccmonitor against redis-sentinel,
# side by side in the same run.  See bench/README.md.
#
#   bench/detect.sh [BUILDDIR]        (or: make bench-detect)
#
# Three redis-servers:
#   r1     supervised by a ccagent that reports to ccmonitor (ccctl instance
#          start r1): the crash target of ccmonitor.  The agent sees the
#          exit and restarts it at once; the monitor posts "crashed".
#   plain  a plain redis-server: the crash target of sentinel (master
#          "mcrash"); the script restarts it after each kill.  ccmonitor
#          also probes it (an "instance" line), which gives a third row:
#          a crash that only probes see (cause refused).
#   hang   a plain redis-server both watch (ccmonitor: "instance" line;
#          sentinel: master "mhang"): the hang target (SIGSTOP).
# ccmonitor posts its control-center events to an http_sink (which stamps
# each request with its arrival time, unix ms); sentinel's +sdown/-sdown
# come from "redis-cli -p SPORT subscribe +sdown -sdown", each line stamped
# by a bash reader as it arrives.  The API time is the first poll of
# GET /api/v1/instances?state=down (bash, /dev/tcp, no fork; every
# POLL_PAUSE s) that lists the instance.
#
# Two tunings, each with a fresh ccmonitor and a fresh sentinel:
#   defaults  ccmonitor: probe-interval 1s, probe-timeout 500ms,
#             probe-failures 3; sentinel: down-after-milliseconds 30000.
#             DEFAULT_ROUNDS rounds of each scenario (1; DETECT_DEFAULTS=0
#             skips this tuning: sentinel takes 30 s per round).
#   tuned     a 1 s budget: sentinel down-after-milliseconds 1000;
#             ccmonitor TUNED_PROBE (probe-interval 250ms, probe-timeout
#             250ms, probe-failures 3: interval + failures x timeout = 1 s).
#             N rounds.
# Scenarios, each round: a random pause of GAP..GAP+1 s (the probe and
# sentinel ping phases vary), then
#   crash  kill -9 of r1 and of plain (t0 taken just before each kill);
#          until r1's instance_down at the sink and in the API, plain's
#          instance_down at the sink, and sentinel's +sdown mcrash.  plain
#          is restarted, and the round waits until everything is up again
#          (instance_up, -sdown).
#   hang   SIGSTOP of hang; until its instance_down at the sink and in the
#          API, and sentinel's +sdown mhang; SIGCONT, and wait for
#          recovery.
#
# Environment (defaults): N=5 DETECT_DEFAULTS=1 DEFAULT_ROUNDS=1 GAP=1.5
#   POLL_PAUSE=0.002 TUNED_MS=1000
#   TUNED_PROBE="--probe-interval 250ms --probe-timeout 250ms --probe-failures 3"
#   REDIS_SERVER=/usr/bin/redis-server CCAGENT CCMONITOR CCCTL HTTP_SINK
#   BENCH_KEEP=
set -u
export LC_ALL=C
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

build=${1:-}
CCAGENT=${CCAGENT:-${build:+$build/agent/ccagent}}
CCMONITOR=${CCMONITOR:-${build:+$build/monitor/ccmonitor}}
CCCTL=${CCCTL:-${build:+$build/ctl/ccctl}}
HTTP_SINK=${HTTP_SINK:-${build:+$build/tests/helpers/http_sink}}
REDIS_SERVER=${REDIS_SERVER:-/usr/bin/redis-server}
N=${N:-5}
DETECT_DEFAULTS=${DETECT_DEFAULTS:-1}
DEFAULT_ROUNDS=${DEFAULT_ROUNDS:-1}
GAP=${GAP:-1.5}
POLL_PAUSE=${POLL_PAUSE:-0.002}
TUNED_MS=${TUNED_MS:-1000}
TUNED_PROBE=${TUNED_PROBE:---probe-interval 250ms --probe-timeout 250ms --probe-failures 3}

for b in "$CCAGENT" "$CCMONITOR" "$CCCTL" "$HTTP_SINK"; do
	if [ -z "$b" ] || [ ! -x "$b" ]; then
		echo "usage: $0 BUILDDIR (or set CCAGENT, CCMONITOR, CCCTL and" \
		    "HTTP_SINK); build with: make && make tests/helpers/http_sink" >&2
		exit 2
	fi
done
for b in "$REDIS_SERVER" redis-cli ss jq; do
	if ! command -v "$b" >/dev/null; then
		echo "$0: $b is missing (Debian: redis-server, iproute2, jq)" >&2
		exit 2
	fi
done
if [ "${BASH_VERSINFO[0]}" -lt 5 ]; then
	echo "$0: needs bash 5 (EPOCHREALTIME)" >&2
	exit 2
fi

bench_init detect
REDIS_PORTS=()
detect_cleanup() {
	local f p
	bench_cleanup
	# r1 belongs to the agent's process tree no more (it outlives the
	# agent by design): stopped by pid if still on its port.
	[ "${#REDIS_PORTS[@]}" -gt 0 ] || return
	for f in /proc/[0-9]*/cmdline; do
		p=${f#/proc/}
		p=${p%/cmdline}
		[ "$p" != $$ ] || continue
		if { tr '\0' ' ' <"$f"; } 2>/dev/null | grep -Eq \
		    "^[^ ]*redis-server [0-9.]+:($(IFS='|'; echo "${REDIS_PORTS[*]}")) "; then
			echo "# stopping pid $p, left on one of our ports" >&2
			kill -CONT "$p" 2>/dev/null
			kill -TERM "$p" 2>/dev/null
		fi
	done
}
trap detect_cleanup EXIT
poll_init || exit 1

mapfile -t ports < <(free_ports 9)
[ "${#ports[@]}" -eq 9 ] || exit 1
p_sink=${ports[0]} p_mon=${ports[1]} p_http=${ports[2]} p_agent=${ports[3]}
p_r1=${ports[4]} p_plain=${ports[5]} p_hang=${ports[6]}
p_sent=("${ports[7]}" "${ports[8]}")
REDIS_PORTS=("$p_r1" "$p_plain" "$p_hang")
RES="$BENCH_TMP/results"	# scenario tuning what ms
: >"$RES"

echo "# bench/detect.sh on $(hostname), $(nproc) CPUs, $(uname -r); $(date -u +%FT%TZ)"
echo "# command: $0 $*   (N=$N DETECT_DEFAULTS=$DETECT_DEFAULTS" \
    "DEFAULT_ROUNDS=$DEFAULT_ROUNDS GAP=$GAP POLL_PAUSE=$POLL_PAUSE" \
    "TUNED_MS=$TUNED_MS TUNED_PROBE=\"$TUNED_PROBE\")"
echo "# $("$CCMONITOR" --version 2>&1 | head -1); $("$REDIS_SERVER" --version |
    cut -d' ' -f1-3) ($REDIS_SERVER, also as sentinel)"
echo "# load average at start: $(cut -d' ' -f1-3 /proc/loadavg)" \
    "(a shared machine: other work steals CPU)"

us2ms() {	# microseconds -> "12.3"
	awk -v u="$1" 'BEGIN { printf "%.1f", u / 1000 }'
}

# ---- readers: the sink's file and the sentinel's stamped pubsub --------------
# Each keeps an fd open on its file and reads what was appended since; a
# line read only in part (the writer not done) is completed next time.
# The first time an "EVENT NAME" is seen (since the last clear_seen) goes
# into SEEN["EVENT NAME"], in microseconds since the epoch; the cause of a
# sink event into CAUSE.
declare -A SEEN=() CAUSE=()
SINK_FD='' SINK_PART='' SUB_FD='' SUB_PART='' SUB_CH=''

sink_scan() {
	local l ev name at k
	while :; do
		if IFS= read -r -u "$SINK_FD" l; then
			l=$SINK_PART$l
			SINK_PART=
		else
			SINK_PART+=$l
			return 0
		fi
		[[ $l =~ ^([0-9]+)\ [0-9]+\ POST ]] || continue
		at=$((BASH_REMATCH[1] * 1000))
		[[ $l =~ \"event\":\"([a-z_]+)\" ]] || continue
		ev=${BASH_REMATCH[1]}
		[[ $l =~ \"instance\":\"([^\"]+)\" ]] || continue
		name=${BASH_REMATCH[1]}
		k="$ev $name"
		if [ -z "${SEEN[$k]:-}" ]; then
			SEEN[$k]=$at
			[[ $l =~ \"cause\":\"([a-z_]*)\" ]] && CAUSE[$k]=${BASH_REMATCH[1]}
		fi
	done
}

# redis-cli's subscribe output, one stamped line each: "message",
# "+sdown", "master mhang 127.0.0.1 PORT".
sub_scan() {
	local l at rest k
	while :; do
		if IFS= read -r -u "$SUB_FD" l; then
			l=$SUB_PART$l
			SUB_PART=
		else
			SUB_PART+=$l
			return 0
		fi
		at=${l%% *}
		rest=${l#* }
		case $rest in
		+sdown|-sdown) SUB_CH=$rest ;;
		"master "*)
			if [ -n "$SUB_CH" ]; then
				rest=${rest#master }
				k="$SUB_CH ${rest%% *}"
				[ -n "${SEEN[$k]:-}" ] || SEEN[$k]=$at
			fi
			SUB_CH= ;;
		esac
	done
}

scan() {
	sink_scan
	[ -z "$SUB_FD" ] || sub_scan
}

clear_seen() {
	scan
	SEEN=()
	CAUSE=()
}

stamp_lines() {
	local l
	while IFS= read -r l; do
		printf '%s %s\n' "${EPOCHREALTIME//[!0-9]/}" "$l"
	done
}

# ---- the API, without a fork ---------------------------------------------------
# api_fetch STATE: GET /api/v1/instances?state=STATE (the API's own filter)
# into API_BODY (empty on failure); api_has NAME: NAME is in it.
API_BODY=
api_fetch() {
	local fd req
	API_BODY=
	{ exec {fd}<>"/dev/tcp/127.0.0.1/$p_http"; } 2>/dev/null || return 1
	# One write(2) (echo; printf writes in pieces): ccmonitor's HTTP
	# server sometimes never answers a request that came in several
	# segments, and that bug is not what this measures.
	req="GET /api/v1/instances?state=$1 HTTP/1.0"$'\r\n'"Host: 127.0.0.1"$'\r\n\r\n'
	trap '' PIPE
	echo -n "$req" 1>&"$fd" 2>/dev/null
	IFS= read -r -d '' -t 5 -u "$fd" API_BODY
	trap - PIPE
	exec {fd}>&-
	API_BODY=${API_BODY#*$'\r\n\r\n'}
	[ -n "$API_BODY" ]
}

api_has() {
	case $API_BODY in
	*"\"name\":\"$1\""*) return 0 ;;
	esac
	return 1
}

# The filter and the items agree (once, at the start).
check_api_parse() {
	local n a b
	for n in r1 plain hang; do
		api_fetch up || { echo "no answer from the API" >&2; exit 1; }
		a=down
		! api_has "$n" || a=up
		b=$(curl -s "http://127.0.0.1:$p_http/api/v1/instances" | jq -r \
		    --arg n "$n" '.items[] | select(.name == $n) | .state')
		if [ "$a" != "$b" ]; then
			echo "API check: $n is \"$b\" in the list, ?state=up says $a" >&2
			exit 1
		fi
	done
}

# wait_api_up SECONDS NAME...: every NAME is "up" in the API.
wait_api_up() {
	local secs=$1 end n ok
	shift
	now_us
	end=$((NOW_US + secs * 1000000))
	while :; do
		ok=1
		if api_fetch up; then
			for n in "$@"; do
				api_has "$n" || { ok=0; break; }
			done
		else
			ok=0
		fi
		[ "$ok" = 0 ] || return 0
		now_us
		[ "$NOW_US" -lt "$end" ] || return 1
		read -r -t 0.05 -u "$POLL_PAUSE_FD" _
	done
}

pause() {
	read -r -t "$POLL_PAUSE" -u "$POLL_PAUSE_FD" _
}

# ---- processes -------------------------------------------------------------------
PLAIN_PID='' HANG_PID=''
start_plain_redis() {	# name port -> REDIS_PID
	local d="$BENCH_TMP/$1"
	mkdir -p "$d"
	bench_start "$1" "$REDIS_SERVER" --port "$2" --bind 127.0.0.1 --save '' \
	    --appendonly no --daemonize no --dir "$d" --logfile "$d/redis.log"
	REDIS_PID=$BENCH_PID
	# Killed on purpose: no "Killed" line from bash when it is reaped.
	disown "$REDIS_PID"
	now_us
	redis_pong_wait "$2" $((NOW_US + 10000000)) || {
		echo "redis $1 does not answer on $2" >&2
		exit 1
	}
}

echo
echo "== set-up"
SINK_OUT="$BENCH_TMP/sink.out"
: >"$SINK_OUT"
echo "# sink:  $HTTP_SINK -p $p_sink -o $SINK_OUT"
bench_start sink "$HTTP_SINK" -p "$p_sink" -o "$SINK_OUT"
wait_port "$p_sink" 10 || exit 1
exec {SINK_FD}<"$SINK_OUT"

start_plain_redis plain "$p_plain"
PLAIN_PID=$REDIS_PID
start_plain_redis hang "$p_hang"
HANG_PID=$REDIS_PID
echo "# plain: $REDIS_SERVER --port $p_plain --bind 127.0.0.1 --save '' --appendonly no ...  (pid $PLAIN_PID)"
echo "# hang:  $REDIS_SERVER --port $p_hang --bind 127.0.0.1 --save '' --appendonly no ...  (pid $HANG_PID)"

ad="$BENCH_TMP/agent"
mkdir -p "$ad/state" "$ad/spool" "$ad/log"
AGENT_CMD="$CCAGENT -f --bind 127.0.0.1 --port $p_agent --monitor 127.0.0.1:$p_mon \
--host-name h1 --state-dir $ad/state --spool-dir $ad/spool --log-dir $ad/log \
--redis-server-path $REDIS_SERVER --sample-interval 1s --sample-timeout 500ms \
--restart-backoff 500ms 30s --restart-reset-after 1s --crash-loop 1000 1h"
echo "# agent: $AGENT_CMD"
# shellcheck disable=SC2086
bench_start agent $AGENT_CMD
AGENT_PID=$BENCH_PID
wait_port "$p_agent" 10 || exit 1
bench_alive "$AGENT_PID" agent
START_CMD="$CCCTL -a 127.0.0.1:$p_agent instance start r1 --kind redis --port $p_r1"
echo "# r1:    $START_CMD"
$START_CMD | sed 's/^/  /' || exit 1
now_us
redis_pong_wait "$p_r1" $((NOW_US + 10000000)) || { echo "r1 does not answer" >&2; exit 1; }

MON_PID='' SENT_PID='' SUBCLI_PID='' STAMP_PID=''
start_monitor() {	# tag probe-flags...
	local tag=$1 data="$BENCH_TMP/mdata-$1"
	shift
	mkdir -p "$data"
	MON_CMD="$CCMONITOR -f --bind 127.0.0.1 --port $p_mon --http-port $p_http \
--data-dir $data --save-interval 1h --control-center-url http://127.0.0.1:$p_sink/cc \
--instance plain 127.0.0.1:$p_plain --instance hang 127.0.0.1:$p_hang $*"
	echo "# monitor: $MON_CMD"
	# shellcheck disable=SC2086
	bench_start "monitor-$tag" $MON_CMD
	MON_PID=$BENCH_PID
	wait_port "$p_http" 10 || exit 1
}

start_sentinel() {	# tag port down-after-ms
	local tag=$1 sp=$2 ms=$3 sd="$BENCH_TMP/sentinel-$1" fifo
	mkdir -p "$sd"
	cat >"$sd/sentinel.conf" <<-EOF
	port $sp
	bind 127.0.0.1
	dir $sd
	logfile $sd/sentinel.log
	sentinel monitor mcrash 127.0.0.1 $p_plain 1
	sentinel down-after-milliseconds mcrash $ms
	sentinel monitor mhang 127.0.0.1 $p_hang 1
	sentinel down-after-milliseconds mhang $ms
	EOF
	echo "# sentinel: $REDIS_SERVER $sd/sentinel.conf --sentinel"
	sed 's/^/#   /' "$sd/sentinel.conf"
	bench_start "sentinel-$tag" "$REDIS_SERVER" "$sd/sentinel.conf" --sentinel
	SENT_PID=$BENCH_PID
	wait_port "$sp" 10 || exit 1
	fifo="$sd/sub.fifo"
	mkfifo "$fifo"
	echo "# events: redis-cli -p $sp subscribe +sdown -sdown, each line stamped on arrival"
	redis-cli -p "$sp" subscribe +sdown -sdown >"$fifo" 2>"$sd/sub.err" &
	SUBCLI_PID=$!
	BENCH_PIDS+=("$SUBCLI_PID")
	: >"$sd/sub.out"
	stamp_lines <"$fifo" >"$sd/sub.out" &
	STAMP_PID=$!
	BENCH_PIDS+=("$STAMP_PID")
	exec {SUB_FD}<"$sd/sub.out"
	SUB_PART='' SUB_CH=''
}

stop_sentinel() {
	bench_stop "$SUBCLI_PID" 2
	bench_stop "$STAMP_PID" 2
	bench_stop "$SENT_PID" 10
	exec {SUB_FD}<&-
	SUB_FD=
}

# sentinel_ok PORT MASTER: sentinel sees MASTER and calls it just "master".
sentinel_ok() {
	local f
	f=$(redis-cli -p "$1" sentinel master "$2" 2>/dev/null |
	    awk 'p { print; exit } $0 == "flags" { p = 1 }')
	[ "$f" = master ]
}

wait_sentinel_ok() {	# port seconds
	local i
	for i in $(seq 1 $(($2 * 10))); do
		if sentinel_ok "$1" mcrash && sentinel_ok "$1" mhang; then
			return 0
		fi
		sleep 0.1
	done
	echo "sentinel on $1 does not see both masters up" >&2
	redis-cli -p "$1" sentinel masters >&2
	return 1
}

random_gap() {
	sleep "$(awk -v g="$GAP" -v r=$RANDOM 'BEGIN { printf "%.3f", g + r / 32768 }')"
}

# ---- the rounds ----------------------------------------------------------------------
# crash_round TUNING I TIMEOUT-S
crash_round() {
	local tun=$1 i=$2 to=$3 old t0c t0s end api_us='' all r1_ms r1_api pl_ms s_ms
	old=$(redis_pid "$p_r1")
	[ -n "$old" ] || { echo "r1 does not answer INFO" >&2; exit 1; }
	clear_seen
	bench_poll_traps on
	t0c=${EPOCHREALTIME//[!0-9]/}
	kill -9 "$old"
	t0s=${EPOCHREALTIME//[!0-9]/}
	kill -9 "$PLAIN_PID"
	end=$((t0s + to * 1000000))
	while :; do
		if [ -z "$api_us" ] && api_fetch down && api_has r1; then
			api_us=${EPOCHREALTIME//[!0-9]/}
		fi
		scan
		all=1
		[ -n "${SEEN[instance_down r1]:-}" ] || all=0
		# The API's down lasts until r1 runs again: missed when the
		# instance_up came first.
		[ -n "$api_us" ] || [ -n "${SEEN[instance_up r1]:-}" ] || all=0
		[ -n "${SEEN[instance_down plain]:-}" ] || all=0
		[ -n "${SEEN[+sdown mcrash]:-}" ] || all=0
		[ "$all" = 0 ] || break
		now_us
		if [ "$NOW_US" -ge "$end" ] || [ -n "${BENCH_STOP:-}" ]; then
			bench_poll_traps off
			echo "  crash $i: not all seen within $to s:" \
			    "${!SEEN[*]}" >&2
			BENCH_KEEP=1
			exit 1
		fi
		pause
	done
	bench_poll_traps off
	bench_wait "$PLAIN_PID"
	r1_ms=$(us2ms $((${SEEN[instance_down r1]} - t0c)))
	if [ -n "$api_us" ]; then
		r1_api=$(us2ms $((api_us - t0c)))
		echo "crash $tun ccmonitor_api $r1_api" >>"$RES"
	else
		r1_api="(missed: up again first)"
		echo "crash $tun ccmonitor_api_missed 1" >>"$RES"
	fi
	pl_ms=$(us2ms $((${SEEN[instance_down plain]} - t0s)))
	s_ms=$(us2ms $((${SEEN[+sdown mcrash]} - t0s)))
	echo "crash $tun ccmonitor $r1_ms" >>"$RES"
	echo "crash $tun sentinel $s_ms" >>"$RES"
	echo "crash-probe $tun ccmonitor $pl_ms" >>"$RES"
	printf '  crash %d: r1 (ccagent) instance_down %s ms (%s), API down %s ms | plain: sentinel +sdown %s ms; ccmonitor probes only: instance_down %s ms (%s)\n' \
	    "$i" "$r1_ms" "${CAUSE[instance_down r1]:-?}" "$r1_api" "$s_ms" \
	    "$pl_ms" "${CAUSE[instance_down plain]:-?}"
	# Back to normal: plain restarted, everything up and seen so.
	start_plain_redis plain "$p_plain"
	PLAIN_PID=$REDIS_PID
	now_us
	end=$((NOW_US + to * 1000000))
	while :; do
		scan
		if [ -n "${SEEN[instance_up r1]:-}" ] && [ -n "${SEEN[-sdown mcrash]:-}" ] &&
		    [ -n "${SEEN[instance_up plain]:-}" ]; then
			break
		fi
		now_us
		if [ "$NOW_US" -ge "$end" ]; then
			echo "  crash $i: no recovery within $to s: ${!SEEN[*]}" >&2
			BENCH_KEEP=1
			exit 1
		fi
		read -r -t 0.05 -u "$POLL_PAUSE_FD" _
	done
	wait_api_up 30 r1 plain hang || { echo "not all up in the API" >&2; exit 1; }
}

# hang_round TUNING I TIMEOUT-S
hang_round() {
	local tun=$1 i=$2 to=$3 t0 end api_us='' all h_ms h_api s_ms
	clear_seen
	bench_poll_traps on
	t0=${EPOCHREALTIME//[!0-9]/}
	kill -STOP "$HANG_PID"
	end=$((t0 + to * 1000000))
	while :; do
		if [ -z "$api_us" ] && api_fetch down && api_has hang; then
			api_us=${EPOCHREALTIME//[!0-9]/}
		fi
		scan
		all=1
		[ -n "${SEEN[instance_down hang]:-}" ] || all=0
		[ -n "$api_us" ] || all=0
		[ -n "${SEEN[+sdown mhang]:-}" ] || all=0
		[ "$all" = 0 ] || break
		now_us
		if [ "$NOW_US" -ge "$end" ] || [ -n "${BENCH_STOP:-}" ]; then
			kill -CONT "$HANG_PID"
			bench_poll_traps off
			echo "  hang $i: not all seen within $to s: ${!SEEN[*]}" >&2
			BENCH_KEEP=1
			exit 1
		fi
		pause
	done
	bench_poll_traps off
	kill -CONT "$HANG_PID"
	h_ms=$(us2ms $((${SEEN[instance_down hang]} - t0)))
	h_api=$(us2ms $((api_us - t0)))
	s_ms=$(us2ms $((${SEEN[+sdown mhang]} - t0)))
	echo "hang $tun ccmonitor $h_ms" >>"$RES"
	echo "hang $tun ccmonitor_api $h_api" >>"$RES"
	echo "hang $tun sentinel $s_ms" >>"$RES"
	printf '  hang %d: ccmonitor instance_down %s ms (%s), API down %s ms | sentinel +sdown %s ms\n' \
	    "$i" "$h_ms" "${CAUSE[instance_down hang]:-?}" "$h_api" "$s_ms"
	now_us
	end=$((NOW_US + to * 1000000))
	while :; do
		scan
		if [ -n "${SEEN[instance_up hang]:-}" ] && [ -n "${SEEN[-sdown mhang]:-}" ]; then
			break
		fi
		now_us
		if [ "$NOW_US" -ge "$end" ]; then
			echo "  hang $i: no recovery within $to s: ${!SEEN[*]}" >&2
			BENCH_KEEP=1
			exit 1
		fi
		read -r -t 0.05 -u "$POLL_PAUSE_FD" _
	done
	wait_api_up 30 r1 plain hang || { echo "not all up in the API" >&2; exit 1; }
}

# run_tuning TAG ROUNDS SENTINEL-PORT DOWN-AFTER-MS PROBE-FLAGS...
run_tuning() {
	local tag=$1 rounds=$2 sp=$3 ms=$4 to i
	shift 4
	to=$((2 * ms / 1000 + 20))
	echo
	echo "== $tag: sentinel down-after-milliseconds $ms; ccmonitor ${*:-(probe defaults)}; $rounds round(s)"
	start_monitor "$tag" "$@"
	start_sentinel "$tag" "$sp" "$ms"
	wait_api_up 30 r1 plain hang || {
		echo "r1, plain and hang not all up in the API within 30 s" >&2
		exit 1
	}
	check_api_parse
	wait_sentinel_ok "$sp" 30 || exit 1
	sleep 2
	for i in $(seq 1 "$rounds"); do
		random_gap
		crash_round "$tag" "$i" "$to"
	done
	for i in $(seq 1 "$rounds"); do
		random_gap
		hang_round "$tag" "$i" "$to"
	done
	stop_sentinel
	bench_stop "$MON_PID" 30
	echo "  monitor log: $(grep -c . "$BENCH_TMP/monitor-$tag.log") lines," \
	    "$(grep -c 'TILT' "$BENCH_TMP/monitor-$tag.log") TILT," \
	    "$(grep -Ec ' (warn|error) outbox' "$BENCH_TMP/monitor-$tag.log") outbox warnings"
}

if [ "$DETECT_DEFAULTS" != 0 ]; then
	run_tuning defaults "$DEFAULT_ROUNDS" "${p_sent[0]}" 30000
fi
# shellcheck disable=SC2086
run_tuning tuned "$N" "${p_sent[1]}" "$TUNED_MS" $TUNED_PROBE

$CCCTL -a "127.0.0.1:$p_agent" instance stop r1 >/dev/null
bench_stop "$AGENT_PID" 10

# ---- the table -------------------------------------------------------------------------
echo
echo "# load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "Detection time, ms from just before the kill -9 / SIGSTOP (median / max):"
echo "  ccmonitor: the control-center event (instance_down) at the http_sink;"
echo "  API: the first poll of /api/v1/instances?state=down listing it; sentinel: +sdown"
echo "  defaults: ccmonitor probe-interval 1s, probe-timeout 500ms, probe-failures 3;"
echo "            sentinel down-after-milliseconds 30000"
echo "  tuned:    ccmonitor $TUNED_PROBE;"
echo "            sentinel down-after-milliseconds $TUNED_MS"
awk '
function sortv(key,   i, j, x, c) {
	c = n[key]
	for (i = 1; i <= c; i++) s[i] = v[key, i]
	for (i = 2; i <= c; i++) {
		x = s[i]
		for (j = i - 1; j >= 1 && s[j] > x; j--) s[j + 1] = s[j]
		s[j + 1] = x
	}
	return c
}
function med(key,   c) {
	c = sortv(key)
	if (c == 0) return -1
	return c % 2 ? s[(c + 1) / 2] : (s[c / 2] + s[c / 2 + 1]) / 2
}
function mx(key,   c) {
	c = sortv(key)
	return c ? s[c] : -1
}
function cell(key) {
	if (!(key in n)) return sprintf("%19s", "-")
	return sprintf("%9.1f / %7.1f", med(key), mx(key))
}
{
	k = $1 SUBSEP $2 SUBSEP $3
	if ($3 == "ccmonitor_api_missed") { missed[$1, $2]++; next }
	n[k]++; v[k, n[k]] = $4
	if (!(($1, $2) in seen)) { seen[$1, $2] = 1; rows[++nr] = $1 " " $2 }
}
END {
	printf "%-34s %-9s %19s %19s %19s %7s %5s\n", "scenario", "tuning",
	    "ccmonitor event", "ccmonitor API", "sentinel +sdown", "ratio", "n"
	for (r = 1; r <= nr; r++) {
		split(rows[r], a, " ")
		sc = a[1]; tu = a[2]
		if (sc == "crash") label = "crash (kill -9), r1 under ccagent"
		else if (sc == "crash-probe") label = "crash (kill -9), probes only"
		else label = "hang (SIGSTOP)"
		ke = sc SUBSEP tu SUBSEP "ccmonitor"
		ka = sc SUBSEP tu SUBSEP "ccmonitor_api"
		ks = (sc == "crash-probe" ? "crash" : sc) SUBSEP tu SUBSEP "sentinel"
		ratio = "-"
		if ((ke in n) && (ks in n) && med(ke) > 0)
			ratio = sprintf("%.1fx", med(ks) / med(ke))
		api = cell(ka)
		if (missed[sc, tu]) api = api " (" missed[sc, tu] " missed)"
		sent = sc == "crash-probe" ? sprintf("%19s", "(same kill)") : cell(ks)
		printf "%-34s %-9s %19s %19s %19s %7s %5d\n", label, tu, cell(ke),
		    api, sent, ratio, n[ke]
	}
	print "  ratio = sentinel median / ccmonitor event median (how many times faster)"
	print ""
	kc = "crash" SUBSEP "tuned" SUBSEP "ccmonitor"
	ks = "crash" SUBSEP "tuned" SUBSEP "sentinel"
	if ((kc in n) && (ks in n))
		printf "goal: crash detection >= 10x faster than tuned sentinel: %s (%.1fx: %.1f ms vs %.1f ms, medians)\n",
		    (med(ks) >= 10 * med(kc) ? "met" : "MISSED"), med(ks) / med(kc),
		    med(kc), med(ks)
	kc = "hang" SUBSEP "tuned" SUBSEP "ccmonitor"
	ks = "hang" SUBSEP "tuned" SUBSEP "sentinel"
	if ((kc in n) && (ks in n))
		printf "goal: hang detection no slower than tuned sentinel: %s (tuned: %.1f ms vs %.1f ms medians; max %.1f vs %.1f ms)\n",
		    (med(kc) <= med(ks) ? "met" : "MISSED"), med(kc), med(ks),
		    mx(kc), mx(ks)
	kd = "hang" SUBSEP "defaults" SUBSEP "ccmonitor"
	if ((kd in n) && (ks in n))
		printf "      (ccmonitor on its defaults: %.1f ms median against tuned sentinel %.1f ms)\n",
		    med(kd), med(ks)
}' "$RES"

#!/bin/bash
# bench/restart.sh: restart latency of a supervised redis-server, ccagent
# against supervisord and runit.  See bench/README.md.
#
#   bench/restart.sh [BUILDDIR]        (or: make bench-restart)
#
# For each supervisor in turn, KILLS times: wait GAP s, read the
# redis-server's pid (INFO server), kill -9 it, and poll its port until PING
# answers +PONG; the latency is from just before the kill(2) to the PONG.
# The pid must change each time.  The rows:
#   ccagent         ccagent -f ... --restart-backoff 500ms 30s
#                   --restart-reset-after 1s --crash-loop 1000 1h, and
#                   "ccctl instance start r1 --kind redis --port P": with
#                   GAP > restart-reset-after every kill is the first exit
#                   after a stable run, which ccagent restarts at once
#   supervisord     a private supervisord.conf (nodaemon, its own socket,
#                   pidfile and logs), [program:redis] autorestart=true, run
#                   once with startsecs=0 and once with the default 1
#   runit           "runsv DIR" on a private service directory whose run
#                   script execs redis-server
#   direct start    (reference, not a restart) bash starts redis-server
#                   itself, from fork to PONG: what no supervisor can beat
# All run the same binary with the same config: the file ccagent generated
# for r1, with port, dir and logfile changed.
#
# The poller is bash without a fork per attempt (see redis_pong_wait in
# bench/lib.sh): connect, PING, read; then a POLL_PAUSE s pause.  Its
# resolution (the longest time between two attempts) is printed.
#
# INTERLEAVE=1 starts all the supervisors first, then kills round-robin
# (one kill of each per round, KILLS rounds), so that load that comes and
# goes on a shared machine hits every row alike.
#
# PERF=1 also records the kernel's timestamps of each restart (perf record
# -a of a few tracepoints) and splits it: kill -> SIGCHLD -> reaped -> fork
# -> exec of redis-server -> PONG, for each supervisor.
#
# Environment (defaults): KILLS=20 GAP=1.5 POLL_PAUSE=0.0002 TIMEOUT=30
#   SV_STARTSECS="0 1" DIRECT=1 PERF=0 INTERLEAVE=0
#   REDIS_SERVER=/usr/bin/redis-server
#   CCAGENT CCCTL SUPERVISORD=/usr/bin/supervisord RUNSV=/usr/bin/runsv
#   BENCH_KEEP=
set -u
export LC_ALL=C
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

build=${1:-}
CCAGENT=${CCAGENT:-${build:+$build/agent/ccagent}}
CCCTL=${CCCTL:-${build:+$build/ctl/ccctl}}
REDIS_SERVER=${REDIS_SERVER:-/usr/bin/redis-server}
SUPERVISORD=${SUPERVISORD:-/usr/bin/supervisord}
RUNSV=${RUNSV:-/usr/bin/runsv}
KILLS=${KILLS:-20}
GAP=${GAP:-1.5}
POLL_PAUSE=${POLL_PAUSE:-0.0002}
TIMEOUT=${TIMEOUT:-30}
SV_STARTSECS=${SV_STARTSECS:-0 1}
DIRECT=${DIRECT:-1}
PERF=${PERF:-0}
INTERLEAVE=${INTERLEAVE:-0}

for b in "$CCAGENT" "$CCCTL"; do
	if [ -z "$b" ] || [ ! -x "$b" ]; then
		echo "usage: $0 BUILDDIR (or set CCAGENT and CCCTL)" >&2
		exit 2
	fi
done
for b in "$REDIS_SERVER" redis-cli "$SUPERVISORD" "$RUNSV" ss; do
	if ! command -v "$b" >/dev/null; then
		echo "$0: $b is missing (Debian: redis-server, supervisor, runit," \
		    "iproute2)" >&2
		exit 2
	fi
done
if [ "$PERF" = 1 ] && ! command -v perf >/dev/null; then
	echo "$0: PERF=1 needs perf (Debian: linux-perf)" >&2
	exit 2
fi
if [ "${BASH_VERSINFO[0]}" -lt 5 ]; then
	echo "$0: needs bash 5 (EPOCHREALTIME)" >&2
	exit 2
fi

bench_init restart
# The redis ports: see restart_cleanup.
REDIS_PORTS=()
RUNSV_DIR=
restart_cleanup() {
	local f p
	if [ -n "$RUNSV_DIR" ] && [ -p "$RUNSV_DIR/supervise/control" ]; then
		# down, then exit: runsv alone does not stop its service on TERM.
		{ exec {c}<>"$RUNSV_DIR/supervise/control" &&
		    printf dx >&"$c" && exec {c}>&-; } 2>/dev/null
		sleep 0.5
	fi
	bench_cleanup
	# The supervisors are gone now, and spawn no more.  A redis-server
	# still on one of our ports (one a supervisor spawned while it was
	# being stopped, or ccagent's, which outlives the agent) is stopped by
	# pid: Redis rewrites its cmdline to "redis-server IP:PORT", and these
	# ports were free when the run began.
	[ "${#REDIS_PORTS[@]}" -gt 0 ] || return
	sleep 0.3
	for f in /proc/[0-9]*/cmdline; do
		p=${f#/proc/}
		p=${p%/cmdline}
		[ "$p" != $$ ] || continue
		if { tr '\0' ' ' <"$f"; } 2>/dev/null | grep -Eq \
		    "^[^ ]*redis-server [0-9.]+:($(IFS='|'; echo "${REDIS_PORTS[*]}")) "; then
			echo "# stopping pid $p, left on one of our ports:" \
			    "$(tr '\0' ' ' <"$f" 2>/dev/null)" >&2
			kill -TERM "$p" 2>/dev/null
		fi
	done
}
trap restart_cleanup EXIT
poll_init || exit 1

# agent port, a closed "monitor" port, a redis port per row.
mapfile -t ports < <(free_ports 7)
[ "${#ports[@]}" -eq 7 ] || exit 1
aport=${ports[0]}
mport=${ports[1]}
p_agent=${ports[2]}
p_sv=("${ports[3]}" "${ports[4]}")
p_runit=${ports[5]}
p_direct=${ports[6]}
REDIS_PORTS=("$p_agent" "${p_sv[@]}" "$p_runit" "$p_direct")
KILLS_FILE="$BENCH_TMP/kills"
: >"$KILLS_FILE"

echo "# bench/restart.sh on $(hostname), $(nproc) CPUs, $(uname -r); $(date -u +%FT%TZ)"
echo "# command: $0 $*   (KILLS=$KILLS GAP=$GAP POLL_PAUSE=$POLL_PAUSE" \
    "SV_STARTSECS=\"$SV_STARTSECS\" DIRECT=$DIRECT PERF=$PERF INTERLEAVE=$INTERLEAVE)"
echo "# $("$CCAGENT" --version 2>&1 | head -1); $("$REDIS_SERVER" --version |
    cut -d' ' -f1-3) ($REDIS_SERVER); supervisor $(dpkg-query -W -f '${Version}' \
    supervisor 2>/dev/null); runit $(dpkg-query -W -f '${Version}' runit 2>/dev/null)"
echo "# load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

us2ms() {	# microseconds -> "12.345"
	printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000))
}

# kill_one ROW PORT I: kill -9 of the redis-server on PORT, after GAP s,
# then polling until +PONG.  Appends "row i old new kill_us pong_us polls
# last-gap-us longest-gap-us" to KILLS_FILE.  1 when the restart does not
# come within TIMEOUT s, or the pid did not change.
kill_one() {
	local row=$1 port=$2 i=$3 old new t0 d ok rc who=
	[ "$INTERLEAVE" != 1 ] || who="$row "
	sleep "$GAP"
	old=$(redis_pid "$port")
	if [ -z "$old" ]; then
		echo "  $row: no redis-server answers INFO on port $port" >&2
		return 1
	fi
	trap '' PIPE
	bench_poll_traps on
	t0=${EPOCHREALTIME//[!0-9]/}
	kill -9 "$old"
	redis_pong_wait "$port" $((t0 + TIMEOUT * 1000000))
	rc=$?
	bench_poll_traps off
	trap - PIPE
	if [ "$rc" != 0 ]; then
		echo "  $row: kill $i: no PONG on port $port within $TIMEOUT s" >&2
		return 1
	fi
	new=$(redis_pid "$port")
	ok="new pid"
	if [ -z "$new" ] || [ "$new" = "$old" ]; then
		ok="SAME PID"
	elif kill -0 "$old" 2>/dev/null; then
		ok="OLD PID STILL EXISTS"
	fi
	d=$((PONG_US - t0))
	echo "$row $i $old $new $t0 $PONG_US $POLL_N $POLL_LAST_US $POLL_GAP_US" \
	    >>"$KILLS_FILE"
	printf '  %skill %2d: pid %s -> %s (%s) %9s ms  (%d polls; last gap %d us, longest %d us)\n' \
	    "$who" "$i" "$old" "$new" "$ok" "$(us2ms "$d")" "$POLL_N" "$POLL_LAST_US" \
	    "$POLL_GAP_US"
	[ "$ok" = "new pid" ]
}

# First PONG on PORT after a start, within 10 s.
first_pong() {	# port what
	local rc
	now_us
	bench_poll_traps on
	redis_pong_wait "$1" $((NOW_US + 10000000))
	rc=$?
	bench_poll_traps off
	if [ "$rc" != 0 ]; then
		echo "  $2: no PONG on port $1 within 10 s" >&2
		return 1
	fi
}

# Log timestamps -> ms since the epoch, one per line (one date(1) for all).
to_ms() {
	date -f - +%s%3N
}

# phases ROW EVENTS: EVENTS lines are "ms exit|spawn|running pid" (exit and
# running carry the pid that exited or became ready).  Prints the medians,
# over the kills of ROW, of kill -> exit seen -> spawned -> PONG, and of
# spawned -> the supervisor's own "running".
phases() {	# row events-file
	awk -v row="$1" '
	FNR == NR { t[$2 " " $3] = $1; next }
	$1 == row {
		k = $5 / 1000; p = $6 / 1000
		if (("exit " $3) in t) { e = t["exit " $3]; ne++; ke[ne] = e - k }
		if (("spawn " $4) in t) {
			s = t["spawn " $4]; ns++; sp[ns] = p - s
			if (("exit " $3) in t) es[ns] = s - e
			if (("running " $4) in t) { nr++; sr[nr] = t["running " $4] - s }
		}
	}
	function med(a, n,   i, j, x) {
		for (i = 2; i <= n; i++) {
			x = a[i]
			for (j = i - 1; j >= 1 && a[j] > x; j--) a[j + 1] = a[j]
			a[j + 1] = x
		}
		if (n == 0) return "-"
		return sprintf("%.1f", n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2)
	}
	END {
		printf "  phases (medians over %d kills; log stamps are whole ms):\n", ns
		printf "    kill -> exit seen %s ms, exit seen -> spawned %s ms," \
		    " spawned -> PONG %s ms; spawned -> its own \"running\" %s ms\n",
		    med(ke, ne), med(es, ns), med(sp, ns), med(sr, nr)
	}' "$2" "$KILLS_FILE"
}

# perf_phases: with PERF=1, where each restart's time went, from the
# kernel's own timestamps (perf record -a of the tracepoints below): our
# kill(2) -> the SIGCHLD the supervisor gets (the killed redis torn down) ->
# the supervisor's wait4 that reaps it -> its fork -> the exec of
# redis-server (for runit, after /bin/sh's) -> the PONG (kill -> PONG from
# the poller, less kill -> exec); and the time the supervisor spent in
# fsync/fdatasync between the reap and the exec.
PERF_EVENTS=(-e syscalls:sys_enter_kill --filter 'sig == 9'
    -e signal:signal_generate --filter 'sig == 17'
    -e syscalls:sys_exit_wait4 -e sched:sched_process_fork
    -e sched:sched_process_exec
    -e syscalls:sys_enter_fsync -e syscalls:sys_exit_fsync
    -e syscalls:sys_enter_fdatasync -e syscalls:sys_exit_fdatasync)
declare -A SUP_PID=()
perf_phases() {
	local r
	for r in "${!SUP_PID[@]}"; do
		echo "$r ${SUP_PID[$r]}"
	done >"$BENCH_TMP/sup"
	awk 'FNR == NR { sup[$1] = $2; next } ($1 in sup) {
		print $1, sup[$1], $3, $4, $6 - $5 }' "$BENCH_TMP/sup" "$KILLS_FILE" \
	    >"$BENCH_TMP/targets"
	perf script -i "$BENCH_TMP/perf.data" -F comm,pid,tid,time,event,trace \
	    2>/dev/null >"$BENCH_TMP/perf.txt"
	awk -v me=$$ '
	function hex(s,   i, c, v) {
		s = tolower(s); gsub(/[^0-9a-fx]/, "", s); sub(/^0x/, "", s); v = 0
		for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
		return v
	}
	function med(a, n,   i, j, x) {
		for (i = 2; i <= n; i++) { x = a[i]; for (j = i - 1; j >= 1 && a[j] > x; j--) a[j + 1] = a[j]; a[j + 1] = x }
		if (n == 0) return "-"
		return sprintf("%.2f", n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2)
	}
	FNR == NR { nt++; trow[nt] = $1; tsup[nt] = $2; told[nt] = $3; tnew[nt] = $4; ttot[nt] = $5; next }
	{
		if (!match($0, / [0-9]+\/-?[0-9]+ +[0-9]+\.[0-9]+: +[a-z_0-9]+:[a-z_0-9]+:/)) next
		h = substr($0, RSTART + 1, RLENGTH - 2); rest = substr($0, RSTART + RLENGTH)
		split(h, w, " +"); split(w[1], pt, "/"); pid = pt[1] + 0; tid = pt[2] + 0
		t = w[2]; sub(/:$/, "", t); t += 0; ev = w[3]
		if (ev ~ /sys_enter_kill/) {
			if (pid == me && rest ~ /sig: 0x0*9$/) { split(rest, x, /[ ,]+/); kill_t[hex(x[3])] = t }
		} else if (ev ~ /signal_generate/) {
			if (rest ~ /sig=17 / && !(pid in chld_t)) chld_t[pid] = t
		} else if (ev ~ /sys_exit_wait4/) {
			r = hex(rest); if (r > 0 && r < 4194305 && !(r in reap_t)) reap_t[r] = t
		} else if (ev ~ /sched_process_fork/) {
			match(rest, /child_pid=[0-9]+/); c = substr(rest, RSTART + 10, RLENGTH - 10) + 0
			fork_t[c] = t
		} else if (ev ~ /sched_process_exec/) {
			match(rest, /pid=[0-9]+/); c = substr(rest, RSTART + 4, RLENGTH - 4) + 0
			if (rest ~ /filename=[^ ]*redis-server /) exec_t[c] = t
		} else if (ev ~ /sys_enter_f(data)?sync/) {
			fs0[tid] = t
		} else if (ev ~ /sys_exit_f(data)?sync/) {
			if (tid in fs0) { nf[pid]++; fsa[pid, nf[pid]] = fs0[tid]; fsb[pid, nf[pid]] = t; delete fs0[tid] }
		}
	}
	END {
		for (i = 1; i <= nt; i++) {
			r = trow[i]; o = told[i]; n = tnew[i]; s = tsup[i]
			if (!(r in rows)) { rows[r] = ++nr; rn[nr] = r }
			if (!(o in kill_t) || !(o in chld_t) || !(o in reap_t) || !(n in fork_t) || !(n in exec_t)) { miss[r]++; continue }
			k = ++cnt[r]; tk = kill_t[o]
			A[r, k] = 1000 * (chld_t[o] - tk); B[r, k] = 1000 * (reap_t[o] - chld_t[o])
			C[r, k] = 1000 * (fork_t[n] - reap_t[o]); D[r, k] = 1000 * (exec_t[n] - fork_t[n])
			E[r, k] = ttot[i] / 1000 - 1000 * (exec_t[n] - tk); X[r, k] = 1000 * (exec_t[n] - tk)
			f = 0
			for (j = 1; j <= nf[s]; j++) if (fsa[s, j] >= reap_t[o] && fsb[s, j] <= exec_t[n]) f += fsb[s, j] - fsa[s, j]
			F[r, k] = 1000 * f
		}
		printf "  %-26s %9s %9s %9s %9s | %9s %9s %9s\n", "(perf, medians in ms)", "kill->", "SIGCHLD->", "reaped->", "fork->", "kill->", "exec->", "fsync in"
		printf "  %-26s %9s %9s %9s %9s | %9s %9s %9s\n", "", "SIGCHLD", "reaped", "fork", "exec", "exec", "PONG", "reap-exec"
		for (q = 1; q <= nr; q++) {
			r = rn[q]; m = cnt[r]
			for (k = 1; k <= m; k++) { a[k] = A[r, k]; b[k] = B[r, k]; cc[k] = C[r, k]; dd[k] = D[r, k]; e[k] = E[r, k]; xx[k] = X[r, k]; g[k] = F[r, k] }
			printf "  %-26s %9s %9s %9s %9s | %9s %9s %9s", r, med(a, m), med(b, m), med(cc, m), med(dd, m), med(xx, m), med(e, m), med(g, m)
			if (miss[r]) printf "  (%d kills not found)", miss[r]
			printf "\n"
		}
	}
	' "$BENCH_TMP/targets" "$BENCH_TMP/perf.txt"
}

if [ "$PERF" = 1 ]; then
	echo "# perf: perf record -a -o $BENCH_TMP/perf.data ${PERF_EVENTS[*]}"
	bench_start perf perf record -q -a -o "$BENCH_TMP/perf.data" "${PERF_EVENTS[@]}"
	perf_pid=$BENCH_PID
	sleep 2
	bench_alive "$perf_pid" perf
fi

# ---- the supervisors: start_*, report_*, stop_* ------------------------------
ROWS=()			# in the order they were started
declare -A ROW_PORT=()	# row -> its redis port

start_ccagent() {
	echo
	echo "== ccagent, management port 127.0.0.1:$aport, r1 on port $p_agent"
	ad="$BENCH_TMP/agent"
	mkdir -p "$ad/state" "$ad/spool" "$ad/log"
	AGENT_CMD="$CCAGENT -f --bind 127.0.0.1 --port $aport --monitor 127.0.0.1:$mport \
--state-dir $ad/state --spool-dir $ad/spool --log-dir $ad/log \
--redis-server-path $REDIS_SERVER --restart-backoff 500ms 30s \
--restart-reset-after 1s --crash-loop 1000 1h"
	echo "# agent: $AGENT_CMD   (nothing listens on the monitor port)"
	# shellcheck disable=SC2086
	bench_start agent $AGENT_CMD
	agent=$BENCH_PID
	SUP_PID[ccagent]=$agent
	wait_port "$aport" 10 || exit 1
	bench_alive "$agent" agent
	START_CMD="$CCCTL -a 127.0.0.1:$aport instance start r1 --kind redis --port $p_agent"
	echo "# start: $START_CMD"
	$START_CMD | sed 's/^/  /' || exit 1
	first_pong "$p_agent" ccagent || exit 1
	conf="$ad/state/instances/r1/redis.conf"
	cp "$conf" "$BENCH_TMP/redis.conf.ccagent"
	echo "# redis config ($conf):"
	grep -v '^user ' "$conf" | sed 's/^/#   /'
	echo "#   (and 3 ACL users: default nopass, ccagent and ccprobe with passwords)"
	ROWS+=(ccagent)
	ROW_PORT[ccagent]=$p_agent
}

report_ccagent() {
	echo "  ccagent:"
	$CCCTL -a "127.0.0.1:$aport" instance list | sed 's/^/  list: /'
	grep -E 'instance r1: pid [0-9]+ .* after|instance r1: spawned pid=|instance r1: starting -> running' \
	    "$BENCH_TMP/agent.log" | awk '
		/: pid [0-9]+ / { for (i = 1; i <= NF; i++) if ($i == "pid") pid = $(i + 1)
			print $1, "exit", pid }
		/spawned pid=/ { match($0, /pid=[0-9]+/); last = substr($0, RSTART + 4, RLENGTH - 4)
			print $1, "spawn", last }
		/starting -> running/ { print $1, "running", last }' >"$BENCH_TMP/ev.raw"
	cut -d' ' -f1 "$BENCH_TMP/ev.raw" | to_ms |
	    paste -d' ' - <(cut -d' ' -f2- "$BENCH_TMP/ev.raw") >"$BENCH_TMP/ev.ccagent"
	phases ccagent "$BENCH_TMP/ev.ccagent"
	echo "    (ccagent logs \"spawned\" only after the child's exec and the fsync of its"
	echo "    proc file, so exit seen -> spawned overstates the time to the exec: see PERF=1)"
}

stop_ccagent() {
	$CCCTL -a "127.0.0.1:$aport" instance stop r1 >/dev/null
	bench_stop "$agent" 10
	if port_listening "$p_agent"; then
		echo "  port $p_agent still listening after stop" >&2
	fi
}

# The same config for the others: port, dir and logfile changed.
mkconf() {	# port dir out
	mkdir -p "$2"
	sed -e "s|^port .*|port $1|" -e "s|^dir .*|dir \"$2\"|" \
	    -e "s|^logfile .*|logfile \"$2/redis.log\"|" \
	    -e "s|^# Written by ccagent.*|# A copy of ccagent's redis.conf for r1|" \
	    "$BENCH_TMP/redis.conf.ccagent" >"$3"
}

svi=0
start_sv() {	# startsecs
	local ss=$1 row="supervisord(startsecs=$1)" port sd
	port=${p_sv[svi % 2]}
	svi=$((svi + 1))
	sd="$BENCH_TMP/supervisord-$ss"
	mkconf "$port" "$sd/redis" "$sd/redis.conf"
	cat >"$sd/supervisord.conf" <<-EOF
	[unix_http_server]
	file=$sd/supervisor.sock
	chmod=0700

	[supervisord]
	nodaemon=true
	logfile=$sd/supervisord.log
	pidfile=$sd/supervisord.pid
	childlogdir=$sd
	loglevel=info

	[rpcinterface:supervisor]
	supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

	[program:redis]
	command=$REDIS_SERVER $sd/redis.conf
	autostart=true
	autorestart=true
	startsecs=$ss
	stopsignal=TERM
	stopwaitsecs=10
	stdout_logfile=$sd/redis.out
	redirect_stderr=true
	EOF
	echo
	echo "== supervisord, startsecs=$ss, redis on port $port"
	echo "# supervisord: $SUPERVISORD -n -c $sd/supervisord.conf"
	echo "#   [supervisord] nodaemon, logfile, pidfile and [unix_http_server] file in $sd;"
	echo "#   [program:redis] command=$REDIS_SERVER $sd/redis.conf autorestart=true startsecs=$ss"
	bench_start "supervisord-$ss" "$SUPERVISORD" -n -c "$sd/supervisord.conf"
	SUP_PID[$row]=$BENCH_PID
	first_pong "$port" "$row" || { BENCH_KEEP=1; exit 1; }
	bench_alive "$BENCH_PID" "supervisord-$ss"
	ROWS+=("$row")
	ROW_PORT[$row]=$port
}

report_sv() {	# startsecs
	local row="supervisord(startsecs=$1)"
	echo "  $row:"
	# supervisord logs "spawned" right after its fork, before the exec.
	grep -E "spawned: 'redis' with pid|exited: redis|success: redis entered RUNNING" \
	    "$BENCH_TMP/supervisord-$1/supervisord.log" | awk '
		/spawned:/ { last = $NF; print $1 " " $2, "spawn", last }
		/exited:/ { print $1 " " $2, "exit", last }
		/success:/ { print $1 " " $2, "running", last }' | tr ',' '.' \
	    >"$BENCH_TMP/ev.raw"
	cut -d' ' -f1,2 "$BENCH_TMP/ev.raw" | to_ms |
	    paste -d' ' - <(cut -d' ' -f3- "$BENCH_TMP/ev.raw") >"$BENCH_TMP/ev.sv"
	phases "$row" "$BENCH_TMP/ev.sv"
}

stop_sv() {	# startsecs
	local row="supervisord(startsecs=$1)"
	bench_stop "${SUP_PID[$row]}" 15
	if port_listening "${ROW_PORT[$row]}"; then
		echo "  port ${ROW_PORT[$row]} still listening after supervisord stopped" >&2
	fi
}

start_runit() {
	echo
	echo "== runit (runsv), redis on port $p_runit"
	rd="$BENCH_TMP/runit"
	mkdir -p "$rd/redis"
	mkconf "$p_runit" "$rd/data" "$rd/redis.conf"
	printf '#!/bin/sh\nexec %s %s\n' "$REDIS_SERVER" "$rd/redis.conf" >"$rd/redis/run"
	chmod 755 "$rd/redis/run"
	echo "# runsv: $RUNSV $rd/redis   (run: #!/bin/sh + exec $REDIS_SERVER $rd/redis.conf)"
	RUNSV_DIR="$rd/redis"
	bench_start runsv "$RUNSV" "$rd/redis"
	SUP_PID[runit]=$BENCH_PID
	first_pong "$p_runit" runit || { BENCH_KEEP=1; exit 1; }
	bench_alive "${SUP_PID[runit]}" runsv
	ROWS+=(runit)
	ROW_PORT[runit]=$p_runit
}

stop_runit() {
	# down, then exit: runsv alone does not stop its service on TERM.
	{ exec {c}<>"$rd/redis/supervise/control" && printf dx >&"$c" && exec {c}>&-; }
	bench_wait "${SUP_PID[runit]}"
	RUNSV_DIR=
	if port_listening "$p_runit"; then
		echo "  port $p_runit still listening after runsv exited" >&2
	fi
}

start_row() {	# row
	case $1 in
	ccagent) start_ccagent ;;
	runit) start_runit ;;
	sv*) start_sv "${1#sv}" ;;
	esac
}
report_row() {
	case $1 in
	ccagent) report_ccagent ;;
	runit) ;;
	sv*) report_sv "${1#sv}" ;;
	esac
}
stop_row() {
	case $1 in
	ccagent) stop_ccagent ;;
	runit) stop_runit ;;
	sv*) stop_sv "${1#sv}" ;;
	esac
}

# The rows, by start_row's names: ccagent first (the others copy its config).
order=(ccagent)
for ss in $SV_STARTSECS; do
	order+=("sv$ss")
done
order+=(runit)

if [ "$INTERLEAVE" = 1 ]; then
	for r in "${order[@]}"; do
		start_row "$r"
	done
	echo
	echo "== interleaved: kill $KILLS round(s) of ${ROWS[*]}, one kill each per round"
	for i in $(seq 1 "$KILLS"); do
		for row in "${ROWS[@]}"; do
			kill_one "$row" "${ROW_PORT[$row]}" "$i" || { BENCH_KEEP=1; exit 1; }
		done
	done
	for r in "${order[@]}"; do
		report_row "$r"
	done
	for r in "${order[@]}"; do
		stop_row "$r"
	done
else
	for r in "${order[@]}"; do
		start_row "$r"
		row=${ROWS[${#ROWS[@]} - 1]}
		for i in $(seq 1 "$KILLS"); do
			kill_one "$row" "${ROW_PORT[$row]}" "$i" || { BENCH_KEEP=1; exit 1; }
		done
		report_row "$r"
		stop_row "$r"
	done
fi

# ---- 4. reference: bash starts redis-server itself -------------------------
if [ "$DIRECT" = 1 ]; then
	echo
	echo "== reference: no supervisor, bash forks and execs redis-server, until PONG"
	dd="$BENCH_TMP/direct"
	mkconf "$p_direct" "$dd" "$dd.conf"
	echo "# $KILLS x: $REDIS_SERVER $dd.conf &  (the same config), poll, then TERM"
	trap '' PIPE
	for i in $(seq 1 "$KILLS"); do
		bench_poll_traps on
		t0=${EPOCHREALTIME//[!0-9]/}
		bench_start "direct" "$REDIS_SERVER" "$dd.conf"
		pid=$BENCH_PID
		redis_pong_wait "$p_direct" $((t0 + TIMEOUT * 1000000))
		rc=$?
		bench_poll_traps off
		if [ "$rc" != 0 ]; then
			echo "  direct: no PONG within $TIMEOUT s" >&2
			exit 1
		fi
		echo "direct $i - $pid $t0 $PONG_US $POLL_N $POLL_LAST_US $POLL_GAP_US" \
		    >>"$KILLS_FILE"
		bench_stop "$pid" 10
		while port_listening "$p_direct"; do sleep 0.05; done
	done
	trap - PIPE
	awk '$1 == "direct" { printf "%s ", ($6 - $5) / 1000 } END { print "" }' \
	    "$KILLS_FILE" | fold -s -w 100 | sed 's/^/  ms: /'
fi

# ---- the table ---------------------------------------------------------------
echo
echo "# load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "Restart latency, kill -9 -> first PONG, $KILLS kills each (ms):"
awk '!($1 in o) { o[$1] = ++n } { print o[$1], $1, ($6 - $5) / 1000, $7, $8, ($6 - $5), $9 }' \
    "$KILLS_FILE" | sort -k1,1n -k3,3g | cut -d' ' -f2- | awk '
	{
		if (!($1 in n)) { order[++nt] = $1 }
		n[$1]++; v[$1, n[$1]] = $2
		polls += $3; span += $5
		gap[++ng] = $4
		if ($6 > longest) longest = $6
	}
	function med(r, c) {
		return c % 2 ? v[r, (c + 1) / 2] : (v[r, c / 2] + v[r, c / 2 + 1]) / 2
	}
	END {
		printf "%-26s %8s %8s %8s %5s\n", "tool", "median", "max", "min", "n"
		for (i = 1; i <= nt; i++) {
			r = order[i]
			m[r] = med(r, n[r]); mx[r] = v[r, n[r]]
			label = r == "direct" ? "(direct start, no kill)" : r
			printf "%-26s %8.2f %8.2f %8.2f %5d\n", label, m[r], mx[r],
			    v[r, 1], n[r]
		}
		print ""
		a = "ccagent"
		best_sv = ""
		for (i = 1; i <= nt; i++) {
			r = order[i]
			if (r == a || r == "direct" || !(a in m))
				continue
			printf "ccagent / %-26s median %.3f, max %.3f\n", r ":", m[a] / m[r],
			    mx[a] / mx[r]
			if (r ~ /^supervisord/ && (best_sv == "" || m[r] < m[best_sv]))
				best_sv = r
		}
		if (a in m) {
			printf "goal: median under 50 ms: %s (%.2f ms)\n",
			    (m[a] < 50 ? "met" : "MISSED"), m[a]
			if (best_sv != "")
				printf "goal: >= 10x faster than supervisord: %s (%.1fx, against " \
				    "the faster supervisord row, %s)\n",
				    (m[best_sv] >= 10 * m[a] ? "met" : "MISSED"),
				    m[best_sv] / m[a], best_sv
			if ("runit" in m)
				printf "goal: no slower than runit: %s (median %.2f vs %.2f ms)\n",
				    (m[a] <= m["runit"] ? "met" : "MISSED"), m[a], m["runit"]
		}
		# resolution of the poller: how late each PONG can have been seen
		for (i = 2; i <= ng; i++) {
			x = gap[i]
			for (j = i - 1; j >= 1 && gap[j] > x; j--) gap[j + 1] = gap[j]
			gap[j + 1] = x
		}
		printf "poller: %d attempts over %.0f ms of waiting, one every %.0f us on" \
		    " average; resolution (time between the last failed attempt and the" \
		    " one that got PONG) median %.0f us, 90th percentile %.0f us, max %.0f us;" \
		    " longest gap anywhere %.0f us\n", polls, span / 1000,
		    polls ? span / polls : 0, gap[int((ng + 1) / 2)],
		    gap[int(ng * 0.9 + 0.5)], gap[ng], longest
	}'
if [ "$INTERLEAVE" = 1 ]; then
	# Paired by round: the same load hit both kills of a round.
	awk '$1 == "ccagent" || $1 == "runit" { t[$1, $2] = ($6 - $5) / 1000 }
	END {
		for (k = 1; ("ccagent", k) in t && ("runit", k) in t; k++) {
			d[k] = t["ccagent", k] - t["runit", k]
			if (d[k] <= 0) w++
		}
		n = k - 1
		if (n == 0) exit
		for (i = 2; i <= n; i++) {
			x = d[i]
			for (j = i - 1; j >= 1 && d[j] > x; j--) d[j + 1] = d[j]
			d[j + 1] = x
		}
		m = n % 2 ? d[(n + 1) / 2] : (d[n / 2] + d[n / 2 + 1]) / 2
		printf "paired by round, ccagent - runit: median %+.2f ms (from %+.2f to %+.2f);" \
		    " ccagent no slower in %d of %d rounds\n", m, d[1], d[n], w, n
	}' "$KILLS_FILE"
fi
if [ "$PERF" = 1 ]; then
	kill -INT "$perf_pid" 2>/dev/null
	bench_wait "$perf_pid"
	echo
	echo "Where the time went (perf, kernel timestamps; medians over the kills, ms):"
	perf_phases
fi

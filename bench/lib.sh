# bench/lib.sh: helpers shared by the benchmark scripts (sourced, bash).
#
# Every process a script starts goes through bench_start, which records its
# pid; bench_cleanup (installed on EXIT by bench_init) stops them all, by
# pid, and removes the scratch directory.

BENCH_PIDS=()
BENCH_TMP=
CLK_TCK=$(getconf CLK_TCK)	# used by the scripts that source this
export CLK_TCK

bench_init() {	# name
	BENCH_TMP=$(mktemp -d "/tmp/ccnode-bench-$1.XXXXXX") || exit 1
	trap bench_cleanup EXIT
	trap 'exit 130' INT TERM HUP
}

bench_cleanup() {
	local p i
	for p in "${BENCH_PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in "${BENCH_PIDS[@]}"; do
		for i in $(seq 1 50); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	BENCH_PIDS=()
	if [ -n "$BENCH_TMP" ] && [ -z "${BENCH_KEEP:-}" ]; then
		rm -rf "$BENCH_TMP"
	elif [ -n "$BENCH_TMP" ]; then
		echo "# scratch kept in $BENCH_TMP" >&2
	fi
}

# Starts "$@" in the background, output to $BENCH_TMP/$1-name.log; sets
# BENCH_PID.
bench_start() {	# log-name command...
	local log=$1
	shift
	"$@" >"$BENCH_TMP/$log.log" 2>&1 &
	BENCH_PID=$!
	BENCH_PIDS+=("$BENCH_PID")
}

# Stops one process started by bench_start (TERM, then KILL after $2 s).
bench_stop() {	# pid [grace-seconds]
	local p=$1 grace=${2:-10} i keep=()
	kill -TERM "$p" 2>/dev/null
	for i in $(seq 1 $((grace * 10))); do
		kill -0 "$p" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	for i in "${BENCH_PIDS[@]}"; do
		[ "$i" = "$p" ] || keep+=("$i")
	done
	BENCH_PIDS=("${keep[@]}")
}

# Waits for a process started by bench_start to exit by itself.
bench_wait() {	# pid
	local i keep=()
	wait "$1" 2>/dev/null
	for i in "${BENCH_PIDS[@]}"; do
		[ "$i" = "$1" ] || keep+=("$i")
	done
	BENCH_PIDS=("${keep[@]}")
}

# Fails (exit 1) with the log when a process started by bench_start died.
bench_alive() {	# pid log-name
	if ! kill -0 "$1" 2>/dev/null; then
		echo "$2 (pid $1) exited; its log:" >&2
		tail -20 "$BENCH_TMP/$2.log" >&2
		exit 1
	fi
}

# No TCP socket at all (listening, connected or closing) has this local port.
port_free() {
	! ss -Htan "sport = :$1" 2>/dev/null | grep -q .
}

# Prints N consecutive free ports in 30000-39999, starting at random.  The
# part below the kernel's ephemeral range (usually 30000-32767) is preferred:
# there, no outgoing connection can take a port between the check and the
# bind.
free_ports() {	# count
	local n=$1 lo=30000 hi=39999 eph base p ok
	eph=$(awk '{ print $1 }' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null)
	if [ -n "$eph" ] && [ "$eph" -gt $((lo + 4 * n)) ] && [ "$eph" -le "$hi" ]; then
		hi=$((eph - 1))
	fi
	for _ in $(seq 1 200); do
		base=$((lo + RANDOM % (hi - lo + 2 - n)))
		ok=1
		for p in $(seq "$base" $((base + n - 1))); do
			port_free "$p" || { ok=0; break; }
		done
		if [ "$ok" = 1 ]; then
			seq "$base" $((base + n - 1))
			return 0
		fi
	done
	echo "no $n free consecutive ports in $lo-$hi" >&2
	return 1
}

# utime+stime of a process (and its reaped children: none here), in ticks.
cpu_ticks() {	# pid
	awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0
}

# Busy ticks of the whole machine (all CPUs), from /proc/stat.
machine_busy_ticks() {
	awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat
}

# Busy ticks of one CPU.
cpu_busy_ticks() {	# cpu number
	awk -v c="cpu$1" '$1 == c { print $2 + $3 + $4 + $7 + $8 + $9; exit }' \
	    /proc/stat
}

status_kb() {	# pid field (VmRSS, VmHWM)
	awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status" 2>/dev/null
}

now_s() {
	date +%s.%N
}

# a / b with 2 decimals (awk), "-" when b is 0.
div() {
	awk -v a="$1" -v b="$2" -v f="${3:-%.2f}" \
	    'BEGIN { if (b == 0) print "-"; else printf f "\n", a / b }'
}

# Waits until a URL answers, at most $2 seconds.
wait_http() {	# url seconds
	local i
	for i in $(seq 1 $(($2 * 10))); do
		curl -sf -o /dev/null "$1" && return 0
		sleep 0.1
	done
	echo "no answer from $1" >&2
	return 1
}

wait_port() {	# port seconds
	local i
	for i in $(seq 1 $(($2 * 10))); do
		port_free "$1" || return 0
		sleep 0.1
	done
	echo "nothing listens on port $1" >&2
	return 1
}

# ---- restart latency (bench/restart.sh) -------------------------------------
# These poll without a fork per attempt: bash 5's EPOCHREALTIME for the
# clock, /dev/tcp for the connection, "read -t" for the pause.

# Microseconds since the epoch, into NOW_US (no subshell, no fork).
now_us() {
	NOW_US=${EPOCHREALTIME//[!0-9]/}
}

# Opens POLL_PAUSE_FD: a FIFO, open for reading and writing, that never has
# data, so that "read -t S -u $POLL_PAUSE_FD" sleeps S seconds in the shell.
poll_init() {
	local f="$BENCH_TMP/.pause.fifo"
	mkfifo "$f" && exec {POLL_PAUSE_FD}<>"$f" && rm -f "$f"
}

# Polls 127.0.0.1:PORT until a PING is answered +PONG, or the deadline (us
# since the epoch) passes: connect (bash's /dev/tcp), "PING\r\n", read a
# line; then a pause of POLL_PAUSE s (default 0.0002) before the next
# attempt.  Sets PONG_US (when +PONG was read), POLL_N (attempts),
# POLL_GAP_US (the longest time between the starts of two attempts) and
# POLL_LAST_US (between the starts of the last failed attempt and of the one
# that got +PONG: how late the PONG can have been seen, this measurement's
# resolution; 0 when the first attempt got it).  0 on PONG, 1 at the
# deadline, 2 when BENCH_STOP is set.  Needs poll_init, and SIGPIPE ignored
# (trap '' PIPE): a write to a dying server must not kill the shell.
#
# Signals: a trap that exits the shell from inside "read -t" makes bash 5.2
# abort later ("longjmp causes uninitialized stack frame", when read's
# timer fires), so no EXIT trap runs and nothing is stopped.  Around this
# function, INT/TERM/HUP traps should only set BENCH_STOP=1 (see
# bench_poll_traps); it returns 2 at the next attempt.
redis_pong_wait() {	# port deadline-us
	local port=$1 deadline=$2 fd line prev=0 now
	POLL_N=0
	POLL_GAP_US=0
	POLL_LAST_US=0
	PONG_US=
	while :; do
		now=${EPOCHREALTIME//[!0-9]/}
		if [ "$prev" -ne 0 ]; then
			POLL_LAST_US=$((now - prev))
			if [ "$POLL_LAST_US" -gt "$POLL_GAP_US" ]; then
				POLL_GAP_US=$POLL_LAST_US
			fi
		fi
		prev=$now
		[ -z "${BENCH_STOP:-}" ] || return 2
		POLL_N=$((POLL_N + 1))
		if { exec {fd}<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null; then
			if printf 'PING\r\n' >&"$fd" 2>/dev/null &&
			    read -r -t 2 -u "$fd" line 2>/dev/null &&
			    [ "$line" = $'+PONG\r' ]; then
				PONG_US=${EPOCHREALTIME//[!0-9]/}
				exec {fd}>&-
				return 0
			fi
			exec {fd}>&-
		fi
		[ "$now" -lt "$deadline" ] || return 1
		read -r -t "${POLL_PAUSE:-0.0002}" -u "$POLL_PAUSE_FD" line
	done
}

# on: INT, TERM and HUP only set BENCH_STOP=1 (for redis_pong_wait);
# off: they exit again (bench_init's traps), at once if one came meanwhile.
bench_poll_traps() {	# on|off
	if [ "$1" = on ]; then
		trap 'BENCH_STOP=1' INT TERM HUP
	else
		trap 'exit 130' INT TERM HUP
		[ -z "${BENCH_STOP:-}" ] || exit 130
	fi
}

# The pid of the redis-server on 127.0.0.1:PORT (INFO server), or nothing.
redis_pid() {	# port
	redis-cli -p "$1" INFO server 2>/dev/null | tr -d '\r' |
	    awk -F: '$1 == "process_id" { print $2 }'
}

# Something listens on 127.0.0.1:PORT (TCP).
port_listening() {	# port
	ss -Htln "sport = :$1" 2>/dev/null | grep -q .
}

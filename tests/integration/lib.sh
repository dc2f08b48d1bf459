# lib.sh: shared helpers for the integration scripts (sourced, bash).
#
# A script does:
#     . "$(dirname "$0")/lib.sh"
#     itest_init redis-server curl jq ...   # the tools it needs (else skip, 77)
#     alloc_ports 4; P_MON=${PORTS[0]} ...
#     start_redis r1 "$P_R1"
#     start_monitor mon --port ... ; start_agent agent --port ...
#     wait_for 10 'r1 is up' 'test "$(prom_value "$P_HTTP" ...)" = 1'
#     ...
#     pass
#
# Every process started here is stopped at exit (trap EXIT): ccagent and
# ccmonitor with SIGTERM, and each must exit 0; any sanitizer report in any
# daemon log (or in ccctl's stderr) fails the test.  The private temp dir is
# removed on success, and kept with the tails of the logs printed on failure.

# The scripts re-exec themselves under bash (SH_LOG_COMPILER may be sh).
if [ -z "${BASH_VERSION:-}" ]; then
	echo "lib.sh needs bash" >&2
	exit 1
fi

set -u

ITEST_NAME=${ITEST_NAME:-$(basename "$0" .sh)}
T=""			# private temp dir
declare -a PORTS=()
declare -A D_PID=()	# daemon name -> pid (running ones only)
declare -A D_KIND=()	# daemon name -> agent|monitor|redis|helper
declare -A D_LOG=()	# daemon name -> log file
declare -A D_STARTS=()	# daemon name -> times started
declare -a D_ORDER=()	# names, in order of first start
declare -a ALL_PORTS_USED=()
ITEST_FAILED=0

# ---- output -----------------------------------------------------------------

ts() { date +%H:%M:%S.%3N; }
say() { printf '%s [%s] %s\n' "$(ts)" "$ITEST_NAME" "$*"; }
fail() {
	printf '%s [%s] FAIL: %s\n' "$(ts)" "$ITEST_NAME" "$*" >&2
	ITEST_FAILED=1
	exit 1
}
# check DESC CMD...: run CMD, report, fail the test when it fails.
check() {
	local desc=$1; shift
	if "$@"; then
		say "ok: $desc"
	else
		fail "$desc"
	fi
}
# Non-fatal check: records the failure, goes on (for independent assertions).
expect() {
	local desc=$1; shift
	if "$@"; then
		say "ok: $desc"
	else
		printf '%s [%s] FAIL: %s\n' "$(ts)" "$ITEST_NAME" "$desc" >&2
		ITEST_FAILED=1
	fi
}
not() { ! "$@"; }
skip() { say "SKIP: $*"; ITEST_SKIP=1; exit 77; }
pass() {
	if [ "$ITEST_FAILED" != 0 ]; then
		say "some checks failed (see FAIL lines above)"
		exit 1
	fi
	say "all checks passed; stopping everything"
	exit 0
}

# ---- set-up -------------------------------------------------------------------

need_tool() {
	command -v "$1" >/dev/null 2>&1 || skip "$1 is not installed (scripts/deps installs it)"
}

itest_init() {
	local tool
	ITEST_SKIP=0
	for tool in "$@"; do need_tool "$tool"; done
	need_tool ss
	need_tool timeout

	local here
	here=$(cd "$(dirname "$0")" && pwd)
	: "${top_srcdir:=$(cd "$here/../.." && pwd)}"
	: "${top_builddir:=$top_srcdir}"
	: "${CCAGENT:=$top_builddir/agent/ccagent}"
	: "${CCMONITOR:=$top_builddir/monitor/ccmonitor}"
	: "${CCCTL:=$top_builddir/ctl/ccctl}"
	export top_srcdir top_builddir CCAGENT CCMONITOR CCCTL
	local b
	for b in "$CCAGENT" "$CCMONITOR" "$CCCTL"; do
		[ -x "$b" ] || { echo "not built: $b (set CCAGENT/CCMONITOR/CCCTL)" >&2; exit 1; }
	done

	# Sanitizer builds are 2-3x slower: deadlines (never sleeps) scale.
	if grep -qa '__asan_init' "$CCAGENT" 2>/dev/null; then
		TF=3
		SANITIZED=1
	else
		TF=1
		SANITIZED=0
	fi
	# Nothing here may reach outside loopback; no proxy either.
	export no_proxy='*' NO_PROXY='*'
	unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY

	T=$(mktemp -d "${TMPDIR:-/tmp}/ccnode-$ITEST_NAME.XXXXXX") || exit 1
	chmod 700 "$T"
	trap itest_cleanup EXIT
	trap 'exit 1' INT TERM HUP
	say "temp dir $T; ccagent=$CCAGENT sanitized=$SANITIZED"
}

# ---- time ----------------------------------------------------------------------

now_ms() {
	local t=${EPOCHREALTIME//[.,]/}
	echo $((10#$t / 1000))
}

# wait_for SECONDS DESC SHELL-CODE: poll SHELL-CODE (eval'd) every 0.2 s until
# it succeeds, or fail the test after SECONDS (scaled by TF in sanitizer builds).
wait_for() {
	local secs=$1 desc=$2 code=$3 start end
	start=$(now_ms)
	end=$((start + secs * 1000 * TF))
	while :; do
		if eval "$code"; then
			say "ok: $desc (after $(( $(now_ms) - start )) ms)"
			return 0
		fi
		[ "$(now_ms)" -ge "$end" ] && break
		sleep 0.2
	done
	fail "timed out after $((secs * TF)) s waiting for: $desc"
}

# poll_until SECONDS SHELL-CODE: like wait_for, without scaling or failing;
# returns 1 on timeout.
poll_until() {
	local secs=$1 code=$2 end
	end=$(( $(now_ms) + secs * 1000 ))
	while :; do
		eval "$code" && return 0
		[ "$(now_ms)" -ge "$end" ] && return 1
		sleep 0.2
	done
}

# ---- ports -----------------------------------------------------------------------

port_free() {
	local p=$1 u
	for u in "${ALL_PORTS_USED[@]:-}"; do [ "$u" = "$p" ] && return 1; done
	# Nothing listening, and no socket of any state bound to it.
	[ -z "$(ss -Htan "( sport = :$p )" 2>/dev/null)" ]
}

# alloc_ports N: sets PORTS to N distinct free loopback ports in 20000-29999.
alloc_ports() {
	local n=$1 p tries=0
	PORTS=()
	while [ "${#PORTS[@]}" -lt "$n" ]; do
		tries=$((tries + 1))
		[ "$tries" -gt 1000 ] && fail "no free ports"
		p=$((20000 + (RANDOM * 32768 + RANDOM) % 10000))
		port_free "$p" || continue
		PORTS+=("$p")
		ALL_PORTS_USED+=("$p")
	done
	say "ports: ${PORTS[*]}"
}

port_listening() {
	[ -n "$(ss -Hltn "( sport = :$1 )" 2>/dev/null)" ]
}

# ---- processes -------------------------------------------------------------------

_register() {	# name kind pid log
	local name=$1
	if [ -z "${D_STARTS[$name]:-}" ]; then
		D_ORDER+=("$name")
		D_STARTS[$name]=0
	fi
	D_STARTS[$name]=$((D_STARTS[$name] + 1))
	D_KIND[$name]=$2
	D_PID[$name]=$3
	D_LOG[$name]=$4
}

# start_redis NAME PORT [redis-server args...]: foreground redis-server on
# 127.0.0.1:PORT, no persistence; waits until it answers PING (or -NOAUTH).
start_redis() {
	local name=$1 port=$2; shift 2
	mkdir -p "$T/$name"
	redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
	    --daemonize no --dir "$T/$name" --logfile "$T/$name.log" "$@" \
	    >/dev/null 2>&1 &
	_register "$name" redis $! "$T/$name.log"
	say "started redis $name pid=$! port=$port $*"
	wait_for 10 "redis $name answers on $port" \
	    "redis-cli -p $port ping 2>&1 | grep -q 'PONG\|NOAUTH'"
}

_start_ccnode() {	# kind name binary args...
	local kind=$1 name=$2 bin=$3; shift 3
	local log="$T/$name.log"
	echo "=== $(ts) start #$(( ${D_STARTS[$name]:-0} + 1 )): $(basename "$bin") $*" >>"$log"
	"$bin" -f "$@" >>"$log" 2>&1 &
	_register "$name" "$kind" $! "$log"
	say "started $kind $name pid=$!: $(basename "$bin") -f $*"
}

# _wait_started KIND NAME N0 PORT: wait until the daemon logged its
# "started" line (signal handlers are in place by then) and PORT listens.
_wait_started() {
	local kind=$1 name=$2 n0=$3 port=$4
	wait_for 15 "$kind $name is up (logged 'started'${port:+, listens on $port})" \
	    '! alive '"$name"' || { [ "$(_started_count '"$name"')" -gt '"$n0"' ] && { [ -z "'"$port"'" ] || port_listening "'"$port"'"; }; }'
	alive "$name" || fail "$kind $name exited at start: $(tail -n 3 "${D_LOG[$name]}")"
}
_started_count() {
	grep -c ' main cc[a-z]* [^ ]* started ' "$T/$1.log" 2>/dev/null
}
_arg_after() {	# OPTION ARGS...: the value of the last OPTION in ARGS
	local opt=$1 prev="" v=""; shift
	for a in "$@"; do
		[ "$prev" = "$opt" ] && v=$a
		prev=$a
	done
	echo "$v"
}

# start_monitor NAME ARGS...: ccmonitor -f ARGS, log in $T/NAME.log.  Waits
# until it is up: its "started" log line, and its HTTP port (--http-port,
# or WAIT_PORT) listening.
start_monitor() {
	local name=$1 n0; shift
	n0=$(_started_count "$name")
	_start_ccnode monitor "$name" "$CCMONITOR" "$@"
	_wait_started monitor "$name" "${n0:-0}" "${WAIT_PORT:-$(_arg_after --http-port "$@")}"
}

# start_agent NAME ARGS...: ccagent -f ARGS, log in $T/NAME.log.  Waits
# until it is up: its "started" log line and its management port (--port,
# or WAIT_PORT) listening.
start_agent() {
	local name=$1 n0; shift
	n0=$(_started_count "$name")
	# No scheduled big-key scan (its window may be now): a test asks for
	# one with Analyze.  Last, since -c FILE must come first.
	_start_ccnode agent "$name" "$CCAGENT" "$@" --bigkey-scan-window off
	_wait_started agent "$name" "${n0:-0}" "${WAIT_PORT:-$(_arg_after --port "$@")}"
}

# start_helper NAME CMD...: any other background process the test needs.
start_helper() {
	local name=$1; shift
	"$@" >>"$T/$name.log" 2>&1 &
	_register "$name" helper $! "$T/$name.log"
}

pid_of() { echo "${D_PID[$1]:-}"; }

alive() {
	local pid=${D_PID[$1]:-}
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

# sanitizer_clean FILE: no ASan/UBSan/LSan report in FILE.
sanitizer_clean() {
	! grep -q 'ERROR: AddressSanitizer\|runtime error:\|LeakSanitizer\|ERROR: UndefinedBehaviorSanitizer' "$1" 2>/dev/null
}

# _reap NAME SECS: wait for the daemon to exit; sets REAP_STATUS; returns 1
# if it is still running after SECS.
_reap() {
	local name=$1 secs=$2 pid=${D_PID[$1]} end
	end=$(( $(now_ms) + secs * 1000 ))
	while kill -0 "$pid" 2>/dev/null; do
		# A zombie child still answers kill -0; wait reaps it below.
		if [ "$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -c1)" = Z ]; then
			break
		fi
		[ "$(now_ms)" -ge "$end" ] && return 1
		sleep 0.1
	done
	wait "$pid" 2>/dev/null
	REAP_STATUS=$?
	unset 'D_PID[$name]'
	return 0
}

# _kill_descendants PID: SIGTERM every descendant of PID (by parent pid).
_kill_descendants() {
	local c
	for c in $(pgrep -P "$1" 2>/dev/null); do
		_kill_descendants "$c"
		kill -TERM "$c" 2>/dev/null
	done
}

# stop_daemon NAME: SIGTERM, wait (deadline), and require exit status 0 and
# no sanitizer report for ccagent/ccmonitor.  Returns nonzero on a problem
# (and marks the test failed) so cleanup can go on with the others.
stop_daemon() {
	local name=$1 pid=${D_PID[$1]:-} kind=${D_KIND[$1]}
	[ -z "$pid" ] && return 0
	# A helper is a subshell: its own children (timeout, cat, sleep) go too.
	[ "$kind" = helper ] && _kill_descendants "$pid"
	kill -CONT "$pid" 2>/dev/null
	kill -TERM "$pid" 2>/dev/null
	if ! _reap "$name" $((20 * TF)); then
		printf '%s [%s] FAIL: %s %s (pid %s) still running %s s after SIGTERM; killing it\n' \
		    "$(ts)" "$ITEST_NAME" "$kind" "$name" "$pid" $((20 * TF)) >&2
		kill -KILL "$pid" 2>/dev/null
		_reap "$name" 5
		ITEST_FAILED=1
		return 1
	fi
	case $kind in
	agent|monitor)
		if [ "$REAP_STATUS" != 0 ]; then
			printf '%s [%s] FAIL: %s %s exited with status %s after SIGTERM (want 0)\n' \
			    "$(ts)" "$ITEST_NAME" "$kind" "$name" "$REAP_STATUS" >&2
			ITEST_FAILED=1
			return 1
		fi
		if ! sanitizer_clean "${D_LOG[$name]}"; then
			printf '%s [%s] FAIL: sanitizer report in %s\n' "$(ts)" "$ITEST_NAME" "${D_LOG[$name]}" >&2
			ITEST_FAILED=1
			return 1
		fi
		say "stopped $kind $name (pid $pid): exit status 0"
		;;
	*)	say "stopped $kind $name (pid $pid)";;
	esac
	return 0
}

# kill_daemon NAME [SIGNAL]: hard kill (default SIGKILL), reap; no status check.
kill_daemon() {
	local name=$1 sig=${2:-KILL} pid=${D_PID[$1]:-}
	[ -z "$pid" ] && fail "kill_daemon: $name is not running"
	kill -"$sig" "$pid" 2>/dev/null
	_reap "$name" $((10 * TF)) || { kill -KILL "$pid"; _reap "$name" 5; }
	say "killed ${D_KIND[$name]} $name (pid $pid) with SIG$sig: status $REAP_STATUS"
}

itest_cleanup() {
	local rc=$? name
	trap - EXIT INT TERM HUP
	[ -z "$T" ] && exit "$rc"
	[ "$ITEST_FAILED" != 0 ] && [ "$rc" = 0 ] && rc=1
	# Our own daemons first (they hold connections to redis), newest first.
	local i
	for ((i = ${#D_ORDER[@]} - 1; i >= 0; i--)); do
		name=${D_ORDER[$i]}
		case ${D_KIND[$name]} in
		agent|monitor) stop_daemon "$name" || { [ "$rc" = 77 ] || rc=1; } ;;
		esac
	done
	for name in "${D_ORDER[@]}"; do
		case ${D_KIND[$name]} in
		redis|helper) stop_daemon "$name" ;;
		esac
	done
	# A sanitizer report anywhere (killed daemons too, ccctl's stderr) fails.
	for f in "$T"/*.log; do
		[ -e "$f" ] || continue
		if ! sanitizer_clean "$f"; then
			echo "$(ts) [$ITEST_NAME] FAIL: sanitizer report in $f:" >&2
			grep -n -A20 'ERROR: AddressSanitizer\|runtime error:\|LeakSanitizer' "$f" | head -60 >&2
			[ "$rc" = 77 ] || rc=1
		fi
	done
	if [ "$rc" = 0 ] || [ "$rc" = 77 ]; then
		rm -rf "$T"
		[ "$rc" = 0 ] && say "PASS"
	else
		say "FAIL (status $rc); logs kept in $T" >&2
		for f in "$T"/*.log; do
			[ -e "$f" ] || continue
			echo "---- tail -n 40 $f" >&2
			tail -n 40 "$f" >&2
		done
	fi
	exit "$rc"
}

# ---- HTTP and metrics -----------------------------------------------------------------

# http_get PORT PATH: the body on stdout (status: see http_status).
http_get() {
	curl -s --max-time $((5 * TF)) "http://127.0.0.1:$1$2"
}

# http_status PORT PATH OUTFILE: prints the status code, body in OUTFILE.
http_status() {
	curl -s --max-time $((5 * TF)) -o "$3" -w '%{http_code}' "http://127.0.0.1:$1$2"
}

# prom_value PORT 'name{labels}': the sample's value, empty if absent.
prom_value() {
	http_get "$1" /metrics | awk -v k="$2" 'index($0, k " ") == 1 { print $2; exit }'
}

# num_ge A B / num_gt / num_eq: numeric comparisons that tolerate empty values.
num_ge() { [ -n "$1" ] && [ -n "$2" ] && awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 >= b + 0) }'; }
num_gt() { [ -n "$1" ] && [ -n "$2" ] && awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 > b + 0) }'; }
num_eq() { [ -n "$1" ] && [ -n "$2" ] && awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 == b + 0) }'; }

# machine_field HTTPPORT HOST JQ-PATH: a field of the host's /api/v1/machines entry.
machine_field() {
	http_get "$1" /api/v1/machines |
	    jq -r --arg h "$2" ".items[] | select(.host == \$h) | $3" 2>/dev/null
}

# instance_field HTTPPORT NAME JQ-PATH: a field of the /api/v1/instances entry.
instance_field() {
	http_get "$1" /api/v1/instances |
	    jq -r --arg n "$2" ".items[] | select(.name == \$n) | $3" 2>/dev/null
}

# jqe ARGS...: jq -e, quiet, that also fails when there is no input.  jq 1.6
# -e exits 0 on empty input, so a dead server would pass every check.
jqe() {
	local out
	out=$(jq -e "$@" 2>/dev/null) && [ -n "$out" ]
}
# jqt FILE [jq options] FILTER: FILTER is true for FILE (quiet).
jqt() {
	local f=$1; shift
	jqe "$@" "$f"
}

# ---- ccctl ---------------------------------------------------------------------------

# ctl ARGS...: run ccctl; stdout passes through, stderr goes to $T/ccctl.log
# (sanitizer-checked) and to $T/ccctl.err (ctl_err prints the last one, also
# after a call in a command substitution); returns ccctl's exit status.
ctl() {
	local rc
	timeout $((30 * TF)) "$CCCTL" "$@" 2>"$T/ccctl.err"
	rc=$?
	{ echo "=== ccctl $* -> $rc"; cat "$T/ccctl.err"; } >>"$T/ccctl.log"
	return $rc
}
ctl_err() { cat "$T/ccctl.err" 2>/dev/null; }

# agent_host_field MGMTPORT FIELD [ctl options...]: a field of ccctl host --json.
agent_host_field() {
	local port=$1 field=$2; shift 2
	ctl -a "127.0.0.1:$port" "$@" host --json | jq -r ".$field" 2>/dev/null
}

# ---- files ---------------------------------------------------------------------------

# secret_file PATH [CONTENT]: a mode-600 secret.
secret_file() {
	local f=$1 content=${2:-}
	[ -z "$content" ] && content=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
	( umask 077; printf '%s\n' "$content" >"$f" )
	chmod 600 "$f"
}

# log_has NAME REGEX: the daemon's log matches (grep -E).
log_has() { grep -Eq -- "$2" "${D_LOG[$1]}"; }

# ---- supervised instances (t_sup_*.sh) ----------------------------------------------------
#
# The agent's children (redis-server, nutcracker) outlive their agent by
# design, so lib.sh's cleanup does not see them.  sup_init replaces the exit
# trap: it stops the agents first (SIGTERM, exit 0, no sanitizer report, as
# itest_cleanup would), so none restarts a child, then kills every
# redis-server or nutcracker still running from under $T, then runs
# itest_cleanup for the rest.

# sup_init TOOLS...: itest_init TOOLS..., plus the cleanup above.
sup_init() {
	itest_init "$@"
	trap _sup_cleanup EXIT
}

_sup_cleanup() {
	local rc=$? i name
	trap - EXIT
	for ((i = ${#D_ORDER[@]} - 1; i >= 0; i--)); do
		name=${D_ORDER[$i]}
		[ "${D_KIND[$name]}" = agent ] || continue
		stop_daemon "$name" || ITEST_FAILED=1
	done
	sup_kill_children
	(exit "$rc")
	itest_cleanup
}

# pid_running PID: the process exists and is not a zombie.
pid_running() {
	local st
	[ -n "$1" ] && [ "$1" != 0 ] || return 1
	st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)
	[ -n "$st" ] && [ "$st" != Z ]
}

# pid_starttime PID: field 22 of /proc/PID/stat (start time in clock ticks).
pid_starttime() {
	sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{ print $20 }'
}

# _sup_is_server PID: PID runs redis-server (redis-check-rdb on Debian) or
# nutcracker.
_sup_is_server() {
	case $(readlink "/proc/$1/exe" 2>/dev/null) in
	*/redis-server*|*/redis-check-rdb*|*/nutcracker*) return 0;;
	esac
	return 1
}

# sup_pids_under DIR: the live (not zombie) redis-server and nutcracker
# processes whose working directory or command line is under DIR.
sup_pids_under() {
	local dir=$1 exe pid
	# One find for the candidates (a fork per process would be slow).
	for exe in $(find /proc/[0-9]*/ -maxdepth 1 -name exe \( \
	    -lname '*/redis-server*' -o -lname '*/redis-check-rdb*' -o \
	    -lname '*/nutcracker*' \) 2>/dev/null); do
		pid=${exe#/proc/}
		pid=${pid%%/*}
		pid_running "$pid" || continue
		case "$(readlink "/proc/$pid/cwd" 2>/dev/null)/" in
		"$dir"/*) echo "$pid"; continue;;
		esac
		if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$dir/"; then
			echo "$pid"
		fi
	done
}

# inst_pids STATEDIR NAME: the live processes of one supervised instance:
# a redis-server runs in STATEDIR/instances/NAME/data (or, just spawned,
# names its redis.conf), a nutcracker names its nutcracker.yml.
inst_pids() {
	sup_pids_under "$1/instances/$2"
}

# sup_kill_children: SIGTERM, then SIGKILL after 5 s, to every
# redis-server and nutcracker running from under $T that lib.sh did not
# start itself (those are stopped by itest_cleanup).
sup_kill_children() {
	local pids=() pid n end
	[ -n "$T" ] || return 0
	for pid in $(sup_pids_under "$T"); do
		for n in "${D_PID[@]:-}"; do [ "$n" = "$pid" ] && continue 2; done
		pids+=("$pid")
	done
	[ "${#pids[@]}" = 0 ] && return 0
	say "stopping ${#pids[@]} supervised process(es) left running: ${pids[*]}"
	kill -TERM "${pids[@]}" 2>/dev/null
	end=$(( $(now_ms) + 5000 ))
	for pid in "${pids[@]}"; do
		while pid_running "$pid" && [ "$(now_ms)" -lt "$end" ]; do
			sleep 0.05
		done
		pid_running "$pid" && kill -KILL "$pid" 2>/dev/null
	done
	return 0
}

# sup_agent NAME PORT DIR [DIRECTIVES...]: start_agent NAME with its state,
# spool and log dirs under DIR (DIR/state, DIR/spool, DIR/logs), fast
# supervision timings, and reports going to SUP_MONITOR (host:port; unset:
# a port nothing listens on).  Later directives override the defaults.
sup_agent() {
	local name=$1 port=$2 dir=$3; shift 3
	mkdir -p "$dir"
	if [ -z "${SUP_MONITOR:-}" ]; then
		alloc_ports 1
		SUP_MONITOR=127.0.0.1:${PORTS[0]}
	fi
	start_agent "$name" --port "$port" --state-dir "$dir/state" \
	    --spool-dir "$dir/spool" --log-dir "$dir/logs" \
	    --monitor "$SUP_MONITOR" --host-name "${SUP_HOST:-h1}" \
	    --sample-interval 1s --sample-timeout 500ms \
	    --restart-backoff 100ms 1s --restart-reset-after 10s \
	    --crash-loop 4 30s --stop-timeout 2s --start-timeout 10s "$@"
}

# ictl PORT ARGS...: ccctl -a 127.0.0.1:PORT [SUP_CTL_OPTS...] ARGS...
# (see ctl); SUP_CTL_OPTS: an array, e.g. (--secret-file F).
declare -a SUP_CTL_OPTS=()
ictl() {
	local port=$1; shift
	ctl -a "127.0.0.1:$port" "${SUP_CTL_OPTS[@]}" "$@"
}

# inst_field PORT NAME JQ-PATH: a field of NAME in the agent's
# instance list --json (empty when absent or the agent does not answer).
inst_field() {
	ictl "$1" --timeout $((5 * TF))s instance list --json |
	    jq -r --arg n "$2" ".items[] | select(.name == \$n) | $3" 2>/dev/null
}

# acli STATEDIR NAME PORT ARGS...: redis-cli as the agent's user (ccagent).
acli() {
	local dir=$1 name=$2 port=$3; shift 3
	timeout $((10 * TF)) redis-cli -p "$port" --user ccagent \
	    --pass "$(cat "$dir/instances/$name/agent.pass")" --no-auth-warning "$@"
}

# pong PORT: the server on PORT answers PING with PONG (as user default).
pong() {
	[ "$(timeout 5 redis-cli -p "$1" ping 2>/dev/null)" = PONG ]
}

# listeners PORT: the pids listening on 127.0.0.1:PORT, one a line.
listeners() {
	ss -Hltnp "( sport = :$1 )" 2>/dev/null | grep -o 'pid=[0-9]*' |
	    cut -d= -f2 | sort -u
}

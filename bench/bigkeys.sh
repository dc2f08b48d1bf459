#!/bin/bash
# bench/bigkeys.sh: the big-key scan of 1,000,000 keys (agent/bigkeys.c,
# driven by bench/bigscan_run) against redis-cli --bigkeys and --memkeys,
# on the same data in the same run.  See bench/README.md.
#
#   bench/bigkeys.sh [BUILDDIR]        (or: make bench-bigkeys)
#
# One redis-server on a free port with a private dir is loaded, through
# EVAL (the loading only; the scanner never sends EVAL or DEBUG), with KEYS
# mixed keys: 60% strings of 1-200 bytes (every 997th of 5-25 KB, every
# 99,991st of 200 KB), 10% each lists, hashes, sets and zsets of 1-20
# elements.  Then the planted keys, with binary names: an 11,000,001-byte
# string, and a list, hash, set and zset of 20,000 elements; and keys just
# under the limits that must not be listed: a string of exactly 10 MB (the
# limit is "over 10 MB") and a list and set of 9,999 elements.
#
# Rows, one after the other, each with a concurrent latency load:
#   idle                 no scan: the baseline
#   redis-cli --memkeys
#   redis-cli --bigkeys
#   ccagent scan         bigscan_run -r 0 -S: no budget, as fast as it goes
#   ccagent scan         bigscan_run -r R -S, R 10% over the keys/s that
#                        --memkeys just did: the same work, compared
# these REPEAT times, interleaved (a shared machine is noisy: the table
# gives medians, and the least p99 too), then once
#   ccagent scan         bigscan_run at the default budget (BIGSCAN_RATE)
#                        with its INFO sampler on, as in the agent, for
#                        DEFAULT_S seconds (-A: the whole scan would take
#                        minutes)
# For each: wall time, keys/s, the server's CPU (INFO used_cpu_sys +
# used_cpu_user, delta), and the p99 (and p50) that the latency load saw.
# The redis-server runs at nice NICE (root only), so that other jobs on a
# shared machine disturb it less.
# The latency load is redis-benchmark -t get -c LAT_C -n LAT_N -r 100000
# run again and again until the scan ends; the chunks' "latency by
# percentile" tables are merged into one distribution, so the p99 is over
# every request of the row (to the resolution redis-benchmark prints).
#
# Checks (exit 1 when one fails): our scan is complete, its key count is
# DBSIZE, the keys over the limits are exactly the five planted ones with
# the right type, elements and a size at least their payload, and the
# near-limit keys are not among them.  The goals (throughput at least
# that of --memkeys; p99 impact at most half of --memkeys') are printed as
# met or not; they do not fail the run, a shared machine being noisy.
#
# Environment (defaults): KEYS=1000000 LAT_C=10 LAT_N=20000 IDLE_S=5
#   REPEAT=2 DEFAULT_S=20 (0: no default-budget row) RATE= (that row's
#   rate; empty: bigscan_run's default) NICE=-10 (empty: none)
#   REDIS_SERVER=redis-server
#   BIGSCAN_RUN=BUILDDIR/bench/bigscan_run BENCH_KEEP=
set -u
export LC_ALL=C
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

build=${1:-.}
BIGSCAN_RUN=${BIGSCAN_RUN:-$build/bench/bigscan_run}
REDIS_SERVER=${REDIS_SERVER:-redis-server}
KEYS=${KEYS:-1000000}
LAT_C=${LAT_C:-10}
LAT_N=${LAT_N:-20000}
IDLE_S=${IDLE_S:-5}
REPEAT=${REPEAT:-2}
DEFAULT_S=${DEFAULT_S:-20}
NICE=${NICE--10}
RATE=${RATE:-}

if [ ! -x "$BIGSCAN_RUN" ]; then
	echo "usage: $0 BUILDDIR (or set BIGSCAN_RUN)" >&2
	exit 2
fi
for b in "$REDIS_SERVER" redis-cli redis-benchmark jq ss; do
	if ! command -v "$b" >/dev/null; then
		echo "$0: $b is missing (Debian: redis-server, redis-tools, jq," \
		    "iproute2)" >&2
		exit 2
	fi
done

bench_init bigkeys
PORT=$(free_ports 1) || exit 1
mkdir -p "$BENCH_TMP/data"
bench_start redis "$REDIS_SERVER" --port "$PORT" --bind 127.0.0.1 \
    --save "" --appendonly no --dir "$BENCH_TMP/data" --daemonize no
REDIS_PID=$BENCH_PID
# Other jobs on a shared machine disturb the latency figures less when
# the server has the higher priority (root only; quietly skipped).
[ -z "$NICE" ] || renice -n "$NICE" -p "$REDIS_PID" >/dev/null 2>&1
wait_port "$PORT" 10 || exit 1
sleep 0.2
bench_alive "$REDIS_PID" redis

rc() {
	redis-cli -p "$PORT" "$@"
}

info_field() {	# section field
	rc INFO "$1" | tr -d '\r' | awk -F: -v f="$2" '$1 == f { print $2 }'
}

server_cpu() {
	rc INFO cpu | tr -d '\r' | awk -F: '
	    $1 == "used_cpu_sys" || $1 == "used_cpu_user" { s += $2 }
	    END { printf "%.3f\n", s }'
}

# ---- the data ----------------------------------------------------------------

LOAD_LUA='
local a, b = tonumber(ARGV[1]), tonumber(ARGV[2])
for i = a, b do
	local m, n = i % 10, i % 20 + 1
	if m < 6 then
		local len = (i * 7919) % 200 + 1
		if i % 997 == 0 then len = 5000 + (i * 31) % 20000 end
		if i % 99991 == 0 then len = 200000 end
		redis.call("SET", "s:" .. i, string.rep("v", len))
	else
		local args = {}
		for j = 1, n do
			if m == 6 or m == 8 then
				args[#args + 1] = "member:" .. j
			elseif m == 7 then
				args[#args + 1] = "field:" .. j
				args[#args + 1] = "value:" .. i
			else
				args[#args + 1] = j
				args[#args + 1] = "member:" .. j
			end
		end
		local cmd = ({ [6] = "RPUSH", [7] = "HSET", [8] = "SADD",
		    [9] = "ZADD" })[m]
		redis.call(cmd, ({ [6] = "l:", [7] = "h:", [8] = "t:",
		    [9] = "z:" })[m] .. i, unpack(args))
	end
end
return b - a + 1'

# The planted keys, with binary names, and those just under the limits.
PLANT_LUA='
redis.call("SETRANGE", "big:\0str", 11000000, "x")
redis.call("SETRANGE", "near:str", 10485759, "x")
local function fill(cmd, key, n)
	local args = {}
	for j = 1, n do
		if cmd == "HSET" then
			args[#args + 1] = "field:" .. j
			args[#args + 1] = "value:" .. j
		elseif cmd == "ZADD" then
			args[#args + 1] = j
			args[#args + 1] = "member:" .. j
		else
			args[#args + 1] = "member:" .. j
		end
		if #args >= 1000 or j == n then
			redis.call(cmd, key, unpack(args))
			args = {}
		end
	end
end
fill("RPUSH", "big:list\n", 20000)
fill("HSET", "big:hash\255", 20000)
fill("SADD", "big:set", 20000)
fill("ZADD", "big:zset \"q\"", 20000)
fill("RPUSH", "near:list", 9999)
fill("SADD", "near:set", 9999)
return 1'

t0=$(now_s)
step=50000
i=0
while [ "$i" -lt "$KEYS" ]; do
	to=$((i + step - 1))
	[ "$to" -lt "$KEYS" ] || to=$((KEYS - 1))
	rc EVAL "$LOAD_LUA" 0 "$i" "$to" >/dev/null || exit 1
	i=$((to + 1))
done
rc EVAL "$PLANT_LUA" 0 >/dev/null || exit 1
DBSIZE=$(rc DBSIZE)
t1=$(now_s)
echo "# loaded $DBSIZE keys in $(div "$(awk -v a="$t1" -v b="$t0" \
    'BEGIN { print a - b }')" 1) s; used_memory $(info_field memory \
    used_memory_human); redis-server $(info_field server redis_version)," \
    "port $PORT"

# ---- latency load -------------------------------------------------------------

LAT_CMD="redis-benchmark -p $PORT -t get -c $LAT_C -n $LAT_N -r 100000"

lat_loop() {	# dir
	local n=0
	while [ ! -e "$1/stop" ]; do
		$LAT_CMD >"$1/$n.out" 2>&1
		n=$((n + 1))
	done
}

# The p-th quantile (0.99) of every request of the chunks in dir, in ms:
# each chunk's cumulative table is a step function; their sum is the
# distribution of the whole row.
lat_quantile() {	# dir p
	local total
	total=$(cat "$1"/*.out | tr '\r' '\n' |
	    awk '/requests completed in/ { t += $1 } END { print t + 0 }')
	for f in "$1"/*.out; do
		tr '\r' '\n' <"$f" | awk -v f="$f" '
		    /milliseconds \(cumulative count/ {
			c = $NF; sub(/\)/, "", c); print $3, f, c }'
	done | sort -n -k1,1 | awk -v total="$total" -v p="$2" '
	    { if ($3 > cur[$2]) { s += $3 - cur[$2]; cur[$2] = $3 }
	      if (total > 0 && s >= p * total) { print $1; found = 1; exit } }
	    END { if (!found) print "-" }'
}

lat_rps() {	# dir
	cat "$1"/*.out | tr '\r' '\n' | awk '
	    /requests completed in/ { n += $1; t += $5 }
	    END { if (t > 0) printf "%.0f\n", n / t; else print "-" }'
}

# ---- rows ---------------------------------------------------------------------

ROWS=()		# "name|wall|cpu|p50|p99|rps|command"

# Runs one row: the latency load, then "$@" (or a sleep for idle), then
# the figures.  Sets ROW_OUT to the command's output file.
run_row() {	# name command...
	local name=$1 dir cpu0 cpu1 t0 t1 wall lat_pid
	shift
	dir="$BENCH_TMP/row$((${#ROWS[@]} + 1))"
	mkdir -p "$dir"
	ROW_OUT="$dir/cmd.out"
	bench_start "lat$((${#ROWS[@]} + 1))" lat_loop "$dir"
	lat_pid=$BENCH_PID
	sleep 0.5
	cpu0=$(server_cpu)
	t0=$(now_s)
	"$@" >"$ROW_OUT" 2>"$dir/cmd.err"
	ROW_RC=$?
	t1=$(now_s)
	cpu1=$(server_cpu)
	: >"$dir/stop"
	bench_wait "$lat_pid"
	wall=$(awk -v a="$t1" -v b="$t0" 'BEGIN { printf "%.2f", a - b }')
	ROWS+=("$name|$wall|$(awk -v a="$cpu1" -v b="$cpu0" \
	    'BEGIN { printf "%.2f", a - b }')|$(lat_quantile "$dir" 0.5)|$(\
	    lat_quantile "$dir" 0.99)|$(lat_rps "$dir")|$*")
	echo "# $name: ${wall} s, rc $ROW_RC, p99 $(lat_quantile "$dir" 0.99) ms" >&2
}

OURS="ccagent scan, no budget"
MATCH="ccagent scan, memkeys' rate"
DEF="ccagent scan, default budget"
OURS_JSON=
for rep in $(seq 1 "$REPEAT"); do
	run_row idle sleep "$IDLE_S"
	run_row "redis-cli --memkeys" redis-cli -p "$PORT" --memkeys
	# 10% over what --memkeys just did: the same work, compared.
	match=$(echo "${ROWS[${#ROWS[@]} - 1]}" | cut -d'|' -f2 |
	    awk -v n="$DBSIZE" '{ printf "%d\n", n / $1 * 1.1 + 1 }')
	run_row "redis-cli --bigkeys" redis-cli -p "$PORT" --bigkeys
	run_row "$OURS" "$BIGSCAN_RUN" -p "$PORT" -r 0 -S --json
	[ -n "$OURS_JSON" ] || OURS_JSON=$ROW_OUT
	[ "$ROW_RC" = 0 ] || { echo "our scan failed:" >&2;
	    tail -5 "$(dirname "$ROW_OUT")/cmd.err" >&2; }
	run_row "$MATCH" "$BIGSCAN_RUN" -p "$PORT" -r "$match" -S --json
done
if [ "$DEFAULT_S" -gt 0 ]; then
	# A sample of DEFAULT_S seconds: at this budget the whole scan takes
	# minutes.  The driver's INFO sampler is on, as the agent's would be.
	run_row "$DEF" "$BIGSCAN_RUN" -p "$PORT" ${RATE:+-r "$RATE"} \
	    -A "$((DEFAULT_S * 1000))" --json
	DEF_KPS=$(jq -r '(.keys * 1000 / .duration_ms) | floor' "$ROW_OUT")
fi

# ---- the table ------------------------------------------------------------------

# The median of one field (2 wall, 3 cpu, 4 p50, 5 p99, 6 get/s) over the
# rows of a name ("-" when none has it).
row_median() {	# name field
	local r
	for r in "${ROWS[@]}"; do
		[ "${r%%|*}" = "$1" ] && echo "$r" | cut -d'|' -f"$2"
	done | grep -v '^-$' | sort -n | awk '{ v[NR] = $1 }
	    END { if (NR == 0) print "-"
		  else if (NR % 2) print v[(NR + 1) / 2]
		  else { x = (v[NR / 2] + v[NR / 2 + 1]) / 2
			 printf (x == int(x) ? "%d\n" : "%.3f\n"), x } }'
}

# The least of one field over the rows of a name (noise on a shared
# machine only ever adds latency: a second view of the p99).
row_min() {	# name field
	local r
	for r in "${ROWS[@]}"; do
		[ "${r%%|*}" = "$1" ] && echo "$r" | cut -d'|' -f"$2"
	done | grep -v '^-$' | sort -n | head -1 | grep . || echo -
}

echo
echo "# every run (wall s, server CPU s, p50/p99 ms and GET/s of the latency load):"
for r in "${ROWS[@]}"; do
	IFS='|' read -r name wall cpu p50 p99 rps cmd <<<"$r"
	printf '#   %-30s %8s %8s %8s %8s %8s\n' "$name" "$wall" "$cpu" "$p50" \
	    "$p99" "$rps"
done
echo
echo "# medians of $REPEAT run(s) (the default-budget row: one sample of" \
    "${DEFAULT_S} s)"
printf '%-30s %8s %9s %8s %8s %8s %8s %8s\n' row wall_s keys/s cpu_s \
    p50_ms p99_ms p99_min get/s
for name in idle "redis-cli --memkeys" "redis-cli --bigkeys" "$OURS" \
    "$MATCH" "$DEF"; do
	w=$(row_median "$name" 2)
	[ "$w" != - ] || continue
	if [ "$name" = idle ]; then
		kps=-
	elif [ "$name" = "$DEF" ]; then
		kps=${DEF_KPS:--}	# a sample, not the whole scan
	else
		kps=$(div "$DBSIZE" "$w" %.0f)
	fi
	printf '%-30s %8s %9s %8s %8s %8s %8s %8s\n' "$name" "$w" "$kps" \
	    "$(row_median "$name" 3)" "$(row_median "$name" 4)" \
	    "$(row_median "$name" 5)" "$(row_min "$name" 5)" \
	    "$(row_median "$name" 6)"
done
echo
echo "# latency load: $LAT_CMD (again and again, during each row)"
for r in "${ROWS[@]}"; do
	IFS='|' read -r name wall cpu p50 p99 rps cmd <<<"$r"
	echo "# $name: ${cmd/#$BIGSCAN_RUN/bigscan_run}"
done | awk '!seen[$0]++'

idle99=$(row_median idle 5)
mem_wall=$(row_median "redis-cli --memkeys" 2)
mem99=$(row_median "redis-cli --memkeys" 5)
echo
echo "# goals: throughput >= --memkeys (no budget); p99 impact <= half of" \
    "--memkeys' (at --memkeys' rate, and at the default budget);"
echo "# impact: the row's p99 less idle's (medians)"
for which in "$OURS" "$MATCH" "$DEF"; do
	w=$(row_median "$which" 2)
	[ "$w" != - ] || continue
	[ "$which" != "$DEF" ] || w=$(div "$DBSIZE" "${DEF_KPS:-0}")
	awk -v w="$w" -v mw="$mem_wall" -v p="$(row_median "$which" 5)" \
	    -v mp="$mem99" -v i="$idle99" -v n="$which" 'BEGIN {
		if (w == "-" || w == 0) printf "# %s: ", n
		else printf "# %s: throughput %.2fx --memkeys (%s); ",
		    n, mw / w, (mw / w >= 1 ? "met" : "not met")
		if (p == "-" || mp == "-" || i == "-") { print "p99: -"; exit }
		di = p - i; dm = mp - i
		printf "p99 impact %+.3f ms, --memkeys %+.3f ms (%s)\n",
		    di, dm, (di <= dm / 2 ? "met" : "not met")
	}'
done

# ---- checks -------------------------------------------------------------------

fail=0
check() {	# description jq-expression (true or false)
	if [ "$(jq -r "$2" "$OURS_JSON" 2>/dev/null)" = true ]; then
		echo "ok   $1"
	else
		echo "FAIL $1"
		fail=1
	fi
}
echo
check "scan complete" '.complete'
check "keys examined = DBSIZE ($DBSIZE)" ".keys == $DBSIZE"
check "exactly 5 keys over the limits" '.over | length == 5'
check 'string "big:\x00str": 11000001 bytes' '[.over[] |
    select(.key == "big:\\x00str" and .type == "string" and
    .elements == 11000001 and .size >= 11000001)] | length == 1'
check 'list "big:list\x0a": 20000 elements' '[.over[] |
    select(.key == "big:list\\x0a" and .type == "list" and
    .elements == 20000 and .size >= 20000)] | length == 1'
check 'hash "big:hash\xff": 20000 elements' '[.over[] |
    select(.key == "big:hash\\xff" and .type == "hash" and
    .elements == 20000 and .size >= 20000)] | length == 1'
check 'set "big:set": 20000 elements' '[.over[] |
    select(.key == "big:set" and .type == "set" and
    .elements == 20000 and .size >= 20000)] | length == 1'
check 'zset "big:zset \x22q\x22": 20000 elements' '[.over[] |
    select(.key == "big:zset \\x22q\\x22" and .type == "zset" and
    .elements == 20000 and .size >= 20000)] | length == 1'
check "no near-limit or small key over the limits" \
    '[.over[] | select(.key | startswith("big:") | not)] | length == 0'
check "near:str (exactly 10 MB) is the second largest string" \
    '[.top[] | select(.type == "string")][1].key == "near:str"'
check "type counts add up to the keys" '([.types[].count] | add) == .keys'
check "ladder counts add up to the keys" '([.ladder[].count] | add) == .keys'
check "own commands counted (scan, type, memory|usage)" \
    '.own.scan > 0 and .own.type == .keys and .own["memory|usage"] >= .keys'
echo "# our scan's summary: jq . $OURS_JSON (BENCH_KEEP=1 keeps it)"
exit $fail

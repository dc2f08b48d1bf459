#!/bin/bash
# bench/hotkeys.sh: hot-key sampling (agent/hotkeys.c, through
# bench/hotkeys_run) on a Zipf-like load, against redis-cli --hotkeys.
# See bench/README.md.
#
#   bench/hotkeys.sh [BUILDDIR]        (or: make bench-hotkeys)
#
# One redis-server (maxmemory-policy allkeys-lfu from the start, so that
# LFU counters are sane and redis-cli --hotkeys works; no maxmemory, so
# nothing is evicted) on a free port, with KEYS string keys
# "key:%012d".  Then:
#
#  (a) MONITOR's cost: server CPU (utime+stime of redis-server) of a fixed
#      redis-benchmark GET load (-c 20, -P 1 and -P 16, hitting keys),
#      with and without one attached "redis-cli monitor >/dev/null",
#      interleaved: us per command = (with - without) / commands.  This is
#      the constant c of hotkeys.c's cost model.
#  (b) a python3 load generator (one connection, pipelined batches of
#      BATCH, two in flight): GET 90% / SET 10% of keys drawn Zipf(s =
#      ZIPF_S) from a pool of POOL draws (cycled), key ranks shuffled over
#      the names.  It logs its replies every 50 ms and, at the end, the
#      true count of each key.  hotkeys_run runs all along (budget
#      BUDGET, min period MIN_PERIOD ms, as ccagent's defaults: 2% and the
#      5 s sample interval), and is switched off (SIGUSR1: paused, as
#      during a big-key scan) and on (SIGUSR2) for ROUNDS rounds of
#      PHASE s each.  Throughput off vs on (the first 0.5 s of each phase
#      left out), and in the 50 ms slots that lie inside a MONITOR window
#      (the cost while attached, against the slots within 1.5 s around
#      the windows: a local comparison, which the machine's drifting
#      background load disturbs less; times the duty cycle, it is the
#      average loss).  Recall: the true top 10 among the
#      sampler's top 10 (sum of the windows' estimates).  And the recall
#      of its OBJECT FREQ list (the last window's).
#  (c) then HK_ROUNDS rounds of: PHASE s off, then "redis-cli --hotkeys"
#      (SCAN + OBJECT FREQ of every key) to its end, under the same load:
#      its wall time, the throughput while it runs against the off phases,
#      and the recall of its top 10 (the 16 keys it prints, by counter).
#
# The machine is shared: the figures move with what else runs.  Each
# comparison is interleaved so that a change of background load hits both
# sides alike; the load average at the start is printed.
#
# Environment (defaults): KEYS=100000 ZIPF_S=1.0 POOL=1000000 BATCH=500
#   PHASE=8 ROUNDS=4 HK_ROUNDS=2 BUDGET=0.02 MIN_PERIOD=5000
#   COST_N16=1000000 COST_N1=200000 REDIS_SERVER=/usr/bin/redis-server
#   HOTKEYS_RUN BENCH_KEEP=
set -u
export LC_ALL=C
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

build=${1:-}
HOTKEYS_RUN=${HOTKEYS_RUN:-${build:+$build/bench/hotkeys_run}}
REDIS_SERVER=${REDIS_SERVER:-/usr/bin/redis-server}
KEYS=${KEYS:-100000}
ZIPF_S=${ZIPF_S:-1.0}
POOL=${POOL:-1000000}
BATCH=${BATCH:-500}
PHASE=${PHASE:-8}
ROUNDS=${ROUNDS:-4}
HK_ROUNDS=${HK_ROUNDS:-2}
BUDGET=${BUDGET:-0.02}
MIN_PERIOD=${MIN_PERIOD:-5000}
COST_N16=${COST_N16:-1000000}
COST_N1=${COST_N1:-200000}

if [ -z "$HOTKEYS_RUN" ] || [ ! -x "$HOTKEYS_RUN" ]; then
	echo "usage: $0 BUILDDIR (or set HOTKEYS_RUN)" >&2
	exit 2
fi
for b in "$REDIS_SERVER" redis-cli redis-benchmark python3 ss; do
	if ! command -v "$b" >/dev/null; then
		echo "$0: $b is missing (Debian: redis-server, redis-tools," \
		    "python3, iproute2)" >&2
		exit 2
	fi
done

bench_init hotkeys
port=$(free_ports 1) || exit 1
T=$BENCH_TMP

echo "# bench/hotkeys.sh on $(hostname), $(nproc) CPUs, $(uname -r); $(date -u +%FT%TZ)"
echo "# command: $0 $*   (KEYS=$KEYS ZIPF_S=$ZIPF_S POOL=$POOL BATCH=$BATCH" \
    "PHASE=$PHASE ROUNDS=$ROUNDS HK_ROUNDS=$HK_ROUNDS BUDGET=$BUDGET" \
    "MIN_PERIOD=$MIN_PERIOD COST_N16=$COST_N16 COST_N1=$COST_N1)"
echo "# $("$REDIS_SERVER" --version | cut -d' ' -f1-3) ($REDIS_SERVER), $(python3 --version)"
echo "# load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

bench_start redis "$REDIS_SERVER" --port "$port" --bind 127.0.0.1 \
    --save "" --appendonly no --dir "$T" --maxmemory-policy allkeys-lfu
REDIS_PID=$BENCH_PID
wait_port "$port" 10 || exit 1
sleep 0.2
bench_alive "$REDIS_PID" redis

# ---- the keys ----------------------------------------------------------------
python3 -c '
import sys
n = int(sys.argv[1]); v = "v" * 32
w = sys.stdout.write
for i in range(n):
    w("*3\r\n$3\r\nSET\r\n$16\r\nkey:%012d\r\n$32\r\n%s\r\n" % (i, v))
' "$KEYS" | redis-cli -p "$port" --pipe >"$T/pipe.log" 2>&1
echo "# $(redis-cli -p "$port" dbsize) keys loaded (key:%012d, 32-byte strings)"

# ---- (a) MONITOR's cost -------------------------------------------------------
echo
echo "(a) MONITOR cost: redis-server CPU of redis-benchmark GET key:__rand_int__"
echo "    -r $KEYS -c 20, with and without one 'redis-cli monitor >/dev/null'"
cost_one() {	# pipeline n with-monitor -> prints CPU seconds
	local P=$1 n=$2 mon=$3 mpid= t0 t1
	if [ "$mon" = 1 ]; then
		bench_start monitor sh -c \
		    "exec redis-cli -p $port monitor >/dev/null"
		mpid=$BENCH_PID
		sleep 0.3
	fi
	t0=$(cpu_ticks "$REDIS_PID")
	redis-benchmark -p "$port" -n "$n" -c 20 -P "$P" -r "$KEYS" -q \
	    GET key:__rand_int__ >/dev/null 2>&1
	t1=$(cpu_ticks "$REDIS_PID")
	[ -z "$mpid" ] || bench_stop "$mpid" 2
	div $((t1 - t0)) "$CLK_TCK" %.3f
}
for P in 1 16; do
	if [ "$P" = 1 ]; then n=$COST_N1; else n=$COST_N16; fi
	b=0 m=0
	for r in 1 2; do
		x=$(cost_one "$P" "$n" 0)
		y=$(cost_one "$P" "$n" 1)
		b=$(awk -v a="$b" -v x="$x" 'BEGIN { print a + x }')
		m=$(awk -v a="$m" -v x="$y" 'BEGIN { print a + x }')
		printf '    -P %-2s round %d: %d GETs: %s s CPU without, %s s with MONITOR\n' \
		    "$P" "$r" "$n" "$x" "$y"
	done
	awk -v b="$b" -v m="$m" -v n=$((2 * n)) -v P="$P" 'BEGIN {
	    printf "    -P %-2s GET alone %.2f us/command; MONITOR adds %.2f us/command (x%.2f)\n",
	        P, 1e6 * b / n, 1e6 * (m - b) / n, m / b }'
done

# ---- (b) the sampler, on and off ------------------------------------------------
cat >"$T/load.py" <<'EOF'
import collections, itertools, random, signal, socket, sys, time
port, nkeys, s, pool_n, batch, timeline, truth_out = sys.argv[1:8]
port = int(port); nkeys = int(nkeys); s = float(s); pool_n = int(pool_n)
batch = int(batch)
rnd = random.Random(12345)
VAL = 32
ids = list(range(nkeys)); rnd.shuffle(ids)	# rank -> key number
def name(r): return b"key:%012d" % ids[r]
val = b"v" * VAL
get = [b"*2\r\n$3\r\nGET\r\n$16\r\n" + name(r) + b"\r\n" for r in range(nkeys)]
set_ = [b"*3\r\n$3\r\nSET\r\n$16\r\n" + name(r) + b"\r\n$32\r\n" + val + b"\r\n"
    for r in range(nkeys)]
cum = list(itertools.accumulate(1.0 / (r + 1) ** s for r in range(nkeys)))
pool = rnd.choices(range(nkeys), cum_weights=cum, k=pool_n)
cmds = [set_[k] if j % 10 == 9 else get[k] for j, k in enumerate(pool)]
rlen = [5 if j % 10 == 9 else 5 + VAL + 2 for j in range(pool_n)]
sk = socket.create_connection(("127.0.0.1", port))
sk.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
stop = False
def onterm(*a):
    global stop
    stop = True
signal.signal(signal.SIGTERM, onterm)
tl = open(timeline, "w")
buf = bytearray(1 << 20); mv = memoryview(buf)
pos = sent = done = 0; inflight = collections.deque()
slot_t = time.time(); slot_n = 0
tl.write("%.3f 0\n" % slot_t); tl.flush()
def drain(exp):
    while exp > 0:
        r = sk.recv_into(mv, min(exp, len(buf)))
        if r <= 0:
            sys.exit("connection lost")
        exp -= r
while not stop:
    while len(inflight) < 2:
        end = pos + batch
        if end <= pool_n:
            data = b"".join(cmds[pos:end]); exp = sum(rlen[pos:end])
        else:
            end -= pool_n
            data = b"".join(cmds[pos:] + cmds[:end])
            exp = sum(rlen[pos:]) + sum(rlen[:end])
        sk.sendall(data)
        inflight.append(exp); pos = end; sent += batch
    drain(inflight.popleft())
    done += batch; slot_n += batch
    now = time.time()
    if now - slot_t >= 0.05:
        tl.write("%.3f %d\n" % (now, slot_n)); tl.flush()
        slot_t = now; slot_n = 0
for exp in inflight:
    drain(exp)
tl.close()
cycles, rem = divmod(sent, pool_n)
truth = collections.Counter()
for k, c in collections.Counter(pool).items():
    truth[k] = c * cycles
truth.update(pool[:rem])
with open(truth_out, "w") as f:
    for k, c in truth.most_common(100):
        f.write("%s %d\n" % (name(k).decode(), c))
print("sent=%d replies=%d" % (sent, sent))
EOF

echo
echo "(b) sampler: hotkeys_run -p PORT -P -b $BUDGET -m $MIN_PERIOD -n 10, switched"
echo "    off/on every $PHASE s for $ROUNDS rounds; load: python3 load.py (Zipf s=$ZIPF_S" \
    "over $KEYS keys, GET 90% / SET 10%, pipelined $BATCH x 2)"
: >"$T/phases"
bench_start load python3 "$T/load.py" "$port" "$KEYS" "$ZIPF_S" "$POOL" \
    "$BATCH" "$T/timeline" "$T/truth"
LOAD_PID=$BENCH_PID
for i in $(seq 1 300); do
	[ -s "$T/timeline" ] && break
	bench_alive "$LOAD_PID" load
	sleep 0.1
done
sleep 1
bench_start agent "$HOTKEYS_RUN" -p "$port" -P -b "$BUDGET" -m "$MIN_PERIOD" \
    -n 10 -t 100000
AGENT_PID=$BENCH_PID
sleep 0.5
phase() {	# label seconds
	local a b
	a=$(now_s)
	sleep "$2"
	b=$(now_s)
	echo "$1 $a $b" >>"$T/phases"
}
for r in $(seq 1 "$ROUNDS"); do
	kill -USR1 "$AGENT_PID"
	phase off "$PHASE"
	kill -USR2 "$AGENT_PID"
	phase on "$PHASE"
done
kill -USR1 "$AGENT_PID"
bench_alive "$AGENT_PID" agent
echo "agent_cpu $(cpu_ticks "$AGENT_PID") $CLK_TCK" >>"$T/phases"
bench_stop "$AGENT_PID" 5
bench_alive "$LOAD_PID" load

# ---- (c) redis-cli --hotkeys --------------------------------------------------------
for r in $(seq 1 "$HK_ROUNDS"); do
	phase off "$PHASE"
	a=$(now_s)
	redis-cli -p "$port" --hotkeys >"$T/hotkeys.out" 2>&1
	b=$(now_s)
	echo "hotkeys $a $b" >>"$T/phases"
done
bench_alive "$LOAD_PID" load
bench_stop "$LOAD_PID" 10

# ---- figures ----------------------------------------------------------------------------
python3 - "$T" "$PHASE" <<'EOF'
import re, sys
T, phase = sys.argv[1], float(sys.argv[2])
tl = [tuple(map(float, l.split())) for l in open(T + "/timeline")]
phases = []
agent_cpu = 0.0
for l in open(T + "/phases"):
    f = l.split()
    if f[0] == "agent_cpu":
        agent_cpu = float(f[1]) / float(f[2])
    else:
        phases.append((f[0], float(f[1]), float(f[2])))
truth = [l.split() for l in open(T + "/truth")]
top10 = [k for k, c in truth[:10]]
agent = open(T + "/agent.log").read().splitlines()

def rate(a, b):
    # replies in the slots ending in (a + 0.5, b], over their span
    n = 0; t0 = None; t1 = None
    for i in range(1, len(tl)):
        t, c = tl[i]
        if a + 0.5 < tl[i - 1][0] and t <= b:
            n += c; t0 = tl[i - 1][0] if t0 is None else t0; t1 = t
    return n / (t1 - t0) if t0 is not None and t1 > t0 else 0.0

def mean(v): return sum(v) / len(v) if v else 0.0

# windows: wall start_ms and window_ms
wins = []
for l in agent:
    if l.startswith("window\t"):
        f = dict(x.split("=", 1) for x in l.split("\t")[1:])
        wins.append((int(f["start_ms"]) / 1000.0, int(f["window_ms"]) / 1000.0,
            int(f["period_ms"]), int(f["lines"]), int(f["unparsed"])))
def in_window(a, b):
    return any(ws <= a and b <= ws + wl for ws, wl, *_ in wins)
def near_window(a, b):
    # within 1.5 s of a window, not in one, nor in a phase switch
    return any(ws - 1.5 <= a and b <= ws - 0.1 or
        ws + wl + 0.1 <= a and b <= ws + wl + 1.5 for ws, wl, *_ in wins) and \
        not any(ws <= b and a <= ws + wl for ws, wl, *_ in wins) and \
        any(l == "on" and x + 0.5 <= a and b <= y for l, x, y in phases)
att_n = att_t = near_n = near_t = 0.0
for i in range(1, len(tl)):
    a, b = tl[i - 1][0], tl[i][0]
    if in_window(a, b):
        att_n += tl[i][1]; att_t += b - a
    elif near_window(a, b):
        near_n += tl[i][1]; near_t += b - a

off = [rate(a, b) for l, a, b in phases if l == "off"]
on = [rate(a, b) for l, a, b in phases if l == "on"]
hk = [(rate(a - 0.5, b), b - a) for l, a, b in phases if l == "hotkeys"]
off_b = off[:len(on)]
off_c = off[len(on):]

print()
print("    throughput (replies/s), per phase, first 0.5 s of each left out:")
for i, (x, y) in enumerate(zip(off_b, on)):
    print("      round %d: off %8.0f   on %8.0f   (%+.1f%%)" % (i + 1, x, y,
        100 * (y / x - 1) if x else 0))
mo, mn = mean(off_b), mean(on)
sd = (sum((x - mo) ** 2 for x in off_b) / (len(off_b) - 1)) ** 0.5 if len(off_b) > 1 else 0
print("    sampler, direct: off %.0f/s, on %.0f/s (%+.1f%%); but the off phases"
    " alone spread by %.1f%% (sd/mean), so this cannot resolve a loss below that"
    % (mo, mn, 100 * (mn / mo - 1) if mo else 0, 100 * sd / mo if mo else 0))
duty = sum(w[1] for w in wins) / (len(on) * phase) if on else 0
if wins:
    print("    %d windows: %s ms, periods %s ms (duty %.2f%% of the on time); %d lines, %d unparsed"
        % (len(wins), "/".join("%.0f" % (w[1] * 1000) for w in wins[:8]) +
        ("/..." if len(wins) > 8 else ""), "/".join(str(w[2]) for w in wins[:8]) +
        ("/..." if len(wins) > 8 else ""), 100 * duty, sum(w[3] for w in wins),
        sum(w[4] for w in wins)))
if att_t > 0 and near_t > 0:
    la = 1 - (att_n / att_t) / (near_n / near_t)
    print("    while attached (%.2f s of 50 ms slots inside windows): %.0f/s, against"
        " %.0f/s within 1.5 s around them: %.1f%% lower" % (att_t, att_n / att_t,
        near_n / near_t, 100 * la))
    print("    so the loss the duty cycle gives: %.2f%% x %.1f%% = %.2f%% (goal < 5%%)"
        % (100 * duty, 100 * la, 100 * duty * la))
    if lines_total := sum(w[3] for w in wins):
        print("    hotkeys_run CPU: %.2f s for %d MONITOR lines (%.2f us/line, INFO"
            " rounds included)" % (agent_cpu, lines_total, 1e6 * agent_cpu / lines_total))
for l in agent:
    if l.startswith("summary") or l.startswith("own"):
        print("    hotkeys_run " + l.replace("\t", " "))

keys = [l.split("\t") for l in agent if l.startswith("key\t")]
mine = [k[2] for k in keys[:10]]
hit = sum(1 for k in mine if k in top10)
print("    true top 10 (count over the run): " + ", ".join("%s=%s" % (k[4:].lstrip("0") or "0", c)
    for k, c in truth[:10]))
print("    sampler top 10 (estimated count): " + ", ".join("%s=%s" % (k[2][4:].lstrip("0") or "0",
    k[3]) for k in keys[:10]))
print("    RECALL sampler: %d/10 of the true top 10 (goal >= 9/10)" % hit)
span = tl[-1][0] - tl[0][0]
per = sum(w[2] for w in wins) / 1000.0
if keys and per > 0 and span > 0:
    tc = dict(truth)
    print("    estimates: calls/s of the sampler's top 3 (sum of estimates / sum of"
        " periods) against the truth (count / %.0f s of load): %s" % (span,
        ", ".join("%.0f vs %.0f" % (int(k[3]) / per, int(tc.get(k[2], 0)) / span)
        for k in keys[:3])))
lfu = [l.split("\t") for l in agent if l.startswith("lfu\t")]
if lfu:
    lk = [k[2] for k in lfu[:10]]
    print("    RECALL sampler's OBJECT FREQ list (last window, top 10 by freq):"
        " %d/10; freqs %s" % (sum(1 for k in lk if k in top10),
        ",".join(k[3] for k in lfu[:10])))

print()
print("(c) redis-cli --hotkeys under allkeys-lfu, same load, after %.0f s off:" % phase)
for i, ((r, d), o) in enumerate(zip(hk, off_c)):
    print("      round %d: off %8.0f   during --hotkeys %8.0f (%+.1f%%), its wall time %.2f s"
        % (i + 1, o, r, 100 * (r / o - 1) if o else 0, d))
mo, mh = mean(off_c), mean([r for r, d in hk])
print("    redis-cli --hotkeys: off %.0f/s, during %.0f/s: throughput loss %.1f%% while it runs"
    % (mo, mh, 100 * (1 - mh / mo) if mo else 0))
out = open(T + "/hotkeys.out").read()
found = re.findall(r'hot key found with counter: (\d+)\s+keyname: "?([^"\s]+)"?', out)
found.sort(key=lambda x: -int(x[0]))
theirs = [k for c, k in found[:10]]
print("    its top 10 (counter): " + ", ".join("%s=%s" % (k[4:].lstrip("0") or "0", c)
    for c, k in found[:10]))
print("    RECALL redis-cli --hotkeys: %d/10 of the true top 10 (ties at the"
    " counter's 255 cap are in its order)" % sum(1 for k in theirs if k in top10))
EOF

#!/usr/bin/env bash
# Load benchmark of `tollgate serve` (issue 13), on loopback, with wrk.
#
#   benches/serve-load.sh                 # about 5 minutes
#   DURATION=30s benches/serve-load.sh    # longer measured runs
#   PERF=1 benches/serve-load.sh          # also a perf profile of the decide run
#                                         # (perf slows that run: take figures without it)
#
# What it runs, each server on 127.0.0.1 (port 0), each wrk run a warm-up
# and then a measured run; all but the overload run in ROUNDS rounds, in turn,
# since this shared VM's speed drifts by tens of percent within minutes:
#
#   decide     tollgate serve, POST /v1/policies/ampere/decide, one decision
#              per request, keep-alive, $CONNS connections
#   naive      examples/naive_server.rs, the same route done naively (body
#              into serde_json::Value, snapshot written out and read with
#              snapshot_from_json, decide, to_json), same stack
#   echo       examples/naive_server.rs, POST /echo: the body sent back, the
#              HTTP ceiling of this machine for this request
#   lean       examples/naive_server.rs, POST .../lean: a sketch of the
#              handler changes docs/performance.md proposes (no target; it
#              shows what they would gain), same stack, the server's bytes
#   batch      tollgate serve, POST .../decide/batch, $BATCH_ITEMS decisions
#              per request, $BATCH_CONNS connections
#   overload   tollgate serve, $OVERLOAD_CONNS connections; every response
#              must be a 200 or a 503, the server must stay up
#   in-process tollgate decide --batch over $INPROC_LINES lines of the same
#              request, in the same run
#
# and prints the medians, the figures round by round (the ratios are taken
# within a round), and the targets, met or missed.
# The request is $SNAPSHOT decided for $ROLE / $ACTION by policies/ampere.policy.
# Peak memory is the server's VmHWM (/proc/PID/status) after all its runs;
# server CPU is its utime + stime over a measured run, wrk's is measured
# with GNU time, and a run where other processes took more than a tenth of
# a core is marked disturbed.
#
# Settings (environment): ROUNDS (3), DURATION (10s), WARMUP (3s), CONNS (64),
# THREADS (2), BATCH_CONNS (8), BATCH_ITEMS (1000), OVERLOAD_CONNS (2000),
# OVERLOAD_DURATION (= DURATION), WRK_TIMEOUT (10s), INPROC_LINES (500000),
# SNAPSHOT, ROLE, ACTION, OUT (where outputs go; default
# target/serve-load/DATE), SKIP_BUILD=1, PERF=1, FAIL_ON_MISS=1 (exit 1 when
# a target is missed), OVERLOAD_BATCH=1 (also the overload run with batch
# bodies: a few hundred MB of memory; docs/performance.md has figures).

set -euo pipefail

cd "$(dirname "$0")/.."
root=$PWD

DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-3s}
CONNS=${CONNS:-64}
THREADS=${THREADS:-2}
BATCH_CONNS=${BATCH_CONNS:-8}
BATCH_ITEMS=${BATCH_ITEMS:-1000}
OVERLOAD_CONNS=${OVERLOAD_CONNS:-2000}
OVERLOAD_DURATION=${OVERLOAD_DURATION:-$DURATION}
WRK_TIMEOUT=${WRK_TIMEOUT:-10s}
INPROC_LINES=${INPROC_LINES:-500000}
ROUNDS=${ROUNDS:-3}
SNAPSHOT=${SNAPSHOT:-examples/dispute-debt.json}
ROLE=${ROLE:-owner}
ACTION=${ACTION:-run_tool}
POLICY=policies/ampere.policy
POLICY_NAME=ampere
OUT=${OUT:-target/serve-load/$(date +%Y%m%d-%H%M%S)}

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
log() { printf '%s\n' "$*" >&2; }

# --- prerequisites ---------------------------------------------------------

if ! command -v wrk >/dev/null; then
    log "installing wrk (Debian package)"
    if [ "$(id -u)" = 0 ]; then
        apt-get install -y wrk >/dev/null || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
    else
        sudo apt-get install -y wrk >/dev/null || { sudo apt-get update >/dev/null && sudo apt-get install -y wrk >/dev/null; }
    fi
fi
for tool in python3 curl; do
    command -v "$tool" >/dev/null || { log "needs $tool"; exit 2; }
done
TIME=/usr/bin/time
[ -x "$TIME" ] || { log "needs GNU time (/usr/bin/time; Debian package \`time\`)"; exit 2; }

# 2,000 client sockets and as many on the server side.
hard=$(ulimit -Hn)
want=$((OVERLOAD_CONNS * 2 + 1024))
if [ "$hard" = unlimited ] || [ "$hard" -ge "$want" ]; then
    ulimit -n "$want"
else
    ulimit -n "$hard"
    log "warning: open files limited to $hard; the overload run needs about $want"
fi

if [ "${SKIP_BUILD:-0}" != 1 ]; then
    log "building release binaries"
    cargo build --release --quiet --bin tollgate --example naive_server
fi
TOLLGATE=$root/target/release/tollgate
NAIVE=$root/target/release/examples/naive_server

# --- request bodies --------------------------------------------------------

python3 - "$SNAPSHOT" "$ROLE" "$ACTION" "$BATCH_ITEMS" "$OUT" <<'EOF'
import json, sys
snapshot, role, action, items, out = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
with open(snapshot) as f:
    snap = json.load(f)
one = {"snapshot": snap, "role": role, "action": action}
compact = lambda v: json.dumps(v, separators=(",", ":"))
with open(f"{out}/decide.json", "w") as f:
    f.write(compact(one))
with open(f"{out}/batch.json", "w") as f:
    f.write(compact({"requests": [one] * items}))
EOF

# --- servers ---------------------------------------------------------------

PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    rm -f "$OUT/batch.jsonl"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start NAME CMD...: starts a server, waits for the address it prints, and
# sets SERVER_PID and SERVER_URL.
start() {
    local name=$1
    shift
    "$@" >"$OUT/$name.stdout" 2>"$OUT/$name.stderr" &
    SERVER_PID=$!
    PIDS+=("$SERVER_PID")
    local i
    for i in $(seq 100); do
        SERVER_URL=$(grep -o 'listening on http://[0-9.:]*' "$OUT/$name.stderr" | sed 's/listening on //' || true)
        [ -n "$SERVER_URL" ] && return 0
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    log "$name did not start:"
    cat "$OUT/$name.stderr" >&2
    exit 1
}

# stop PID: SIGTERM, then waits for it.
stop() {
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
    local keep=() pid
    for pid in "${PIDS[@]}"; do
        [ "$pid" = "$1" ] || keep+=("$pid")
    done
    PIDS=("${keep[@]}")
}

peak_rss_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }
# utime + stime, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# busy and steal ticks of the whole machine.
machine_ticks() { awk '/^cpu / { print $2+$3+$4+$7+$8+$9, $9 }' /proc/stat; }
TICK=$(getconf CLK_TCK)

declare -A R
DISTURBED=

# measure NAME PID URL BODY CONNS DURATION [count]: a warm-up run, then the
# measured run; the RESULT line's fields land in R[NAME.field].
measure() {
    local name=$1 pid=$2 url=$3 body=$4 conns=$5 duration=$6 count=${7:-0}
    local threads=$THREADS
    [ "$conns" -lt "$threads" ] && threads=$conns
    log "$name: $conns connections, warm-up $WARMUP, measured $duration"
    WRK_BODY=$body WRK_COUNT_STATUS=$count wrk -t"$threads" -c"$conns" -d"$WARMUP" \
        --timeout "$WRK_TIMEOUT" -s "$root/benches/wrk/post.lua" "$url" >"$OUT/$name.warmup.txt" 2>&1
    local cpu0 m0 cpu1 m1
    cpu0=$(cpu_ticks "$pid")
    m0=$(machine_ticks)
    R[$name.load]=$(cut -d' ' -f1 /proc/loadavg)
    local perf_pid=
    if [ "${PERF:-0}" = 1 ] && [ "$name" = decide@1 ]; then
        # Time samples (this VM has no hardware counters); DWARF call
        # graphs, since the release build keeps no frame pointers.
        perf record -q -e cpu-clock -F 499 --call-graph dwarf,16384 -p "$pid" -o "$OUT/perf.data" \
            -- sleep "${duration%s}" 2>"$OUT/perf.stderr" &
        perf_pid=$!
    fi
    WRK_BODY=$body WRK_COUNT_STATUS=$count "$TIME" -f '%U %S' -o "$OUT/$name.wrk-cpu" wrk -t"$threads" -c"$conns" -d"$duration" \
        --timeout "$WRK_TIMEOUT" --latency -s "$root/benches/wrk/post.lua" "$url" >"$OUT/$name.txt" 2>&1
    cpu1=$(cpu_ticks "$pid")
    m1=$(machine_ticks)
    [ -n "$perf_pid" ] && wait "$perf_pid"
    local line field
    line=$(grep '^RESULT ' "$OUT/$name.txt") || { log "$name: wrk failed:"; cat "$OUT/$name.txt" >&2; exit 1; }
    for field in ${line#RESULT }; do
        R[$name.${field%%=*}]=${field#*=}
    done
    local secs
    secs=$(awk -v us="${R[$name.duration_us]}" 'BEGIN { print us / 1e6 }')
    R[$name.rps]=$(awk -v n="${R[$name.requests]}" -v s="$secs" 'BEGIN { printf "%.0f", n / s }')
    # Server CPU in percent of one core, and machine busy / steal in percent
    # of all cores, over the measured run.
    R[$name.server_cpu]=$(awk -v a="$cpu0" -v b="$cpu1" -v t="$TICK" -v s="$secs" 'BEGIN { printf "%.0f", (b - a) / t / s * 100 }')
    R[$name.server_cpu_us]=$(awk -v a="$cpu0" -v b="$cpu1" -v t="$TICK" -v n="${R[$name.requests]}" 'BEGIN { printf "%.2f", (b - a) / t * 1e6 / n }')
    read -r busy0 steal0 <<<"$m0"
    read -r busy1 steal1 <<<"$m1"
    local cores
    cores=$(nproc)
    R[$name.machine_busy]=$(awk -v a="$busy0" -v b="$busy1" -v t="$TICK" -v s="$secs" -v c="$cores" 'BEGIN { printf "%.0f", (b - a) / t / s / c * 100 }')
    R[$name.steal]=$(awk -v a="$steal0" -v b="$steal1" -v t="$TICK" -v s="$secs" -v c="$cores" 'BEGIN { printf "%.0f", (b - a) / t / s / c * 100 }')
    # wrk's own CPU, and what the rest of the machine took (other users'
    # work): in percent of one core. A run where others took more than a
    # tenth of a core is marked disturbed: the generator and the server
    # did not have the machine to themselves, and its rate says little.
    local wrk_user wrk_sys
    read -r wrk_user wrk_sys <"$OUT/$name.wrk-cpu"
    R[$name.wrk_cpu]=$(awk -v u="$wrk_user" -v s="$wrk_sys" -v d="$secs" 'BEGIN { printf "%.0f", (u + s) / d * 100 }')
    R[$name.other_cpu]=$(awk -v m="${R[$name.machine_busy]}" -v c="$cores" -v s="${R[$name.server_cpu]}" -v w="${R[$name.wrk_cpu]}" 'BEGIN { o = m * c - s - w; printf "%.0f", o < 0 ? 0 : o }')
    if [ "${R[$name.other_cpu]}" -gt 10 ]; then
        R[$name.disturbed]=1
        DISTURBED="${DISTURBED:+$DISTURBED, }$name"
    fi
}

decide_url() { echo "$1/v1/policies/$POLICY_NAME/decide"; }

log "outputs in $OUT; load average $(cut -d' ' -f1-3 /proc/loadavg)"
R[start.load]=$(cut -d' ' -f1-3 /proc/loadavg)

# The servers of the rounds, started once: tollgate serve for decide, one
# for batch, and the naive_server (naive handler, lean sketch, echo).
post_ok() { # NAME URL BODY: one request, which must answer 200
    local code
    code=$(curl -sS -o "$OUT/$1.response.json" -w '%{http_code}' -H 'Content-Type: application/json' \
        --data-binary "@$3" "$2")
    [ "$code" = 200 ] || { log "$1 answered $code:"; cat "$OUT/$1.response.json" >&2; exit 1; }
}
start serve-decide "$TOLLGATE" serve "$POLICY" --addr 127.0.0.1:0
decide_pid=$SERVER_PID decide_at=$(decide_url "$SERVER_URL")
start serve-batch "$TOLLGATE" serve "$POLICY" --addr 127.0.0.1:0
batch_pid=$SERVER_PID batch_at="$(decide_url "$SERVER_URL")/batch"
start naive "$NAIVE" "$POLICY" --addr 127.0.0.1:0
naive_pid=$SERVER_PID naive_at=$(decide_url "$SERVER_URL")
lean_at="$SERVER_URL/v1/policies/$POLICY_NAME/lean" echo_at="$SERVER_URL/echo"
post_ok decide "$decide_at" "$OUT/decide.json"
post_ok naive "$naive_at" "$OUT/decide.json"
post_ok lean "$lean_at" "$OUT/decide.json"
post_ok batch "$batch_at" "$OUT/batch.json"

# The in-process figure: the same request, one per line, decided by
# `tollgate decide --batch` (one worker per core), input in the page cache.
python3 - "$OUT/decide.json" "$OUT/batch.jsonl" "$INPROC_LINES" <<'EOF2'
import sys
line = open(sys.argv[1]).read().strip() + "\n"
n = int(sys.argv[3])
with open(sys.argv[2], "w") as f:
    for _ in range(n // 10000):
        f.write(line * 10000)
    f.write(line * (n % 10000))
EOF2
cat "$OUT/batch.jsonl" >/dev/null
inprocess() { # NAME
    local wall user sys maxkb decided
    log "$1: tollgate decide --batch, $INPROC_LINES lines"
    R[$1.load]=$(cut -d' ' -f1 /proc/loadavg)
    "$TIME" -f '%e %U %S %M' -o "$OUT/$1.time" \
        "$TOLLGATE" decide "$POLICY" --batch "$OUT/batch.jsonl" >"$OUT/inproc.out"
    read -r wall user sys maxkb <"$OUT/$1.time"
    decided=$(grep -c '"outcome"' "$OUT/inproc.out")
    [ "$decided" = "$INPROC_LINES" ] || { log "in-process: $decided of $INPROC_LINES lines decided"; exit 1; }
    rm -f "$OUT/inproc.out"
    R[$1.rps]=$(awk -v n="$INPROC_LINES" -v w="$wall" 'BEGIN { printf "%.0f", n / w }')
    R[$1.server_cpu_us]=$(awk -v n="$INPROC_LINES" -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", (u + s) * 1e6 / n }')
    R[$1.rss_kb]=$maxkb
}

# Rounds: the machine's speed drifts by tens of percent within minutes (a
# shared VM), so the handlers are measured in turn, ROUNDS times, in a
# rotating order, and compared round by round; the figures are medians.
phases=(decide naive lean echo batch inproc)
for round in $(seq "$ROUNDS"); do
    for i in "${!phases[@]}"; do
        phase=${phases[$(((i + round - 1) % ${#phases[@]}))]}
        case $phase in
            decide) measure "decide@$round" "$decide_pid" "$decide_at" "$OUT/decide.json" "$CONNS" "$DURATION" ;;
            naive) measure "naive@$round" "$naive_pid" "$naive_at" "$OUT/decide.json" "$CONNS" "$DURATION" ;;
            lean) measure "lean@$round" "$naive_pid" "$lean_at" "$OUT/decide.json" "$CONNS" "$DURATION" ;;
            echo) measure "echo@$round" "$naive_pid" "$echo_at" "$OUT/decide.json" "$CONNS" "$DURATION" ;;
            batch) measure "batch@$round" "$batch_pid" "$batch_at" "$OUT/batch.json" "$BATCH_CONNS" "$DURATION" ;;
            inproc) inprocess "inproc@$round" ;;
        esac
    done
done
R[decide.rss_kb]=$(peak_rss_kb "$decide_pid")
R[batch.rss_kb]=$(peak_rss_kb "$batch_pid")
stop "$decide_pid"
stop "$batch_pid"
stop "$naive_pid"

# Overload: every response a 200 or a 503, the server up afterwards.
start serve-overload "$TOLLGATE" serve "$POLICY" --addr 127.0.0.1:0
measure overload "$SERVER_PID" "$(decide_url "$SERVER_URL")" "$OUT/decide.json" "$OVERLOAD_CONNS" "$OVERLOAD_DURATION" 1
R[overload.rss_kb]=$(peak_rss_kb "$SERVER_PID")
if kill -0 "$SERVER_PID" 2>/dev/null; then
    R[overload.alive]=yes
    R[overload.live]=$(curl -sS -o /dev/null -w '%{http_code}' "$SERVER_URL/health/live" || echo 000)
    R[overload.after]=$(curl -sS -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
        --data-binary "@$OUT/decide.json" "$(decide_url "$SERVER_URL")" || echo 000)
else
    R[overload.alive]=no R[overload.live]=000 R[overload.after]=000
fi
stop "$SERVER_PID"

# Overload with batch bodies (OVERLOAD_BATCH=1; the issue sets no target
# for it): the same connections, each request 1,000 decisions.
if [ "${OVERLOAD_BATCH:-0}" = 1 ]; then
    start serve-overload-batch "$TOLLGATE" serve "$POLICY" --addr 127.0.0.1:0
    WARMUP=1s measure overload_batch "$SERVER_PID" "$(decide_url "$SERVER_URL")/batch" "$OUT/batch.json" "$OVERLOAD_CONNS" "$OVERLOAD_DURATION" 1
    R[overload_batch.rss_kb]=$(peak_rss_kb "$SERVER_PID")
    R[overload_batch.threads]=$(find "/proc/$SERVER_PID/task" -mindepth 1 -maxdepth 1 | wc -l)
    R[overload_batch.live]=$(curl -sS -o /dev/null -w '%{http_code}' "$SERVER_URL/health/live" || echo 000)
    stop "$SERVER_PID"
fi


# --- summary ---------------------------------------------------------------

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
ms() { awk -v us="$1" 'BEGIN { printf "%.2f", us / 1000 }'; }
mb() { awk -v kb="$1" 'BEGIN { printf "%.1f", kb / 1024 }'; }
int() { awk -v x="$1" 'BEGIN { printf "%.0f", x }'; }
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { printf "%.4f", NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
rounds_of() { # NAME FIELD: the field in every round
    local r
    for r in $(seq "$ROUNDS"); do echo "${R[$1@$r.$2]}"; done
}
# Medians over the rounds into R[NAME.FIELD]; errors summed; the range of rates.
aggregate() {
    local name=$1 field values
    for field in rps p50_us p90_us p99_us max_us server_cpu wrk_cpu other_cpu server_cpu_us machine_busy steal load rss_kb; do
        [ -n "${R[$name@1.$field]:-}" ] || continue
        # shellcheck disable=SC2046
        R[$name.$field]=$(median $(rounds_of "$name" "$field"))
    done
    values=$(rounds_of "$name" rps | sort -g)
    R[$name.rps_range]="$(int "$(head -1 <<<"$values")")–$(int "$(tail -1 <<<"$values")")"
    for field in connect read write timeout non2xx; do
        [ -n "${R[$name@1.$field]:-}" ] || continue
        R[$name.$field]=$(rounds_of "$name" "$field" | awk '{ s += $1 } END { print s }')
    done
    if [ -n "${R[$name@1.other_cpu]:-}" ]; then
        R[$name.other_cpu_max]=$(rounds_of "$name" other_cpu | sort -g | tail -1)
    fi
}
for name in decide naive lean echo batch inproc; do
    aggregate "$name"
done
# Ratios round by round (both sides measured minutes apart at most).
for r in $(seq "$ROUNDS"); do
    R[naive_ratio@$r]=$(ratio "${R[decide@$r.rps]}" "${R[naive@$r.rps]}")
    R[echo_ratio@$r]=$(ratio "${R[decide@$r.rps]}" "${R[echo@$r.rps]}")
    R[lean_naive@$r]=$(ratio "${R[lean@$r.rps]}" "${R[naive@$r.rps]}")
    R[lean_echo@$r]=$(ratio "${R[lean@$r.rps]}" "${R[echo@$r.rps]}")
    R[batch_inproc@$r]=$(ratio "$((${R[batch@$r.rps]%.*} * BATCH_ITEMS))" "${R[inproc@$r.rps]}")
done
for x in naive_ratio echo_ratio lean_naive lean_echo batch_inproc; do
    values=$(for r in $(seq "$ROUNDS"); do echo "${R[$x@$r]}"; done | sort -g)
    # shellcheck disable=SC2046
    R[$x]=$(awk -v m="$(median $values)" 'BEGIN { printf "%.2f", m }')
    R[$x.range]="$(head -1 <<<"$values")–$(tail -1 <<<"$values")"
done
R[batch.decisions]=$(awk -v r="${R[batch.rps]}" -v n="$BATCH_ITEMS" 'BEGIN { printf "%.0f", r * n }')
R[batch.server_cpu_us_decision]=$(awk -v c="${R[batch.server_cpu_us]}" -v n="$BATCH_ITEMS" 'BEGIN { printf "%.2f", c / n }')
pct() { awk -v r="$1" 'BEGIN { printf "%.0f%%", r * 100 }'; }

{
    echo "tollgate serve load benchmark, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, $(uname -r)"
    echo "commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'); request: $SNAPSHOT, $ROLE / $ACTION ($(wc -c <"$OUT/decide.json") bytes)"
    echo "wrk: $THREADS threads; each run a $WARMUP warm-up and $DURATION measured; $ROUNDS rounds; load average at start ${R[start.load]}"
    echo
    echo "Medians over the rounds (rates: the range too):"
    echo
    echo "| run | connections | requests/s | range | decisions/s | p50 ms | p90 ms | p99 ms | max ms | errors | server CPU | wrk CPU | others' CPU (max) | µs server CPU per request | steal | peak RSS MB |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    for run in decide naive lean echo batch overload; do
        conns=$CONNS
        [ "$run" = batch ] && conns=$BATCH_CONNS
        [ "$run" = overload ] && conns=$OVERLOAD_CONNS
        decisions=$(int "${R[$run.rps]}")
        [ "$run" = batch ] && decisions=${R[batch.decisions]}
        [ "$run" = echo ] && decisions=-
        errors="c${R[$run.connect]} r${R[$run.read]} w${R[$run.write]} t${R[$run.timeout]} non2xx ${R[$run.non2xx]}"
        rss=-
        [ -n "${R[$run.rss_kb]:-}" ] && rss=$(mb "${R[$run.rss_kb]}")
        echo "| $run | $conns | $(int "${R[$run.rps]}") | ${R[$run.rps_range]:--} | $decisions | $(ms "${R[$run.p50_us]}") | $(ms "${R[$run.p90_us]}") | $(ms "${R[$run.p99_us]}") | $(ms "${R[$run.max_us]}") | $errors | $(int "${R[$run.server_cpu]}")% | $(int "${R[$run.wrk_cpu]}")% | ${R[$run.other_cpu_max]:-${R[$run.other_cpu]}}% | $(awk -v x="${R[$run.server_cpu_us]}" 'BEGIN { printf "%.2f", x }') | $(int "${R[$run.steal]}")% | $rss |"
    done
    echo "| in-process \`decide --batch\` | - | - | ${R[inproc.rps_range]} | $(int "${R[inproc.rps]}") | - | - | - | - | - | - | - | - | $(awk -v x="${R[inproc.server_cpu_us]}" 'BEGIN { printf "%.2f", x }') per decision | - | $(mb "${R[inproc.rss_kb]}") |"
    echo
    echo "Round by round (rates per second; µs of server CPU per request):"
    echo
    echo "| round | decide | naive | lean | echo | batch decisions | in-process | decide ÷ naive | decide ÷ echo | lean ÷ naive | lean ÷ echo | decide p99 ms | µs decide / naive / lean / echo | others' CPU max | load |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    for r in $(seq "$ROUNDS"); do
        others=$(for n in decide naive lean echo batch; do echo "${R[$n@$r.other_cpu]}"; done | sort -g | tail -1)
        echo "| $r | ${R[decide@$r.rps]} | ${R[naive@$r.rps]} | ${R[lean@$r.rps]} | ${R[echo@$r.rps]} | $((${R[batch@$r.rps]%.*} * BATCH_ITEMS)) | ${R[inproc@$r.rps]} | ${R[naive_ratio@$r]} | ${R[echo_ratio@$r]} | ${R[lean_naive@$r]} | ${R[lean_echo@$r]} | $(ms "${R[decide@$r.p99_us]}") | ${R[decide@$r.server_cpu_us]} / ${R[naive@$r.server_cpu_us]} / ${R[lean@$r.server_cpu_us]} / ${R[echo@$r.server_cpu_us]} | ${others}% | ${R[decide@$r.load]} |"
    done
    echo
    echo "overload statuses: 200 ${R[overload.status200]}, 503 ${R[overload.status503]}, other ${R[overload.status_other]}; alive ${R[overload.alive]}, /health/live ${R[overload.live]}, a decide after ${R[overload.after]}"
    echo "lean (a sketch, no target): ${R[lean_naive]}× the naive handler (${R[lean_naive.range]}), $(pct "${R[lean_echo]}") of the echo route (${R[lean_echo.range]})"
    echo "batch: µs of server CPU per decision ${R[batch.server_cpu_us_decision]}, in-process $(awk -v x="${R[inproc.server_cpu_us]}" 'BEGIN { printf "%.2f", x }'); batch endpoint ${R[batch_inproc]}× the in-process rate (${R[batch_inproc.range]})"
    if [ "${OVERLOAD_BATCH:-0}" = 1 ]; then
        echo "overload with batch bodies ($OVERLOAD_CONNS connections, no target): 200 ${R[overload_batch.status200]}, 503 ${R[overload_batch.status503]}, other ${R[overload_batch.status_other]}; socket errors c${R[overload_batch.connect]} r${R[overload_batch.read]} w${R[overload_batch.write]} t${R[overload_batch.timeout]}; peak RSS $(mb "${R[overload_batch.rss_kb]}") MB, ${R[overload_batch.threads]} threads at the end; /health/live ${R[overload_batch.live]}"
    fi
    [ -z "${DISTURBED:-}" ] || echo "**disturbed runs** (others took over a tenth of a core): $DISTURBED; their rates and the ratios built on them are not this server's"
    echo
} | tee "$OUT/summary.md"

missed=0
# target NAME MEASURED PASS(0/1)
target() {
    local status=met
    [ "$3" = 1 ] || { status="**missed**"; missed=$((missed + 1)); }
    echo "| $1 | $2 | $status |"
}
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }' && echo 1 || echo 0; }
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }' && echo 1 || echo 0; }

overload_ok=0
if [ "${R[overload.alive]}" = yes ] && [ "${R[overload.live]}" = 200 ] && [ "${R[overload.after]}" = 200 ] &&
    [ "${R[overload.status_other]}" = 0 ] && [ "${R[overload.connect]}" = 0 ] && [ "${R[overload.read]}" = 0 ] &&
    [ "${R[overload.write]}" = 0 ] && [ "${R[overload.timeout]}" = 0 ]; then
    overload_ok=1
fi
normal_rss=${R[decide.rss_kb]}
[ "${R[batch.rss_kb]}" -gt "$normal_rss" ] && normal_rss=${R[batch.rss_kb]}
{
    echo "| target | measured | status |"
    echo "|---|---|---|"
    target "decide ≥ 60,000 decisions/s ($CONNS connections)" "$(int "${R[decide.rps]}")/s (${R[decide.rps_range]})" "$(ge "${R[decide.rps]}" 60000)"
    target "decide p99 ≤ 5 ms (median of the rounds)" "$(ms "${R[decide.p99_us]}") ms" "$(le "${R[decide.p99_us]}" 5000)"
    target "decide ≥ 1.2× the naive handler" "${R[naive_ratio]}× (${R[naive_ratio.range]}; naive $(int "${R[naive.rps]}")/s)" "$(ge "${R[naive_ratio]}" 1.2)"
    target "decide ≥ 70% of the echo route" "$(pct "${R[echo_ratio]}") (${R[echo_ratio.range]}; echo $(int "${R[echo.rps]}")/s)" "$(ge "${R[echo_ratio]}" 0.7)"
    target "decide/batch ($BATCH_ITEMS per request) ≥ 250,000 decisions/s" "${R[batch.decisions]}/s ($(for r in $(seq "$ROUNDS"); do echo $((${R[batch@$r.rps]%.*} * BATCH_ITEMS)); done | sort -g | awk 'NR == 1 { a = $1 } END { print a "–" $1 }'))" "$(ge "${R[batch.decisions]}" 250000)"
    target "overload ($OVERLOAD_CONNS connections): up, only 200 or 503" "200 ${R[overload.status200]}, 503 ${R[overload.status503]}, other ${R[overload.status_other]}, socket errors c${R[overload.connect]} r${R[overload.read]} w${R[overload.write]} t${R[overload.timeout]}, alive ${R[overload.alive]}" "$overload_ok"
    target "overload peak RSS < 200 MB" "$(mb "${R[overload.rss_kb]}") MB" "$(le "${R[overload.rss_kb]}" $((200 * 1024 - 1)))"
    target "normal load peak RSS < 100 MB (decide and batch runs)" "$(mb "$normal_rss") MB" "$(le "$normal_rss" $((100 * 1024 - 1)))"
} | tee -a "$OUT/summary.md"

log "summary in $OUT/summary.md"
if [ "${PERF:-0}" = 1 ]; then
    log "profile: perf report -i $OUT/perf.data --no-children --sort symbol"
fi
if [ "${FAIL_ON_MISS:-0}" = 1 ] && [ "$missed" -gt 0 ]; then
    exit 1
fi

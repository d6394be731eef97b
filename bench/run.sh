#!/usr/bin/env bash
# bench/run.sh: Sluice against a direct hit on the upstream and against nginx, on 127.0.0.1,
# side by side in one run (rounds interleaved), then idle-connection memory. See bench/README.md.
#
#   bench/run.sh                                 # `make bench`: ~3 min
#   FULL=1 bench/run.sh                          # `make bench-full`: 10 s x 5 rounds, + 64k and POST, ~15 min
#   SLUICE_CMD=/tmp/goproxy SLUICE_NAME=goproxy bench/run.sh   # another gateway in sluice's place
#
# Every process this script starts is recorded by PID and stopped by the EXIT trap
# (TERM to the PID and its descendants, KILL after 5 s). Traffic goes to 127.0.0.1 only.
set -uo pipefail

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH/.." && pwd)

# ------------------------------------------------------------------ settings
FULL=${FULL:-0}
if [[ $FULL == 1 ]]; then
    DURATION=${DURATION:-10}
    REPS=${REPS:-5}
    SCENARIOS=${SCENARIOS:-"small:64 small:256 4k:64 64k:64 post:64 guarded:64 hs256:64 hs256-nocache:64 rs256:64 rs256-nocache:64"}
else
    DURATION=${DURATION:-5}
    REPS=${REPS:-3}
    SCENARIOS=${SCENARIOS:-"small:64 small:256 4k:64 guarded:64 hs256:64 rs256:64"}
fi
WARMUP=${WARMUP:-1}                     # unrecorded seconds per target before each scenario (0: none)
PROXIES=${PROXIES:-"sluice sluice-obs nginx"} # proxies besides "direct"; nginx is skipped if not installed
                                        # sluice-obs: sluice's config with metrics and a JSON access log on
IDLE_N=${IDLE_N:-10000}                 # idle keep-alive conns for the memory test (0: skip)
PIN=${PIN:-1}                           # 1: taskset pinning; 0: unpinned
CPU_CLIENT=${CPU_CLIENT:-0}             # wrk, upstream, idle client
CPU_PROXY=${CPU_PROXY:-1}               # sluice, nginx
WRK_THREADS=${WRK_THREADS:-1}
WRK_LUA=${WRK_LUA:-0}                   # 1: GET scenarios use bench/wrk/get.lua (counts statuses)
UP_PORT=${UP_PORT:-18080}
NGINX_PORT=${NGINX_PORT:-18081}
SLUICE_PORT=${SLUICE_PORT:-18084}
OBS_PORT=${OBS_PORT:-18085}
NGINX_KEEPALIVE=${NGINX_KEEPALIVE:-256} # nginx idle upstream pool: the same 256 as configs/bench.yaml, so the pools match
SLUICE_CMD=${SLUICE_CMD:-}              # empty: `make build`, then bin/sluice -config configs/bench.yaml -loops 1
SLUICE_NAME=${SLUICE_NAME:-sluice}
SLUICE_GOMAXPROCS=${SLUICE_GOMAXPROCS:-1}
NGINX_BIN=${NGINX_BIN:-$(command -v nginx 2>/dev/null || echo /usr/sbin/nginx)}
OUT_DIR=${OUT_DIR:-/tmp/sluice-bench/$(date +%Y%m%d-%H%M%S)}

RUN=$OUT_DIR/run
BIN=$OUT_DIR/bin
TOOL=$BIN/report
CLK_TCK=$(getconf CLK_TCK)
T0=$(date +%s)

declare -a STARTED=()                   # server PIDs we started, in order
declare -A PID_OF=()                    # name -> PID
CHILD=                                  # the foreground client (wrk / idle) while it runs

log() {
    local line
    line=$(printf '[%3ds] %s' "$(( $(date +%s) - T0 ))" "$*")
    printf '%s\n' "$line" >&2
    [[ -d $OUT_DIR ]] && printf '%s\n' "$line" >>"$OUT_DIR/run.log"
    return 0
}
die() { log "ERROR: $*"; exit 1; }

# ------------------------------------------------------------------ process control (by PID only)
alive() { local s; s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1; s=${s##*) }; [[ ${s:0:1} != Z ]]; }

stop_pid() { # TERM the PID and its descendants, KILL whatever is left after 5 s
    local pid=$1 pids p left i
    [[ -n $pid ]] || return 0
    if alive "$pid"; then
        pids=$("$TOOL" tree -pid "$pid" 2>/dev/null) || pids=$pid
        kill -TERM $pids 2>/dev/null
        for i in $(seq 50); do
            left=
            for p in $pids; do alive "$p" && left+=" $p"; done
            [[ -z $left ]] && break
            sleep 0.1
        done
        [[ -n $left ]] && kill -KILL $left 2>/dev/null
    fi
    wait "$pid" 2>/dev/null
    return 0
}

cleanup() {
    local rc=$? pid
    trap - EXIT INT TERM
    [[ -n $CHILD ]] && stop_pid "$CHILD"
    for pid in "${STARTED[@]}"; do stop_pid "$pid"; done
    (( ${#STARTED[@]} > 0 )) && log "stopped ${#STARTED[@]} process(es) started by this run"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# "${ON[@]}" cmd &: start cmd pinned to a CPU. A plain command (not a function) is put in the
# background, so $! is the process itself (taskset execs it), not a subshell around it.
ON_CLIENT=() ON_PROXY=()
if [[ $PIN == 1 ]]; then ON_CLIENT=(taskset -c "$CPU_CLIENT") ON_PROXY=(taskset -c "$CPU_PROXY"); fi

start_server() { # name client|proxy cmd...  (output to $RUN/<name>.log)
    local name=$1 cpu=$2; shift 2
    if [[ $cpu == client ]]; then
        "${ON_CLIENT[@]}" "$@" >"$RUN/$name.log" 2>&1 </dev/null &
    else
        "${ON_PROXY[@]}" "$@" >"$RUN/$name.log" 2>&1 </dev/null &
    fi
    STARTED+=("$!")
    PID_OF[$name]=$!
}

stop_server() {
    local name=$1 pid=${PID_OF[$1]:-} i
    [[ -n $pid ]] || return 0
    stop_pid "$pid"
    for i in "${!STARTED[@]}"; do [[ ${STARTED[$i]} == "$pid" ]] && unset 'STARTED[i]'; done
    STARTED=("${STARTED[@]}")
    unset 'PID_OF[$name]'
}

port_of() {
    case $1 in
        direct | upstream) echo "$UP_PORT" ;;
        nginx) echo "$NGINX_PORT" ;;
        "$SLUICE_NAME" | sluice-plain) echo "$SLUICE_PORT" ;;
        sluice-obs) echo "$OBS_PORT" ;;
    esac
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start_target() { # name: start it and wait until it serves every body correctly
    local name=$1 port
    port=$(port_of "$name")
    case $name in
        upstream)
            start_server upstream client env GOMAXPROCS=1 "$BIN/upstream" -listen "127.0.0.1:$UP_PORT"
            ;;
        nginx)
            mkdir -p "$RUN/nginx/tmp"
            sed -e "s|@UPSTREAM@|127.0.0.1:$UP_PORT|" -e "s|@LISTEN@|127.0.0.1:$NGINX_PORT|" \
                -e "s|@KEEPALIVE@|$NGINX_KEEPALIVE|" "$BENCH/nginx-proxy.conf" >"$RUN/nginx/nginx.conf"
            start_server nginx proxy "$NGINX_BIN" -p "$RUN/nginx/" -c "$RUN/nginx/nginx.conf" -e "$RUN/nginx/error.log"
            ;;
        "$SLUICE_NAME")
            # GATEWAY_LISTEN / UPSTREAM_ADDR let stand-ins written to the anchors' contract run here too.
            start_server "$SLUICE_NAME" proxy env GOMAXPROCS="$SLUICE_GOMAXPROCS" SLUICE_BENCH_HS_SECRET="$BENCH_SECRET" \
                GATEWAY_LISTEN="127.0.0.1:$SLUICE_PORT" UPSTREAM_ADDR="127.0.0.1:$UP_PORT" \
                bash -c 'cd "$0" && exec '"$SLUICE_CMD" "$ROOT"
            ;;
        sluice-obs)
            # configs/bench-auth.yaml on its own port with metrics and an access log file; key paths made
            # absolute since the copy lives in $RUN.
            sed -e "s|^listen: .*|listen: 127.0.0.1:$OBS_PORT|" -e 's|^metrics: false|metrics: true|' \
                -e "s|^access_log: .*|access_log: {path: $RUN/access.log}|" -e "s|\.\./bench/\.keys|$ROOT/bench/.keys|g" \
                "$ROOT/configs/bench-auth.yaml" >"$RUN/bench-obs.yaml"
            start_server sluice-obs proxy env GOMAXPROCS="$SLUICE_GOMAXPROCS" SLUICE_BENCH_HS_SECRET="$BENCH_SECRET" \
                "$ROOT/bin/sluice" -config "$RUN/bench-obs.yaml" -loops 1
            ;;
        *) die "unknown target $name" ;;
    esac
    "$TOOL" wait -url "http://127.0.0.1:$port/" -len 12 -timeout 30s -pid "${PID_OF[$name]}" ||
        { tail -20 "$RUN/$name.log" >&2; die "$name did not serve GET / on 127.0.0.1:$port"; }
    "$TOOL" wait -url "http://127.0.0.1:$port/4k.bin" -len 4096 -timeout 5s &&
        "$TOOL" wait -url "http://127.0.0.1:$port/64k.bin" -len 65536 -timeout 5s ||
        die "$name returns wrong bodies for /4k.bin or /64k.bin"
}

ticks() { local s; s=$("$TOOL" proc -pid "$1" 2>/dev/null) || { echo 0; return; }; s=${s#ticks=}; echo "${s%% *}"; }

run_wrk() { # out target path conns seconds lua(or empty) record(0/1) [header...]
    local out=$1 tg=$2 path=$3 conns=$4 secs=$5 lua=$6 rec=$7 p0=0 p1 u0 u1 w0 w1 h
    local -a hdrs=()
    for h in "${@:8}"; do [[ -n $h ]] && hdrs+=(-H "$h"); done
    local pp=${PID_OF[$tg]:-}
    [[ $tg == sluice-plain ]] && pp=${PID_OF[$SLUICE_NAME]}
    [[ $tg == direct ]] && pp=
    if [[ $rec == 1 ]]; then
        [[ -n $pp ]] && p0=$(ticks "$pp")
        u0=$(ticks "${PID_OF[upstream]}")
    fi
    w0=$(date +%s.%N)
    "${ON_CLIENT[@]}" wrk -t"$WRK_THREADS" -c"$conns" -d"${secs}s" --latency ${lua:+-s "$lua"} "${hdrs[@]}" \
        "http://127.0.0.1:$(port_of "$tg")$path" >"$out" 2>&1 &
    CHILD=$!
    wait "$CHILD"
    CHILD=
    w1=$(date +%s.%N)
    [[ $rec == 1 ]] || return 0
    u1=$(ticks "${PID_OF[upstream]}")
    {
        awk -v a="$w0" -v b="$w1" 'BEGIN{printf "wall_s: %.3f\n", b-a}'
        echo "clk_tck: $CLK_TCK"
        [[ -n $pp ]] && { p1=$(ticks "$pp"); echo "proxy_ticks: $(( p1 - p0 ))"; }
        echo "upstream_ticks: $(( u1 - u0 ))"
    } >>"$out"
}

# ------------------------------------------------------------------ preflight
mkdir -p "$RUN" "$BIN" "$OUT_DIR/wrk" "$OUT_DIR/mem" || die "cannot create $OUT_DIR"
command -v go >/dev/null || die "go is needed"
if ! command -v wrk >/dev/null; then
    log "installing wrk"
    apt-get install -y wrk >"$RUN/apt.log" 2>&1 ||
        { apt-get update >>"$RUN/apt.log" 2>&1 && apt-get install -y wrk >>"$RUN/apt.log" 2>&1; } ||
        die "could not install wrk (see $RUN/apt.log)"
fi
[[ $PIN == 1 ]] && { command -v taskset >/dev/null || die "taskset missing (util-linux); or run with PIN=0"; }

for t in upstream idle report token; do
    (cd "$ROOT" && go build -o "$BIN/$t" "./bench/$t") || die "building bench/$t failed"
done
# Keys and tokens for the JWT scenarios: fresh each run.
TOKENS=$("$BIN/token" -dir "$ROOT/bench/.keys") || die "bench/token failed"
BENCH_SECRET=$(sed -n 's/^SECRET=//p' <<<"$TOKENS")
TOKEN_HS256=$(sed -n 's/^HS256=//p' <<<"$TOKENS")
TOKEN_RS256=$(sed -n 's/^RS256=//p' <<<"$TOKENS")

TARGETS=(direct)
for p in $PROXIES; do
    case $p in
        sluice | "$SLUICE_NAME")
            if [[ -z $SLUICE_CMD ]]; then
                log "building sluice (make build)"
                (cd "$ROOT" && make build) >"$RUN/build.log" 2>&1 ||
                    { tail -20 "$RUN/build.log" >&2; die "make build failed; set SLUICE_CMD, or PROXIES=nginx to skip sluice"; }
                SLUICE_CMD="bin/sluice -config configs/bench-auth.yaml -loops 1"
            fi
            TARGETS+=("$SLUICE_NAME")
            ;;
        sluice-obs)
            [[ -x $ROOT/bin/sluice ]] || (cd "$ROOT" && make build) >"$RUN/build.log" 2>&1 ||
                die "make build failed (for sluice-obs)"
            TARGETS+=(sluice-obs)
            ;;
        nginx)
            if [[ -x $NGINX_BIN ]] || command -v "$NGINX_BIN" >/dev/null; then
                TARGETS+=(nginx)
            else
                log "nginx not installed (apt-get install -y nginx): no nginx column"
            fi
            ;;
        *) die "unknown proxy $p in PROXIES" ;;
    esac
done
PROXY_TARGETS=("${TARGETS[@]:1}")

for sc in $SCENARIOS; do
    [[ $sc =~ ^(small|4k|64k|post|guarded|hs256|hs256-nocache|rs256|rs256-nocache):[0-9]+$ ]] ||
        die "bad scenario '$sc' (want small|4k|64k|post|guarded|hs256|hs256-nocache|rs256|rs256-nocache:<conns>)"
done

ulimit -n "$(ulimit -Hn)" 2>/dev/null
if (( IDLE_N > 0 && $(ulimit -n) < IDLE_N + 200 )); then
    log "ulimit -n is $(ulimit -n): lowering IDLE_N from $IDLE_N to $(( $(ulimit -n) - 200 ))"
    IDLE_N=$(( $(ulimit -n) - 200 ))
fi
for t in upstream "${PROXY_TARGETS[@]}"; do
    port_busy "$(port_of "$t")" && die "127.0.0.1:$(port_of "$t") ($t) is already in use"
done

read -r LOAD0 _ </proc/loadavg
awk -v l="$LOAD0" 'BEGIN{exit !(l > 1.5)}' &&
    log "WARNING: load average is $LOAD0 before the run: other processes are using the CPUs; results may be noisy"
n_sc=$(wc -w <<<"$SCENARIOS")
est=$(( n_sc * ${#TARGETS[@]} * (REPS * (DURATION + 1) + WARMUP + 1) + (IDLE_N > 0 ? ${#PROXY_TARGETS[@]} * 12 : 0) + 5 ))
log "targets: ${TARGETS[*]}; scenarios: $SCENARIOS; ${REPS}x${DURATION}s; IDLE_N=$IDLE_N; ~$(( est / 60 ))m$(( est % 60 ))s"
log "output: $OUT_DIR"

{
    echo "date:      $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "host:      $(uname -sr); $(nproc) cpus; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
    printf '%-11s%s\n' "$SLUICE_NAME:" "$SLUICE_CMD (GOMAXPROCS=$SLUICE_GOMAXPROCS); commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo none)"
    [[ " ${TARGETS[*]} " == *" nginx "* ]] && echo "nginx:     $("$NGINX_BIN" -v 2>&1 | head -1 | sed 's/.*version: //'), 1 worker, keepalive $NGINX_KEEPALIVE"
    echo "upstream:  bench/upstream (Go, GOMAXPROCS=1)"
    echo "wrk:       $(wrk --version 2>&1 | head -1 | cut -d' ' -f1-2), -t$WRK_THREADS -d${DURATION}s --latency; $REPS rounds interleaved; warmup ${WARMUP}s"
    if [[ $PIN == 1 ]]; then
        echo "placement: proxies on CPU $CPU_PROXY; wrk + upstream + idle client on CPU $CPU_CLIENT"
    else
        echo "placement: unpinned"
    fi
    echo "go:        $(go version | cut -d' ' -f3)"
    echo "load:      $LOAD0 (1-min load average before the run; above ~1 means other work shared the CPUs)"
} >"$OUT_DIR/meta.txt"

# ------------------------------------------------------------------ throughput
start_target upstream
for t in "${PROXY_TARGETS[@]}"; do start_target "$t"; done
log "up: $(for t in upstream "${PROXY_TARGETS[@]}"; do printf '%s=%s ' "$t" "${PID_OF[$t]}"; done)"

SC_NAMES=
for sc in $SCENARIOS; do
    body=${sc%%:*} conns=${sc##*:} lua= hdr= auth=
    case $body in
        small) path=/ ;; 4k) path=/4k.bin ;; 64k) path=/64k.bin ;;
        post) path=/ lua=$BENCH/wrk/post.lua ;;
        # The small GET on configs/bench.yaml's guarded route (per-IP rate limit + breaker, passive
        # health and retries); direct and nginx ignore the header and serve it like small.
        guarded) path=/ hdr="X-Bench: guarded" ;;
        # The small GET through a jwt route (configs/bench-auth.yaml), the token from bench/token.
        hs256*) path=/ hdr="X-Bench: $body" auth="Authorization: Bearer $TOKEN_HS256" ;;
        rs256*) path=/ hdr="X-Bench: $body" auth="Authorization: Bearer $TOKEN_RS256" ;;
    esac
    [[ $WRK_LUA == 1 && -z $lua ]] && lua=$BENCH/wrk/get.lua
    name=$body-c$conns
    SC_NAMES+="$name "
    # A scenario on its own route also measures the same Sluice process on the plain route in the
    # same rounds ("sluice-plain"): the paired ratio is what the route's middleware costs.
    SC_TARGETS=()
    for t in "${TARGETS[@]}"; do
        SC_TARGETS+=("$t")
        [[ $t == "$SLUICE_NAME" && -n $hdr ]] && SC_TARGETS+=(sluice-plain)
    done
    if (( WARMUP > 0 )); then
        for t in "${SC_TARGETS[@]}"; do run_wrk "$RUN/warmup.txt" "$t" "$path" "$conns" "$WARMUP" "$lua" 0 "$hdr" "$auth"; done
    fi
    for r in $(seq "$REPS"); do
        for t in "${SC_TARGETS[@]}"; do
            out=$OUT_DIR/wrk/${name}__${t}__r$r.txt
            if [[ $t == sluice-plain ]]; then
                run_wrk "$out" "$t" "$path" "$conns" "$DURATION" "$lua" 1
            else
                run_wrk "$out" "$t" "$path" "$conns" "$DURATION" "$lua" 1 "$hdr" "$auth"
            fi
            alive "${PID_OF[${t/sluice-plain/$SLUICE_NAME}]:-${PID_OF[upstream]}}" || die "$t died during $name round $r (see $RUN/$t.log)"
            log "$name r$r $t: $(awk '/Requests\/sec/{r=$2} /^ +50%/{a=$2} /^ +99%/{b=$2}
                /Socket errors|Non-2xx/{e=e" ["$0"]"} END{printf "%s req/s p50 %s p99 %s%s", r, a, b, e}' "$out")"
        done
    done
done

# ------------------------------------------------------------------ idle-connection memory
if (( IDLE_N > 0 )); then
    for t in "${PROXY_TARGETS[@]}"; do
        stop_server "$t"
        start_target "$t"                                   # a fresh process
        run_wrk "$RUN/warmup.txt" "$t" / 8 1 "" 0           # touch the hot path once
        sleep 1
        "${ON_CLIENT[@]}" "$BIN/idle" -name "$t" -addr "127.0.0.1:$(port_of "$t")" -n "$IDLE_N" \
            -pid "${PID_OF[$t]}" >"$OUT_DIR/mem/$t.txt" 2>"$RUN/idle-$t.err" &
        CHILD=$!
        wait "$CHILD" || log "idle client for $t failed: $(tail -1 "$RUN/idle-$t.err")"
        CHILD=
        log "idle $t: $(tr ' ' '\n' <"$OUT_DIR/mem/$t.txt" | grep -E '^(ok|still_open|bytes_per_conn)=' | tr '\n' ' ')"
    done
fi

# ------------------------------------------------------------------ report
for t in "${PROXY_TARGETS[@]}"; do stop_server "$t"; done
stop_server upstream
if [[ -f $RUN/access.log ]]; then # sluice-obs's: GBs after a run; keep its size and a sample
    log "sluice-obs access log: $(wc -l <"$RUN/access.log") lines, $(du -h "$RUN/access.log" | cut -f1)"
    tail -2 "$RUN/access.log" >"$OUT_DIR/access-sample.log"
    rm -f "$RUN/access.log"
fi
read -r LOAD1 _ </proc/loadavg
echo "load end:  $LOAD1" >>"$OUT_DIR/meta.txt"
grep -h -E '\[(alert|crit|emerg)\]' "$RUN"/nginx/error.log 2>/dev/null | head -3 | sed 's/^/note: /' >>"$OUT_DIR/meta.txt"
{
    echo '```'
    cat "$OUT_DIR/meta.txt"
    echo '```'
    echo
    ROWS=
    for t in "${TARGETS[@]}"; do ROWS+="$t "; [[ $t == "$SLUICE_NAME" ]] && ROWS+="sluice-plain "; done
    "$TOOL" table -dir "$OUT_DIR" -targets "$ROWS" -scenarios "$SC_NAMES"
} >"$OUT_DIR/summary.md"
cat "$OUT_DIR/summary.md"
log "done; raw wrk output in $OUT_DIR/wrk, idle results in $OUT_DIR/mem, summary in $OUT_DIR/summary.md"

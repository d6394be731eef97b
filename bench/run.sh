#!/usr/bin/env bash
# bench/run.sh: Sluice against a direct hit on the upstream, nginx and HAProxy, on 127.0.0.1,
# side by side in one run (rounds interleaved), then idle-connection memory, the table and the
# latency plot. See bench/README.md.
#
#   bench/run.sh                                 # `make bench`: ~4 min
#   FULL=1 bench/run.sh                          # `make bench-full`: every scenario, 5 x 10 s rounds
#   SCENARIOS="small:64 routes:64" DURATION=1 REPS=1 IDLE_N=500 bench/run.sh   # a quick check
#   SLUICE_CMD=/tmp/goproxy SLUICE_NAME=goproxy bench/run.sh   # another gateway in sluice's place
#
# Every process this script starts is recorded by PID and stopped by the EXIT trap
# (TERM to the PID and its descendants, KILL after 5 s). Traffic goes to 127.0.0.1 only.
set -uo pipefail

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH/.." && pwd)

# ------------------------------------------------------------------ settings
FULL=${FULL:-0}
ALL_SCENARIOS="small:64 small:256 4k:64 64k:64 post:64 routes:64 edge:64 keys:64 guarded:64 hs256:64 hs256-nocache:64 rs256:64 rs256-nocache:64 scale:256"
if [[ $FULL == 1 ]]; then
    DURATION=${DURATION:-10}
    REPS=${REPS:-5}
    SCENARIOS=${SCENARIOS:-$ALL_SCENARIOS}
    PROXIES=${PROXIES:-"sluice sluice-obs sluice-l2 nginx haproxy"}
else
    DURATION=${DURATION:-2}
    REPS=${REPS:-3}
    SCENARIOS=${SCENARIOS:-"small:64 small:256 4k:64 routes:64 edge:64 scale:256"}
    PROXIES=${PROXIES:-"sluice sluice-l2 nginx haproxy"}
fi
# PROXIES: targets besides "direct". nginx and haproxy are skipped when not installed;
# sluice-obs runs sluice's config with metrics and a JSON access log on; sluice-l2 runs only in
# the scale scenario (started only when SCENARIOS has one).
WARMUP=${WARMUP:-1}                     # unrecorded seconds per target before each scenario (0: none)
IDLE_N=${IDLE_N:-10000}                 # idle keep-alive conns for the memory test (0: skip)
PIN=${PIN:-1}                           # 1: taskset pinning; 0: unpinned
CPU_CLIENT=${CPU_CLIENT:-0}             # wrk, upstream, idle client
CPU_PROXY=${CPU_PROXY:-1}               # sluice, sluice-obs, nginx, haproxy (a taskset list: 1, 2-5, 2,4)
CPU_L2=${CPU_L2:-0,1}                   # sluice-l2
WRK_THREADS=${WRK_THREADS:-1}
WRK_STATUS=${WRK_STATUS:-0}             # 1: the wrk scripts count every status (costs client CPU)
WRK_DIR=${WRK_DIR:-$BENCH/wrk}
UP_PORT=${UP_PORT:-18080}
NGINX_PORT=${NGINX_PORT:-18081}
HAPROXY_PORT=${HAPROXY_PORT:-18082}
SLUICE_PORT=${SLUICE_PORT:-18084}       # must match SLUICE_CONFIG's listen
OBS_PORT=${OBS_PORT:-18085}
L2_PORT=${L2_PORT:-18086}
NGINX_ROUTES_PORT=${NGINX_ROUTES_PORT:-18087}
HAPROXY_ROUTES_PORT=${HAPROXY_ROUTES_PORT:-18088}
UP_POOL=${UP_POOL:-${NGINX_KEEPALIVE:-256}} # idle upstream conns for nginx/HAProxy: sluice's max_idle_per_target
SLUICE_CONFIG=${SLUICE_CONFIG:-configs/bench-auth.yaml} # relative to the repo root, or absolute
SLUICE_LOOPS=${SLUICE_LOOPS:-1}
SLUICE_GOMAXPROCS=${SLUICE_GOMAXPROCS:-}    # empty: Sluice's default, loops + 1 (cmd/sluice/procs.go)
SLUICE_CMD=${SLUICE_CMD:-}              # empty: `make build`, then bin/sluice -config $SLUICE_CONFIG -loops $SLUICE_LOOPS
SLUICE_NAME=${SLUICE_NAME:-sluice}
L2_LOOPS=${L2_LOOPS:-2}
L2_GOMAXPROCS=${L2_GOMAXPROCS:-}
NGINX_WORKERS=${NGINX_WORKERS:-1}
HAPROXY_THREADS=${HAPROXY_THREADS:-1}
NGINX_BIN=${NGINX_BIN:-$(command -v nginx 2>/dev/null || echo /usr/sbin/nginx)}
HAPROXY_BIN=${HAPROXY_BIN:-$(command -v haproxy 2>/dev/null || echo /usr/sbin/haproxy)}
SAVE_PLOT=${SAVE_PLOT:-0}               # 1: copy the latency plot to docs/bench/latency.png
OUT_DIR=${OUT_DIR:-/tmp/sluice-bench/$(date +%Y%m%d-%H%M%S)}
TOKEN_HS256='' TOKEN_RS256=''            # set after bench/token ran
ROUTES=100                              # the routes scenario's route count (configs/bench-auth.yaml has 100)

RUN=$OUT_DIR/run
BIN=$OUT_DIR/bin
TOOL=$BIN/report
CLK_TCK=$(getconf CLK_TCK)
T0=$(date +%s)
case $SLUICE_CONFIG in /*) SLUICE_CONFIG_ABS=$SLUICE_CONFIG ;; *) SLUICE_CONFIG_ABS=$ROOT/$SLUICE_CONFIG ;; esac

# shellcheck source=bench/lib/proc.sh
. "$BENCH/lib/proc.sh"
# shellcheck source=bench/lib/targets.sh
. "$BENCH/lib/targets.sh"
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------------ scenarios
# scenario BODY: sets SC_PATH, SC_LUA (a bench/wrk script), SC_TOKEN (BENCH_TOKEN for
# bearer.lua) and SC_ROUTE (the X-Bench header that selects sluice's route for it; empty: the
# plain route).
scenario() {
    SC_PATH=/ SC_LUA=get.lua SC_TOKEN='' SC_ROUTE=''
    case $1 in
        small | scale) ;;
        4k) SC_PATH=/4k.bin ;;
        64k) SC_PATH=/64k.bin ;;
        post) SC_LUA=post.lua ;;
        # GET /svc<i>/items/<n> over the 100 routes (routes.lua picks the path).
        routes) SC_PATH=/svc0/items/1 SC_LUA=routes.lua ;;
        # sluice's edge route: jwt HS256 + per-IP rate limit + route metrics.
        edge) SC_LUA=bearer.lua SC_TOKEN=$TOKEN_HS256 SC_ROUTE=edge ;;
        # sluice's keys route: a rate limit keyed on X-Client-Key, 10k distinct keys.
        keys) SC_LUA=keys.lua SC_ROUTE=keys ;;
        # per-IP rate limit + breaker, passive health and retries (cluster guarded).
        guarded) SC_ROUTE=guarded ;;
        hs256*) SC_LUA=bearer.lua SC_TOKEN=$TOKEN_HS256 SC_ROUTE=$1 ;;
        rs256*) SC_LUA=bearer.lua SC_TOKEN=$TOKEN_RS256 SC_ROUTE=$1 ;;
        *) return 1 ;;
    esac
}

# sc_targets BODY: the targets measured in that scenario, in round order. direct cannot route
# or verify, so it sits out routes, edge and keys; a scenario on its own sluice route also
# measures the same sluice process on the plain route (sluice-plain, same requests without
# X-Bench) in the same rounds; scale compares sluice, sluice-l2 and nginx only.
sc_targets() {
    local body=$1 t
    scenario "$body"
    for t in "${TARGETS[@]}"; do
        case $t:$body in
            direct:routes | direct:edge | direct:keys | direct:scale) ;;
            sluice-obs:scale | haproxy:scale) ;;
            sluice-l2:scale) printf '%s ' "$t" ;;
            sluice-l2:*) ;;
            "$SLUICE_NAME":*) printf '%s ' "$t"; [[ -n $SC_ROUTE ]] && printf 'sluice-plain ' ;;
            *) printf '%s ' "$t" ;;
        esac
    done
}

run_wrk() { # out target body conns seconds record(0/1)  (scenario "$body" must have been called)
    local out=$1 tg=$2 body=$3 conns=$4 secs=$5 rec=$6 p0=0 ps0=0 p1 ps1 u0 u1 w0 w1 pp
    local -a hdrs=() wenv=(BENCH_ROUTES="$ROUTES")
    [[ -n $SC_ROUTE && $tg != sluice-plain ]] && hdrs=(-H "X-Bench: $SC_ROUTE")
    [[ -n $SC_TOKEN ]] && wenv+=(BENCH_TOKEN="$SC_TOKEN")
    [[ $WRK_STATUS == 1 ]] && wenv+=(WRK_STATUS=1)
    pp=$(pid_of "$tg")
    if [[ $rec == 1 ]]; then
        [[ -n $pp ]] && read -r p0 ps0 <<<"$(ticks "$pp")"
        read -r u0 _ <<<"$(ticks "${PID_OF[upstream]}")"
    fi
    pin_prefix "$CPU_CLIENT"
    w0=$(date +%s.%N)
    "${PREFIX[@]}" env "${wenv[@]}" wrk -t"$WRK_THREADS" -c"$conns" -d"${secs}s" --latency -s "$WRK_DIR/$SC_LUA" \
        "${hdrs[@]}" "http://127.0.0.1:$(port_of "$tg" "$body")$SC_PATH" >"$out" 2>&1 &
    CHILD=$!
    wait "$CHILD"
    CHILD=
    w1=$(date +%s.%N)
    [[ $rec == 1 ]] || return 0
    read -r u1 _ <<<"$(ticks "${PID_OF[upstream]}")"
    {
        awk -v a="$w0" -v b="$w1" 'BEGIN{printf "wall_s: %.3f\n", b-a}'
        echo "clk_tck: $CLK_TCK"
        if [[ -n $pp ]]; then
            read -r p1 ps1 <<<"$(ticks "$pp")"
            echo "proxy_ticks: $(( p1 - p0 ))"
            echo "proxy_sys_ticks: $(( ps1 - ps0 ))"
        fi
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

SC_BODIES=
for sc in $SCENARIOS; do
    if ! [[ $sc =~ ^([a-z0-9-]+):([0-9]+)$ ]] || ! scenario "${BASH_REMATCH[1]}"; then
        die "bad scenario '$sc' (want <body>:<conns>, body one of: $(tr ' ' '\n' <<<"$ALL_SCENARIOS" | cut -d: -f1 | sort -u | xargs))"
    fi
    [[ -f $WRK_DIR/$SC_LUA ]] || die "$WRK_DIR/$SC_LUA is missing (scenario $sc)"
    SC_BODIES+="${BASH_REMATCH[1]} "
done
[[ -f $SLUICE_CONFIG_ABS ]] || die "SLUICE_CONFIG $SLUICE_CONFIG not found"

for t in upstream idle report token; do
    (cd "$ROOT/bench" && go build -o "$BIN/$t" "./$t") || die "building bench/$t failed"
done
# Keys and tokens for the JWT scenarios: fresh each run.
TOKENS=$("$BIN/token" -dir "$ROOT/bench/.keys") || die "bench/token failed"
BENCH_SECRET=$(sed -n 's/^SECRET=//p' <<<"$TOKENS")
TOKEN_HS256=$(sed -n 's/^HS256=//p' <<<"$TOKENS")
TOKEN_RS256=$(sed -n 's/^RS256=//p' <<<"$TOKENS")

build_sluice() {
    [[ -n ${SLUICE_BUILT:-} ]] && return 0
    log "building sluice (make build)"
    (cd "$ROOT" && make build) >"$RUN/build.log" 2>&1 ||
        { tail -20 "$RUN/build.log" >&2; die "make build failed; set SLUICE_CMD, or PROXIES=\"nginx haproxy\" to skip sluice"; }
    SLUICE_BUILT=1
}
installed() { [[ -x $1 ]] || command -v "$1" >/dev/null; }

TARGETS=(direct)
for p in $PROXIES; do
    case $p in
        sluice | "$SLUICE_NAME")
            if [[ -z $SLUICE_CMD ]]; then
                build_sluice
                SLUICE_CMD="bin/sluice -config $SLUICE_CONFIG -loops $SLUICE_LOOPS"
            fi
            TARGETS+=("$SLUICE_NAME")
            ;;
        sluice-obs) build_sluice; TARGETS+=(sluice-obs) ;;
        sluice-l2)
            if [[ " $SC_BODIES " == *" scale "* ]]; then build_sluice; TARGETS+=(sluice-l2); fi
            ;;
        nginx)
            if installed "$NGINX_BIN"; then TARGETS+=(nginx); else
                log "nginx not installed (apt-get install -y nginx): no nginx rows"
            fi
            ;;
        haproxy)
            if installed "$HAPROXY_BIN"; then TARGETS+=(haproxy); else
                log "haproxy not installed (apt-get install -y haproxy): no haproxy rows"
            fi
            ;;
        *) die "unknown proxy $p in PROXIES (sluice sluice-obs sluice-l2 nginx haproxy)" ;;
    esac
done
PROXY_TARGETS=("${TARGETS[@]:1}")
IDLE_TARGETS=()                         # sluice-l2 is the same code with one more loop: not measured
for t in "${PROXY_TARGETS[@]}"; do [[ $t != sluice-l2 ]] && IDLE_TARGETS+=("$t"); done

# The lead's config may not have a scenario's route yet: then sluice serves it on its plain
# route, and the row measures the wrong thing. Say so rather than fail.
if [[ " ${TARGETS[*]} " == *" $SLUICE_NAME "* && $SLUICE_CMD == *"$SLUICE_CONFIG"* ]]; then
    for b in $SC_BODIES; do
        scenario "$b"
        want=$SC_ROUTE
        [[ $b == routes ]] && want=svc$(( ROUTES - 1 ))
        [[ -n $want ]] && ! grep -Eq "name: *$want *[,}]" "$SLUICE_CONFIG_ABS" &&
            log "WARNING: $SLUICE_CONFIG has no route '$want': sluice serves the $b scenario on its plain route"
    done
fi

# Room for the idle test: 2 fds per connection covers a proxy that reserves an upstream fd per
# client (HAProxy's maxconn check); sluice needs one per idle client plus its 1280 reserve.
# Raising the hard limit needs CAP_SYS_RESOURCE; without it the current hard limit is used.
need=$(( 2 * IDLE_N + 2000 ))
hard=$(ulimit -Hn)
[[ $hard != unlimited ]] && (( hard < need )) && ulimit -Hn "$need" 2>/dev/null
ulimit -n "$(ulimit -Hn)" 2>/dev/null
soft=$(ulimit -n)
[[ $soft == unlimited ]] && soft=$(( 1 << 30 ))
if (( IDLE_N > 0 && soft < IDLE_N + 200 )); then
    log "ulimit -n is $(ulimit -n): lowering IDLE_N from $IDLE_N to $(( $(ulimit -n) - 200 ))"
    IDLE_N=$(( $(ulimit -n) - 200 ))
fi
(( IDLE_N > 0 && soft < IDLE_N + 1500 )) &&
    log "note: fd limit $soft < idle conns + 1280: sluice keeps clients + upstream conns under limit - 1280 and answers 503 past it"
HAPROXY_MAXCONN=$(( IDLE_N + 500 > 4096 ? IDLE_N + 500 : 4096 ))
for t in upstream "${PROXY_TARGETS[@]}"; do
    for port in $(port_of "$t") $(port_of "$t" routes); do
        port_busy "$port" && die "127.0.0.1:$port ($t) is already in use"
    done
done

read -r LOAD0 _ </proc/loadavg
awk -v l="$LOAD0" 'BEGIN{exit !(l > 1.5)}' &&
    log "WARNING: load average is $LOAD0 before the run: other processes are using the CPUs; results may be noisy"
# Estimate (measured in `make bench`): each wrk run costs its duration plus ~0.1 s; each idle
# test ~19 s for 10k conns (stop, restart, 1 s warm-up, connects, 3.5 s settle, 1.5 s after
# close); ~5 s to start everything.
runs=0
for sc in $SCENARIOS; do
    n=$(wc -w <<<"$(sc_targets "${sc%%:*}")")
    runs=$(( runs + n * (REPS * (DURATION * 10 + 1) + (WARMUP > 0 ? WARMUP * 10 + 1 : 0)) ))
done
est=$(( runs / 10 + (IDLE_N > 0 ? ${#IDLE_TARGETS[@]} * (9 + IDLE_N / 1000) : 0) + 5 ))
log "targets: ${TARGETS[*]}; scenarios: $SCENARIOS; ${REPS}x${DURATION}s; IDLE_N=$IDLE_N; estimate ~$(( est / 60 ))m$(( est % 60 ))s"
log "output: $OUT_DIR"

{
    echo "date:      $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "host:      $(uname -sr); $(nproc) cpus; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
    printf '%-11s%s\n' "$SLUICE_NAME:" "$SLUICE_CMD (GOMAXPROCS=${SLUICE_GOMAXPROCS:-loops+1}); commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo none)"
    [[ " ${TARGETS[*]} " == *" sluice-l2 "* ]] &&
        echo "sluice-l2: bin/sluice -loops $L2_LOOPS (GOMAXPROCS=${L2_GOMAXPROCS:-loops+1}) on CPU $CPU_L2"
    [[ " ${TARGETS[*]} " == *" nginx "* ]] &&
        echo "nginx:     $("$NGINX_BIN" -v 2>&1 | head -1 | sed 's/.*version: //'), $NGINX_WORKERS worker(s), keepalive $UP_POOL"
    [[ " ${TARGETS[*]} " == *" haproxy "* ]] &&
        echo "haproxy:   $("$HAPROXY_BIN" -v 2>&1 | head -1 | cut -d' ' -f1-3), nbthread $HAPROXY_THREADS, http-reuse always, pool-max-conn $UP_POOL"
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
    body=${sc%%:*} conns=${sc##*:}
    name=$body-c$conns
    SC_NAMES+="$name "
    read -ra SC_TARGETS <<<"$(sc_targets "$body")"
    scenario "$body"
    if (( WARMUP > 0 )); then
        for t in "${SC_TARGETS[@]}"; do run_wrk "$RUN/warmup.txt" "$t" "$body" "$conns" "$WARMUP" 0; done
    fi
    for r in $(seq "$REPS"); do
        for t in "${SC_TARGETS[@]}"; do
            out=$OUT_DIR/wrk/${name}__${t}__r$r.txt
            run_wrk "$out" "$t" "$body" "$conns" "$DURATION" 1
            pp=$(pid_of "$t")
            alive "${pp:-${PID_OF[upstream]}}" || die "$t died during $name round $r (see $RUN/$t.log)"
            log "$name r$r $t: $(awk '/Requests\/sec/{r=$2} /^ +50%/{a=$2} /^ +99%/{b=$2} /^percentile 99.9 /{c=$3}
                /Socket errors|Non-2xx/{e=e" ["$0"]"} /^status [0-9]+:/ && $2 !~ /^2/ {e=e" ["$0"]"}
                END{printf "%s req/s p50 %s p99 %s%s%s", r, a, b, (c != "" ? " p99.9 " c "us" : ""), e}' "$out")"
        done
    done
done

# ------------------------------------------------------------------ idle-connection memory
if (( IDLE_N > 0 )); then
    SC_BODIES=                          # the routes checks were done at the first start
    scenario small
    for t in "${IDLE_TARGETS[@]}"; do
        stop_server "$t"
        start_target "$t"                                   # a fresh process
        run_wrk "$RUN/warmup.txt" "$t" small 8 1 0          # touch the hot path once
        sleep 1
        pin_prefix "$CPU_CLIENT"
        "${PREFIX[@]}" "$BIN/idle" -name "$t" -addr "127.0.0.1:$(port_of "$t")" -n "$IDLE_N" \
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
{
    echo "load end:  $LOAD1"
    grep -h -E '\[(alert|crit|emerg)\]' "$RUN"/nginx/error.log 2>/dev/null | head -3 | sed 's/^/note: /'
    # HAProxy's start-up ALERT about the fd limit is expected (see haproxy-proxy.cfg).
    grep -h -E '^\[(ALERT|EMERG)\]' "$RUN"/haproxy.log 2>/dev/null | grep -v -i 'ulimit\|maxconn\|fd limit' |
        head -3 | sed 's/^/note: haproxy /'
} >>"$OUT_DIR/meta.txt"
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

# The latency plot (bench/report plot); a failure does not fail the run.
if "$TOOL" plot -dir "$OUT_DIR" -out "$OUT_DIR/latency.png" -targets "$ROWS" -scenarios "$SC_NAMES" >"$RUN/plot.log" 2>&1; then
    log "latency plot: $OUT_DIR/latency.png"
    if [[ $SAVE_PLOT == 1 ]]; then
        mkdir -p "$ROOT/docs/bench" && cp "$OUT_DIR/latency.png" "$ROOT/docs/bench/latency.png" &&
            log "copied to docs/bench/latency.png"
    fi
else
    log "no latency plot: $(tail -1 "$RUN/plot.log")"
fi
log "done in $(( $(date +%s) - T0 ))s; raw wrk output in $OUT_DIR/wrk, idle results in $OUT_DIR/mem, summary in $OUT_DIR/summary.md"

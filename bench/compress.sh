#!/usr/bin/env bash
# bench/compress.sh: response compression, Sluice against nginx, in one run (issue 13).
#
# 1. Throughput: GET /64k.json (testdata/64k.json, 64 KiB of JSON from bench/upstream) through
#    nginx with `gzip on` and through Sluice's `type: compress`, the gzip level the same on both
#    (LEVEL, nginx's gzip_comp_level), plus identity rows and Sluice's br and zstd rows at its
#    default levels. Each proxy is pinned to CPU_PROXY (nginx: 1 worker; Sluice: -loops 1), wrk
#    and the upstream to CPU_CLIENT; rounds are interleaved; medians of req/s and of requests per
#    proxy CPU-second (utime+stime of the proxy's processes from /proc/PID/stat).
# 2. Loop stall: the p99 of small requests (GET /, 12 B, never compressed) on Sluice's one loop
#    while SMALL_CONNS clients ask for them and BIG_CONNS others fetch /64k.json with each
#    Accept-Encoding (none: the same 64 KiB relayed uncompressed), and with no big load at all.
#
#   make build && bench/compress.sh                 # ~6 min with the defaults
#   LEVEL=6 ROUNDS=5 DUR=10 bench/compress.sh       # nginx's common gzip_comp_level 6
#
# Needs wrk, curl, taskset and nginx (apt-get install -y nginx; the service need not run).
# Traffic goes to 127.0.0.1 only; every process started here is stopped on exit, by PID.
set -uo pipefail
BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd); ROOT=$(dirname "$BENCH")
SLUICE=${SLUICE:-$ROOT/bin/sluice}
LEVEL=${LEVEL:-1}; ROUNDS=${ROUNDS:-3}; DUR=${DUR:-5}; CONNS=${CONNS:-64}
SMALL_CONNS=${SMALL_CONNS:-8}; BIG_CONNS=${BIG_CONNS:-16}; STALL=${STALL:-1}; THROUGHPUT=${THROUGHPUT:-1}
CPU_CLIENT=${CPU_CLIENT:-0}; CPU_PROXY=${CPU_PROXY:-1}
UP_PORT=${UP_PORT:-18680}; GW_PORT=${GW_PORT:-18690}; NGX_PORT=${NGX_PORT:-18691}
for tool in wrk curl taskset nginx; do
    command -v $tool >/dev/null || { echo "$tool is not installed" >&2; exit 1; }
done
[[ -x $SLUICE ]] || { echo "$SLUICE missing: run make build (or set SLUICE)" >&2; exit 1; }
for p in $UP_PORT $GW_PORT $NGX_PORT; do # someone else's server there would be measured instead
    ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "port $p is in use: set UP_PORT, GW_PORT, NGX_PORT" >&2; exit 1; }
done
TMP=$(mktemp -d); PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"' EXIT
(cd "$BENCH" && go build -o "$TMP/upstream" ./upstream) || exit 1

cat >"$TMP/gw.yaml" <<YAML
listen: 127.0.0.1:$GW_PORT
admin: ""
middleware:
  squeeze: {type: compress, encodings: [gzip, br, zstd], level: {gzip: $LEVEL}}
clusters:
  up: {targets: [{url: "http://127.0.0.1:$UP_PORT"}], pool: {max_idle_per_target: 256}}
routes:
  - {name: all, match: {path: /*}, cluster: up, middleware: [squeeze]}
YAML
mkdir -p "$TMP/nginx/tmp"
cat >"$TMP/nginx/nginx.conf" <<NGINX
worker_processes 1;
daemon off;
pid nginx.pid;
error_log error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_timeout 300s;
    keepalive_requests 100000000;
    client_body_temp_path tmp/body; proxy_temp_path tmp/proxy; fastcgi_temp_path tmp/fastcgi;
    uwsgi_temp_path tmp/uwsgi; scgi_temp_path tmp/scgi;
    upstream backend { server 127.0.0.1:$UP_PORT; keepalive 256; keepalive_requests 100000000; }
    # Room for the whole 64 KiB response in memory: with the default 8 x 4k buffers nginx spills
    # the rest to a temporary file (a warning in its error.log), which is not what is measured.
    proxy_buffer_size 16k;
    proxy_buffers 8 16k;
    # What Sluice's compress does by default: these types, 1 KiB minimum, Vary, any response.
    gzip on;
    gzip_comp_level $LEVEL;
    gzip_min_length 1024;
    gzip_types application/json text/plain application/javascript application/xml image/svg+xml;
    gzip_proxied any;
    gzip_vary on;
    server {
        listen 127.0.0.1:$NGX_PORT backlog=4096;
        location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; }
    }
}
NGINX

taskset -c "$CPU_CLIENT" "$TMP/upstream" -listen "127.0.0.1:$UP_PORT" -json "$ROOT/testdata/64k.json" >/dev/null 2>&1 & PIDS+=($!)
taskset -c "$CPU_PROXY" "$SLUICE" -config "$TMP/gw.yaml" -loops 1 >"$TMP/sluice.log" 2>&1 & SLUICE_PID=$!; PIDS+=($!)
taskset -c "$CPU_PROXY" nginx -p "$TMP/nginx/" -c "$TMP/nginx/nginx.conf" -e "$TMP/nginx/error.log" & NGX_PID=$!; PIDS+=($!)

up() { for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0; sleep 0.05; done; return 1; }
for p in $UP_PORT $GW_PORT $NGX_PORT; do up "$p" || { echo "nothing answers on $p" >&2; cat "$TMP/sluice.log" >&2; exit 1; }; done
hz=$(getconf CLK_TCK)
ticks() { # utime+stime of PID and its children (nginx's worker)
    local t=0 p
    for p in "$1" $(pgrep -P "$1"); do t=$((t + $(awk '{print $14+$15}' "/proc/$p/stat"))); done
    echo $t
}
port_of() { [[ $1 == nginx ]] && echo "$NGX_PORT" || echo "$GW_PORT"; }
pid_of() { [[ $1 == nginx ]] && echo "$NGX_PID" || echo "$SLUICE_PID"; }
ae_of() { [[ $1 == identity ]] && echo "Accept-Encoding: identity" || echo "Accept-Encoding: $1"; }

# Every row must serve what it claims: the coding asked for, a body of the expected size.
echo "target coding bytes-on-the-wire (64 KiB JSON, gzip level $LEVEL)"
ROWS="nginx:identity nginx:gzip sluice:identity sluice:gzip sluice:br sluice:zstd"
for row in $ROWS; do
    t=${row%:*}; enc=${row#*:}
    got=$(curl -s -D "$TMP/h" -o "$TMP/b" -H "$(ae_of "$enc")" "http://127.0.0.1:$(port_of "$t")/64k.json" -w '%{size_download}')
    ce=$(awk -F': ' 'tolower($1)=="content-encoding"{gsub("\r","",$2); print $2}' "$TMP/h")
    [[ ${ce:-identity} == "$enc" ]] || { echo "$row: Content-Encoding '${ce}', want $enc" >&2; exit 1; }
    echo "$row $got"
done
echo

run() { # target coding -> one row in $TMP/rows
    local t=$1 enc=$2 pid port out t0 t1 n rps bad
    pid=$(pid_of "$t"); port=$(port_of "$t")
    taskset -c "$CPU_CLIENT" wrk -t1 -c"$CONNS" -d1s -H "$(ae_of "$enc")" "http://127.0.0.1:$port/64k.json" >/dev/null 2>&1 # warm-up
    t0=$(ticks "$pid")
    out=$(taskset -c "$CPU_CLIENT" wrk -t1 -c"$CONNS" -d"${DUR}s" -H "$(ae_of "$enc")" "http://127.0.0.1:$port/64k.json" 2>&1)
    t1=$(ticks "$pid")
    n=$(awk '/requests in/{print $1}' <<<"$out"); rps=$(awk '/Requests\/sec/{print $2}' <<<"$out")
    bad=$(grep -cE 'Non-2xx|Socket errors' <<<"$out")
    echo "$t:$enc $rps $(awk -v n="$n" -v t=$((t1 - t0)) -v hz="$hz" 'BEGIN{printf "%.0f", (t ? n / (t / hz) : 0)}') $bad" | tee -a "$TMP/rows"
}
(( THROUGHPUT )) && echo "row req/s req/cpu-s errors"
for r in $(seq 1 "$(( THROUGHPUT ? ROUNDS : 0 ))"); do
    order=$ROWS; (( r % 2 )) || order=$(tr ' ' '\n' <<<"$ROWS" | tac | tr '\n' ' ')
    for row in $order; do run "${row%:*}" "${row#*:}"; done
done
med() { awk -v r="$1" -v c="$2" '$1==r {print $c}' "$TMP/rows" | sort -n |
    awk '{a[NR]=$1} END{print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
if (( THROUGHPUT )); then
    echo
    echo "medians over $ROUNDS rounds of ${DUR}s, $CONNS connections, gzip level $LEVEL"
    printf '%-16s %10s %12s %22s\n' row "req/s" "req/cpu-s" "req/cpu-s / nginx gzip"
    ng=$(med nginx:gzip 3)
    for row in $ROWS; do
        c=$(med "$row" 3)
        printf '%-16s %10.0f %12.0f %22.2f\n' "$row" "$(med "$row" 2)" "$c" "$(awk -v a="$c" -v b="$ng" 'BEGIN{print a/b}')"
    done
    grep -c 'temporary file' "$TMP/nginx/error.log" | awk '$1 > 0 {print "nginx spilled " $1 " responses to temporary files"}'
fi

(( STALL )) || exit 0
# The p99 of small requests on the same loop, with a concurrent load of big responses.
p99() { awk '/^ +99%/{v=$2; if (v ~ /us$/) {sub("us","",v); v/=1000} else if (v ~ /ms$/) {sub("ms","",v)} else if (v ~ /s$/) {sub("s","",v); v*=1000}; printf "%.2f", v}' <<<"$1"; }
echo
echo "small requests on Sluice's one loop: $SMALL_CONNS connections of GET / beside $BIG_CONNS of GET /64k.json"
printf '%-22s %12s %12s %14s\n' "big load" "small p50" "small p99" "big req/s"
for load in none-running identity gzip br zstd; do
    for r in $(seq 1 "$ROUNDS"); do
        big=""
        if [[ $load != none-running ]]; then
            taskset -c "$CPU_CLIENT" wrk -t1 -c"$BIG_CONNS" -d"$((DUR + 2))s" -H "$(ae_of "$load")" "http://127.0.0.1:$GW_PORT/64k.json" >"$TMP/big" 2>&1 & big=$!
            sleep 1 # the big load is running before the small one is measured
        fi
        out=$(taskset -c "$CPU_CLIENT" wrk -t1 -c"$SMALL_CONNS" -d"${DUR}s" --latency "http://127.0.0.1:$GW_PORT/" 2>&1)
        [[ -n $big ]] && wait "$big"
        brps=0; [[ -n $big ]] && brps=$(awk '/Requests\/sec/{print $2}' "$TMP/big")
        p50=$(awk '/^ +50%/{v=$2; if (v ~ /us$/) {sub("us","",v); v/=1000} else {sub("ms","",v)}; printf "%.2f", v}' <<<"$out")
        echo "$load $p50 $(p99 "$out") $brps" >>"$TMP/stall"
    done
    printf '%-22s %10sms %10sms %14.0f\n' "$load" "$(awk -v l="$load" '$1==l{print $2}' "$TMP/stall" | sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}')" \
        "$(awk -v l="$load" '$1==l{print $3}' "$TMP/stall" | sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}')" \
        "$(awk -v l="$load" '$1==l{print $4}' "$TMP/stall" | sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}')"
done

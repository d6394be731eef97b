#!/usr/bin/env bash
# bench/dashboard.sh: what open dashboards cost the proxy. One Sluice process (metrics on,
# admin listener on 127.0.0.1, no token) pinned to one core, bench/upstream and wrk on another;
# rounds alternate between no dashboard and $VIEWERS dashboards, each a viewer fetching
# GET /dashboard/data once a second on its own keep-alive connection, as the page does. Prints every run, then the medians of
# req/s and of requests per proxy CPU-second (from /proc/PID/stat, so the admin listener's
# work is counted) and the ratio with/without.
#
#   make build && bench/dashboard.sh bin/sluice
#
# ROUNDS (5), DUR (10 s), CONNS (64), VIEWERS (10). Traffic goes to 127.0.0.1 only; every
# process started here is stopped on exit.
set -uo pipefail
[[ $# == 1 ]] || { echo "usage: $0 SLUICE_BINARY" >&2; exit 2; }
BIN=$(realpath "$1")
BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROUNDS=${ROUNDS:-5}; DUR=${DUR:-10}; CONNS=${CONNS:-64}; VIEWERS=${VIEWERS:-10}
CPU_CLIENT=${CPU_CLIENT:-0}; CPU_PROXY=${CPU_PROXY:-1}
UP_PORT=${UP_PORT:-18280}; GW_PORT=${GW_PORT:-18290}; ADMIN_PORT=${ADMIN_PORT:-18291}
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install -y wrk)" >&2; exit 1; }
TMP=$(mktemp -d); PIDS=(); POLLERS=()
stop_pollers() { if [[ ${#POLLERS[@]} -gt 0 ]]; then kill "${POLLERS[@]}" 2>/dev/null; wait "${POLLERS[@]}" 2>/dev/null; fi; POLLERS=(); }
trap 'stop_pollers; kill "${PIDS[@]}" 2>/dev/null; rm -rf "$TMP"' EXIT
(cd "$BENCH" && go build -o "$TMP/upstream" ./upstream && go build -o "$TMP/dashpoll" ./dashpoll) || exit 1
cat >"$TMP/gw.yaml" <<YAML
listen: 127.0.0.1:$GW_PORT
admin: 127.0.0.1:$ADMIN_PORT
access_log: {enabled: false}
clusters:
  up: {targets: [{url: "http://127.0.0.1:$UP_PORT"}]}
routes:
  - {name: svc, match: {path: /svc1/*}, cluster: up}
  - {name: all, match: {path: /*}, cluster: up}
YAML
alive() { kill -0 "$1" 2>/dev/null; }
up() { for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0; sleep 0.05; done; return 1; }
taskset -c "$CPU_CLIENT" "$TMP/upstream" -listen "127.0.0.1:$UP_PORT" >/dev/null 2>&1 & PIDS+=($!)
up "$UP_PORT" || { echo "upstream did not start" >&2; exit 1; }
taskset -c "$CPU_PROXY" "$BIN" -config "$TMP/gw.yaml" -loops 1 >"$TMP/gw.log" 2>&1 & GW=$!; PIDS+=($GW)
up "$GW_PORT" && alive $GW || { echo "sluice did not start:" >&2; cat "$TMP/gw.log" >&2; exit 1; }
ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
run() { # viewers
    # The viewers, one process on the client's core (bench/dashpoll: a keep-alive fetch a
    # second per viewer, as app.js does).
    (( $1 > 0 )) && { taskset -c "$CPU_CLIENT" "$TMP/dashpoll" -n "$1" -url "http://127.0.0.1:$ADMIN_PORT/dashboard/data" & POLLERS+=($!); }
    taskset -c "$CPU_CLIENT" wrk -t1 -c"$CONNS" -d1s "http://127.0.0.1:$GW_PORT/svc1/items/1" >/dev/null 2>&1 # warm-up
    local t0; t0=$(ticks $GW)
    local out; out=$(taskset -c "$CPU_CLIENT" wrk -t1 -c"$CONNS" -d"${DUR}s" "http://127.0.0.1:$GW_PORT/svc1/items/1" 2>&1)
    local t1; t1=$(ticks $GW)
    stop_pollers
    local n; n=$(awk '/requests in/{print $1}' <<<"$out")
    local rps; rps=$(awk '/Requests\/sec/{print $2}' <<<"$out")
    local bad; bad=$(grep -E "Non-2xx|Socket errors" <<<"$out" | tr -s " " | paste -sd\; -)
    echo "$1 $rps $(awk -v n="$n" -v t=$((t1 - t0)) -v hz="$hz" 'BEGIN{printf "%.0f", n / (t / hz)}') $bad" | tee -a "$TMP/rows"
}
echo "viewers req/s req/cpu-s errors"
for r in $(seq 1 "$ROUNDS"); do
    if (( r % 2 )); then run 0; run "$VIEWERS"; else run "$VIEWERS"; run 0; fi
done
curl -s -o /dev/null -w "dashboard data: HTTP %{http_code}, %{size_download} bytes\n" "http://127.0.0.1:$ADMIN_PORT/dashboard/data"
med() { awk -v v="$1" -v c="$2" '$1==v {print $c}' "$TMP/rows" | sort -n |
    awk '{a[NR]=$1} END{print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
echo
echo "medians over $ROUNDS rounds of ${DUR}s, $CONNS connections"
printf '%-8s %10s %14s\n' viewers "req/s" "req/cpu-s"
r0=$(med 0 2); c0=$(med 0 3); rn=$(med "$VIEWERS" 2); cn=$(med "$VIEWERS" 3)
printf '%-8s %10.0f %14.0f\n' 0 "$r0" "$c0" "$VIEWERS" "$rn" "$cn"
printf '%-8s %10.3f %14.3f\n' ratio "$(awk -v a="$r0" -v b="$rn" 'BEGIN{print b/a}')" "$(awk -v a="$c0" -v b="$cn" 'BEGIN{print b/a}')"

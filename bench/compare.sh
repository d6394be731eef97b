#!/usr/bin/env bash
# bench/compare.sh: two Sluice binaries side by side, rounds interleaved (A B, then B A), each
# pinned to one core, against bench/upstream. Prints every run, then per scenario the medians
# of req/s and of requests per proxy CPU-second and the ratio B/A. For "did this change cost
# anything": build the old commit in a worktree, then
#
#   git worktree add --detach /tmp/old <commit> && (cd /tmp/old && go build -o /tmp/sluice-old ./cmd/sluice)
#   make build && bench/compare.sh /tmp/sluice-old bin/sluice
#
# ROUNDS (5), DUR (5 s), SCENARIOS ("get:64 get:256 post:64"; post sends 1 KiB, bench/wrk/post.lua).
# Traffic goes to 127.0.0.1 only; every process started here is stopped on exit.
set -uo pipefail
[[ $# == 2 ]] || { echo "usage: $0 OLD_BINARY NEW_BINARY" >&2; exit 2; }
A=$(realpath "$1"); B=$(realpath "$2")
BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROUNDS=${ROUNDS:-5}; DUR=${DUR:-5}; SCENARIOS=${SCENARIOS:-"get:64 get:256 post:64"}
CPU_CLIENT=${CPU_CLIENT:-0}; CPU_PROXY=${CPU_PROXY:-1}
UP_PORT=${UP_PORT:-18180}; GW_PORT=${GW_PORT:-18190}
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install -y wrk)" >&2; exit 1; }
TMP=$(mktemp -d); PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null; rm -rf "$TMP"' EXIT
(cd "$BENCH" && go build -o "$TMP/upstream" ./upstream) || exit 1
cat >"$TMP/gw.yaml" <<YAML
listen: 127.0.0.1:$GW_PORT
admin: ""
clusters:
  up: {targets: [{url: "http://127.0.0.1:$UP_PORT"}]}
routes:
  - {name: all, match: {path: /*}, cluster: up}
YAML
taskset -c "$CPU_CLIENT" "$TMP/upstream" -listen "127.0.0.1:$UP_PORT" >/dev/null 2>&1 & PIDS+=($!)
ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
up() { for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0; sleep 0.05; done; return 1; }
up "$UP_PORT" || { echo "upstream did not start" >&2; exit 1; }
hz=$(getconf CLK_TCK)
run() { # label binary scenario conns
    local script=""; [[ $3 == post ]] && script="-s $BENCH/wrk/post.lua"
    taskset -c "$CPU_PROXY" "$2" -config "$TMP/gw.yaml" -loops 1 >/dev/null 2>&1 & local pid=$!
    up "$GW_PORT" || { echo "$1 did not start" >&2; kill $pid; return; }
    taskset -c "$CPU_CLIENT" wrk -t1 -c"$4" -d1s $script "http://127.0.0.1:$GW_PORT/" >/dev/null 2>&1 # warm-up
    local t0; t0=$(ticks $pid)
    local out; out=$(taskset -c "$CPU_CLIENT" wrk -t1 -c"$4" -d"${DUR}s" $script "http://127.0.0.1:$GW_PORT/" 2>&1)
    local t1; t1=$(ticks $pid)
    kill $pid; wait $pid 2>/dev/null
    local n; n=$(awk '/requests in/{print $1}' <<<"$out")
    local rps; rps=$(awk '/Requests\/sec/{print $2}' <<<"$out")
    local bad; bad=$(grep -cE 'Non-2xx|Socket errors' <<<"$out")
    echo "$3:$4 $1 $rps $(awk -v n="$n" -v t=$((t1 - t0)) -v hz="$hz" 'BEGIN{printf "%.0f", n / (t / hz)}') $bad" | tee -a "$TMP/rows"
}
echo "scenario target req/s req/cpu-s errors"
for r in $(seq 1 "$ROUNDS"); do
    for sc in $SCENARIOS; do
        if (( r % 2 )); then run A "$A" "${sc%:*}" "${sc#*:}"; run B "$B" "${sc%:*}" "${sc#*:}"
        else run B "$B" "${sc%:*}" "${sc#*:}"; run A "$A" "${sc%:*}" "${sc#*:}"; fi
    done
done
echo
echo "medians over $ROUNDS rounds of ${DUR}s (A = $1, B = $2)"
printf '%-10s %10s %10s %8s %12s %12s %8s\n' scenario "A req/s" "B req/s" "B/A" "A req/cpu-s" "B req/cpu-s" "B/A"
for sc in $SCENARIOS; do
    med() { awk -v s="$sc" -v t="$1" -v c="$2" '$1==s && $2==t {print $c}' "$TMP/rows" | sort -n |
        awk '{a[NR]=$1} END{print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
    ar=$(med A 3); br=$(med B 3); ac=$(med A 4); bc=$(med B 4)
    printf '%-10s %10.0f %10.0f %8.3f %12.0f %12.0f %8.3f\n' "$sc" "$ar" "$br" "$(awk -v a="$ar" -v b="$br" 'BEGIN{print b/a}')" \
        "$ac" "$bc" "$(awk -v a="$ac" -v b="$bc" 'BEGIN{print b/a}')"
done

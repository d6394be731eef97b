#!/usr/bin/env bash
# Runs a cluster of Sluice on 127.0.0.1 and shows it behaving as one:
#   Redis (16379, with a password), three Sluice instances (18081-18083,
#   admin 19901-19903) sharing a `scope: cluster` limit of 100/s on
#   /limited/*, a demo upstream (18090), and HAProxy in TCP mode on 18080
#   balancing round-robin, health-checking each instance's /readyz.
# Then: 5 s of wrk through HAProxy (6 connections, spread round-robin over
# the instances; about 5 × 100 + the burst of 100 are admitted),
# Redis killed (instances fail open on their share, nothing fails), Redis
# back (synchronisation resumes), and a rolling restart of one instance
# under load with no failed request.
#
# Needs: go, redis-server, haproxy, curl, wrk
#   (Debian: apt-get install -y redis-server haproxy curl wrk).
# Usage: deploy/run.sh [--keep]   (--keep: leave it running until Ctrl-C)
set -euo pipefail
cd "$(dirname "$0")/.."
for c in go redis-server haproxy curl wrk; do
	command -v "$c" >/dev/null 2>&1 || { echo "deploy/run.sh needs $c (apt-get install -y redis-server haproxy curl wrk)" >&2; exit 1; }
done

work=$(mktemp -d)
declare -A pid
cleanup() {
	for p in "${pid[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

# wait_for DESCRIPTION COMMAND...: poll for up to 20 s.
wait_for() {
	local what=$1; shift
	for _ in $(seq 200); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
	echo "timed out waiting for $what" >&2; exit 1
}
# counts N PATH: N requests through HAProxy, 16 at a time, one connection
# each (so round-robin spreads them); prints how many got each status.
counts() {
	seq "$1" | xargs -P 16 -I{} curl -s -o /dev/null -w '%{http_code}\n' "http://127.0.0.1:18080$2" | sort | uniq -c | tr '\n' ' '
	echo
}
# limited SECONDS: wrk on /limited/x through HAProxy; prints what passed.
limited() {
	wrk -t2 -c6 -d"$1"s http://127.0.0.1:18080/limited/x | awk -v s="$1" '
		/requests in/ {total=$1} /Non-2xx/ {refused=$5}
		END {printf "%d requests in %ds, %d admitted (%.1f/s), %d refused with 429\n", total, s, total-refused, (total-refused)/s, refused}'
}
check() { curl -s "http://127.0.0.1:1990$1/readyz" | tr -s ' \n' ' ' | grep -o '"checks": \[[^]]*\]'; }
start_redis() {
	redis-server --port 16379 --bind 127.0.0.1 --save '' --appendonly no \
		--requirepass "$SLUICE_REDIS_PASSWORD" --dir "$work" >>"$work/redis.log" 2>&1 &
	pid[redis]=$!
	wait_for redis redis-cli -p 16379 -a "$SLUICE_REDIS_PASSWORD" --no-auth-warning ping
}
start_sluice() {
	"$work/sluice" -config "$work/sluice-$1.yaml" -admin "127.0.0.1:1990$1" -shutdown-delay 1500ms >>"$work/sluice-$1.log" 2>&1 &
	pid[s$1]=$!
	wait_for "instance $1" sh -c "curl -sf http://127.0.0.1:1990$1/readyz | grep -q '\"ok\": true'"
}

echo "== build"
go build -o "$work/sluice" ./cmd/sluice
SLUICE_REDIS_PASSWORD=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
export SLUICE_REDIS_PASSWORD
start_redis
"$work/sluice" -config deploy/upstream.yaml >"$work/upstream.log" 2>&1 &
pid[upstream]=$!
for i in 1 2 3; do
	sed -e "s/127.0.0.1:18081/127.0.0.1:1808$i/" deploy/sluice.yaml >"$work/sluice-$i.yaml"
	"$work/sluice" -check -config "$work/sluice-$i.yaml"
	start_sluice "$i"
done
haproxy -f deploy/haproxy.cfg -db >"$work/haproxy.log" 2>&1 &
pid[haproxy]=$!
wait_for haproxy curl -sf http://127.0.0.1:18080/hello

echo "== 5 s through HAProxy, shared limit 100/s, burst 100"
limited 5
echo "== Redis killed"
kill "${pid[redis]}"; wait "${pid[redis]}" 2>/dev/null || true; unset 'pid[redis]'
wait_for "the failure noticed" sh -c "curl -s http://127.0.0.1:19901/readyz | grep -q '\"ok\": false'"
check 1
echo "5 s (each instance enforces a third of the limit):"
limited 5
echo "== Redis back"
start_redis
wait_for "synchronisation resumed" sh -c "curl -s http://127.0.0.1:19901/readyz | grep -q '\"ok\": true'"
check 1
limited 5
echo "== rolling restart of instance 2 under load (/open/*, unlimited)"
counts 1500 /open/x >"$work/rolling" &
load=$!
kill -TERM "${pid[s2]}"; wait "${pid[s2]}" || true
start_sluice 2
wait "$load"
echo "statuses during the restart: $(cat "$work/rolling")"
if [ "${1:-}" = "--keep" ]; then
	echo "running: curl http://127.0.0.1:18080/limited/x ; Ctrl-C stops everything"
	wait
fi

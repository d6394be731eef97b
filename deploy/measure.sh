#!/usr/bin/env bash
# The issue's 30 s measurement: three gateway processes sharing a 100/s
# cluster limit through a private redis-server, a client at 3× the limit,
# round-robin and then 80% on one instance, each phase compared with one
# token bucket of the same limit (must be within 5%), then Redis killed and
# restarted. Prints each phase's numbers. Needs go and redis-server.
set -euo pipefail
cd "$(dirname "$0")/.."
SLUICE_CLUSTER_WINDOW=${SLUICE_CLUSTER_WINDOW:-30s} go test -count=1 -timeout 10m -v \
	-run 'TestClusterRateLimitThreeInstances$' ./cmd/sluice/ | grep -E 'cluster_limit_e2e_test|^(---|ok|FAIL)'

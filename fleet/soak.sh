#!/usr/bin/env bash
# Soak test of a race-built examples/basic: SOAK_CLIENTS (default 64)
# clients on loopback for SOAK_DURATION (default 60s, at most 30m) of
# login, cart, reads and logout; then checks zero errors, zero data races,
# and that the live heap (gctrace) and goroutine count (SIGQUIT dump)
# return to their idle level. Prints VmRSS and thread figures.
# Extra arguments go to go test.
set -euo pipefail
cd "$(dirname "$0")"
export PATH="/usr/local/go/bin:$PATH"

timeout=5m
if [ -n "${SOAK_DURATION:-}" ]; then
	timeout=40m # the test itself refuses durations above 30m
fi
SOAK=1 go test -count=1 -timeout="$timeout" -v -run '^TestSoak$' "$@" .

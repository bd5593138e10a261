#!/usr/bin/env bash
# Multi-process system tests of examples/basic and cmd/tokensession (the
# nested fleet module, which the root module's go test ./... skips):
#   TestFleet        three instances on loopback, 200 users, the README's
#                    key rotation run with the CLI and SIGHUP, a restart
#   TestRolloutSlip  a new key sealing on one instance before the others
#                    have it: no login or cart item lost
#   TestHostile      ~2000 hostile requests against one instance, memory bound
# Loopback only; every process the tests start stops with them. The soak is
# separate: fleet/soak.sh. Extra arguments go to go test.
set -euo pipefail
cd "$(dirname "$0")"
export PATH="/usr/local/go/bin:$PATH"

unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then
	echo "gofmt needed on:"; echo "$unformatted"; exit 1
fi
go vet .
go test -count=1 -timeout=5m -v -run '^(TestFleet|TestRolloutSlip|TestHostile)$' "$@" .

#!/usr/bin/env bash
# Browser tests of examples/basic in headless Chromium (the e2e module).
# Installs Debian's chromium when it is missing and this runs as root;
# otherwise the test skips without a browser, or fails under CI=true.
# Extra arguments go to go test, e.g. bash e2e/run.sh -v
set -euo pipefail
cd "$(dirname "$0")"
export PATH="/usr/local/go/bin:$PATH"

if ! command -v chromium >/dev/null 2>&1; then
	if [ "$(id -u)" = 0 ]; then
		echo "== installing chromium"
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
	else
		echo "chromium is missing; install it as root: apt-get update && apt-get install -y chromium" >&2
	fi
fi

echo "== e2e: go test (headless chromium)"
go test -count=1 -timeout=3m "$@" ./...

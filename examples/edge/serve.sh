#!/usr/bin/env bash
# Builds examples/edge and serves it under workerd, Cloudflare's
# open-source Workers runtime, installed from npm at the version pinned by
# package-lock.json:
#
#   SESSION_KEYS="k4.local.…" bash examples/edge/serve.sh
#
# Environment:
#   ADDR                  listen address (default 127.0.0.1:8787)
#   SESSION_KEYS      k4.local keys separated by white space, the first one
#                     seals
#   SESSION_KEYRING   instead of SESSION_KEYS: a keyring's JSON document
#                     ({"keys":[…]}), not a path (a Worker reads no files):
#                     SESSION_KEYRING="$(cat keyring.json)"
#   INSECURE_COOKIES  "1": plain-http cookies named "session" (the default
#                     on a loopback ADDR, like examples/basic); "0": never
#
# Use the same keys as examples/basic and both read each other's sessions.
# With "build" as its only argument it builds and installs, and does not
# serve. Needs Go and Node.js (npm).
set -euo pipefail
cd "$(dirname "$0")"
export PATH="/usr/local/go/bin:$PATH"

if [ "${1:-}" != build ]; then
	if [ -z "${SESSION_KEYS:-}" ] && [ -z "${SESSION_KEYRING:-}" ]; then
		echo "serve.sh: set SESSION_KEYS (or SESSION_KEYRING) to the keys examples/basic uses;" >&2
		echo "          a new key: go run ./cmd/tokensession keygen" >&2
		exit 2
	fi
	# The Worker checks the keys, and names what is wrong; this only
	# catches a path early (never printing the value).
	if [ -n "${SESSION_KEYRING:-}" ] && ! [[ $SESSION_KEYRING =~ ^[[:space:]]*\{ ]]; then
		echo 'serve.sh: SESSION_KEYRING must hold the keyring JSON itself, not a path: a Worker reads no files;' >&2
		echo '          SESSION_KEYRING="$(cat keyring.json)"' >&2
		exit 2
	fi
fi

# workerd, at the pinned version. npm ci reinstalls from the lockfile, so
# it runs only when the installed version is not the pinned one.
pinned=$(node -p 'require("./package-lock.json").packages["node_modules/workerd"].version')
date=${pinned#1.} date=${date%%.*} # 1.20261117.1 is workerd 2026-11-17
if [ "$(node_modules/.bin/workerd --version 2>/dev/null)" != "workerd ${date:0:4}-${date:4:2}-${date:6:2}" ]; then
	npm ci --no-audit --no-fund
fi

# The Worker: Go's js/wasm build, without the symbol table and DWARF
# (-s -w), which the runtime never reads. Written by rename, so that a
# workerd starting at the same moment reads a whole file.
GOOS=js GOARCH=wasm go build -trimpath -ldflags='-s -w' -o edge.wasm.tmp .
mv edge.wasm.tmp edge.wasm
cp "$(go env GOROOT)/lib/wasm/wasm_exec.js" wasm_exec.js.tmp
mv wasm_exec.js.tmp wasm_exec.js
echo "edge.wasm: $(wc -c <edge.wasm) bytes, $(gzip -9 -c edge.wasm | wc -c) gzipped" >&2
if [ "${1:-}" = build ]; then
	exit 0
fi

addr=${ADDR:-127.0.0.1:8787}
if [ -z "${INSECURE_COOKIES:-}" ]; then
	case "$addr" in
	127.*:* | localhost:* | "[::1]":*) INSECURE_COOKIES=1 ;;
	*) INSECURE_COOKIES=0 ;;
	esac
fi
export INSECURE_COOKIES
if [ "$INSECURE_COOKIES" = 1 ]; then
	echo "serving http://$addr/ with plain-http cookies (session), for this machine only" >&2
else
	echo "serving http://$addr/ with Secure cookies (__Host-session): put https in front" >&2
fi
exec node_modules/.bin/workerd serve workerd.capnp --socket-addr "http=$addr"

#!/usr/bin/env bash
# examples/edge, the shop as a Go Worker, under workerd (Cloudflare's
# open-source Workers runtime):
#   1. npm ci in examples/edge: workerd at the version its lockfile pins;
#   2. go vet of the Worker for js/wasm (and of its measurement build),
#      and its tests under Node.js (the Fetch bridge, the pages, the clock);
#   3. the Worker built as serve.sh builds it, and its size budget:
#      at most 3 MB gzipped (3,000,000 bytes, the Workers free plan's limit);
#   4. the cross-runtime tests (nested module edge/): examples/basic on the
#      origin and the Worker under workerd, with the same keys;
#   5. the edge benchmarks, once each, so they do not rot.
# Loopback only. Called from .ci/run; runs from any directory.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"
# This script installs workerd: if the tests cannot find it, that is a
# failure, not a reason to skip.
export CI=true
budget=3000000

echo "== install workerd (examples/edge/package-lock.json)"
(cd examples/edge && npm ci --no-audit --no-fund)

echo "== GOOS=js GOARCH=wasm: go vet and tests of examples/edge under Node.js"
GOOS=js GOARCH=wasm go vet ./examples/edge
GOOS=js GOARCH=wasm go vet -tags edgebench ./examples/edge
GOOS=js GOARCH=wasm go test -count=1 -timeout 5m -exec="$(go env GOROOT)/lib/wasm/go_js_wasm_exec" ./examples/edge

echo "== size budget"
bash examples/edge/serve.sh build
raw=$(wc -c <examples/edge/edge.wasm)
gz=$(gzip -9 -c examples/edge/edge.wasm | wc -c)
echo "edge.wasm: $raw bytes, $gz gzipped (budget $budget gzipped)"
if [ "$gz" -gt "$budget" ]; then
	echo "edge.sh: edge.wasm is $gz bytes gzipped, over the $budget-byte budget" >&2
	exit 1
fi

echo "== cross-runtime tests: examples/basic and the Worker under workerd"
cd edge
unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then
	echo "gofmt needed on:"; echo "$unformatted"; exit 1
fi
go vet .
go test -count=1 -timeout 5m -v -run '^(TestEdgeAndOrigin|TestEdgeClock|TestEdgeStagedRotation|TestEdgeRolloutSlip)$' .

echo "== edge benchmarks compile and run once"
go test -count=1 -run '^$' -bench . -benchtime 1x .

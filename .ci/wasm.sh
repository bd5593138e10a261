#!/usr/bin/env bash
# Edge builds of the library (the root package):
#   wasip1/wasm: go vet, go build, then the package's tests run under
#                Node.js's built-in WASI (preview1) with .ci/wasip1_exec.mjs;
#   js/wasm:     go vet, then the package's tests run under Node.js with
#                Go's own go_js_wasm_exec.
# The commands and examples are servers for ordinary platforms and are not
# checked here. Called from .ci/run; runs from any directory.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"

if ! command -v node >/dev/null; then
	echo "wasm.sh: node (Node.js) is needed to run the js/wasm tests" >&2
	exit 1
fi
exec_js="$(go env GOROOT)/lib/wasm/go_js_wasm_exec"
echo "node $(node --version), $exec_js"

echo "== GOOS=wasip1 GOARCH=wasm: go vet, go build, go test"
GOOS=wasip1 GOARCH=wasm go vet .
GOOS=wasip1 GOARCH=wasm go build .
# Node's WASI prints an ExperimentalWarning on every start; it is not ours.
NODE_NO_WARNINGS=1 GOOS=wasip1 GOARCH=wasm go test -timeout 5m -exec="node $PWD/.ci/wasip1_exec.mjs" .

echo "== GOOS=js GOARCH=wasm: go vet, go build, go test"
GOOS=js GOARCH=wasm go vet .
GOOS=js GOARCH=wasm go build .
# A test that hangs (js/wasm runs goroutines on one thread without
# preemption, so a busy loop starves the rest) is killed a minute after -timeout.
GOOS=js GOARCH=wasm go test -timeout 5m -exec="$exec_js" .

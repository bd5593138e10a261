#!/usr/bin/env bash
# compare.sh: run BenchmarkCompare (see compare_test.go) in interleaved
# rounds and print benchstat tables: every implementation against
# gorilla/sessions, tokensession against the hand-rolled go-paseto floor,
# the cache-miss case against the cache off, the JSON v2 codec, and the
# whole library built with and without GOEXPERIMENT=jsonv2.
#
# Usage: ./compare.sh
#   ROUNDS=3        rounds (benchstat pools them: -ignore round); COUNT is
#                   accepted as another name for it
#   BENCHTIME=200ms per case and round
#   PROCS=1         GOMAXPROCS for the benchmarks (go test -cpu)
#   BENCH=Compare   benchmark regexp, e.g. 'Compare/.*/size=3KiB'
#   JSONV2=1        also build with GOEXPERIMENT=jsonv2; each round then
#                   runs the default build, then the jsonv2 build, each a
#                   process of one round. JSONV2=0 runs the default build
#                   only, all rounds in one process.
#   OUT=file        keep the raw output there (default: a temp file)
#   BENCHSTAT=path  benchstat (default: on PATH, else $(go env GOPATH)/bin;
#                   go install golang.org/x/perf/cmd/benchstat@latest)
#
# The cells are medians over the rounds; "vs base" is the change of the
# median against the table's first column: +25% is a ratio of 1.25x.
# benchstat runs with -alpha 1 so that it prints every change, however
# few the rounds: read the ± columns to judge it. Prefer cpu-ns/op (the
# process's CPU time per request) to sec/op on a busy machine.
set -euo pipefail
cd "$(dirname "$0")"

ROUNDS=${ROUNDS:-${COUNT:-3}}
BENCHTIME=${BENCHTIME:-200ms}
PROCS=${PROCS:-1}
BENCH=${BENCH:-Compare}
JSONV2=${JSONV2:-1}
OUT=${OUT:-$(mktemp "${TMPDIR:-/tmp}/tokensession-compare.XXXXXX")}
BENCHSTAT=${BENCHSTAT:-$(command -v benchstat || echo "$(go env GOPATH)/bin/benchstat")}
if [ ! -x "$BENCHSTAT" ]; then
	echo "compare.sh: benchstat not found; go install golang.org/x/perf/cmd/benchstat@latest" >&2
	exit 1
fi

bin=$(mktemp -d "${TMPDIR:-/tmp}/tokensession-compare-bin.XXXXXX")
trap 'rm -rf "$bin"' EXIT
builds=(default)
go test -c -o "$bin/default.test" .
if [ "$JSONV2" = 1 ]; then
	GOEXPERIMENT=jsonv2 go test -c -o "$bin/jsonv2.test" .
	builds+=(jsonv2)
fi

run() { # build, rounds, first round
	# "build: …" is a benchmark file configuration line: benchstat keys
	# the results that follow with it.
	echo "build: $1"
	"$bin/$1.test" -test.run='^$' -test.bench="$BENCH" -test.benchtime="$BENCHTIME" \
		-test.cpu="$PROCS" -test.benchmem -rounds="$2" -round="$3"
}

echo "== $(date -u +%FT%TZ) $(go version) GOMAXPROCS=$PROCS ROUNDS=$ROUNDS BENCHTIME=$BENCHTIME builds: ${builds[*]}" >&2
: >"$OUT"
if [ "$JSONV2" = 1 ]; then
	for ((r = 0; r < ROUNDS; r++)); do
		for b in "${builds[@]}"; do
			run "$b" 1 "$r" | tee -a "$OUT" >&2
		done
	done
else
	run default "$ROUNDS" 0 | tee -a "$OUT" >&2
fi
echo "== raw results: $OUT" >&2

bs() { "$BENCHSTAT" -alpha 1 -ignore round -row /path,/size "$@" "$OUT"; }
default='build:default'
tokensession='tokensession tokensession-miss tokensession-nocache'

echo "== every implementation against gorilla (default build)"
bs -filter "$default .unit:(cpu-ns/op OR sec/op OR cookie-bytes OR allocs/op)" -col /impl

echo
echo "== against the hand-rolled go-paseto floor (default build)"
bs -filter "$default .unit:(cpu-ns/op OR sec/op)" -col "/impl@(paseto $tokensession)"

echo
echo "== a cache miss against the cache off, and the control (default build)"
bs -filter "$default .unit:(cpu-ns/op OR sec/op OR allocs/op)" \
	-col "/impl@(tokensession-nocache tokensession-miss tokensession-nocache-unseen)"

if [ "$JSONV2" = 1 ]; then
	echo
	echo "== the JSON v2 codec on a cache hit against gorilla (jsonv2 build)"
	bs -filter 'build:jsonv2 .unit:(cpu-ns/op OR sec/op OR allocs/op)' \
		-col '/impl@(gorilla tokensession tokensession-jsonv2)'

	echo
	echo "== the library built with GOEXPERIMENT=jsonv2 against without"
	bs -filter ".unit:(cpu-ns/op) /impl:(paseto OR $(echo "$tokensession" | sed 's/ / OR /g'))" \
		-col build -row /impl,/path,/size
fi

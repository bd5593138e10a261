#!/usr/bin/env bash
# compare.sh: benchmark tokensession against gorilla/sessions and
# hand-rolled go-paseto, print benchstat's table with one column per
# implementation, then the same medians as ratios against gorilla (and
# tokensession's against go-paseto).
#
# Usage: ./compare.sh [extra go test flags]
#   COUNT=10        runs per benchmark (benchstat wants >= 6 for a CI)
#   BENCHTIME=1s    per run; use 100ms-300ms on a busy machine
#   BENCH=.         benchmark regexp, e.g. 'Read' or 'Modify/size=200B'
#   OUT=file        keep the raw go test output there (default: a temp file)
#   BENCHSTAT=path  benchstat binary (default: benchstat on PATH, else
#                   $(go env GOPATH)/bin/benchstat; install it with
#                   go install golang.org/x/perf/cmd/benchstat@latest)
#
# Only ratios measured in one run mean anything on a shared machine; the
# absolute times do not. On a busy machine prefer the cpu-ns/op rows (the
# process's CPU time per request, which does not count time spent waiting
# for the CPU) to sec/op (wall time).
set -euo pipefail
cd "$(dirname "$0")"

COUNT=${COUNT:-10}
BENCHTIME=${BENCHTIME:-1s}
BENCH=${BENCH:-.}
OUT=${OUT:-$(mktemp "${TMPDIR:-/tmp}/tokensession-compare.XXXXXX")}
BENCHSTAT=${BENCHSTAT:-$(command -v benchstat || echo "$(go env GOPATH)/bin/benchstat")}
if [ ! -x "$BENCHSTAT" ]; then
	echo "compare.sh: benchstat not found; go install golang.org/x/perf/cmd/benchstat@latest" >&2
	exit 1
fi

echo "== go test -run='^\$' -bench='$BENCH' -count=$COUNT -benchtime=$BENCHTIME -benchmem $*" >&2
go test -run='^$' -bench="$BENCH" -count="$COUNT" -benchtime="$BENCHTIME" -benchmem "$@" | tee "$OUT" >&2
echo "== raw results: $OUT" >&2

echo "== benchstat -col /impl"
"$BENCHSTAT" -col /impl "$OUT"

echo
echo "== ratios of medians (benchstat centers): each implementation / gorilla, then each tokensession* / paseto"
"$BENCHSTAT" -format csv -col /impl "$OUT" 2>/dev/null | awk -F, '
function flush() { if (nrows) printf "\n"; nrows = 0 }
# A table starts with a row of implementation names, then a row of units.
$1 == "" && $2 != "" && !inunits && !(ncol && $2 == unit) {
	flush()
	delete name
	for (i = 2; i <= NF; i++) if ($i != "") { name[i] = $i }
	inunits = 1
	next
}
inunits {
	unit = $2; ncol = 0; pcol = 0
	for (i = 2; i <= NF; i++) if ($i == unit && (i in name)) {
		col[++ncol] = i
		if (name[i] == "paseto") pcol = i
	}
	inunits = 0
	skip = (unit == "B/s")
	if (!skip) {
		printf "%-22s", unit
		for (c = 2; c <= ncol; c++) printf "  %28s", name[col[c]] "/" name[col[1]]
		for (c = 2; c <= ncol; c++) if (pcol && name[col[c]] ~ /^tokensession/) printf "  %28s", name[col[c]] "/paseto"
		printf "\n"
	}
	next
}
$1 == "" { flush(); ncol = 0; next }
!skip && ncol {
	base = $(col[1]) + 0
	printf "%-22s", $1
	for (c = 2; c <= ncol; c++) printf "  %27.2fx", (base ? $(col[c]) / base : 0)
	for (c = 2; c <= ncol; c++) if (pcol && name[col[c]] ~ /^tokensession/) printf "  %27.2fx", ($(pcol) ? $(col[c]) / $(pcol) : 0)
	printf "\n"
	nrows++
}
'

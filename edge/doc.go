// Package edge tests examples/edge, the shop as a Go Worker, under
// workerd (Cloudflare's open-source Workers runtime) against
// examples/basic on the origin, and measures it. It is a nested module so
// that the root module's go test ./... neither needs workerd nor runs it.
//
//	bash .ci/edge.sh    # installs workerd, then the tests as CI runs them
//
// The figures in examples/edge/README.md come from its benchmarks, run in
// this directory:
//
//	go test -run '^$' -bench EdgeRequest -benchtime 300x -count 3 .
//	go test -run '^$' -bench EdgeColdStart -benchtime 10x .
package edge

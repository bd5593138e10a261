// Package edge tests examples/edge, the shop as a Go Worker, under
// workerd (Cloudflare's open-source Workers runtime) against
// examples/basic on the origin, and measures it. It is a nested module so
// that the root module's go test ./... neither needs workerd nor runs it.
//
//	bash .ci/edge.sh                       # the tests, as CI runs them
//	go test -run '^$' -bench . -benchtime 200x   # the figures in examples/edge/README.md
package edge

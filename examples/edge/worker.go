//go:build js && wasm

// Command edge is examples/basic's shop as a Cloudflare Worker, written in
// Go and compiled to WebAssembly (GOOS=js GOARCH=wasm). It shares sessions
// with examples/basic: same session type, cookie, purpose and keys, so a
// user logs in on the origin and keeps the login and the cart at the edge.
//
//	SESSION_KEYS="$(go run ./cmd/tokensession keygen)" bash examples/edge/serve.sh
//
// Bindings (Worker environment variables or secrets):
//
//	SESSION_KEYS      k4.local keys separated by white space, the first
//	                  one seals
//	SESSION_KEYRING   instead of SESSION_KEYS: a keyring's JSON
//	                  ({"keys":[…]}), for staged rotation. examples/basic
//	                  also takes a path there; a Worker has no files
//	INSECURE_COOKIES  "1": plain-http cookies named "session", for a local
//	                  workerd next to a loopback examples/basic
//
// Setting both SESSION_KEYS and SESSION_KEYRING, or either to an empty
// value, is an error, as at the origin. The bindings are read once per
// isolate, on its first request. See
// README.md in this directory for the clock, the size and deploying with
// wrangler.
package main

import (
	"log"
	"net/http"
	"os"
	"sync"
	"syscall/js"
)

func main() {
	var (
		once    sync.Once
		handler http.Handler
	)
	logger := log.New(os.Stderr, "", 0) // the Worker's console; it adds the time
	// worker.mjs calls tokensessionFetch(request, env) for every request
	// and returns the Promise<Response> it gets back.
	js.Global().Set("tokensessionFetch", js.FuncOf(func(this js.Value, args []js.Value) any {
		request, env := args[0], args[1]
		once.Do(func() { handler = newHandler(envLookup(env), logger) })
		return serveJS(handler, request)
	}))
	select {} // keep the Go program, and so the function, alive
}

// envLookup reads a Worker's bindings as os.LookupEnv reads the
// environment: a binding that is not a string (unset, or another type of
// binding) counts as unset.
func envLookup(env js.Value) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v := env.Get(name)
		if v.Type() != js.TypeString {
			return "", false
		}
		return v.String(), true
	}
}

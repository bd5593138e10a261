//go:build !(js && wasm)

package main

import (
	"fmt"
	"os"
)

// main explains where the program runs: it is a Worker, built with
// GOOS=js GOARCH=wasm by serve.sh.
func main() {
	fmt.Fprintln(os.Stderr, "examples/edge is a Cloudflare Worker: run it with bash examples/edge/serve.sh")
	os.Exit(2)
}

package tokensession_test

import (
	"os"
	"strings"
	"testing"
)

// TestREADMEProgram keeps the README's complete program identical to
// examples/hello, which the build compiles.
func TestREADMEProgram(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	program, err := os.ReadFile("examples/hello/main.go")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "```go\n"+string(program)+"```\n") {
		t.Error("README.md's Go program differs from examples/hello/main.go")
	}
}

// Package interop_test checks the token format against an independent
// PASETO v4.local implementation in JavaScript (paseto-ts, run by Node.js).
// See README.md in this directory.
package interop_test

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tokensession/tokensession"
)

// The fixed test key, bytes 0x70..0x8f, and its official PASERK k4.lid.
const (
	testKey = "k4.local.cHFyc3R1dnd4eXp7fH1-f4CBgoOEhYaHiImKi4yNjo8"
	testLID = "k4.lid.iVtYQDjr5gEijCSjJC3fQaJm7nCeQSeaty0Jixy8dbsk"
)

type value struct {
	User  string   `json:"user"`
	Roles []string `json:"roles"`
	N     int      `json:"n"`
	Note  string   `json:"note"`
}

// goValue is what the Go side seals; check.mjs expects it (GO_VALUE).
var goValue = value{User: "alice", Roles: []string{"admin", "dev"}, N: 42, Note: `héllo ✓ <&> "q"`}

// nodeValue is what check.mjs seals (NODE_VALUE).
var nodeValue = value{User: "bob", Roles: []string{"reader"}, N: 7, Note: "from node ✓ <&>"}

// nodeTimeout bounds one run of check.mjs.
const nodeTimeout = 2 * time.Minute

func TestNodePasetoInterop(t *testing.T) {
	// Locally a missing tool skips the test; CI (.ci/run installs both)
	// must not pass without running it.
	skip := t.Skip
	if os.Getenv("CI") == "true" {
		skip = t.Fatal
	}
	node, err := exec.LookPath("node")
	if err != nil {
		skip("node not found in PATH; install Node.js 20+ to run the interop test")
	}
	if _, err := os.Stat(filepath.Join("node_modules", "paseto-ts", "package.json")); err != nil {
		skip("interop/node_modules missing; run (cd interop && npm ci) to run the interop test")
	}

	ring, err := tokensession.ParseKeyringEnv(testKey)
	if err != nil {
		t.Fatal(err)
	}
	m, err := tokensession.New(tokensession.Config[value]{Keyring: ring})
	if err != nil {
		t.Fatal(err)
	}
	if got := tokensession.DefaultCookieName; got != "__Host-session" {
		t.Fatalf("default cookie name %q, want __Host-session (the purpose check.mjs asserts)", got)
	}

	// Go → Node.
	tok, _, err := m.Seal(goValue)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Go token: %s", tok)
	out := runNode(t, node, tok)

	// Node → Go.
	sid, nodeTok, wrongTok := out["sid"], out["token"], out["wrong-purpose"]
	if sid == "" || nodeTok == "" || wrongTok == "" {
		t.Fatalf("check.mjs printed sid %q, token %q, wrong-purpose %q; want all three", sid, nodeTok, wrongTok)
	}
	t.Logf("Node token: %s", nodeTok)
	got, info, err := m.Open(nodeTok)
	if err != nil {
		t.Fatalf("Open(Node token): %v", err)
	}
	if !reflect.DeepEqual(got, nodeValue) {
		t.Errorf("Open(Node token) value = %+v, want %+v", got, nodeValue)
	}
	if info.ID != sid {
		t.Errorf("Open(Node token) ID = %q, want %q", info.ID, sid)
	}
	if info.KeyID != testLID {
		t.Errorf("Open(Node token) KeyID = %q, want %q", info.KeyID, testLID)
	}
	if !info.Created.Equal(info.IssuedAt) {
		t.Errorf("Open(Node token) Created %v != IssuedAt %v", info.Created, info.IssuedAt)
	}
	if d := info.Expires.Sub(info.IssuedAt); d != 10*time.Minute {
		t.Errorf("Open(Node token) Expires - IssuedAt = %v, want 10m", d)
	}
	if d := time.Since(info.IssuedAt); d < -time.Minute || d > 5*time.Minute {
		t.Errorf("Open(Node token) IssuedAt %v is not close to now", info.IssuedAt)
	}

	// The same claims sealed for another purpose must not open.
	if _, _, err := m.Open(wrongTok); !errors.Is(err, tokensession.ErrNotAuthentic) {
		t.Errorf("Open(Node token for purpose \"session\") error = %v, want ErrNotAuthentic", err)
	}
	// And a manager for that purpose opens it, not the __Host-session one.
	other, err := tokensession.New(tokensession.Config[value]{Keyring: ring, Purpose: "session"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := other.Open(wrongTok); err != nil {
		t.Errorf("Open(Node token for purpose \"session\") with Purpose \"session\": %v", err)
	}
	if _, _, err := other.Open(nodeTok); !errors.Is(err, tokensession.ErrNotAuthentic) {
		t.Errorf("Open(Node token for __Host-session) with Purpose \"session\" error = %v, want ErrNotAuthentic", err)
	}
}

// runNode runs check.mjs on tok and returns the "name value" lines it
// printed on stdout. It fails the test if node fails or times out.
func runNode(t *testing.T, node, tok string) map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), nodeTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "check.mjs", tok)
	cmd.WaitDelay = 5 * time.Second
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if s := stderr.String(); s != "" {
		t.Logf("node stderr:\n%s", s)
	}
	if ctx.Err() != nil {
		t.Fatalf("node check.mjs did not finish within %v", nodeTimeout)
	}
	if err != nil {
		t.Fatalf("node check.mjs failed: %v", err)
	}
	out := make(map[string]string)
	sc := bufio.NewScanner(strings.NewReader(string(stdout)))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			t.Fatalf("check.mjs printed an unexpected line: %q", sc.Text())
		}
		out[name] = val
	}
	return out
}

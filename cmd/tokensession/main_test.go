package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokensession/tokensession"
)

// t0 is the tests' "now".
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

type result struct {
	code           int
	stdout, stderr string
}

// exec runs the command line args in-process at instant now, with stdin
// and an environment holding only env.
func exec(t *testing.T, now time.Time, env map[string]string, stdin string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	getenv := func(k string) string { return env[k] }
	code := runEnv(args, strings.NewReader(stdin), &stdout, &stderr, func() time.Time { return now }, getenv)
	return result{code, stdout.String(), stderr.String()}
}

// checkResult checks the exit code and, on failure, that stderr is one
// line starting with "tokensession: " and holding wantErr.
func checkResult(t *testing.T, r result, wantCode int, wantErr string) {
	t.Helper()
	if r.code != wantCode {
		t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, wantCode, r.stdout, r.stderr)
	}
	if wantCode == 0 {
		return
	}
	if !strings.HasPrefix(r.stderr, "tokensession: ") || !strings.HasSuffix(r.stderr, "\n") || strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("stderr is not one line starting with \"tokensession: \": %q", r.stderr)
	}
	if !strings.Contains(r.stderr, wantErr) {
		t.Errorf("stderr %q does not contain %q", r.stderr, wantErr)
	}
}

// noSecrets fails if out holds the secret of any of keys.
func noSecrets(t *testing.T, out string, keys ...tokensession.Key) {
	t.Helper()
	for _, k := range keys {
		secret := strings.TrimPrefix(k.UnsafeExportPASERK(), "k4.local.")
		if strings.Contains(out, secret) || strings.Contains(out, secret[:16]) {
			t.Errorf("output reveals the secret of %s:\n%s", k.ID(), out)
		}
	}
}

func TestRunDirect(t *testing.T) {
	// run, the entry point main uses, with the real environment.
	var stdout, stderr bytes.Buffer
	if code := run([]string{"keygen"}, strings.NewReader(""), &stdout, &stderr, time.Now); code != 0 {
		t.Fatalf("keygen: exit %d: %s", code, stderr.String())
	}
	k, err := tokensession.ParseKey(strings.TrimSpace(stdout.String()))
	if err != nil {
		t.Fatalf("keygen printed no key: %v", err)
	}
	if got := stderr.String(); got != k.ID()+"\n" {
		t.Errorf("keygen stderr = %q, want the ID %q", got, k.ID())
	}
}

func TestUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-h"}, "Usage: tokensession COMMAND"},
		{[]string{"--help"}, "Usage: tokensession COMMAND"},
		{[]string{"help"}, "Usage: tokensession COMMAND"},
		{[]string{"help", "keyring", "add"}, "Usage: tokensession keyring add"},
		{[]string{"help", "inspect"}, "Usage: tokensession inspect"},
		{[]string{"keygen", "-h"}, "Usage: tokensession keygen"},
		{[]string{"id", "-h"}, "Usage: tokensession id"},
		{[]string{"keyring", "-h"}, "Usage: tokensession keyring SUBCOMMAND"},
		{[]string{"keyring", "add", "-h"}, "Usage: tokensession keyring add"},
		{[]string{"keyring", "retire", "-help"}, "Usage: tokensession keyring retire"},
		{[]string{"keyring", "prune", "--help"}, "Usage: tokensession keyring prune"},
		{[]string{"keyring", "list", "-h"}, "Usage: tokensession keyring list"},
		{[]string{"inspect", "-h"}, "Usage: tokensession inspect"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			r := exec(t, t0, nil, "", tc.args...)
			checkResult(t, r, 0, "")
			if !strings.HasPrefix(r.stdout, tc.want) {
				t.Errorf("stdout = %q, want prefix %q", r.stdout, tc.want)
			}
			if r.stderr != "" {
				t.Errorf("stderr = %q, want none", r.stderr)
			}
		})
	}
	// The test clock is documented wherever it applies.
	for _, name := range []string{"keyring add", "keyring retire", "keyring prune", "keyring list", "inspect"} {
		if !strings.Contains(lookup(name).usage, "TOKENSESSION_NOW    for testing only") {
			t.Errorf("usage of %s does not document TOKENSESSION_NOW", name)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"no command", nil, "missing command"},
		{"unknown command", []string{"frobnicate"}, `unknown command "frobnicate"`},
		{"key as command", []string{"k4.local.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}, "unknown command (a key, not shown)"},
		{"keyring alone", []string{"keyring"}, "keyring: missing subcommand"},
		{"keyring unknown", []string{"keyring", "shred"}, `unknown command "keyring shred"`},
		{"help unknown", []string{"help", "nope"}, `help: unknown command "nope"`},
		{"keygen argument", []string{"keygen", "extra"}, "keygen: takes no arguments"},
		{"keygen flag", []string{"keygen", "-bits", "256"}, "keygen: flag provided but not defined: -bits"},
		{"id two keys", []string{"id", "a", "b"}, "id: takes at most one key"},
		{"id bad flag", []string{"id", "-x"}, "id: flag provided but not defined: -x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkResult(t, exec(t, t0, nil, "", tc.args...), 2, tc.wantErr)
		})
	}
}

func TestKeygen(t *testing.T) {
	r := exec(t, t0, nil, "", "keygen")
	checkResult(t, r, 0, "")
	if !strings.HasSuffix(r.stdout, "\n") || strings.Count(r.stdout, "\n") != 1 {
		t.Fatalf("stdout = %q, want one line", r.stdout)
	}
	k, err := tokensession.ParseKey(strings.TrimSpace(r.stdout))
	if err != nil {
		t.Fatal(err)
	}
	if r.stderr != k.ID()+"\n" {
		t.Errorf("stderr = %q, want %q", r.stderr, k.ID()+"\n")
	}
	if r2 := exec(t, t0, nil, "", "keygen"); r2.stdout == r.stdout {
		t.Error("two keygen runs printed the same key")
	}
}

func TestID(t *testing.T) {
	k1, k2 := tokensession.GenerateKey(), tokensession.GenerateKey()
	s1, s2 := k1.UnsafeExportPASERK(), k2.UnsafeExportPASERK()
	for _, tc := range []struct {
		name     string
		args     []string
		stdin    string
		wantCode int
		wantOut  string
		wantErr  string
	}{
		{name: "argument", args: []string{s1}, wantOut: k1.ID() + "\n"},
		{name: "stdin", stdin: s1 + "\n", wantOut: k1.ID() + "\n"},
		{name: "stdin dash", args: []string{"-"}, stdin: s1, wantOut: k1.ID() + "\n"},
		{name: "stdin white space", stdin: "\r\n\t  " + s1 + "  \r\n\n", wantOut: k1.ID() + "\n"},
		{name: "stdin several", stdin: s1 + "\n" + s2 + "\n", wantOut: k1.ID() + "\n" + k2.ID() + "\n"},
		{name: "empty stdin", stdin: " \n", wantCode: 1, wantErr: "id: no key given"},
		{name: "bad key", args: []string{"k4.local.short"}, wantCode: 1, wantErr: "id: invalid key: wrong key length"},
		{name: "wrong version", args: []string{"k3.local." + s1[len("k4.local."):]}, wantCode: 1, wantErr: `wrong PASERK version "k3"`},
		{name: "an ID", args: []string{k1.ID()}, wantCode: 1, wantErr: "wrong PASERK type"},
		{name: "padded", args: []string{s1 + "="}, wantCode: 1, wantErr: "padded base64"},
		{name: "bad second key", stdin: s1 + " k4.local.nope", wantCode: 1, wantErr: "id: key 1: invalid key"},
		{name: "oversized stdin", stdin: strings.Repeat(" ", maxKeyInput+1), wantCode: 1, wantErr: "stdin: input larger than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := exec(t, t0, nil, tc.stdin, append([]string{"id"}, tc.args...)...)
			checkResult(t, r, tc.wantCode, tc.wantErr)
			if r.stdout != tc.wantOut {
				t.Errorf("stdout = %q, want %q", r.stdout, tc.wantOut)
			}
			noSecrets(t, r.stdout+r.stderr, k1, k2)
		})
	}
}

func TestNowFromEnvironment(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "keys.json")
	env := map[string]string{envNow: "2030-01-02T03:04:05Z"}
	checkResult(t, exec(t, t0, env, "", "keyring", "add", "-file", file, "-not-before", "+1h"), 1, "no key could seal now")
	checkResult(t, exec(t, t0, env, "", "keyring", "add", "-file", file), 0, "")
	r := exec(t, t0, env, "", "keyring", "add", "-file", file, "-not-before", "+1h")
	checkResult(t, r, 0, "")
	list := exec(t, t0, env, "", "keyring", "list", "-file", file)
	if !strings.Contains(list.stdout, "staged   not_before=2030-01-02T04:04:05Z") {
		t.Errorf("TOKENSESSION_NOW not used as the clock:\n%s", list.stdout)
	}

	bad := map[string]string{envNow: "yesterday"}
	checkResult(t, exec(t, t0, bad, "", "keyring", "list", "-file", file), 2, "TOKENSESSION_NOW: not an RFC 3339 time")
}

func TestRedactKeys(t *testing.T) {
	k := tokensession.GenerateKey().UnsafeExportPASERK()
	got := redactKeys("a " + k + " b k4.local.x=y k4.local.")
	if want := "a k4.local.[redacted] b k4.local.[redacted] k4.local."; got != want {
		t.Errorf("redactKeys = %q, want %q", got, want)
	}
}

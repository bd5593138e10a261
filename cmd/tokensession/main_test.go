package main

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
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
	lookupEnv := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	code := runEnv(args, strings.NewReader(stdin), &stdout, &stderr, func() time.Time { return now }, lookupEnv)
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

// tmpDir is t.TempDir with a short name: the CLI does not repeat a path
// that has a long run of base64 characters, as a long test name makes.
func tmpDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "ts")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
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
		{[]string{"keyring", "import", "-h"}, "Usage: tokensession keyring import"},
		{[]string{"keyring", "promote", "-h"}, "Usage: tokensession keyring promote"},
		{[]string{"keyring", "reschedule", "-h"}, "Usage: tokensession keyring reschedule"},
		{[]string{"help", "keyring", "retire"}, "Usage: tokensession keyring retire"},
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
	for _, name := range []string{"keyring add", "keyring import", "keyring promote", "keyring reschedule", "keyring retire", "keyring prune", "keyring list", "inspect"} {
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
		{"key as command", []string{"k4.local.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}, "unknown command (52 characters, not shown: it could be a key)"},
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
	dir := tmpDir(t)
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

func TestRedact(t *testing.T) {
	k := tokensession.GenerateKey()
	paserk := k.UnsafeExportPASERK()
	bare := paserk[len("k4.local."):]
	for in, want := range map[string]string{
		"a " + paserk + " b k4.local.x=y k4.local.":         "a k4.local.[redacted] b k4.local.[redacted] k4.local.",
		"key " + bare + ": no such file":                    "key [redacted]: no such file",
		"mylocal." + bare + "x":                             "mylocal.[redacted]",
		"x." + bare + ".json":                               "x.[redacted].json",
		"k3.local." + bare:                                  "k3.local.[redacted]",
		"id " + k.ID() + " ok":                              "id " + k.ID() + " ok",
		"/tmp/TestSomethingLong1234567890/keyring.json: no": "/tmp/TestSomethingLong1234567890/keyring.json: no",
		strings.Repeat("aB3", 14):                           "[redacted]",
		strings.Repeat("aB3", 13):                           strings.Repeat("aB3", 13),
	} {
		if got := redact(in); got != want {
			t.Errorf("redact(%q) = %q, want %q", in, got, want)
		}
	}
}

// secretForms returns the ways a user may paste k: its PASERK, the bare
// base64url after the prefix, standard padded base64 and hex.
func secretForms(t *testing.T, k tokensession.Key) []string {
	t.Helper()
	paserk := k.UnsafeExportPASERK()
	raw, err := base64.RawURLEncoding.DecodeString(paserk[len("k4.local."):])
	if err != nil {
		t.Fatal(err)
	}
	return []string{paserk, paserk[len("k4.local."):], base64.StdEncoding.EncodeToString(raw), hex.EncodeToString(raw)}
}

// leaks reports the first form of the secret (or a 12-character piece of
// one) that out holds.
func leaks(out string, forms []string) (string, bool) {
	for _, f := range forms {
		f = strings.TrimPrefix(f, "k4.local.")
		for i := 0; i+12 <= len(f); i++ {
			if strings.Contains(out, f[i:i+12]) {
				return f, true
			}
		}
	}
	return "", false
}

// TestNoSecretInOutput pastes a key, in every form, into every argument
// position, flag, path, file and variable of every command but keygen,
// and checks that no output shows any of it.
func TestNoSecretInOutput(t *testing.T) {
	// Only the CLI's own care keeps a slashKey out.
	_, forms := slashKey(t)
	good := tokensession.GenerateKey()
	dir := tmpDir(t)
	// Relative paths (-file KEY) land here.
	t.Chdir(dir)
	file := writeRing(t, dir, tokensession.KeyringEntry{Key: good})
	ring, _ := tokensession.NewKeyring(tokensession.KeyringEntry{Key: good})
	m, err := tokensession.New(tokensession.Config[json.RawMessage]{Keyring: ring, Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := m.Seal(json.RawMessage(`1`))
	if err != nil {
		t.Fatal(err)
	}
	goodKeys := good.UnsafeExportPASERK()

	type run struct {
		args  []string
		env   map[string]string
		stdin string
	}
	for fi, v := range forms {
		// A file that holds the key in place of a keyring, and keyring
		// files that misplace it.
		asFile := filepath.Join(dir, "pasted"+strconv.Itoa(fi)+".json")
		inField := filepath.Join(dir, "field"+strconv.Itoa(fi)+".json")
		inTime := filepath.Join(dir, "time"+strconv.Itoa(fi)+".json")
		inName := filepath.Join(dir, "name"+strconv.Itoa(fi)+".json")
		for path, data := range map[string]string{
			asFile:  v + "\n",
			inField: `{"keys":[{"key":"` + v + `"}]}`,
			inTime:  `{"keys":[{"key":"` + goodKeys + `","not_before":"` + v + `"}]}`,
			inName:  `{"keys":[{"key":"` + goodKeys + `","` + v + `":1}]}`,
		} {
			if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		// Directories of credentials: one named after the key, holding a
		// good keyring readable by all (which inspect warns about), and
		// ones holding the key where it does not belong.
		keyDir := filepath.Join(dir, "creds"+strconv.Itoa(fi), v)
		badKeys := filepath.Join(dir, "badkeys"+strconv.Itoa(fi))
		badRing := filepath.Join(dir, "badring"+strconv.Itoa(fi))
		for path, data := range map[string]string{
			filepath.Join(keyDir, "session-keyring"):  `{"keys":[{"key":"` + goodKeys + `"}]}`,
			filepath.Join(badKeys, "session-keys"):    goodKeys + " " + v + "\n",
			filepath.Join(badRing, "session-keyring"): `{"keys":[{"key":"` + goodKeys + `","not_before":"` + v + `"}]}`,
		} {
			if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		var runs []run
		add := func(env map[string]string, stdin string, args ...string) {
			runs = append(runs, run{args, env, stdin})
		}
		add(nil, "", v)
		add(nil, "", "-"+v)
		add(nil, "", "help", v)
		add(nil, "", "help", "keyring", v)
		add(nil, "", "keygen", v)
		add(nil, "", "keygen", "-"+v)
		add(nil, "", "id", v, v)
		add(nil, "", "id", "-"+v+"=1")
		add(nil, v+" "+v, "id")
		add(nil, "", "keyring", v)
		add(nil, "", "keyring", v, "-file", file)
		for _, sub := range []string{"add", "retire", "prune", "list", "promote", "reschedule", "import"} {
			add(nil, "", "keyring", sub, "-file", v)
			add(nil, "", "keyring", sub, "-file", filepath.Join(dir, v))
			add(nil, "", "keyring", sub, "-file", v+".json")
			add(nil, "", "keyring", sub, "-file", "keys."+v)
			add(nil, "", "keyring", sub, "-file", file, v)
			add(nil, "", "keyring", sub, "-file", file, "-"+v)
			add(nil, "", "keyring", sub, "-file", file, "--"+v+"="+v)
			add(nil, "", "keyring", sub, "-file", file, "-id", v)
			add(nil, "", "keyring", sub, "-file", file, "-id", good.ID(), "-at", v)
			add(nil, "", "keyring", sub, "-file", file, "-id", good.ID(), "-not-before", v)
			add(nil, "", "keyring", sub, "-file", file, "-not-before", v)
			add(nil, "", "keyring", sub, "-file", file, "-rollout", v)
			add(nil, "", "keyring", sub, "-file", file, "-idle", v, "-leeway", v)
			add(nil, "", "keyring", sub, "-file", file, "-from", v)
			add(nil, v, "keyring", sub, "-file", file, "-from", "-")
			add(nil, "", "keyring", sub, "-file", file, "-from", asFile)
			add(nil, "", "keyring", sub, "-file", file, "-from", inField)
			for _, bad := range []string{asFile, inField, inTime, inName} {
				add(nil, "", "keyring", sub, "-file", bad)
				add(nil, "", "keyring", sub, "-file", bad, "-id", good.ID())
			}
			add(map[string]string{envNow: v}, "", "keyring", sub, "-file", file)
		}
		for _, flag := range []string{"-keyring", "-keys", "-cookie-name", "-purpose", "-idle", "-absolute", "-leeway", "-max-chunks", "-max-cookie-size", "-revoked-before"} {
			add(nil, "", "inspect", flag, v, tok)
			add(map[string]string{"SESSION_KEYS": goodKeys}, "", "inspect", flag, v, tok)
		}
		add(nil, "", "inspect", "-keys", goodKeys, v)
		add(nil, v, "inspect", "-keys", goodKeys)
		add(nil, "", "inspect", "-keys", goodKeys, "-"+v, tok)
		add(nil, "", "inspect", "-keys", goodKeys, "Cookie: "+v+"=1; a=b")
		add(nil, "", "inspect", "-keys", goodKeys, "__Host-session="+v)
		add(nil, "", "inspect", "-keys", goodKeys, "-H", v)
		add(nil, "", "inspect", "-keys", goodKeys, "-H '"+v+"'")
		add(nil, "", "inspect", "-keys", goodKeys, "-b", "a="+v)
		add(nil, "", "inspect", "-keys", goodKeys, "--cookie", v)
		add(nil, "> "+v+"\n-H '"+v+": 1'\n", "inspect", "-keys", goodKeys)
		add(nil, "", "inspect", "-keys", goodKeys, "__Host-session.0="+v+"; __Host-session.1="+v)
		add(nil, "", "inspect", "-keys", goodKeys, "-cookie-name", v, "Cookie: "+v+"=")
		// A key glued to other key characters and touching a '.': in a
		// cookie name, which notes and verdicts quote, and in a path.
		for _, glued := range []string{v + "xy.z", "x." + v + "xy", v + "-old.json"} {
			add(nil, "", "inspect", "-keys", goodKeys, "Cookie: "+glued+"=1")
			add(nil, "", "inspect", "-keys", goodKeys, "Cookie: __Host-session="+tok+"; "+glued+"=1")
			add(nil, "", "inspect", "-keys", goodKeys, "-b", glued+"=1")
			add(nil, "Cookie: "+glued+"=1\n", "inspect", "-keys", goodKeys)
			add(nil, "", "inspect", "-keys", goodKeys, "-cookie-name", glued, tok)
			add(nil, "", "inspect", "-keyring", filepath.Join(dir, glued), tok)
			add(map[string]string{"SESSION_KEYRING": filepath.Join(dir, glued)}, "", "inspect", tok)
			add(nil, "", "keyring", "list", "-file", filepath.Join(dir, glued))
			add(nil, "", "keyring", "import", "-file", file, "-from", filepath.Join(dir, glued))
		}
		add(nil, "", "inspect", "-keyring", filepath.Join(dir, v), tok)
		add(nil, "", "inspect", "-keyring", keyDir, tok)
		add(nil, "", "inspect", "-keyring", filepath.Join(keyDir, "session-keyring"), tok)
		add(nil, "", "inspect", "-keyring", badKeys, tok)
		add(nil, "", "inspect", "-keyring", badRing, tok)
		add(nil, "", "keyring", "import", "-file", file, "-from", filepath.Join(badKeys, "session-keys"))
		add(nil, "", "keyring", "import", "-file", file, "-from", filepath.Join(keyDir, "session-keyring"))
		for _, bad := range []string{asFile, inField, inTime, inName} {
			add(nil, "", "inspect", "-keyring", bad, tok)
			add(map[string]string{"SESSION_KEYRING": bad}, "", "inspect", tok)
		}
		for _, env := range []map[string]string{
			{"SESSION_KEYS": v},
			{"SESSION_KEYS": goodKeys + " " + v},
			{"SESSION_KEYRING": v},
			{"SESSION_KEYRING": " " + v + "\n"},
			{"SESSION_KEYRING": filepath.Join(dir, v)},
			{"SESSION_KEYRING": `{"keys":[{"key":"` + v + `"}]}`},
			{"SESSION_KEYRING": `{"keys":[{"key":"` + v + `"}`},
			{"SESSION_KEYRING": `{"keys":[{"key":"` + goodKeys + `","not_after":"` + v + `"}]}`},
			{"SESSION_KEYRING": v, "SESSION_KEYS": v},
			{"SESSION_KEYRING": keyDir},
			{"SESSION_KEYRING": filepath.Join(keyDir, "session-keyring")},
			{"SESSION_KEYRING": badKeys},
			{"SESSION_KEYRING": badRing},
			{"SESSION_KEYS": "", "SESSION_KEYRING": v},
			{"CREDENTIALS_DIRECTORY": v},
			{"CREDENTIALS_DIRECTORY": " " + v},
			{"CREDENTIALS_DIRECTORY": filepath.Join(dir, v)},
			{"CREDENTIALS_DIRECTORY": keyDir},
			{"CREDENTIALS_DIRECTORY": badKeys},
			{"CREDENTIALS_DIRECTORY": badRing},
			{"CREDENTIALS_DIRECTORY": dir, "SESSION_KEYRING": v},
			{envNow: v, "SESSION_KEYS": goodKeys},
		} {
			add(env, "", "inspect", tok)
			add(env, tok, "inspect")
		}
		for _, r := range runs {
			// Some runs succeed (import -from a file holding the key):
			// each starts from the same keyring.
			writeRing(t, dir, tokensession.KeyringEntry{Key: good})
			res := exec(t, t0, r.env, r.stdin, r.args...)
			if f, leaked := leaks(res.stdout+res.stderr, forms); leaked {
				t.Errorf("form %d: %q env %v: output shows (part of) %q:\nstdout: %s\nstderr: %s", fi, r.args, r.env, f, res.stdout, res.stderr)
			}
		}
	}
}

// slashKey returns a new key and its secretForms, for a key whose
// standard base64 holds a '/': it splits the secret into runs that the
// last-line redaction does not catch, and makes a path of nested
// directories.
func slashKey(t *testing.T) (tokensession.Key, []string) {
	t.Helper()
	for {
		k := tokensession.GenerateKey()
		if forms := secretForms(t, k); strings.Contains(forms[2], "/") {
			return k, forms
		}
	}
}

package tokensession_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokensession/tokensession"
)

// writeKeys writes a keyring file (JSON or the SESSION_KEYS form) with
// mode 0600, creating its directory.
func writeKeys(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func ringJSON(t *testing.T, entries ...tokensession.KeyringEntry) string {
	t.Helper()
	data, err := mustRing(t, entries...).UnsafeMarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestEnvKeySource(t *testing.T) {
	t.Parallel()
	k1, k2 := testKey(t, 1), testKey(t, 2)
	p1, p2 := k1.UnsafeExportPASERK(), k2.UnsafeExportPASERK()
	both := ringJSON(t, tokensession.KeyringEntry{Key: k1}, tokensession.KeyringEntry{Key: k2})
	badTime := `{"keys":[{"key":"` + p1 + `","not_before":"2026-12-01 10:00"}]}`

	dir := t.TempDir()
	jsonFile := filepath.Join(dir, "keyring.json")
	writeKeys(t, jsonFile, "\n  "+both)
	keysFile := filepath.Join(dir, "keys.txt")
	writeKeys(t, keysFile, p1+"\n"+p2+"\n")
	badFile := filepath.Join(dir, "bad.json")
	writeKeys(t, badFile, badTime)
	credJSON := filepath.Join(dir, "cred-json")
	writeKeys(t, filepath.Join(credJSON, "session-keyring"), both)
	writeKeys(t, filepath.Join(credJSON, "tls.pem"), "not keys")
	credKeys := filepath.Join(dir, "cred-keys")
	writeKeys(t, filepath.Join(credKeys, "session-keys"), p1+" "+p2)
	credBoth := filepath.Join(dir, "cred-both")
	writeKeys(t, filepath.Join(credBoth, "session-keys"), p1)
	writeKeys(t, filepath.Join(credBoth, "session-keyring"), both)
	credNone := filepath.Join(dir, "cred-none")
	writeKeys(t, filepath.Join(credNone, "tls.pem"), "not keys")
	credEmpty := filepath.Join(dir, "cred-empty")
	writeKeys(t, filepath.Join(credEmpty, "session-keyring"), " \n")

	// Each secret, and the temporary directory, must stay out of errors.
	secrets := []string{p1[len("k4.local."):], p2[len("k4.local."):]}
	for _, tc := range []struct {
		name    string
		env     map[string]string
		source  string // the source's String
		keys    int    // keys loaded; 0 when an error is expected
		wantErr string // in EnvKeySource's or Load's error
		is      error  // the error matches it
	}{
		{name: "nothing set", env: nil, wantErr: "no keys", is: tokensession.ErrNoKeySource},
		{name: "SESSION_KEYS", env: map[string]string{"SESSION_KEYS": "\t" + p1 + "\n " + p2 + " "}, source: "SESSION_KEYS", keys: 2},
		{name: "SESSION_KEYS empty", env: map[string]string{"SESSION_KEYS": ""}, wantErr: "SESSION_KEYS is set but empty"},
		{name: "SESSION_KEYS white space", env: map[string]string{"SESSION_KEYS": " \n\t"}, wantErr: "SESSION_KEYS is set but empty"},
		{name: "SESSION_KEYS bad", env: map[string]string{"SESSION_KEYS": p1 + " " + p2[9:]}, wantErr: "SESSION_KEYS: keyring entry 1: not a PASERK key", is: tokensession.ErrInvalidKey},
		{name: "SESSION_KEYS JSON", env: map[string]string{"SESSION_KEYS": both}, wantErr: "SESSION_KEYS: keyring entry 0: not a PASERK key"},
		{name: "both variables", env: map[string]string{"SESSION_KEYS": p1, "SESSION_KEYRING": jsonFile}, wantErr: "both SESSION_KEYS and SESSION_KEYRING are set"},
		{name: "both, one empty", env: map[string]string{"SESSION_KEYS": p1, "SESSION_KEYRING": ""}, wantErr: "both SESSION_KEYS and SESSION_KEYRING are set"},
		{name: "SESSION_KEYRING empty", env: map[string]string{"SESSION_KEYRING": ""}, wantErr: "SESSION_KEYRING is set but empty"},
		{name: "SESSION_KEYRING white space", env: map[string]string{"SESSION_KEYRING": "  "}, wantErr: "SESSION_KEYRING is set but empty"},
		{name: "inline JSON", env: map[string]string{"SESSION_KEYRING": " \n" + both}, source: "SESSION_KEYRING", keys: 2},
		{name: "inline JSON bad time", env: map[string]string{"SESSION_KEYRING": badTime}, wantErr: "SESSION_KEYRING: keyring entry 0: not_before: want an RFC 3339 time like 2026-12-01T10:00:00Z", is: tokensession.ErrInvalidKey},
		{name: "inline JSON truncated", env: map[string]string{"SESSION_KEYRING": both[:60]}, wantErr: "SESSION_KEYRING: invalid key: keyring file is not valid JSON"},
		{name: "JSON file", env: map[string]string{"SESSION_KEYRING": jsonFile}, source: "SESSION_KEYRING", keys: 2},
		{name: "keys file", env: map[string]string{"SESSION_KEYRING": keysFile}, source: "SESSION_KEYRING", keys: 2},
		{name: "bad file", env: map[string]string{"SESSION_KEYRING": badFile}, wantErr: "SESSION_KEYRING: keyring entry 0: not_before: want an RFC 3339 time"},
		{name: "missing file", env: map[string]string{"SESSION_KEYRING": filepath.Join(dir, "gone.json")}, wantErr: "SESSION_KEYRING: no such file or directory", is: fs.ErrNotExist},
		{name: "key pasted as path", env: map[string]string{"SESSION_KEYRING": p1}, wantErr: "SESSION_KEYRING: no such file or directory", is: fs.ErrNotExist},
		{name: "keys pasted as path", env: map[string]string{"SESSION_KEYRING": p1 + " " + p2}, wantErr: "SESSION_KEYRING: no such file or directory"},
		{name: "bare secret pasted as path", env: map[string]string{"SESSION_KEYRING": p1[9:]}, wantErr: "SESSION_KEYRING: no such file or directory"},
		{name: "directory with session-keyring", env: map[string]string{"SESSION_KEYRING": credJSON}, source: "SESSION_KEYRING", keys: 2},
		{name: "directory with session-keys", env: map[string]string{"SESSION_KEYRING": credKeys}, source: "SESSION_KEYRING", keys: 2},
		{name: "directory with both", env: map[string]string{"SESSION_KEYRING": credBoth}, wantErr: "SESSION_KEYRING: directory holds both session-keyring and session-keys"},
		{name: "directory with neither", env: map[string]string{"SESSION_KEYRING": credNone}, wantErr: "SESSION_KEYRING: directory holds neither session-keyring nor session-keys", is: fs.ErrNotExist},
		{name: "directory with an empty file", env: map[string]string{"SESSION_KEYRING": credEmpty}, wantErr: "SESSION_KEYRING/session-keyring: invalid key: no keys: empty"},
		{name: "CREDENTIALS_DIRECTORY", env: map[string]string{"CREDENTIALS_DIRECTORY": credJSON}, source: "CREDENTIALS_DIRECTORY", keys: 2},
		{name: "CREDENTIALS_DIRECTORY keys form", env: map[string]string{"CREDENTIALS_DIRECTORY": credKeys}, source: "CREDENTIALS_DIRECTORY", keys: 2},
		{name: "CREDENTIALS_DIRECTORY without keys", env: map[string]string{"CREDENTIALS_DIRECTORY": credNone}, wantErr: "CREDENTIALS_DIRECTORY: holds neither session-keyring nor session-keys", is: tokensession.ErrNoKeySource},
		{name: "CREDENTIALS_DIRECTORY empty", env: map[string]string{"CREDENTIALS_DIRECTORY": ""}, wantErr: "CREDENTIALS_DIRECTORY is set but empty"},
		{name: "SESSION_KEYS beats CREDENTIALS_DIRECTORY", env: map[string]string{"SESSION_KEYS": p2, "CREDENTIALS_DIRECTORY": credJSON}, source: "SESSION_KEYS", keys: 1},
		{name: "SESSION_KEYRING beats CREDENTIALS_DIRECTORY", env: map[string]string{"SESSION_KEYRING": keysFile, "CREDENTIALS_DIRECTORY": credNone}, source: "SESSION_KEYRING", keys: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, err := tokensession.EnvKeySource(func(k string) (string, bool) {
				v, ok := tc.env[k]
				return v, ok
			})
			var ring *tokensession.Keyring
			if err == nil {
				if got := src.String(); tc.source != "" && got != tc.source {
					t.Errorf("source %q, want %q", got, tc.source)
				}
				ring, err = src.Load()
			}
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if len(ring.Entries()) != tc.keys {
					t.Fatalf("%d keys, want %d", len(ring.Entries()), tc.keys)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted: %v", ring)
			}
			msg := err.Error()
			// The operating system's words for a cause differ in case
			// between platforms (wasip1 says "No such file").
			if !strings.HasPrefix(msg, "tokensession: ") || !strings.Contains(strings.ToLower(msg), strings.ToLower(tc.wantErr)) {
				t.Errorf("error %q, want %q", msg, tc.wantErr)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %q does not match %v", msg, tc.is)
			}
			if strings.Contains(msg, dir) {
				t.Errorf("error names a path: %q", msg)
			}
			for _, s := range secrets {
				for i := 0; i+6 <= len(s); i++ {
					if strings.Contains(msg, s[i:i+6]) {
						t.Fatalf("error %q contains secret material %q", msg, s[i:i+6])
					}
				}
			}
		})
	}
}

func TestEnvKeySourceDefaultsToProcessEnvironment(t *testing.T) {
	t.Setenv("SESSION_KEYRING", "")
	if _, err := tokensession.EnvKeySource(nil); err == nil || !strings.Contains(err.Error(), "SESSION_KEYRING is set but empty") {
		t.Fatalf("EnvKeySource(nil) with SESSION_KEYRING empty: %v", err)
	}
}

func TestFileKeySource(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "secret-name", "keyring.json")
	src := tokensession.FileKeySource(path)
	if src.String() != "keyring file" {
		t.Errorf("String() = %q", src.String())
	}
	_, err := src.Load()
	if !errors.Is(err, fs.ErrNotExist) || strings.Contains(err.Error(), "secret-name") {
		t.Fatalf("missing file: %v", err)
	}
	writeKeys(t, path, ringJSON(t, tokensession.KeyringEntry{Key: testKey(t, 1)}))
	ring, err := src.Load()
	if err != nil || len(ring.Entries()) != 1 {
		t.Fatalf("Load: %v, %v", ring, err)
	}
	if _, err := (tokensession.KeySource{}).Load(); !errors.Is(err, tokensession.ErrNoKeySource) {
		t.Fatalf("zero KeySource: %v", err)
	}
}

// FuzzKeySource feeds untrusted text to every key source: as SESSION_KEYS,
// as inline SESSION_KEYRING JSON, and as the content of a keyring file. No
// input panics, errors never quote key material, and a file's form is told
// by its first non-space byte.
func FuzzKeySource(f *testing.F) {
	k1, k2 := vectorKey(f).UnsafeExportPASERK(), testKey(f, 1).UnsafeExportPASERK()
	for _, s := range []string{
		k1 + " " + k2,
		"\n" + k1 + "\n",
		`{"keys":[{"key":"` + k1 + `"}]}`,
		` {"keys":[{"key":"` + k1 + `","not_before":"+30m"}]}`,
		`{"keys":[{"key":"` + k1 + `"},"` + k2 + `"]}`,
		"", " \t\n", "{", k1[9:],
	} {
		f.Add(s)
	}
	path := filepath.Join(f.TempDir(), "keyring")
	f.Fuzz(func(t *testing.T, tainted string) {
		trimmed := strings.TrimSpace(tainted)
		isJSON := strings.HasPrefix(trimmed, "{")
		check := func(name string, ring *tokensession.Keyring, err error, want func() (*tokensession.Keyring, error)) {
			t.Helper()
			if err != nil {
				if !strings.HasPrefix(err.Error(), "tokensession: "+name) {
					t.Fatalf("error %q does not name %s", err, name)
				}
				for _, run := range secretRuns(tainted) {
					if strings.Contains(err.Error(), run) {
						t.Fatalf("error %q contains key material %q", err, run)
					}
				}
			}
			wantRing, wantErr := want()
			if (err == nil) != (wantErr == nil) {
				t.Fatalf("%s: %v, but the parser says %v", name, err, wantErr)
			}
			if err == nil && ring.String() != wantRing.String() {
				t.Fatalf("%s: %v, but the parser says %v", name, ring, wantRing)
			}
		}
		env := func(name string) tokensession.KeySource {
			src, err := tokensession.EnvKeySource(func(k string) (string, bool) { return tainted, k == name })
			if err != nil {
				if trimmed != "" || !strings.Contains(err.Error(), "set but empty") {
					t.Fatalf("%s: %v", name, err)
				}
			}
			return src
		}
		if trimmed == "" {
			env("SESSION_KEYS")
			env("SESSION_KEYRING")
			return
		}
		ring, err := env("SESSION_KEYS").Load()
		check("SESSION_KEYS", ring, err, func() (*tokensession.Keyring, error) { return tokensession.ParseKeyringEnv(tainted) })
		parse := func() (*tokensession.Keyring, error) { return tokensession.ParseKeyringEnv(tainted) }
		if isJSON {
			parse = func() (*tokensession.Keyring, error) { return tokensession.ParseKeyringJSON([]byte(tainted)) }
			ring, err := env("SESSION_KEYRING").Load()
			check("SESSION_KEYRING", ring, err, parse)
		}
		if err := os.WriteFile(path, []byte(tainted), 0o600); err != nil {
			t.Fatal(err)
		}
		ring, err = tokensession.FileKeySource(path).Load()
		check("keyring file", ring, err, parse)
	})
}

// A KeySource prints as its name whatever the verb, alone or inside
// another value: never the keys it holds nor the path it reads.
func TestKeySourceNeverPrinted(t *testing.T) {
	t.Parallel()
	k := testKey(t, 9).UnsafeExportPASERK()
	secretPath := filepath.Join(t.TempDir(), "k4.local.secret-in-path")
	env := func(name, value string) tokensession.KeySource {
		src, err := tokensession.EnvKeySource(func(n string) (string, bool) { return value, n == name })
		if err != nil {
			t.Fatal(err)
		}
		return src
	}
	type holder struct{ src tokensession.KeySource }
	for _, tc := range []struct {
		src    tokensession.KeySource
		secret string
	}{
		{env("SESSION_KEYS", k), k[len("k4.local."):]},
		{env("SESSION_KEYRING", `{"keys":[{"key":"`+k+`"}]}`), k[len("k4.local."):]},
		{env("SESSION_KEYRING", secretPath), "secret-in-path"},
		{tokensession.FileKeySource(secretPath), "secret-in-path"},
	} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
			for _, v := range []any{tc.src, holder{tc.src}, &holder{tc.src}} {
				out := fmt.Sprintf(verb, v)
				if strings.Contains(out, tc.secret) || strings.Contains(out, fmt.Sprintf("%x", tc.secret)) {
					t.Errorf("%s of %T shows the source's secret: %s", verb, v, out)
				}
			}
		}
	}
}

// A file source reads a regular file of at most 1 MiB, through symlinks,
// and refuses anything else without reading it, naming the source, not
// the path.
func TestKeySourceFileBounds(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

	// Many keys, each with both times, fit with a wide margin.
	entries := make([]tokensession.KeyringEntry, 2000)
	for i := range entries {
		entries[i] = tokensession.KeyringEntry{Key: tokensession.GenerateKey(), NotBefore: t0.Add(time.Duration(i) * time.Hour), NotAfter: t0.Add(time.Duration(i+9000) * time.Hour)}
	}
	many := ringJSON(t, entries...)
	if len(many) > 1<<19 {
		t.Errorf("a keyring of %d keys takes %d bytes: the 1 MiB bound leaves less than half to spare", len(entries), len(many))
	}
	manyFile := filepath.Join(dir, "many.json")
	writeKeys(t, manyFile, many)
	if ring, err := tokensession.FileKeySource(manyFile).Load(); err != nil || len(ring.Entries()) != len(entries) {
		t.Fatalf("keyring of %d keys (%d bytes): %v", len(entries), len(many), err)
	}

	one := ringJSON(t, tokensession.KeyringEntry{Key: testKey(t, 1)})
	atLimit := filepath.Join(dir, "at-limit.json")
	writeKeys(t, atLimit, one+strings.Repeat(" ", 1<<20-len(one)))
	if _, err := tokensession.FileKeySource(atLimit).Load(); err != nil {
		t.Errorf("a keyring of exactly 1 MiB: %v", err)
	}
	overLimit := filepath.Join(dir, "over-limit.json")
	writeKeys(t, overLimit, one+strings.Repeat(" ", 1<<20-len(one)+1))
	credOver := filepath.Join(dir, "cred-over")
	writeKeys(t, filepath.Join(credOver, "session-keyring"), one+strings.Repeat("\n", 1<<20))
	credDir := filepath.Join(dir, "cred-dir")
	if err := os.MkdirAll(filepath.Join(credDir, "session-keyring"), 0o700); err != nil {
		t.Fatal(err)
	}

	// Kubernetes mounts a Secret as symlinks through ..data.
	k8s := filepath.Join(dir, "k8s")
	writeKeys(t, filepath.Join(k8s, "..2026_03_01", "session-keyring"), one)
	symlinks := true
	for link, target := range map[string]string{
		filepath.Join(k8s, "..data"):          "..2026_03_01",
		filepath.Join(k8s, "session-keyring"): filepath.Join("..data", "session-keyring"),
		filepath.Join(dir, "zero-link"):       "/dev/zero",
	} {
		if err := os.Symlink(target, link); err != nil {
			t.Logf("no symlinks: %v", err)
			symlinks = false
		}
	}

	type check struct {
		name    string
		src     func() (tokensession.KeySource, error)
		wantErr string // "" for a keyring that loads
	}
	file := func(path string) func() (tokensession.KeySource, error) {
		return func() (tokensession.KeySource, error) { return tokensession.FileKeySource(path), nil }
	}
	env := func(name, value string) func() (tokensession.KeySource, error) {
		return func() (tokensession.KeySource, error) {
			return tokensession.EnvKeySource(func(n string) (string, bool) { return value, n == name })
		}
	}
	checks := []check{
		{"file over 1 MiB", file(overLimit), "tokensession: keyring file: larger than 1048576 bytes (1 MiB), not a keyring file"},
		{"SESSION_KEYRING over 1 MiB", env("SESSION_KEYRING", overLimit), "tokensession: SESSION_KEYRING: larger than 1048576 bytes"},
		{"credentials over 1 MiB", env("CREDENTIALS_DIRECTORY", credOver), "tokensession: CREDENTIALS_DIRECTORY/session-keyring: larger than 1048576 bytes"},
		{"credential that is a directory", file(credDir), "tokensession: keyring file/session-keyring: is a directory, not a regular file"},
	}
	if symlinks {
		checks = append(checks,
			check{"Kubernetes symlinks", file(k8s), ""},
			check{"symlink to a file", env("SESSION_KEYRING", filepath.Join(k8s, "session-keyring")), ""},
		)
	}
	if _, err := os.Stat("/dev/zero"); err == nil {
		checks = append(checks,
			check{"/dev/zero", file("/dev/zero"), "tokensession: keyring file: is a device, not a regular file"},
			check{"SESSION_KEYRING=/dev/zero", env("SESSION_KEYRING", "/dev/zero"), "tokensession: SESSION_KEYRING: is a device, not a regular file"},
		)
		if symlinks {
			checks = append(checks, check{"symlink to /dev/zero", file(filepath.Join(dir, "zero-link")), "tokensession: keyring file: is a device, not a regular file"})
		}
	}
	for _, tc := range checks {
		src, err := tc.src()
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		_, err = src.Load()
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.wantErr == "":
		case err == nil:
			t.Errorf("%s: loads, want %q", tc.name, tc.wantErr)
		case !strings.HasPrefix(err.Error(), tc.wantErr):
			t.Errorf("%s: %v, want %q", tc.name, err, tc.wantErr)
		case strings.Contains(err.Error(), dir) || strings.Contains(err.Error(), "/dev/"):
			t.Errorf("%s: the error shows a path: %v", tc.name, err)
		}
	}
}

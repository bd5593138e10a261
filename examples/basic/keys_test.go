package main

import (
	"log"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tokensession/tokensession"
)

func writeKeyring(t *testing.T, path string, entries ...tokensession.KeyringEntry) {
	t.Helper()
	ring, err := tokensession.NewKeyring(entries...)
	if err != nil {
		t.Fatal(err)
	}
	data, err := ring.UnsafeMarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, data)
}

// writeFile replaces path atomically and moves its modification time
// forward, as a later write would: two writes within one tick of the file
// system's clock can share an mtime.
func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	var mod time.Time
	if fi, err := os.Stat(path); err == nil {
		mod = fi.ModTime()
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if !mod.IsZero() {
		if err := os.Chtimes(tmp, mod.Add(time.Second), mod.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func TestKeyringReload(t *testing.T) {
	keyA, keyB := tokensession.GenerateKey(), tokensession.GenerateKey()
	path := filepath.Join(t.TempDir(), "keyring.json")
	writeKeyring(t, path, tokensession.KeyringEntry{Key: keyA})

	logs := &syncBuffer{}
	ring, f, err := loadKeys(func(k string) string {
		return map[string]string{"SESSION_KEYRING": path}[k]
	}, log.New(logs, "", 0))
	if err != nil {
		t.Fatal(err)
	}
	ts := newTestServer(t, ring)
	f.set = ts.app.sessions.SetKeyring
	sealingKey := func() string {
		k, err := ts.app.sessions.Keyring().SealingKey(time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return k.ID()
	}

	ts.post(t, "/login", url.Values{"username": {"dave"}})
	if got := ts.sessionInfo(t).KeyID; got != keyA.ID() {
		t.Fatalf("sealed by %s, want key A", got)
	}

	if changed, err := f.ReloadIfChanged(); changed || err != nil {
		t.Fatalf("unchanged file: changed=%v err=%v", changed, err)
	}

	// Rotate: B seals, A still opens.
	writeKeyring(t, path, tokensession.KeyringEntry{Key: keyB}, tokensession.KeyringEntry{Key: keyA})
	if changed, err := f.ReloadIfChanged(); !changed || err != nil {
		t.Fatalf("rotated file: changed=%v err=%v", changed, err)
	}
	if sealingKey() != keyB.ID() {
		t.Fatal("key B does not seal after reload")
	}
	if _, body := ts.get(t, "/"); !strings.Contains(body, "Logged in as dave") {
		t.Fatal("session sealed by key A lost after rotation")
	}
	if got := ts.sessionInfo(t).KeyID; got != keyB.ID() {
		t.Fatalf("session not re-sealed with key B on its next read: %s", got)
	}

	// Bad reloads keep the keys in use.
	for _, bad := range []struct {
		name string
		data []byte
	}{
		{"truncated", []byte(`{"keys":[{"key":"k4.local.`)},
		{"empty", nil},
		{"wrong version", []byte(`{"keys":[{"key":"k3.local.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}]}`)},
		{"unknown field", []byte(`{"keys":[{"key":"` + keyB.UnsafeExportPASERK() + `","not_afer":"2000-01-01T00:00:00Z"}]}`)},
	} {
		writeFile(t, path, bad.data)
		if changed, err := f.ReloadIfChanged(); !changed || err == nil {
			t.Fatalf("%s: changed=%v err=%v", bad.name, changed, err)
		}
		if changed, err := f.ReloadIfChanged(); changed || err != nil {
			t.Fatalf("%s: reported again: changed=%v err=%v", bad.name, changed, err)
		}
		if sealingKey() != keyB.ID() || ts.app.sessions.Keyring().Len() != 2 {
			t.Fatalf("%s: keyring replaced by a bad file", bad.name)
		}
	}
	// A file that parses but has no key able to seal now.
	writeKeyring(t, path, tokensession.KeyringEntry{Key: keyA, NotBefore: time.Now().Add(time.Hour)})
	if _, err := f.ReloadIfChanged(); err == nil {
		t.Fatal("keyring with only a staged key accepted")
	}
	if sealingKey() != keyB.ID() {
		t.Fatal("keyring replaced by one that cannot seal")
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if changed, err := f.ReloadIfChanged(); !changed || err == nil {
		t.Fatalf("removed file: changed=%v err=%v", changed, err)
	}
	if sealingKey() != keyB.ID() {
		t.Fatal("keyring lost when the file was removed")
	}

	// Staged rotation and a forced reload (SIGHUP) of the file.
	writeKeyring(t, path, tokensession.KeyringEntry{Key: keyA, NotBefore: time.Now().Add(time.Hour)}, tokensession.KeyringEntry{Key: keyB})
	if err := f.Reload(); err != nil {
		t.Fatal(err)
	}
	if err := f.Reload(); err != nil {
		t.Fatal(err)
	}
	if sealingKey() != keyB.ID() || ts.app.sessions.Keyring().Len() != 2 {
		t.Fatal("staged keyring not loaded")
	}

	out := logs.String()
	for _, want := range []string{
		"keyring reloaded from " + path + ": " + keyB.ID() + " (sealing), " + keyA.ID() + " (opening)",
		"keyring reloaded from " + path + ": " + keyA.ID() + " (staged), " + keyB.ID() + " (sealing)",
		"keyring reload failed, keeping the current keys",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	if regexp.MustCompile(`k4\.local\.[A-Za-z0-9_-]{8}`).MatchString(out) {
		t.Fatalf("log shows a secret:\n%s", out)
	}
}

func TestLoadKeys(t *testing.T) {
	k1, k2 := tokensession.GenerateKey(), tokensession.GenerateKey()
	for _, tc := range []struct {
		name    string
		env     map[string]string
		keys    int
		wantErr bool
		wantLog string
	}{
		{"generated", nil, 1, false, "WARNING: neither SESSION_KEYS nor SESSION_KEYRING is set"},
		{"env", map[string]string{"SESSION_KEYS": k1.UnsafeExportPASERK() + "\n " + k2.UnsafeExportPASERK()}, 2, false, k1.ID()},
		{"env bad", map[string]string{"SESSION_KEYS": "k4.local.short"}, 0, true, ""},
		{"both", map[string]string{"SESSION_KEYS": k1.UnsafeExportPASERK(), "SESSION_KEYRING": "x.json"}, 0, true, ""},
		{"missing file", map[string]string{"SESSION_KEYRING": filepath.Join(t.TempDir(), "none.json")}, 0, true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logs := &syncBuffer{}
			ring, _, err := loadKeys(func(k string) string { return tc.env[k] }, log.New(logs, "", 0))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v", err)
			}
			if err != nil {
				if strings.Contains(err.Error(), "k4.local.") {
					t.Fatalf("error quotes key material: %v", err)
				}
				return
			}
			if ring.Len() != tc.keys {
				t.Fatalf("%d keys, want %d", ring.Len(), tc.keys)
			}
			if strings.Count(logs.String(), "\n") != 1 || !strings.Contains(logs.String(), tc.wantLog) {
				t.Fatalf("log: %q", logs.String())
			}
		})
	}
}

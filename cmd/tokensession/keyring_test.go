package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokensession/tokensession"
)

// writeRing writes a keyring file of entries in dir and returns its path.
func writeRing(t *testing.T, dir string, entries ...tokensession.KeyringEntry) string {
	t.Helper()
	ring, err := tokensession.NewKeyring(entries...)
	if err != nil {
		t.Fatal(err)
	}
	data, err := ring.UnsafeMarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "keys.json")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// readRing parses the keyring file at path.
func readRing(t *testing.T, path string) *tokensession.Keyring {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ring, err := tokensession.ParseKeyringJSON(data)
	if err != nil {
		t.Fatal(err)
	}
	return ring
}

// checkFile checks that path has mode 0600 and that its directory holds no
// leftover temporary file.
func checkFile(t *testing.T, path string) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v, want 0600", path, st.Mode().Perm())
	}
	des, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	for _, de := range des {
		if strings.Contains(de.Name(), ".tmp-") {
			t.Errorf("temporary file left behind: %s", de.Name())
		}
	}
}

func sealingID(t *testing.T, ring *tokensession.Keyring, now time.Time) string {
	t.Helper()
	k, err := ring.SealingKey(now)
	if err != nil {
		t.Fatalf("no sealing key at %v: %v", now, err)
	}
	return k.ID()
}

func TestKeyringAdd(t *testing.T) {
	t.Run("new file", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "keys.json")
		r := exec(t, t0, nil, "", "keyring", "add", "-file", file)
		checkResult(t, r, 0, "")
		checkFile(t, file)
		ring := readRing(t, file)
		if ring.Len() != 1 || sealingID(t, ring, t0) != strings.TrimSpace(r.stdout) {
			t.Errorf("keyring %v, stdout %q", ring, r.stdout)
		}
		if r.stderr != "" {
			t.Errorf("stderr = %q", r.stderr)
		}
	})
	t.Run("empty file", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "keys.json")
		if err := os.WriteFile(file, []byte("\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		checkResult(t, exec(t, t0, nil, "", "keyring", "add", "-file", file), 0, "")
		if readRing(t, file).Len() != 1 {
			t.Error("want one key")
		}
	})
	t.Run("first, keeping the others and a loose mode tightened", func(t *testing.T) {
		dir := t.TempDir()
		old := tokensession.GenerateKey()
		file := writeRing(t, dir, tokensession.KeyringEntry{Key: old, NotAfter: t0.Add(48 * time.Hour)})
		if err := os.Chmod(file, 0o644); err != nil {
			t.Fatal(err)
		}
		r := exec(t, t0, nil, "", "keyring", "add", "-file", file, "-not-before", "2026-03-01T13:00:00+01:00")
		checkResult(t, r, 0, "")
		checkFile(t, file)
		e := readRing(t, file).Entries()
		if len(e) != 2 || e[0].Key.ID() != strings.TrimSpace(r.stdout) || !e[1].Key.Equal(old) {
			t.Fatalf("entries %v", e)
		}
		if !e[0].NotBefore.Equal(t0) || !e[1].NotAfter.Equal(t0.Add(48*time.Hour)) {
			t.Errorf("times: %v %v", e[0].NotBefore, e[1].NotAfter)
		}
	})
	t.Run("through a symbolic link", func(t *testing.T) {
		dir := t.TempDir()
		target := writeRing(t, dir, tokensession.KeyringEntry{Key: tokensession.GenerateKey()})
		link := filepath.Join(t.TempDir(), "link.json")
		if err := os.Symlink(target, link); err != nil {
			t.Skip("no symbolic links:", err)
		}
		checkResult(t, exec(t, t0, nil, "", "keyring", "add", "-file", link), 0, "")
		if st, err := os.Lstat(link); err != nil || st.Mode()&os.ModeSymlink == 0 {
			t.Errorf("the link was replaced: %v %v", st, err)
		}
		if readRing(t, target).Len() != 2 {
			t.Error("the link's target was not updated")
		}
		checkFile(t, target)
	})
}

func TestKeyringRetireAndPrune(t *testing.T) {
	a, b := tokensession.GenerateKey(), tokensession.GenerateKey()
	dir := t.TempDir()
	file := writeRing(t, dir, tokensession.KeyringEntry{Key: a}, tokensession.KeyringEntry{Key: b})

	r := exec(t, t0, nil, "", "keyring", "retire", "-file", file, "-id", b.ID())
	checkResult(t, r, 0, "")
	if want := b.ID() + " not_after=2026-03-01T12:00:00Z\n"; r.stdout != want {
		t.Errorf("stdout = %q, want %q", r.stdout, want)
	}
	checkFile(t, file)
	ring := readRing(t, file)
	if ring.State(1, t0) != tokensession.KeyRetired || ring.State(0, t0) != tokensession.KeySealing {
		t.Errorf("states %v %v", ring.State(0, t0), ring.State(1, t0))
	}

	// Prune before a retirement does nothing and leaves the file alone.
	checkResult(t, exec(t, t0, nil, "", "keyring", "retire", "-file", file, "-id", b.ID(), "-at", "+1h"), 0, "")
	before, _ := os.ReadFile(file)
	r = exec(t, t0.Add(59*time.Minute), nil, "", "keyring", "prune", "-file", file)
	checkResult(t, r, 0, "")
	if after, _ := os.ReadFile(file); r.stdout != "" || string(after) != string(before) {
		t.Errorf("prune before retirement changed something: %q", r.stdout)
	}
	r = exec(t, t0.Add(time.Hour), nil, "", "keyring", "prune", "-file", file)
	checkResult(t, r, 0, "")
	if r.stdout != b.ID()+"\n" {
		t.Errorf("prune printed %q, want %q", r.stdout, b.ID())
	}
	checkFile(t, file)
	if e := readRing(t, file).Entries(); len(e) != 1 || !e[0].Key.Equal(a) {
		t.Errorf("after prune: %v", e)
	}
}

func TestKeyringList(t *testing.T) {
	keys := []tokensession.Key{tokensession.GenerateKey(), tokensession.GenerateKey(), tokensession.GenerateKey(), tokensession.GenerateKey()}
	file := writeRing(t, t.TempDir(),
		tokensession.KeyringEntry{Key: keys[0], NotBefore: t0.Add(time.Hour)},
		tokensession.KeyringEntry{Key: keys[1], NotAfter: t0.Add(time.Hour)},
		tokensession.KeyringEntry{Key: keys[2], NotBefore: t0.Add(-time.Hour)},
		tokensession.KeyringEntry{Key: keys[3], NotBefore: t0.Add(-2 * time.Hour), NotAfter: t0.Add(-time.Hour)},
	)
	r := exec(t, t0, nil, "", "keyring", "list", "-file", file)
	checkResult(t, r, 0, "")
	want := "0  " + keys[0].ID() + "  staged   not_before=2026-03-01T13:00:00Z  not_after=-\n" +
		"1  " + keys[1].ID() + "  sealing  not_before=-  not_after=2026-03-01T13:00:00Z\n" +
		"2  " + keys[2].ID() + "  opening  not_before=2026-03-01T11:00:00Z  not_after=-\n" +
		"3  " + keys[3].ID() + "  retired  not_before=2026-03-01T10:00:00Z  not_after=2026-03-01T11:00:00Z\n"
	if r.stdout != want {
		t.Errorf("list:\n%s\nwant:\n%s", r.stdout, want)
	}
	if strings.Contains(r.stdout+r.stderr, "k4.local") {
		t.Error("list prints k4.local")
	}
	noSecrets(t, r.stdout+r.stderr, keys...)
}

func TestKeyringErrors(t *testing.T) {
	a, b := tokensession.GenerateKey(), tokensession.GenerateKey()
	dir := t.TempDir()
	good := writeRing(t, dir, tokensession.KeyringEntry{Key: a}, tokensession.KeyringEntry{Key: b})
	goodBytes, _ := os.ReadFile(good)
	only := filepath.Join(dir, "only.json")
	onlyRing, _ := tokensession.NewKeyring(tokensession.KeyringEntry{Key: a})
	onlyData, _ := onlyRing.UnsafeMarshalJSON()
	staged := filepath.Join(dir, "staged.json")
	stagedRing, _ := tokensession.NewKeyring(
		tokensession.KeyringEntry{Key: b, NotBefore: t0.Add(time.Hour)},
		tokensession.KeyringEntry{Key: a, NotAfter: t0.Add(-time.Minute)})
	stagedData, _ := stagedRing.UnsafeMarshalJSON()
	missing := filepath.Join(dir, "missing.json")
	badJSON := filepath.Join(dir, "bad.json")
	truncated := filepath.Join(dir, "truncated.json")
	badKey := filepath.Join(dir, "badkey.json")
	unknownField := filepath.Join(dir, "field.json")
	noDir := filepath.Join(dir, "no", "such", "dir", "keys.json")
	for path, data := range map[string]string{
		only:         string(onlyData),
		staged:       string(stagedData),
		badJSON:      `{"keys": [}`,
		truncated:    `{"keys": [`,
		badKey:       `{"keys": [{"key": "k4.local.AAAA"}]}`,
		unknownField: `{"keys": [{"key": "` + a.UnsafeExportPASERK() + `", "not_afterr": "2026-01-01T00:00:00Z"}]}`,
	} {
		if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	for _, tc := range []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"add no file flag", []string{"add"}, 2, "keyring add: -file is required"},
		{"add unknown flag", []string{"add", "-file", good, "-x"}, 2, "keyring add: flag provided but not defined: -x"},
		{"add flag without value", []string{"add", "-file"}, 2, "flag needs an argument: -file"},
		{"add argument", []string{"add", "-file", good, "extra"}, 2, `keyring add: unexpected argument "extra"`},
		{"add bad time", []string{"add", "-file", good, "-not-before", "tomorrow"}, 2, `-not-before: "tomorrow" is not an RFC 3339 time`},
		{"add bad duration", []string{"add", "-file", good, "-not-before", "+10 minutes"}, 2, `-not-before: "+10 minutes" is not a +DURATION`},
		{"add negative duration", []string{"add", "-file", good, "-not-before", "+-1h"}, 2, "is not a +DURATION"},
		{"add bad JSON", []string{"add", "-file", badJSON}, 1, "bad.json: invalid key: keyring file is not valid JSON"},
		{"add truncated JSON", []string{"add", "-file", truncated}, 1, "truncated.json: invalid key: keyring file is not valid JSON"},
		{"add bad key", []string{"add", "-file", badKey}, 1, "badkey.json: keyring entry 0: wrong key length"},
		{"add staged to new file", []string{"add", "-file", missing, "-not-before", "+10m"}, 1, "no key could seal now"},
		{"add to missing directory", []string{"add", "-file", noDir}, 1, "cannot create a temporary file"},
		{"add to a directory", []string{"add", "-file", dir}, 1, "is a directory"},
		{"list no file flag", []string{"list"}, 2, "keyring list: -file is required"},
		{"list missing", []string{"list", "-file", missing}, 1, "missing.json: no such keyring file"},
		{"list bad JSON", []string{"list", "-file", badJSON}, 1, "(syntax error at byte 11)"},
		{"list bad key", []string{"list", "-file", badKey}, 1, "keyring entry 0"},
		{"list unknown field", []string{"list", "-file", unknownField}, 1, "unknown field"},
		{"list a directory", []string{"list", "-file", dir}, 1, "is a directory"},
		{"list argument", []string{"list", "-file", good, "more"}, 2, "unexpected argument"},
		{"retire no id", []string{"retire", "-file", good}, 2, "keyring retire: -id is required"},
		{"retire no file flag", []string{"retire", "-id", a.ID()}, 2, "keyring retire: -file is required"},
		{"retire unknown id", []string{"retire", "-file", good, "-id", tokensession.GenerateKey().ID()}, 1, "keys.json: no key with the ID given to -id (run 'tokensession keyring list -file FILE' for the IDs)"},
		{"retire malformed id", []string{"retire", "-file", good, "-id", "k4.lid.nope"}, 1, "no key with the ID given to -id"},
		{"retire a secret as id", []string{"retire", "-file", good, "-id", a.UnsafeExportPASERK()}, 2, "-id takes a key ID (k4.lid.…"},
		{"retire bad time", []string{"retire", "-file", good, "-id", a.ID(), "-at", "2026-13-01T00:00:00Z"}, 2, "-at: \"2026-13-01T00:00:00Z\" is not an RFC 3339 time"},
		{"retire missing file", []string{"retire", "-file", missing, "-id", a.ID()}, 1, "no such keyring file"},
		{"retire bad JSON", []string{"retire", "-file", badJSON, "-id", a.ID()}, 1, "not valid JSON"},
		{"retire only key", []string{"retire", "-file", only, "-id", a.ID()}, 1, "would leave no key able to seal now"},
		{"retire only key later", []string{"retire", "-file", only, "-id", a.ID(), "-at", "+1h"}, 1, "would leave no key able to seal then"},
		{"retire sealing before staged", []string{"retire", "-file", staged, "-id", b.ID(), "-at", "2026-03-01T12:30:00Z"}, 1, "not_after is not after not_before"},
		{"prune no file flag", []string{"prune"}, 2, "keyring prune: -file is required"},
		{"prune missing file", []string{"prune", "-file", missing}, 1, "no such keyring file"},
		{"prune bad JSON", []string{"prune", "-file", badJSON}, 1, "not valid JSON"},
		{"prune to no sealing key", []string{"prune", "-file", staged}, 1, "no key of the pruned keyring could seal now"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := exec(t, t0, nil, "", append([]string{"keyring"}, tc.args...)...)
			checkResult(t, r, tc.wantCode, tc.wantErr)
			if r.stdout != "" {
				t.Errorf("stdout = %q, want none", r.stdout)
			}
			noSecrets(t, r.stdout+r.stderr, a, b)
		})
	}
	// No failure touched a file.
	if after, _ := os.ReadFile(good); string(after) != string(goodBytes) {
		t.Error("a failing command changed keys.json")
	}
	if _, err := os.Stat(missing); err == nil {
		t.Error("a failing add created missing.json")
	}
	if after, _ := os.ReadFile(staged); string(after) != string(stagedData) {
		t.Error("a failing command changed staged.json")
	}

	t.Run("prune to empty", func(t *testing.T) {
		file := writeRing(t, t.TempDir(), tokensession.KeyringEntry{Key: a, NotAfter: t0.Add(-time.Hour)})
		checkResult(t, exec(t, t0, nil, "", "keyring", "prune", "-file", file), 1, "pruning would leave an empty keyring")
	})
}

func TestParseWhen(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 700_000_000, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"now", t0, true},
		{"+10m", t0.Add(10 * time.Minute), true},
		{"+0s", t0, true},
		{"+1h30m", t0.Add(90 * time.Minute), true},
		{"2026-12-01T10:00:00Z", time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC), true},
		{"2026-12-01T10:00:00+02:00", time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC), true},
		{"+", time.Time{}, false},
		{"+-5m", time.Time{}, false},
		{"10m", time.Time{}, false},
		{"2026-12-01", time.Time{}, false},
		{"", time.Time{}, false},
	} {
		got, err := parseWhen(tc.in, now)
		if (err == nil) != tc.ok || (tc.ok && !got.Equal(tc.want)) {
			t.Errorf("parseWhen(%q) = %v, %v; want %v, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

// TestStagedRotation runs a whole staged rotation through the CLI: one
// key; a second staged for ten minutes later; the switch; retirement of
// the first key; and its removal.
func TestStagedRotation(t *testing.T) {
	file := filepath.Join(t.TempDir(), "keys.json")
	keyring := func(args ...string) []string { return append([]string{"keyring"}, append(args, "-file", file)...) }

	r := exec(t, t0, nil, "", keyring("add")...)
	checkResult(t, r, 0, "")
	oldID := strings.TrimSpace(r.stdout)
	r = exec(t, t0, nil, "", keyring("add", "-not-before", "+10m")...)
	checkResult(t, r, 0, "")
	newID := strings.TrimSpace(r.stdout)
	checkFile(t, file)

	ring := readRing(t, file)
	if e := ring.Entries(); len(e) != 2 || e[0].Key.ID() != newID || e[1].Key.ID() != oldID || !e[0].NotBefore.Equal(t0.Add(10*time.Minute)) {
		t.Fatalf("keyring after two adds: %v", e)
	}

	// seal seals a session at instant at with the file's keyring, as an
	// application instance would.
	seal := func(at time.Time) string {
		t.Helper()
		m, err := tokensession.New(tokensession.Config[json.RawMessage]{Keyring: readRing(t, file), Now: func() time.Time { return at }})
		if err != nil {
			t.Fatal(err)
		}
		tok, _, err := m.Seal(json.RawMessage(`{"user":"alice"}`))
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	// kidOf reads the key ID of tok and its state at instant at through
	// inspect.
	inspect := func(at time.Time, tok string) result {
		t.Helper()
		return exec(t, at, nil, tok, "inspect", "-keyring", file)
	}
	list := func(at time.Time) string {
		t.Helper()
		r := exec(t, at, nil, "", keyring("list")...)
		checkResult(t, r, 0, "")
		return r.stdout
	}

	// Nine minutes in, the original key still seals.
	at9 := t0.Add(9 * time.Minute)
	if got := sealingID(t, ring, at9); got != oldID {
		t.Errorf("at +9m the sealing key is %s, want the original %s", got, oldID)
	}
	tokOld := seal(at9)
	r = inspect(at9, tokOld)
	checkResult(t, r, 0, "")
	for _, want := range []string{"key ID:   " + oldID, "key:      in the keyring at position 1, sealing", "valid now"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("inspect at +9m: no %q in\n%s", want, r.stdout)
		}
	}
	if l := list(at9); !strings.Contains(l, "0  "+newID+"  staged ") || !strings.Contains(l, "1  "+oldID+"  sealing ") {
		t.Errorf("list at +9m:\n%s", l)
	}

	// At ten minutes the new key seals; the old one still opens.
	at10 := t0.Add(10 * time.Minute)
	if got := sealingID(t, ring, at10); got != newID {
		t.Errorf("at +10m the sealing key is %s, want the new %s", got, newID)
	}
	r = inspect(at10, seal(at10))
	checkResult(t, r, 0, "")
	if !strings.Contains(r.stdout, "key ID:   "+newID) || !strings.Contains(r.stdout, "position 0, sealing") {
		t.Errorf("inspect at +10m:\n%s", r.stdout)
	}
	r = inspect(at10, tokOld)
	checkResult(t, r, 0, "")
	if !strings.Contains(r.stdout, "position 1, opening") {
		t.Errorf("old token at +10m:\n%s", r.stdout)
	}
	if l := list(at10); !strings.Contains(l, "0  "+newID+"  sealing ") || !strings.Contains(l, "1  "+oldID+"  opening ") {
		t.Errorf("list at +10m:\n%s", l)
	}

	// Retire the old key an hour after the start.
	r = exec(t, at10, nil, "", keyring("retire", "-id", oldID, "-at", t0.Add(time.Hour).Format(time.RFC3339))...)
	checkResult(t, r, 0, "")
	checkFile(t, file)
	if l := list(t0.Add(time.Hour)); !strings.Contains(l, "1  "+oldID+"  retired  not_before=-  not_after=2026-03-01T13:00:00Z") {
		t.Errorf("list at +1h:\n%s", l)
	}
	at2h := t0.Add(2 * time.Hour)
	r = inspect(at2h, tokOld)
	checkResult(t, r, 1, "inspect: invalid: key retired")
	if !strings.Contains(r.stdout, "position 1, retired") || !strings.HasSuffix(r.stdout, "invalid: key retired\n") {
		t.Errorf("old token at +2h:\n%s", r.stdout)
	}

	// Two hours in, prune drops it.
	r = exec(t, at2h, nil, "", keyring("prune")...)
	checkResult(t, r, 0, "")
	if r.stdout != oldID+"\n" {
		t.Errorf("prune printed %q, want %q", r.stdout, oldID)
	}
	checkFile(t, file)
	if l := list(at2h); l != "0  "+newID+"  sealing  not_before=2026-03-01T12:10:00Z  not_after=-\n" {
		t.Errorf("list after prune:\n%s", l)
	}
	r = inspect(at2h, tokOld)
	checkResult(t, r, 1, "invalid: unknown key ID")
	if !strings.Contains(r.stdout, "key:      not in the keyring") {
		t.Errorf("old token after prune:\n%s", r.stdout)
	}
	// Nothing more to prune.
	r = exec(t, at2h, nil, "", keyring("prune")...)
	checkResult(t, r, 0, "")
	if r.stdout != "" {
		t.Errorf("second prune printed %q", r.stdout)
	}
}

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
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
	k, err := sealingKey(ring, now)
	if err != nil {
		t.Fatalf("no sealing key at %v: %v", now, err)
	}
	return k.ID()
}

func TestKeyringAdd(t *testing.T) {
	t.Run("new file", func(t *testing.T) {
		file := filepath.Join(tmpDir(t), "keys.json")
		r := exec(t, t0, nil, "", "keyring", "add", "-file", file)
		checkResult(t, r, 0, "")
		checkFile(t, file)
		ring := readRing(t, file)
		if len(ring.Entries()) != 1 || sealingID(t, ring, t0) != strings.TrimSpace(r.stdout) {
			t.Errorf("keyring %v, stdout %q", ring, r.stdout)
		}
		for _, want := range []string{"seals now in " + file + ", a new keyring", "copy " + file + " to every instance", "do not run 'keyring add' on each instance's own file"} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("stderr has no %q:\n%s", want, r.stderr)
			}
		}
	})
	t.Run("empty file", func(t *testing.T) {
		file := filepath.Join(tmpDir(t), "keys.json")
		if err := os.WriteFile(file, []byte("\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		checkResult(t, exec(t, t0, nil, "", "keyring", "add", "-file", file), 0, "")
		if len(readRing(t, file).Entries()) != 1 {
			t.Error("want one key")
		}
	})
	t.Run("first, keeping the others", func(t *testing.T) {
		dir := tmpDir(t)
		old := tokensession.GenerateKey()
		file := writeRing(t, dir, tokensession.KeyringEntry{Key: old, NotAfter: t0.Add(48 * time.Hour)})
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
		dir := tmpDir(t)
		target := writeRing(t, dir, tokensession.KeyringEntry{Key: tokensession.GenerateKey()})
		link := filepath.Join(tmpDir(t), "link.json")
		if err := os.Symlink(target, link); err != nil {
			t.Skip("no symbolic links:", err)
		}
		checkResult(t, exec(t, t0, nil, "", "keyring", "add", "-file", link), 0, "")
		if st, err := os.Lstat(link); err != nil || st.Mode()&os.ModeSymlink == 0 {
			t.Errorf("the link was replaced: %v %v", st, err)
		}
		if len(readRing(t, target).Entries()) != 2 {
			t.Error("the link's target was not updated")
		}
		checkFile(t, target)
	})
}

// TestKeyringAddStages checks that add on a keyring in use stages the new
// key for the rollout window, says what to do next, and activates at once
// only when asked.
func TestKeyringAddStages(t *testing.T) {
	old := tokensession.GenerateKey()
	file := writeRing(t, tmpDir(t), tokensession.KeyringEntry{Key: old})
	r := exec(t, t0, nil, "", "keyring", "add", "-file", file)
	checkResult(t, r, 0, "")
	newID := strings.TrimSpace(r.stdout)
	ring := readRing(t, file)
	e := ring.Entries()
	if len(e) != 2 || e[0].Key.ID() != newID || !e[0].NotBefore.Equal(t0.Add(time.Hour)) {
		t.Fatalf("entries %v, want the new key first, staged until t0+1h", e)
	}
	if got := sealingID(t, ring, t0.Add(time.Hour-time.Second)); got != old.ID() {
		t.Errorf("the new key seals before its rollout window ends")
	}
	for _, want := range []string{
		newID + " is staged in " + file + ": it opens tokens now and seals from 2026-03-01T13:00:00Z (in 1h0m0s)",
		"Copy " + file + " to every instance and reload each (SIGHUP or restart), before 2026-03-01T13:00:00Z",
		"do not run 'keyring add' on each\n     instance's own file",
		"tokensession keyring import -file OTHER -from " + file + " -id " + newID,
		"tokensession keyring reschedule -file " + file + " -id " + newID + " -not-before 2026-03-01T14:00:00Z",
		"tokensession keyring promote -file " + file + " -id " + newID,
		"tokensession keyring retire -file " + file + " -id " + old.ID(),
		"tokensession keyring prune -file " + file,
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr has no %q:\n%s", want, r.stderr)
		}
	}

	r = exec(t, t0, nil, "", "keyring", "add", "-file", file, "-not-before", "now")
	checkResult(t, r, 0, "")
	if !strings.Contains(r.stderr, "warning: "+file+" already had a staged key, "+newID+", sealing from 2026-03-01T13:00:00Z (in 1h0m0s)") {
		t.Errorf("no warning about the staged key:\n%s", r.stderr)
	}
	if got := sealingID(t, readRing(t, file), t0); got != strings.TrimSpace(r.stdout) {
		t.Errorf("-not-before now: the new key does not seal now")
	}
	if !strings.Contains(r.stderr, "warning: "+strings.TrimSpace(r.stdout)+" seals now in "+file) {
		t.Errorf("-not-before now: no warning:\n%s", r.stderr)
	}
}

// stepNumbers returns the numbers of the steps ("  1. …") in out.
func stepNumbers(out string) []string {
	var nums []string
	for _, m := range regexp.MustCompile(`(?m)^  (\d+)\. `).FindAllStringSubmatch(out, -1) {
		nums = append(nums, m[1])
	}
	return nums
}

// TestKeyringNextStepsNumbered checks that the steps printed after add and
// import are numbered 1, 2, 3…, whichever of them apply: a key that seals
// at once has no rollout step.
func TestKeyringNextStepsNumbered(t *testing.T) {
	bare := tokensession.GenerateKey()
	for _, tc := range []struct {
		name  string
		stdin string
		args  []string
		want  string
	}{
		{"add, staged", "", []string{"add"}, "1 2 3 4"},
		{"add -not-before now", "", []string{"add", "-not-before", "now"}, "1 2 3"},
		{"import -not-before now", bare.UnsafeExportPASERK(), []string{"import", "-from", "-", "-not-before", "now"}, "1 2 3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := writeRing(t, tmpDir(t), tokensession.KeyringEntry{Key: tokensession.GenerateKey()})
			r := exec(t, t0, nil, tc.stdin, append([]string{"keyring"}, append(tc.args, "-file", file)...)...)
			checkResult(t, r, 0, "")
			if got := strings.Join(stepNumbers(r.stderr), " "); got != tc.want {
				t.Errorf("steps numbered %q, want %q:\n%s", got, tc.want, r.stderr)
			}
			noSecrets(t, r.stdout+r.stderr, bare)
		})
	}
}

// TestKeyringConcurrentAdd runs several adds on one file at once: none may
// lose another's key.
func TestKeyringConcurrentAdd(t *testing.T) {
	file := writeRing(t, tmpDir(t), tokensession.KeyringEntry{Key: tokensession.GenerateKey()})
	const n = 8
	ids := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			var stdout, stderr bytes.Buffer
			if code := runEnv([]string{"keyring", "add", "-file", file}, strings.NewReader(""), &stdout, &stderr,
				func() time.Time { return t0 }, func(string) (string, bool) { return "", false }); code != 0 {
				t.Errorf("add %d: exit %d: %s", i, code, stderr.String())
			}
			ids[i] = strings.TrimSpace(stdout.String())
		})
	}
	wg.Wait()
	e := readRing(t, file).Entries()
	if len(e) != n+1 {
		t.Errorf("keyring has %d keys after %d concurrent adds to one, want %d", len(e), n, n+1)
	}
	for i, id := range ids {
		if indexOf(e, id) < 0 {
			t.Errorf("add %d: key %s lost", i, id)
		}
	}
	checkFile(t, file)
}

func TestLock(t *testing.T) {
	for name, lock := range map[string]func(string, time.Duration) (func(), error){
		"lockFile":      lockFile,
		"lockExclusive": lockExclusive,
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(tmpDir(t), "keys.json.lock")
			unlock, err := lock(path, 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := lock(path, 0); !errors.Is(err, errLocked) {
				t.Errorf("second lock: %v, want errLocked", err)
			}
			unlock()
			unlock2, err := lock(path, 0)
			if err != nil {
				t.Fatalf("lock after unlock: %v", err)
			}
			unlock2()
		})
	}
}

// TestKeyringKeepsModeAndOwner edits a file whose mode, group and owner
// are not the defaults: the rewrite keeps them, and warns about a mode
// that lets others read the keys.
func TestKeyringKeepsModeAndOwner(t *testing.T) {
	for _, mode := range []os.FileMode{0o640, 0o644, 0o400} {
		t.Run(mode.String(), func(t *testing.T) {
			file := writeRing(t, tmpDir(t), tokensession.KeyringEntry{Key: tokensession.GenerateKey()})
			if err := os.Chmod(file, mode); err != nil {
				t.Fatal(err)
			}
			r := exec(t, t0, nil, "", "keyring", "add", "-file", file)
			checkResult(t, r, 0, "")
			st, err := os.Stat(file)
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm() != mode {
				t.Errorf("mode %v after add, want %v", st.Mode().Perm(), mode)
			}
			warned := strings.Contains(r.stderr, "warning: "+file+" is readable by")
			if want := mode&0o044 != 0; warned != want {
				t.Errorf("mode %v: warned %v, want %v:\n%s", mode, warned, want, r.stderr)
			}
			// list warns too, and only reads.
			if r := exec(t, t0, nil, "", "keyring", "list", "-file", file); strings.Contains(r.stderr, "readable by") != (mode&0o044 != 0) {
				t.Errorf("list: stderr %q", r.stderr)
			}
		})
	}
}

func TestKeyringImport(t *testing.T) {
	dir := tmpDir(t)
	old, other := tokensession.GenerateKey(), tokensession.GenerateKey()
	master := filepath.Join(dir, "master.json")
	instance := filepath.Join(dir, "instance.json")
	for path, k := range map[string]tokensession.Key{master: old, instance: other} {
		ring, _ := tokensession.NewKeyring(tokensession.KeyringEntry{Key: k})
		data, _ := ring.UnsafeMarshalJSON()
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	r := exec(t, t0, nil, "", "keyring", "add", "-file", master, "-not-before", "2026-03-01T12:45:00Z")
	checkResult(t, r, 0, "")
	newID := strings.TrimSpace(r.stdout)

	// Later, into another instance's file: the same key, staged for the
	// same instant.
	r = exec(t, t0.Add(10*time.Minute), nil, "", "keyring", "import", "-file", instance, "-from", master, "-id", newID)
	checkResult(t, r, 0, "")
	if strings.TrimSpace(r.stdout) != newID {
		t.Errorf("import printed %q, want %s", r.stdout, newID)
	}
	want := readRing(t, master).Entries()[0]
	e := readRing(t, instance).Entries()
	if len(e) != 2 || !e[0].Key.Equal(want.Key) || !e[0].NotBefore.Equal(want.NotBefore) || !e[1].Key.Equal(other) {
		t.Fatalf("instance after import: %v, want %v first", e, want)
	}
	checkFile(t, instance)
	// Again: nothing to do.
	before, _ := os.ReadFile(instance)
	r = exec(t, t0.Add(11*time.Minute), nil, "", "keyring", "import", "-file", instance, "-from", master, "-id", newID)
	checkResult(t, r, 0, "")
	if after, _ := os.ReadFile(instance); string(after) != string(before) || !strings.Contains(r.stderr, "already holds "+newID+" with the same times; unchanged") {
		t.Errorf("second import changed the file or said %q", r.stderr)
	}

	// A bare key on stdin, as keygen prints it, into a new file and into
	// one in use.
	k := tokensession.GenerateKey()
	fresh := filepath.Join(dir, "fresh.json")
	r = exec(t, t0, nil, k.UnsafeExportPASERK()+"\n", "keyring", "import", "-file", fresh, "-from", "-")
	checkResult(t, r, 0, "")
	if e := readRing(t, fresh).Entries(); len(e) != 1 || !e[0].Key.Equal(k) || !e[0].NotBefore.IsZero() {
		t.Errorf("fresh file: %v", e)
	}
	keyFile := filepath.Join(dir, "key.txt")
	if err := os.WriteFile(keyFile, []byte(k.UnsafeExportPASERK()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r = exec(t, t0, nil, "", "keyring", "import", "-file", master, "-from", keyFile, "-not-before", "2026-03-01T14:00:00Z")
	checkResult(t, r, 0, "")
	if e := readRing(t, master).Entries(); len(e) != 3 || !e[0].Key.Equal(k) || !e[0].NotBefore.Equal(t0.Add(2*time.Hour)) {
		t.Errorf("master after importing a bare key: %v", e)
	}
	noSecrets(t, r.stdout+r.stderr, k, old, other)

	// Keys in the SESSION_KEYS form, one chosen by -id: a bare key, staged
	// as 'keyring add' stages one.
	k2 := tokensession.GenerateKey()
	r = exec(t, t0, nil, " "+k.UnsafeExportPASERK()+"\n"+k2.UnsafeExportPASERK()+"\n", "keyring", "import", "-file", fresh, "-from", "-", "-id", k2.ID())
	checkResult(t, r, 0, "")
	if e := readRing(t, fresh).Entries(); len(e) != 2 || !e[0].Key.Equal(k2) || !e[0].NotBefore.Equal(t0.Add(time.Hour)) || !e[1].Key.Equal(k) {
		t.Errorf("fresh file after importing from keys: %v", e)
	}
	noSecrets(t, r.stdout+r.stderr, k, k2, old, other)

	for _, tc := range []struct {
		name     string
		stdin    string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"no from", "", []string{"-file", instance}, 2, "keyring import: -from is required"},
		{"several keys, no id", "", []string{"-file", fresh, "-from", master}, 2, "holds 3 keys: choose one with -id"},
		{"unknown id", "", []string{"-file", fresh, "-from", master, "-id", other.ID()}, 1, "no key with the ID given to -id"},
		{"id of another key", k.UnsafeExportPASERK(), []string{"-file", instance, "-from", "-", "-id", other.ID()}, 1, "-from stdin: no key with the ID given to -id"},
		{"two bare keys", k.UnsafeExportPASERK() + " " + old.UnsafeExportPASERK(), []string{"-file", instance, "-from", "-"}, 2, "keyring import: -from stdin holds 2 keys: choose one with -id"},
		{"empty", " \n", []string{"-file", instance, "-from", "-"}, 1, "-from stdin: empty"},
		{"bad key", "k4.local.AAAA", []string{"-file", instance, "-from", "-"}, 1, "-from stdin: keyring entry 0: wrong key length"},
		{"itself", "", []string{"-file", master, "-from", master}, 2, "-from and -file are the same file"},
		{"missing source", "", []string{"-file", instance, "-from", filepath.Join(dir, "nope")}, 1, "no such file"},
		{"other times", "", []string{"-file", instance, "-from", master, "-id", newID, "-not-before", "+5h"}, 1, "already holds " + newID + " (entry 0), with other times"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := exec(t, t0, nil, tc.stdin, append([]string{"keyring", "import"}, tc.args...)...)
			checkResult(t, r, tc.wantCode, tc.wantErr)
			noSecrets(t, r.stdout+r.stderr, k, old, other)
		})
	}
}

func TestKeyringPromoteAndReschedule(t *testing.T) {
	staged, old := tokensession.GenerateKey(), tokensession.GenerateKey()
	file := writeRing(t, tmpDir(t),
		tokensession.KeyringEntry{Key: staged, NotBefore: t0.Add(time.Hour)},
		tokensession.KeyringEntry{Key: old})
	keyring := func(at time.Duration, args ...string) result {
		return exec(t, t0.Add(at), nil, "", append([]string{"keyring"}, append(args, "-file", file)...)...)
	}

	// The rollout runs late: move the switch two hours on.
	r := keyring(0, "reschedule", "-id", staged.ID(), "-not-before", "+2h")
	checkResult(t, r, 0, "")
	if r.stdout != staged.ID()+" not_before=2026-03-01T14:00:00Z\n" {
		t.Errorf("stdout %q", r.stdout)
	}
	if !strings.Contains(r.stderr, "copy "+file+" to every instance again before 2026-03-01T13:00:00Z (in 1h0m0s)") {
		t.Errorf("stderr %q", r.stderr)
	}
	if nb := readRing(t, file).Entries()[0].NotBefore; !nb.Equal(t0.Add(2 * time.Hour)) {
		t.Errorf("not_before %v", nb)
	}
	// It is done early after all: the key seals from now.
	r = keyring(30*time.Minute, "promote", "-id", staged.ID())
	checkResult(t, r, 0, "")
	if r.stdout != staged.ID()+" not_before=2026-03-01T12:30:00Z\n" || !strings.Contains(r.stderr, "every instance must already hold the key") {
		t.Errorf("stdout %q, stderr %q", r.stdout, r.stderr)
	}
	if got := sealingID(t, readRing(t, file), t0.Add(30*time.Minute)); got != staged.ID() {
		t.Errorf("after promote the sealing key is %s", got)
	}

	before, _ := os.ReadFile(file)
	for _, tc := range []struct {
		name     string
		at       time.Duration
		args     []string
		wantCode int
		wantErr  string
	}{
		{"promote a sealing key", 31 * time.Minute, []string{"promote", "-id", staged.ID()}, 1, "is sealing, not staged"},
		{"promote an opening key", 31 * time.Minute, []string{"promote", "-id", old.ID()}, 1, "is opening, not staged"},
		{"reschedule a sealing key", 31 * time.Minute, []string{"reschedule", "-id", staged.ID(), "-not-before", "+1h"}, 1, "is sealing, not staged: its not_before (2026-03-01T12:30:00Z) has passed"},
		{"reschedule to the past", 0, []string{"reschedule", "-id", staged.ID(), "-not-before", "now"}, 2, "-not-before must be in the future; to make a staged key seal now, use 'keyring promote'"},
		{"reschedule without time", 0, []string{"reschedule", "-id", staged.ID()}, 2, "-not-before is required"},
		{"promote later", 0, []string{"promote", "-id", staged.ID(), "-at", "+31m"}, 1, "promote moves it earlier; to move it later use 'keyring reschedule'"},
		{"promote unknown", 0, []string{"promote", "-id", tokensession.GenerateKey().ID()}, 1, "no key with the ID given to -id"},
		{"promote no id", 0, []string{"promote"}, 2, "keyring promote: -id is required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := keyring(tc.at, tc.args...)
			checkResult(t, r, tc.wantCode, tc.wantErr)
		})
	}
	if after, _ := os.ReadFile(file); string(after) != string(before) {
		t.Error("a failing command changed the file")
	}
}

// TestKeyringPromoteNextSteps checks that promote, like add, says what a
// rotation needs next: the file copied to every instance, then the key it
// replaces retired once every instance has it, then the prune.
func TestKeyringPromoteNextSteps(t *testing.T) {
	staged, old := tokensession.GenerateKey(), tokensession.GenerateKey()
	for _, tc := range []struct {
		name string
		at   []string
		when string
	}{
		{"now", nil, "now"},
		{"later", []string{"-at", "+10m"}, "before 2026-03-01T12:10:00Z"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := writeRing(t, tmpDir(t),
				tokensession.KeyringEntry{Key: staged, NotBefore: t0.Add(time.Hour)},
				tokensession.KeyringEntry{Key: old})
			r := exec(t, t0, nil, "", append([]string{"keyring", "promote", "-file", file, "-id", staged.ID()}, tc.at...)...)
			checkResult(t, r, 0, "")
			for _, want := range []string{
				"Next:\n",
				"  1. Copy " + file + " to every instance again and reload each (SIGHUP or restart), " + tc.when + ".",
				"  2. Once every instance has this version of " + file + ", retire the key " + staged.ID() + "\n     replaces (the default -at is the earliest safe time) and copy " + file + " again:\n" +
					"       tokensession keyring retire -file " + file + " -id " + old.ID() + "\n",
				"tokensession keyring prune -file " + file + "\n",
			} {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("stderr has no %q:\n%s", want, r.stderr)
				}
			}
			if got := strings.Join(stepNumbers(r.stderr), " "); got != "1 2 3" {
				t.Errorf("steps numbered %q, want \"1 2 3\":\n%s", got, r.stderr)
			}
			noSecrets(t, r.stdout+r.stderr, staged, old)
		})
	}
}

// TestREADMERescheduleExample runs the README recipe's reschedule line on
// a key that add staged 34 seconds before, and checks that its comment
// says what the command does: a +DURATION counts from now, not from the
// key's current not_before.
func TestREADMERescheduleExample(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var line string
	for l := range strings.Lines(string(readme)) {
		if strings.HasPrefix(l, "tokensession keyring reschedule ") {
			line = strings.TrimSpace(l)
		}
	}
	if line == "" {
		t.Fatal("README.md has no 'tokensession keyring reschedule' line")
	}
	cmd, comment, _ := strings.Cut(line, "#")
	args := strings.Fields(cmd)[1:]
	file := writeRing(t, tmpDir(t), tokensession.KeyringEntry{Key: tokensession.GenerateKey()})
	r := exec(t, t0, nil, "", "keyring", "add", "-file", file)
	checkResult(t, r, 0, "")
	newID := strings.TrimSpace(r.stdout)
	staged := readRing(t, file).Entries()[0].NotBefore
	var when string
	for i, a := range args {
		switch a {
		case "keys.json":
			args[i] = file
		case "k4.lid.NEW":
			args[i] = newID
		}
		if i > 0 && args[i-1] == "-not-before" {
			when = a
		}
	}
	now := t0.Add(34 * time.Second)
	checkResult(t, exec(t, now, nil, "", args...), 0, "")
	nb := readRing(t, file).Entries()[0].NotBefore
	if !nb.After(staged) {
		t.Fatalf("%q: not_before %v, not after add's %v", line, nb, staged)
	}
	if d, ok := strings.CutPrefix(when, "+"); ok {
		dur, err := time.ParseDuration(d)
		if err != nil || !nb.Equal(now.Add(dur)) {
			t.Fatalf("%q: not_before %v, want %s from now", line, nb, d)
		}
		if !strings.Contains(comment, d+" from now") {
			t.Errorf("%q: the comment does not say that the key seals %s from now (+DURATION counts from now, not from the current not_before; here %v after add staged it)", line, d, nb.Sub(staged))
		}
	}
}

// TestKeyringRescheduleOnlyLater checks that reschedule refuses to move a
// staged key earlier, even by a +DURATION that counts from now and so
// lands before the key's not_before, and points to promote.
func TestKeyringRescheduleOnlyLater(t *testing.T) {
	staged, old := tokensession.GenerateKey(), tokensession.GenerateKey()
	file := writeRing(t, tmpDir(t),
		tokensession.KeyringEntry{Key: staged, NotBefore: t0.Add(2 * time.Hour)},
		tokensession.KeyringEntry{Key: old})
	before, _ := os.ReadFile(file)
	for _, tc := range []struct {
		name, when, wantErr string
	}{
		{"+DURATION before not_before", "+10m", "-not-before 2026-03-01T12:10:00Z (+10m from now: +DURATION counts from now, not from the key's current not_before) is before entry 0's not_before (2026-03-01T14:00:00Z): reschedule only moves a staged key later; to make it seal earlier, once every instance holds it, use 'keyring promote -at 2026-03-01T12:10:00Z'"},
		{"RFC 3339 before not_before", "2026-03-01T13:59:59Z", "-not-before 2026-03-01T13:59:59Z is before entry 0's not_before (2026-03-01T14:00:00Z): reschedule only moves a staged key later"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := exec(t, t0, nil, "", "keyring", "reschedule", "-file", file, "-id", staged.ID(), "-not-before", tc.when)
			checkResult(t, r, 1, tc.wantErr)
		})
	}
	// promote -at later than not_before says the same of +DURATION.
	r := exec(t, t0, nil, "", "keyring", "promote", "-file", file, "-id", staged.ID(), "-at", "+3h")
	checkResult(t, r, 1, "-at 2026-03-01T15:00:00Z (+3h from now: +DURATION counts from now, not from the key's current not_before) is after entry 0's not_before")
	if after, _ := os.ReadFile(file); string(after) != string(before) {
		t.Fatal("a refused reschedule or promote changed the file")
	}

	// The same time: nothing to do.
	r = exec(t, t0, nil, "", "keyring", "reschedule", "-file", file, "-id", staged.ID(), "-not-before", "+2h")
	checkResult(t, r, 0, "")
	if after, _ := os.ReadFile(file); string(after) != string(before) || !strings.Contains(r.stderr, "unchanged") {
		t.Errorf("rescheduling to the same time changed the file, or said %q", r.stderr)
	}
	// Later: moved.
	r = exec(t, t0, nil, "", "keyring", "reschedule", "-file", file, "-id", staged.ID(), "-not-before", "+3h")
	checkResult(t, r, 0, "")
	if nb := readRing(t, file).Entries()[0].NotBefore; !nb.Equal(t0.Add(3 * time.Hour)) {
		t.Errorf("not_before %v after rescheduling later", nb)
	}

	// The usage says from when +DURATION counts.
	for _, name := range []string{"keyring reschedule", "keyring promote"} {
		if u := strings.Join(strings.Fields(lookup(name).usage), " "); !strings.Contains(u, "+DURATION counts from now, not from the") {
			t.Errorf("usage of %s does not say that +DURATION counts from now:\n%s", name, u)
		}
	}
}

// TestKeyringRetireNeverLater checks that retire does not move a key's
// not_after later without -force, so that a second retire, or its
// default -at, does not bring back a key retired early (perhaps because it
// leaked), nor keep a retiring key longer; moving it earlier stays
// allowed.
func TestKeyringRetireNeverLater(t *testing.T) {
	leaked, next := tokensession.GenerateKey(), tokensession.GenerateKey()
	dir := tmpDir(t)
	file := filepath.Join(dir, "leak.json")
	at := func(d time.Duration, wantCode int, wantErr string, args ...string) result {
		t.Helper()
		r := exec(t, t0.Add(d), nil, "", append([]string{"keyring", "retire", "-file", file, "-id", leaked.ID()}, args...)...)
		checkResult(t, r, wantCode, wantErr)
		return r
	}

	// The operator's steps: the leaked key replaced at once and retired
	// at once, by force.
	writeRing(t, dir, tokensession.KeyringEntry{Key: leaked})
	if err := os.Rename(filepath.Join(dir, "keys.json"), file); err != nil {
		t.Fatal(err)
	}
	checkResult(t, exec(t, t0, nil, next.UnsafeExportPASERK(), "keyring", "import", "-file", file, "-from", "-", "-not-before", "now"), 0, "")
	at(0, 0, "", "-at", "now", "-force")
	retired := readRing(t, file)
	if st := keyState(retired, 1, t0.Add(time.Second)); st != tokensession.KeyRetired {
		t.Fatalf("leaked key %s after retire -force", st)
	}
	before, _ := os.ReadFile(file)

	at(time.Second, 1, leaked.ID()+" is already retired: its not_after is 2026-03-01T12:00:00Z (1s ago); the default -at, the earliest safe time 2026-03-01T12:30:31Z, would move it later, so that the key opens tokens again: refused, since a key retired early may have leaked")
	at(time.Second, 1, "-at 2026-03-01T13:00:01Z would move it later", "-at", "+1h")
	at(time.Hour, 1, "-at 2026-03-01T14:00:00Z would move it later", "-at", "+1h")
	if after, _ := os.ReadFile(file); string(after) != string(before) {
		t.Fatal("a refused retire changed the file")
	}
	if l := exec(t, t0.Add(time.Second), nil, "", "keyring", "list", "-file", file).stdout; !strings.Contains(l, leaked.ID()+"  retiring not_before=-                     not_after=2026-03-01T12:00:00Z  opens until 2026-03-01T12:00:30Z (in 29s): retired at") {
		t.Errorf("list after a refused retire:\n%s", l)
	}
	// The same time again: nothing to do, whatever the safe time.
	r := at(time.Second, 0, "", "-at", "2026-03-01T12:00:00Z")
	if after, _ := os.ReadFile(file); string(after) != string(before) || r.stdout != leaked.ID()+" not_after=2026-03-01T12:00:00Z\n" || !strings.Contains(r.stderr, "unchanged") {
		t.Errorf("retire at the same time: stdout %q, stderr %q", r.stdout, r.stderr)
	}
	// -force moves it later, on purpose, and says what that does.
	r = at(time.Second, 0, "", "-at", "+1h", "-force")
	if !strings.Contains(r.stderr, "warning: -force moved the not_after of "+leaked.ID()+" later, from 2026-03-01T12:00:00Z to 2026-03-01T13:00:01Z: the key opens tokens again until then") {
		t.Errorf("no warning that the key opens tokens again:\n%s", r.stderr)
	}

	// A key retiring in the future: a rerun of retire, whose default
	// counts from now when the file does not say when the key stopped
	// sealing, does not push its not_after on; an earlier -at is fine.
	file = writeRing(t, tmpDir(t), tokensession.KeyringEntry{Key: next}, tokensession.KeyringEntry{Key: leaked})
	at(0, 0, "")
	if na := readRing(t, file).Entries()[1].NotAfter; !na.Equal(t0.Add(30*time.Minute + 30*time.Second)) {
		t.Fatalf("not_after %v", na)
	}
	at(time.Minute, 1, leaked.ID()+" already retires: its not_after is 2026-03-01T12:30:30Z (in 29m30s); the default -at, the earliest safe time 2026-03-01T12:31:30Z, would move it later, so that the key opens tokens for longer")
	at(time.Minute, 0, "", "-at", "2026-03-01T12:20:00Z", "-force")
	if na := readRing(t, file).Entries()[1].NotAfter; !na.Equal(t0.Add(20 * time.Minute)) {
		t.Errorf("not_after %v after moving it earlier", na)
	}
	// Earlier, but before the safe time, still needs -force.
	at(2*time.Minute, 1, "ends its sessions before they expire", "-at", "2026-03-01T12:10:00Z")
}

// TestKeyringRetireSafeTime checks retire's default and shortest -at: the
// idle timeout and the leeway after the key stopped sealing.
func TestKeyringRetireSafeTime(t *testing.T) {
	newKey, old := tokensession.GenerateKey(), tokensession.GenerateKey()
	entries := []tokensession.KeyringEntry{{Key: newKey, NotBefore: t0.Add(10 * time.Minute)}, {Key: old}}
	for _, tc := range []struct {
		name     string
		at       time.Duration // now, after t0
		args     []string
		wantCode int
		want     string // stdout, or the error
	}{
		{"default, after the switch", 20 * time.Minute, nil, 0, "not_after=2026-03-01T12:40:30Z"},
		{"default, before the switch", 0, nil, 0, "not_after=2026-03-01T12:40:30Z"},
		{"longer idle timeout", 20 * time.Minute, []string{"-idle", "2h", "-leeway", "1m"}, 0, "not_after=2026-03-01T14:11:00Z"},
		{"at the safe time", 20 * time.Minute, []string{"-at", "2026-03-01T12:40:30Z"}, 0, "not_after=2026-03-01T12:40:30Z"},
		{"later than safe", 20 * time.Minute, []string{"-at", "+24h"}, 0, "not_after=2026-03-02T12:20:00Z"},
		{"too early", 20 * time.Minute, []string{"-at", "now"}, 1, "retiring " + old.ID() + " at 2026-03-01T12:20:00Z ends its sessions before they expire: it stops sealing at 2026-03-01T12:10:00Z, and sessions last the idle timeout (30m0s) plus the leeway (30s) after that; the earliest safe -at is 2026-03-01T12:40:30Z (give -force"},
		{"a second too early", 20 * time.Minute, []string{"-at", "2026-03-01T12:40:29Z"}, 1, "the earliest safe -at is 2026-03-01T12:40:30Z"},
		{"forced", 20 * time.Minute, []string{"-at", "now", "-force"}, 0, "not_after=2026-03-01T12:20:00Z"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := writeRing(t, tmpDir(t), entries...)
			r := exec(t, t0.Add(tc.at), nil, "", append([]string{"keyring", "retire", "-file", file, "-id", old.ID()}, tc.args...)...)
			checkResult(t, r, tc.wantCode, tc.want)
			if tc.wantCode != 0 {
				return
			}
			if r.stdout != old.ID()+" "+tc.want+"\n" {
				t.Errorf("stdout %q, want %q", r.stdout, tc.want)
			}
			if !strings.Contains(r.stderr, "warning: sessions sealed by "+old.ID()) {
				t.Errorf("no warning that sessions end:\n%s", r.stderr)
			}
			if slicesContains(tc.args, "-force") != strings.Contains(r.stderr, "before they expire") {
				t.Errorf("warning %q", r.stderr)
			}
		})
	}

	// A key that no other key replaces cannot be retired.
	only := writeRing(t, tmpDir(t), tokensession.KeyringEntry{Key: old}, tokensession.KeyringEntry{Key: newKey, NotBefore: t0.Add(time.Hour)})
	r := exec(t, t0, nil, "", "keyring", "retire", "-file", only, "-id", old.ID(), "-at", "+1h", "-force")
	checkResult(t, r, 1, "takes over sealing from it, so retiring it would cut short")

	// An old key whose successor's start is not in the file: counted from
	// now.
	unknown := writeRing(t, tmpDir(t), tokensession.KeyringEntry{Key: newKey}, tokensession.KeyringEntry{Key: old})
	r = exec(t, t0, nil, "", "keyring", "retire", "-file", unknown, "-id", old.ID())
	checkResult(t, r, 0, "")
	if r.stdout != old.ID()+" not_after=2026-03-01T12:30:30Z\n" {
		t.Errorf("stdout %q", r.stdout)
	}
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// TestKeyringPruneWaitsForTokens checks that prune keeps a retired key
// until no token it sealed can still be live: its not_after, plus the idle
// timeout (a token sealed just before not_after lives that long), plus the
// leeway. Until then its cookies are recognised as a retired key's and
// deleted, not refused as an unknown key's.
func TestKeyringPruneWaitsForTokens(t *testing.T) {
	a, b := tokensession.GenerateKey(), tokensession.GenerateKey()
	for _, tc := range []struct {
		name    string
		at      time.Duration // after the retirement
		args    []string
		dropped bool
	}{
		{"at not_after", 0, nil, false},
		{"within the leeway", 29 * time.Second, nil, false},
		{"after the leeway", 30 * time.Second, nil, false},
		{"within the idle timeout", 30*time.Minute + 29*time.Second, nil, false},
		{"after the idle timeout and the leeway", 30*time.Minute + 30*time.Second, nil, true},
		{"longer leeway", 30*time.Minute + 30*time.Second, []string{"-leeway", "1m"}, false},
		{"longer idle timeout", 30*time.Minute + 30*time.Second, []string{"-idle", "1h"}, false},
		{"after the longer idle timeout", time.Hour + 30*time.Second, []string{"-idle", "1h"}, true},
		{"short idle, no leeway", time.Second, []string{"-idle", "1s", "-leeway", "0"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := writeRing(t, tmpDir(t), tokensession.KeyringEntry{Key: a}, tokensession.KeyringEntry{Key: b, NotAfter: t0})
			before, _ := os.ReadFile(file)
			r := exec(t, t0.Add(tc.at), nil, "", append([]string{"keyring", "prune", "-file", file}, tc.args...)...)
			checkResult(t, r, 0, "")
			after, _ := os.ReadFile(file)
			if tc.dropped {
				if r.stdout != b.ID()+"\n" || len(readRing(t, file).Entries()) != 1 {
					t.Errorf("not pruned: stdout %q", r.stdout)
				}
				checkFile(t, file)
			} else if r.stdout != "" || string(after) != string(before) {
				t.Errorf("pruned while tokens it sealed may be live: stdout %q", r.stdout)
			}
		})
	}
	for _, bad := range []string{"0", "500ms", "-1m"} {
		file := writeRing(t, tmpDir(t), tokensession.KeyringEntry{Key: a}, tokensession.KeyringEntry{Key: b, NotAfter: t0})
		checkResult(t, exec(t, t0.Add(time.Hour), nil, "", "keyring", "prune", "-file", file, "-idle", bad), 2, "-idle must be at least 1s")
	}
}

// TestKeyringPruneAfterForcedRetire follows an operator who retires a
// leaked key at once with -force, with a session it sealed the second
// before: prune keeps the key while that session's cookie can still come
// back, so that the instances recognise it as a retired key's (and delete
// it) rather than refusing it as an unknown key's; and drops it only once
// the cookie has expired.
func TestKeyringPruneAfterForcedRetire(t *testing.T) {
	leaked, next := tokensession.GenerateKey(), tokensession.GenerateKey()
	file := writeRing(t, tmpDir(t), tokensession.KeyringEntry{Key: next, NotBefore: t0}, tokensession.KeyringEntry{Key: leaked})
	// The last token the leaked key sealed, the second before next took
	// over: the idle timeout is the default, 30m, as prune's.
	before, err := tokensession.NewKeyring(tokensession.KeyringEntry{Key: leaked})
	if err != nil {
		t.Fatal(err)
	}
	m, err := tokensession.New(tokensession.Config[json.RawMessage]{Keyring: before, Now: func() time.Time { return t0.Add(-time.Second) }})
	if err != nil {
		t.Fatal(err)
	}
	tok, info, err := m.Seal(json.RawMessage(`{"user":"alice"}`))
	if err != nil {
		t.Fatal(err)
	}

	r := exec(t, t0, nil, "", "keyring", "retire", "-file", file, "-id", leaked.ID(), "-at", "now", "-force")
	checkResult(t, r, 0, "")
	// The warning says to copy the file again, and until when the key
	// must stay listed.
	for _, want := range []string{
		"copy " + file + " to every instance again",
		"keep " + leaked.ID() + " listed until 2026-03-01T12:30:30Z",
		"'tokensession keyring prune -file " + file + "' drops it then",
	} {
		if !strings.Contains(strings.Join(strings.Fields(r.stderr), " "), want) {
			t.Errorf("retire -force: stderr has no %q:\n%s", want, r.stderr)
		}
	}

	// openAt opens tok at instant at with the keyring in file.
	openAt := func(at time.Time) error {
		m, err := tokensession.New(tokensession.Config[json.RawMessage]{Keyring: readRing(t, file), Now: func() time.Time { return at }})
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = m.Open(tok)
		return err
	}
	// Every second the key is kept, the cookie is a retired key's; once
	// prune drops the key, the cookie has expired (with the leeway), so
	// no browser sends it.
	var dropped time.Time
	for _, d := range []time.Duration{31 * time.Second, 10 * time.Minute, 30*time.Minute - time.Second, 30 * time.Minute, 30*time.Minute + 28*time.Second, 30*time.Minute + 29*time.Second, 30*time.Minute + 30*time.Second} {
		at := t0.Add(d)
		if err := openAt(at); !errors.Is(err, tokensession.ErrKeyRetired) {
			t.Fatalf("at t0+%v, before prune: Open = %v, want ErrKeyRetired", d, err)
		}
		r := exec(t, at, nil, "", "keyring", "prune", "-file", file)
		checkResult(t, r, 0, "")
		if r.stdout != "" {
			dropped = at
			break
		}
		if !strings.Contains(r.stderr, leaked.ID()+" is retired since 2026-03-01T12:00:00Z") {
			t.Errorf("at t0+%v: prune does not say it keeps the key:\n%s", d, r.stderr)
		}
	}
	switch {
	case dropped.IsZero():
		t.Fatal("prune never dropped the key")
	case dropped.Before(info.Expires.Add(tokensession.DefaultLeeway)):
		t.Fatalf("prune dropped the key at %v, while its last token is live until %v (+ the leeway)", dropped, info.Expires)
	}
	if err := openAt(dropped); !errors.Is(err, tokensession.ErrUnknownKey) {
		t.Errorf("after prune: Open = %v, want ErrUnknownKey", err)
	}
}

// TestKeyringPruneSaysWhatIsPending checks that prune, when it drops
// nothing or not everything, says which keys it keeps for later and from
// when it drops them, or that there is nothing to prune.
func TestKeyringPruneSaysWhatIsPending(t *testing.T) {
	a, b, c := tokensession.GenerateKey(), tokensession.GenerateKey(), tokensession.GenerateKey()
	const pruneWhy = "a token it sealed before its not_after lives up to the idle timeout (30m0s) and the leeway (30s) after it; until then the key stays listed, so that the instances delete its cookies rather than refuse them as an unknown key's"
	for _, tc := range []struct {
		name    string
		entries []tokensession.KeyringEntry
		stdout  string
		want    []string
	}{
		{"no retired key", []tokensession.KeyringEntry{{Key: a}, {Key: b}}, "", []string{
			"tokensession: nothing to prune: no key in KEYS has a not_after (retire one first with 'keyring retire')\n",
		}},
		{"within the leeway", []tokensession.KeyringEntry{{Key: a}, {Key: b, NotAfter: t0.Add(-10 * time.Second)}}, "", []string{
			"tokensession: nothing to prune now in KEYS\n",
			"tokensession: " + b.ID() + " is retired since 2026-03-01T11:59:50Z; prune drops it from 2026-03-01T12:30:20Z (in 30m20s): " + pruneWhy + "\n",
		}},
		{"retiring later", []tokensession.KeyringEntry{{Key: a}, {Key: b, NotAfter: t0.Add(time.Hour)}}, "", []string{
			"tokensession: nothing to prune now in KEYS\n",
			"tokensession: " + b.ID() + " retires at 2026-03-01T13:00:00Z; prune drops it from 2026-03-01T13:30:30Z (in 1h30m30s): " + pruneWhy + "\n",
		}},
		{"one dropped, one kept", []tokensession.KeyringEntry{{Key: a}, {Key: b, NotAfter: t0.Add(time.Hour)}, {Key: c, NotAfter: t0.Add(-time.Hour)}}, c.ID() + "\n", []string{
			"tokensession: " + b.ID() + " retires at 2026-03-01T13:00:00Z",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := writeRing(t, tmpDir(t), tc.entries...)
			r := exec(t, t0, nil, "", "keyring", "prune", "-file", file)
			checkResult(t, r, 0, "")
			if r.stdout != tc.stdout {
				t.Errorf("stdout %q, want %q", r.stdout, tc.stdout)
			}
			for _, want := range tc.want {
				if want = strings.ReplaceAll(want, "KEYS", file); !strings.Contains(r.stderr, want) {
					t.Errorf("stderr has no %q:\n%s", want, r.stderr)
				}
			}
			if tc.stdout != "" && strings.Contains(r.stderr, "nothing to prune") {
				t.Errorf("stderr says nothing to prune after pruning:\n%s", r.stderr)
			}
		})
	}
}

// TestKeyringSessionKeysFile runs every keyring command on a file that
// holds keys in the SESSION_KEYS form: each says so, and how to make a
// keyring JSON file of it, without showing a key or touching the file.
func TestKeyringSessionKeysFile(t *testing.T) {
	a, b := tokensession.GenerateKey(), tokensession.GenerateKey()
	dir := tmpDir(t)
	one := filepath.Join(dir, "one.txt")
	two := filepath.Join(dir, "two.txt")
	bad := filepath.Join(dir, "bad.txt")
	for path, data := range map[string]string{
		one: a.UnsafeExportPASERK() + "\n",
		two: a.UnsafeExportPASERK() + "\n" + b.UnsafeExportPASERK() + "\n",
		bad: a.UnsafeExportPASERK() + " k4.local.AAAA\n",
	} {
		if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		file string
		want string
	}{
		{one, one + " holds keys in the SESSION_KEYS form (k4.local keys separated by white space), not keyring JSON: the keyring commands edit keyring JSON files, which hold each key's times; copy the key into a JSON keyring file with 'tokensession keyring import -file NEW.json -from " + one + "'"},
		{two, "copy its 2 keys into a JSON keyring file, one 'tokensession keyring import -file NEW.json -from " + two + " -id KEYID' each, the last key first and every other with -not-before now"},
		{bad, bad + " looks like keys in the SESSION_KEYS form (k4.local keys separated by white space), but they do not read (keyring entry 1: wrong key length"},
	} {
		before, _ := os.ReadFile(tc.file)
		for _, args := range [][]string{
			{"list"},
			{"add"},
			{"prune"},
			{"retire", "-id", a.ID()},
			{"promote", "-id", a.ID()},
			{"reschedule", "-id", a.ID(), "-not-before", "+1h"},
			{"import", "-from", "-"},
		} {
			t.Run(filepath.Base(tc.file)+" "+args[0], func(t *testing.T) {
				r := exec(t, t0, nil, tokensession.GenerateKey().UnsafeExportPASERK(), append([]string{"keyring"}, append(args, "-file", tc.file)...)...)
				checkResult(t, r, 1, tc.want)
				noSecrets(t, r.stdout+r.stderr, a, b)
			})
		}
		if after, _ := os.ReadFile(tc.file); string(after) != string(before) {
			t.Errorf("%s changed", tc.file)
		}
	}
}

// TestKeyringList checks that list shows what each key does now, with
// the times that matter: until when a staged key waits, when a key
// retires, and that a retired key still opens tokens for the leeway.
func TestKeyringList(t *testing.T) {
	keys := make([]tokensession.Key, 7)
	for i := range keys {
		keys[i] = tokensession.GenerateKey()
	}
	file := writeRing(t, tmpDir(t),
		tokensession.KeyringEntry{Key: keys[0], NotBefore: t0.Add(time.Hour)},
		tokensession.KeyringEntry{Key: keys[1], NotAfter: t0.Add(2 * time.Hour)},
		tokensession.KeyringEntry{Key: keys[2], NotBefore: t0.Add(-time.Hour)},
		tokensession.KeyringEntry{Key: keys[3], NotAfter: t0.Add(30 * time.Minute)},
		tokensession.KeyringEntry{Key: keys[4], NotAfter: t0.Add(-10 * time.Second)},
		tokensession.KeyringEntry{Key: keys[5], NotBefore: t0.Add(-2 * time.Hour), NotAfter: t0.Add(-time.Hour)},
		tokensession.KeyringEntry{Key: keys[6], NotBefore: t0.Add(3 * time.Hour)},
	)
	r := exec(t, t0, nil, "", "keyring", "list", "-file", file)
	checkResult(t, r, 0, "")
	want := "0  " + keys[0].ID() + "  staged   not_before=2026-03-01T13:00:00Z  not_after=-                     staged until 2026-03-01T13:00:00Z (in 1h0m0s): opens tokens, seals from then\n" +
		"1  " + keys[1].ID() + "  sealing  not_before=-                     not_after=2026-03-01T14:00:00Z  seals new tokens until 2026-03-01T13:00:00Z (in 1h0m0s), when a key listed before it takes over; retiring at 2026-03-01T14:00:00Z (in 2h0m0s)\n" +
		"2  " + keys[2].ID() + "  opening  not_before=2026-03-01T11:00:00Z  not_after=-                     opens tokens; a key listed before it seals\n" +
		"3  " + keys[3].ID() + "  retiring not_before=-                     not_after=2026-03-01T12:30:00Z  retiring at 2026-03-01T12:30:00Z (in 30m0s): opens tokens until then, + the leeway (30s)\n" +
		"4  " + keys[4].ID() + "  retiring not_before=-                     not_after=2026-03-01T11:59:50Z  opens until 2026-03-01T12:00:20Z (in 20s): retired at 2026-03-01T11:59:50Z, + the leeway (30s)\n" +
		"5  " + keys[5].ID() + "  retired  not_before=2026-03-01T10:00:00Z  not_after=2026-03-01T11:00:00Z  opens nothing since 2026-03-01T11:00:30Z (59m30s ago): retired at 2026-03-01T11:00:00Z, + the leeway (30s)\n" +
		"6  " + keys[6].ID() + "  staged   not_before=2026-03-01T15:00:00Z  not_after=-                     staged until 2026-03-01T15:00:00Z (in 3h0m0s): opens tokens; then opens only (a key listed before it seals)\n"
	if r.stdout != want {
		t.Errorf("list:\n%s\nwant:\n%s", r.stdout, want)
	}
	if strings.Contains(r.stdout+r.stderr, "k4.local") {
		t.Error("list prints k4.local")
	}
	noSecrets(t, r.stdout+r.stderr, keys...)

	// With a shorter leeway, the key retired 10s ago opens nothing.
	r = exec(t, t0, nil, "", "keyring", "list", "-file", file, "-leeway", "5s")
	checkResult(t, r, 0, "")
	if line := "4  " + keys[4].ID() + "  retired  not_before=-                     not_after=2026-03-01T11:59:50Z  opens nothing since 2026-03-01T11:59:55Z (5s ago): retired at 2026-03-01T11:59:50Z, + the leeway (5s)\n"; !strings.Contains(r.stdout, line) {
		t.Errorf("list -leeway 5s has no line %q:\n%s", line, r.stdout)
	}
	checkResult(t, exec(t, t0, nil, "", "keyring", "list", "-file", file, "-leeway", "-1s"), 2, "-leeway must not be negative")
}

func TestKeyringErrors(t *testing.T) {
	a, b := tokensession.GenerateKey(), tokensession.GenerateKey()
	dir := tmpDir(t)
	good := writeRing(t, dir, tokensession.KeyringEntry{Key: a}, tokensession.KeyringEntry{Key: b})
	goodBytes, _ := os.ReadFile(good)
	only := filepath.Join(dir, "only.json")
	onlyRing, _ := tokensession.NewKeyring(tokensession.KeyringEntry{Key: a})
	onlyData, _ := onlyRing.UnsafeMarshalJSON()
	staged := filepath.Join(dir, "staged.json")
	stagedRing, _ := tokensession.NewKeyring(
		tokensession.KeyringEntry{Key: b, NotBefore: t0.Add(time.Hour)},
		tokensession.KeyringEntry{Key: a, NotAfter: t0.Add(-time.Hour)})
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
		{"add to missing directory", []string{"add", "-file", noDir}, 1, "cannot open its lock file: no such file or directory"},
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
		{"retire malformed id", []string{"retire", "-file", good, "-id", "k4.lid.nope"}, 2, "keyring retire: -id takes a key ID: k4.lid. and 44 characters"},
		{"retire a secret as id", []string{"retire", "-file", good, "-id", a.UnsafeExportPASERK()}, 2, "keyring retire: -id takes a key ID: k4.lid. and 44 characters"},
		{"retire bad time", []string{"retire", "-file", good, "-id", a.ID(), "-at", "2026-13-01T00:00:00Z"}, 2, "-at: \"2026-13-01T00:00:00Z\" is not an RFC 3339 time"},
		{"retire missing file", []string{"retire", "-file", missing, "-id", a.ID()}, 1, "no such keyring file"},
		{"retire bad JSON", []string{"retire", "-file", badJSON, "-id", a.ID()}, 1, "not valid JSON"},
		{"retire only key", []string{"retire", "-file", only, "-id", a.ID()}, 1, "takes over sealing from it, so retiring it would cut short"},
		{"retire only key later", []string{"retire", "-file", only, "-id", a.ID(), "-at", "+1h", "-force"}, 1, "takes over sealing from it"},
		{"retire sealing before staged", []string{"retire", "-file", staged, "-id", b.ID(), "-at", "2026-03-01T12:30:00Z"}, 1, "-at 2026-03-01T12:30:00Z is not after entry 0's not_before (2026-03-01T13:00:00Z)"},
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
		file := writeRing(t, tmpDir(t), tokensession.KeyringEntry{Key: a, NotAfter: t0.Add(-time.Hour)})
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

// TestStagedRotation runs a whole staged rotation with the CLI alone, as
// the README's recipe does: a first key; a new key added to one file,
// staged for the default rollout window; that file copied to two
// instances; the switch; the old key retired at the default, earliest safe
// time; and pruned once no token it sealed can be live. A session the old
// key sealed at the last moment it sealed stays valid to its end.
func TestStagedRotation(t *testing.T) {
	dir := tmpDir(t)
	file := filepath.Join(dir, "keys.json")
	instances := []string{filepath.Join(dir, "a.json"), filepath.Join(dir, "b.json")}
	keyring := func(at time.Time, args ...string) result {
		t.Helper()
		r := exec(t, at, nil, "", append([]string{"keyring"}, append(args, "-file", file)...)...)
		checkResult(t, r, 0, "")
		return r
	}
	rollout := func() {
		t.Helper()
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, inst := range instances {
			if err := os.WriteFile(inst, data, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	// seal seals a session at instant at with an instance's keyring.
	seal := func(inst string, at time.Time) string {
		t.Helper()
		m, err := tokensession.New(tokensession.Config[json.RawMessage]{Keyring: readRing(t, inst), Now: func() time.Time { return at }})
		if err != nil {
			t.Fatal(err)
		}
		tok, _, err := m.Seal(json.RawMessage(`{"user":"alice"}`))
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	inspect := func(inst string, at time.Time, tok string) result {
		t.Helper()
		return exec(t, at, nil, tok, "inspect", "-keyring", inst)
	}

	// The first key, the day before.
	oldID := strings.TrimSpace(keyring(t0.Add(-24*time.Hour), "add").stdout)
	rollout()

	// 1. The new key, in one file, staged for an hour; 2. copied to every
	// instance.
	newID := strings.TrimSpace(keyring(t0, "add").stdout)
	rollout()
	if l := keyring(t0, "list").stdout; !strings.Contains(l, "0  "+newID+"  staged   not_before=2026-03-01T13:00:00Z") || !strings.Contains(l, "1  "+oldID+"  sealing ") {
		t.Errorf("list after add:\n%s", l)
	}
	// Until the switch the old key seals; the new one opens everywhere.
	last := seal(instances[0], t0.Add(time.Hour-time.Second))
	if r := inspect(instances[1], t0.Add(time.Hour-time.Second), last); !strings.Contains(r.stdout, "key ID:   "+oldID) || r.code != 0 {
		t.Errorf("before the switch:\n%s", r.stdout)
	}
	// 3. At not_before both instances seal with the new key.
	for _, inst := range instances {
		tok := seal(inst, t0.Add(time.Hour))
		if r := inspect(instances[0], t0.Add(time.Hour), tok); !strings.Contains(r.stdout, "key ID:   "+newID) || r.code != 0 {
			t.Errorf("after the switch, %s:\n%s", inst, r.stdout)
		}
	}

	// 4. Retire the old key at the earliest safe time: the idle timeout
	// and the leeway after the switch.
	r := keyring(t0.Add(70*time.Minute), "retire", "-id", oldID)
	if r.stdout != oldID+" not_after=2026-03-01T13:30:30Z\n" {
		t.Errorf("retire printed %q", r.stdout)
	}
	rollout()
	// The last session the old key sealed lives to its end: its last
	// valid second, before exp and the leeway, is 13:30:28.
	if r := inspect(instances[0], t0.Add(90*time.Minute+28*time.Second), last); r.code != 0 {
		t.Errorf("the last old-key session was cut short:\n%s", r.stdout)
	}

	// 5. Prune once no token the old key sealed can come back: the idle
	// timeout and the leeway after its not_after. Until then the key is
	// kept, so that its cookies are recognised as a retired key's.
	if r := keyring(t0.Add(120*time.Minute+59*time.Second), "prune"); r.stdout != "" {
		t.Errorf("pruned while tokens the old key sealed may be live: %q", r.stdout)
	}
	if r := keyring(t0.Add(121*time.Minute), "prune"); r.stdout != oldID+"\n" {
		t.Errorf("prune printed %q, want %q", r.stdout, oldID)
	}
	rollout()
	if l := keyring(t0.Add(121*time.Minute), "list").stdout; l != "0  "+newID+"  sealing  not_before=2026-03-01T13:00:00Z  not_after=-                     seals new tokens\n" {
		t.Errorf("list after prune:\n%s", l)
	}
	checkFile(t, file)
}

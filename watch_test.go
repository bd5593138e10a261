package tokensession_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokensession/tokensession"
)

// watchLog collects a watcher's log records as text.
type watchLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *watchLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *watchLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *watchLog) count(s string) int { return strings.Count(l.String(), s) }

const (
	// reloaded matches both records of a reload that succeeds: "keyring
	// reloaded", and "keyring reloaded without the key that was sealing".
	reloaded = `msg="keyring reloaded`
	failed   = `msg="keyring reload failed, keeping the current keys"`
)

// recordHandler keeps the records logged through it, and hands them on to
// its Handler (text, for the tests that read the log as text).
type recordHandler struct {
	slog.Handler
	mu      *sync.Mutex
	records *[]slog.Record
}

func (h recordHandler) Handle(ctx context.Context, r slog.Record) error {
	h.mu.Lock()
	*h.records = append(*h.records, r.Clone())
	h.mu.Unlock()
	return h.Handler.Handle(ctx, r)
}

func (h recordHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return recordHandler{h.Handler.WithAttrs(as), h.mu, h.records}
}

func (h recordHandler) WithGroup(name string) slog.Handler {
	return recordHandler{h.Handler.WithGroup(name), h.mu, h.records}
}

// watchHarness runs a KeyringWatcher over a manager, stepped by hand: tick
// and hup return once the watcher has handled the trigger.
type watchHarness struct {
	m    *tokensession.Manager[string] // nil when the target is not a manager
	log  *watchLog
	poll chan time.Time
	hup  chan os.Signal
	done chan struct{}

	mu      sync.Mutex
	records []slog.Record
}

func startWatch(t *testing.T, src tokensession.KeySource) *watchHarness {
	t.Helper()
	ring, err := src.Load()
	if err != nil {
		t.Fatal(err)
	}
	m := mustNew(t, tokensession.Config[string]{Keyring: ring})
	h := startWatchTarget(t, src, m)
	h.m = m
	return h
}

// startWatchTarget starts a watcher of src that hands its keyrings to
// target.
func startWatchTarget(t *testing.T, src tokensession.KeySource, target interface {
	SetKeyring(*tokensession.Keyring) error
}) *watchHarness {
	t.Helper()
	h := &watchHarness{
		log:  &watchLog{},
		poll: make(chan time.Time),
		hup:  make(chan os.Signal),
		done: make(chan struct{}),
	}
	w := &tokensession.KeyringWatcher{
		Source: src,
		Target: target,
		Reload: h.hup,
		Poll:   h.poll,
		Logger: slog.New(recordHandler{slog.NewTextHandler(h.log, nil), &h.mu, &h.records}),
	}
	tokensession.SetWatcherHook(w, func() { h.done <- struct{}{} })
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		w.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-stopped
		h.checkNoSecrets(t)
	})
	// The first check always reloads: a change between Load and Run is
	// not missed.
	h.tick()
	if h.log.count(reloaded) != 1 {
		t.Fatalf("first check did not reload:\n%s", h.log)
	}
	return h
}

func (h *watchHarness) tick() { h.poll <- time.Time{}; <-h.done }

// last returns the last record logged, with its attributes as strings.
func (h *watchHarness) last(t *testing.T) (slog.Record, map[string]string) {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.records) == 0 {
		t.Fatal("nothing logged")
	}
	r := h.records[len(h.records)-1]
	attrs := map[string]string{}
	r.Attrs(func(a slog.Attr) bool {
		attrs[a.Key] = a.Value.String()
		return true
	})
	return r, attrs
}
func (h *watchHarness) sighup() {
	h.hup <- os.Interrupt // any signal: SIGHUP does not exist on every platform
	<-h.done
}

// sealing returns the ID of the key the manager seals with now.
func (h *watchHarness) sealing(t *testing.T) string {
	t.Helper()
	k, err := sealingKey(h.m.Keyring(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return k.ID()
}

// expect checks the counts of successful and failed reloads logged so far.
func (h *watchHarness) expect(t *testing.T, what string, ok, fail int) {
	t.Helper()
	if got, gotFail := h.log.count(reloaded), h.log.count(failed); got != ok || gotFail != fail {
		t.Fatalf("%s: %d reloads and %d failures logged, want %d and %d:\n%s", what, got, gotFail, ok, fail, h.log)
	}
}

// checkNoSecrets checks that the log shows no part of the test keys.
func (h *watchHarness) checkNoSecrets(t *testing.T) {
	out := h.log.String()
	if strings.Contains(out, "k4.local.") {
		t.Errorf("log shows a k4.local key:\n%s", out)
	}
	for seed := range byte(4) {
		s := b64Of(testKey(t, seed))
		for i := 0; i+8 <= len(s); i++ {
			if strings.Contains(out, s[i:i+8]) {
				t.Fatalf("log shows key material %q:\n%s", s[i:i+8], out)
			}
		}
	}
}

// replace writes path atomically: a temporary file renamed over it.
func replace(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	writeKeys(t, tmp, content)
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func TestWatchRenameOver(t *testing.T) {
	t.Parallel()
	a, b := testKey(t, 1), testKey(t, 2)
	dir := t.TempDir()
	path := filepath.Join(dir, "keyring.json")
	writeKeys(t, path, ringJSON(t, tokensession.KeyringEntry{Key: a}))
	h := startWatch(t, tokensession.FileKeySource(path))

	h.tick()
	h.tick()
	h.expect(t, "unchanged file", 1, 0)

	replace(t, path, ringJSON(t, tokensession.KeyringEntry{Key: b}, tokensession.KeyringEntry{Key: a}))
	h.tick()
	h.expect(t, "renamed over", 2, 0)
	if h.sealing(t) != b.ID() || len(h.m.Keyring().Entries()) != 2 {
		t.Fatalf("after rename: %v", h.m.Keyring())
	}
	if !strings.Contains(h.log.String(), b.ID()+" (sealing), "+a.ID()+" (opening)") {
		t.Errorf("reload log lacks the key states:\n%s", h.log)
	}
	h.tick()
	h.expect(t, "after rename, unchanged", 2, 0)
}

func TestWatchSameSizeRenameOver(t *testing.T) {
	t.Parallel()
	a, b := testKey(t, 1), testKey(t, 2)
	path := filepath.Join(t.TempDir(), "keys")
	writeKeys(t, path, a.UnsafeExportPASERK())
	old, _ := os.Stat(path)
	h := startWatch(t, tokensession.FileKeySource(path))
	// A new file of the same size with the same modification time.
	replace(t, path, b.UnsafeExportPASERK())
	if err := os.Chtimes(path, old.ModTime(), old.ModTime()); err != nil {
		t.Fatal(err)
	}
	h.tick()
	h.expect(t, "same size and time, new inode", 2, 0)
	if h.sealing(t) != b.ID() {
		t.Fatal("new file not loaded")
	}
}

// TestWatchKubernetesSecret swaps a Secret volume's ..data symlink as the
// kubelet does, with the source naming the mount directory or the file.
func TestWatchKubernetesSecret(t *testing.T) {
	t.Parallel()
	for _, via := range []string{"directory", "file"} {
		t.Run(via, func(t *testing.T) {
			a, b := testKey(t, 1), testKey(t, 2)
			mount := t.TempDir()
			writeKeys(t, filepath.Join(mount, "..2026_12_01_10_00_00.1", "session-keyring"), ringJSON(t, tokensession.KeyringEntry{Key: a}))
			must(t, os.Symlink("..2026_12_01_10_00_00.1", filepath.Join(mount, "..data")))
			must(t, os.Symlink(filepath.Join("..data", "session-keyring"), filepath.Join(mount, "session-keyring")))
			src := tokensession.FileKeySource(mount)
			if via == "file" {
				src = tokensession.FileKeySource(filepath.Join(mount, "session-keyring"))
			}
			h := startWatch(t, src)
			h.tick()
			h.expect(t, "unchanged", 1, 0)

			// The update: a new timestamped directory, a new ..data link
			// renamed over the old one, the old directory removed.
			writeKeys(t, filepath.Join(mount, "..2026_12_01_11_00_00.2", "session-keyring"), ringJSON(t, tokensession.KeyringEntry{Key: b}, tokensession.KeyringEntry{Key: a}))
			must(t, os.Symlink("..2026_12_01_11_00_00.2", filepath.Join(mount, "..data_tmp")))
			must(t, os.Rename(filepath.Join(mount, "..data_tmp"), filepath.Join(mount, "..data")))
			must(t, os.RemoveAll(filepath.Join(mount, "..2026_12_01_10_00_00.1")))
			h.tick()
			h.expect(t, "after the swap", 2, 0)
			if h.sealing(t) != b.ID() {
				t.Fatal("swapped Secret not loaded")
			}
			h.tick()
			h.expect(t, "after the swap, unchanged", 2, 0)
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestWatchTruncateThenWrite follows an editor that truncates the file and
// writes it in pieces: each partial state fails once and keeps the keys.
func TestWatchTruncateThenWrite(t *testing.T) {
	t.Parallel()
	a, b := testKey(t, 1), testKey(t, 2)
	path := filepath.Join(t.TempDir(), "keyring.json")
	writeKeys(t, path, ringJSON(t, tokensession.KeyringEntry{Key: a}))
	h := startWatch(t, tokensession.FileKeySource(path))

	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	must(t, err)
	defer f.Close()
	h.tick()
	h.expect(t, "truncated", 1, 1)
	h.tick()
	h.expect(t, "still truncated", 1, 1)
	if h.sealing(t) != a.ID() {
		t.Fatal("keys lost to an empty file")
	}

	next := ringJSON(t, tokensession.KeyringEntry{Key: b}, tokensession.KeyringEntry{Key: a})
	half := len(next) / 2
	_, err = f.WriteString(next[:half])
	must(t, err)
	h.tick()
	h.expect(t, "half written", 1, 2)
	h.tick()
	h.expect(t, "still half written", 1, 2)
	if h.sealing(t) != a.ID() {
		t.Fatal("keys lost to a half-written file")
	}

	_, err = f.WriteString(next[half:])
	must(t, err)
	h.tick()
	h.expect(t, "written", 2, 2)
	if h.sealing(t) != b.ID() {
		t.Fatal("finished file not loaded")
	}
}

func TestWatchRemoveThenRecreate(t *testing.T) {
	t.Parallel()
	a, b := testKey(t, 1), testKey(t, 2)
	dir := t.TempDir()
	path := filepath.Join(dir, "keyring.json")
	writeKeys(t, path, ringJSON(t, tokensession.KeyringEntry{Key: a}))
	h := startWatch(t, tokensession.FileKeySource(path))

	must(t, os.Remove(path))
	h.tick()
	h.tick()
	h.expect(t, "removed", 1, 1)
	if h.sealing(t) != a.ID() {
		t.Fatal("keys lost while the file was missing")
	}
	if strings.Contains(h.log.String(), dir) {
		t.Errorf("log names the path:\n%s", h.log)
	}
	writeKeys(t, path, ringJSON(t, tokensession.KeyringEntry{Key: b}))
	h.tick()
	h.expect(t, "recreated", 2, 1)
	if h.sealing(t) != b.ID() {
		t.Fatal("recreated file not loaded")
	}
}

// TestWatchFailureReportedOnce checks that a bad file is reported once per
// change, keeps the keys, and never shows what it holds.
func TestWatchFailureReportedOnce(t *testing.T) {
	t.Parallel()
	a, b := testKey(t, 1), testKey(t, 2)
	path := filepath.Join(t.TempDir(), "keyring.json")
	writeKeys(t, path, ringJSON(t, tokensession.KeyringEntry{Key: a}))
	h := startWatch(t, tokensession.FileKeySource(path))

	replace(t, path, `{"keys":[{"key":"`+b.UnsafeExportPASERK()+`","not_before":"2026-12-01 10:00"}]}`)
	for range 3 {
		h.tick()
	}
	h.expect(t, "bad time", 1, 1)
	if !strings.Contains(h.log.String(), "keyring entry 0: not_before: want an RFC 3339 time") {
		t.Errorf("failure does not say what is wrong:\n%s", h.log)
	}
	// An explicit reload reports again.
	h.sighup()
	h.expect(t, "bad time, SIGHUP", 1, 2)

	// A keyring that parses but cannot seal now.
	replace(t, path, ringJSON(t, tokensession.KeyringEntry{Key: b, NotBefore: time.Now().Add(time.Hour)}))
	h.tick()
	h.tick()
	h.expect(t, "no sealing key", 1, 3)
	if h.sealing(t) != a.ID() || len(h.m.Keyring().Entries()) != 1 {
		t.Fatalf("keys replaced by a failed reload: %v", h.m.Keyring())
	}
}

func TestWatchReloadTrigger(t *testing.T) {
	t.Parallel()
	a, b := testKey(t, 1), testKey(t, 2)
	path := filepath.Join(t.TempDir(), "keyring.json")
	writeKeys(t, path, ringJSON(t, tokensession.KeyringEntry{Key: a}))
	h := startWatch(t, tokensession.FileKeySource(path))
	h.sighup()
	h.expect(t, "SIGHUP, unchanged file", 2, 0)

	// An in-place rewrite of the same size and time is not seen by
	// polling; SIGHUP loads it.
	old, _ := os.Stat(path)
	must(t, os.WriteFile(path, []byte(ringJSON(t, tokensession.KeyringEntry{Key: b})), 0o600))
	must(t, os.Chtimes(path, old.ModTime(), old.ModTime()))
	h.sighup()
	h.expect(t, "SIGHUP, rewritten file", 3, 0)
	if h.sealing(t) != b.ID() {
		t.Fatal("SIGHUP did not load the rewritten file")
	}
}

// TestWatchEnvSource checks that keys from a variable are not polled, and
// that a reload request says they cannot change.
func TestWatchEnvSource(t *testing.T) {
	t.Parallel()
	a := testKey(t, 1)
	src, err := tokensession.EnvKeySource(func(k string) (string, bool) {
		return a.UnsafeExportPASERK(), k == "SESSION_KEYS"
	})
	must(t, err)
	ring, err := src.Load()
	must(t, err)
	m := mustNew(t, tokensession.Config[string]{Keyring: ring})
	logs := &watchLog{}
	hup := make(chan os.Signal)
	done := make(chan struct{})
	w := &tokensession.KeyringWatcher{Source: src, Target: m, Reload: hup, Logger: slog.New(slog.NewTextHandler(logs, nil))}
	tokensession.SetWatcherHook(w, func() { done <- struct{}{} })
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { defer close(stopped); w.Run(ctx) }()
	hup <- os.Interrupt
	<-done
	cancel()
	<-stopped
	if !strings.Contains(logs.String(), "keyring not reloaded") || !strings.Contains(logs.String(), "source=SESSION_KEYS") || strings.Contains(logs.String(), "k4.local.") {
		t.Fatalf("log: %s", logs)
	}
	if m.Keyring() != ring {
		t.Fatal("keyring replaced")
	}
}

// TestWatchStops checks that cancelling the context ends Run, with its own
// ticker, and leaves no goroutine behind.
func TestWatchStops(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keyring.json")
	writeKeys(t, path, ringJSON(t, tokensession.KeyringEntry{Key: testKey(t, 1)}))
	src := tokensession.FileKeySource(path)
	ring, err := src.Load()
	must(t, err)
	m := mustNew(t, tokensession.Config[string]{Keyring: ring})
	before := runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		(&tokensession.KeyringWatcher{Source: src, Target: m, Logger: slog.New(slog.DiscardHandler)}).Run(ctx)
	}()
	cancel()
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context was cancelled")
	}
	for i := 0; runtime.NumGoroutine() > before; i++ {
		if i == 1000 {
			t.Fatalf("%d goroutines after Run returned, %d before", runtime.NumGoroutine(), before)
		}
		runtime.Gosched()
	}
}

func TestWatchNilTargetPanics(t *testing.T) {
	t.Parallel()
	defer func() {
		if r := recover(); r == nil || !strings.HasPrefix(r.(string), "tokensession: ") {
			t.Fatalf("recovered %v", r)
		}
	}()
	(&tokensession.KeyringWatcher{}).Run(context.Background())
}

// TestWatchWarnsWhenSealingKeyLeaves checks that a reload without the key
// that was sealing (or without any key of the previous keyring) is logged
// as a warning that names both keys and says what it costs, and that a
// rotation that keeps the sealing key is logged at Info.
func TestWatchWarnsWhenSealingKeyLeaves(t *testing.T) {
	t.Parallel()
	a, b, c := testKey(t, 1), testKey(t, 2), testKey(t, 3)
	path := filepath.Join(t.TempDir(), "keyring.json")
	writeKeys(t, path, ringJSON(t, tokensession.KeyringEntry{Key: a}))
	h := startWatch(t, tokensession.FileKeySource(path))

	step := func(what string, entries []tokensession.KeyringEntry, level slog.Level, want map[string]string) {
		t.Helper()
		replace(t, path, ringJSON(t, entries...))
		h.tick()
		r, attrs := h.last(t)
		if r.Level != level {
			t.Fatalf("%s: logged %q at %v, want %v:\n%s", what, r.Message, r.Level, level, h.log)
		}
		for k, v := range want {
			if attrs[k] != v {
				t.Errorf("%s: attribute %s = %q, want %q", what, k, attrs[k], v)
			}
		}
		if level == slog.LevelInfo && (attrs["was_sealing"] != "" || attrs["hint"] != "") {
			t.Errorf("%s: a warning's attributes at Info: %v", what, attrs)
		}
	}

	// A rotation: the new key first, the old one kept.
	step("new key added", []tokensession.KeyringEntry{{Key: b}, {Key: a}}, slog.LevelInfo, map[string]string{})
	// The old key pruned: it no longer sealed.
	step("old key pruned", []tokensession.KeyringEntry{{Key: c}, {Key: b}}, slog.LevelInfo, map[string]string{})
	// The sealing key c removed, b kept.
	step("sealing key removed", []tokensession.KeyringEntry{{Key: b}}, slog.LevelWarn, map[string]string{
		"was_sealing": c.ID(),
		"sealing":     b.ID(),
		"hint":        "tokens sealed by " + c.ID() + " can no longer be opened here; its sessions will be lost unless that was intended",
	})
	if r, _ := h.last(t); r.Message != "keyring reloaded without the key that was sealing" {
		t.Errorf("message %q", r.Message)
	}
	// Every key replaced.
	step("every key replaced", []tokensession.KeyringEntry{{Key: a}}, slog.LevelWarn, map[string]string{
		"was_sealing": b.ID(),
		"sealing":     a.ID(),
		"hint":        "no key of the previous keyring is in the new one: tokens sealed before this reload can no longer be opened here; their sessions will be lost unless that was intended",
	})
	if h.sealing(t) != a.ID() {
		t.Fatal("the new keyring was not loaded after the warning")
	}
	// An unchanged keyring: nothing to warn about.
	h.sighup()
	if r, _ := h.last(t); r.Level != slog.LevelInfo {
		t.Errorf("reload of the same keyring logged at %v", r.Level)
	}
	h.expect(t, "all steps", 6, 0)
}

// setOnly is a watcher target that is not a manager: the watcher compares
// a reload with the keyring it loaded before.
type setOnly struct{}

func (setOnly) SetKeyring(*tokensession.Keyring) error { return nil }

func TestWatchWarnsWhenSealingKeyLeavesOtherTarget(t *testing.T) {
	t.Parallel()
	a, b := testKey(t, 1), testKey(t, 2)
	path := filepath.Join(t.TempDir(), "keyring.json")
	writeKeys(t, path, ringJSON(t, tokensession.KeyringEntry{Key: a}))
	h := startWatchTarget(t, tokensession.FileKeySource(path), setOnly{})
	if r, _ := h.last(t); r.Level != slog.LevelInfo {
		t.Fatalf("first reload logged at %v", r.Level)
	}
	replace(t, path, ringJSON(t, tokensession.KeyringEntry{Key: b}))
	h.tick()
	if r, attrs := h.last(t); r.Level != slog.LevelWarn || attrs["was_sealing"] != a.ID() || attrs["sealing"] != b.ID() {
		t.Fatalf("logged %q at %v with %v, want a warning naming both keys:\n%s", r.Message, r.Level, attrs, h.log)
	}
}

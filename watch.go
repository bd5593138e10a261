package tokensession

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// A KeyringWatcher keeps a manager's keyring current with its [KeySource]
// while a program runs: it reloads the source when told to (wire SIGHUP to
// Reload) and when the file changes. Create it as a struct literal and call
// [KeyringWatcher.Run]; it does nothing until then.
//
// A reload that fails (a file that does not parse, is empty or half
// written, has gone missing for a moment, or has no key able to seal now)
// keeps the keys in use and is reported once per change of the file, not
// at every check. A reload that succeeds swaps the whole keyring with one
// call to SetKeyring: requests in flight keep the keyring they started
// with.
//
// Changes are found by polling: at each check the watcher looks up the
// file (for a directory, its session-keyring or session-keys file),
// resolves its symlinks and compares the resolved path, the file's
// identity (inode), size and modification time with the last reload's. So
// it follows an atomic rename over the file, a Kubernetes Secret volume
// swapping its ..data symlink, an editor that truncates then writes (the
// half-written file fails, the finished one loads at a later check), and a
// file removed and recreated. An in-place rewrite that keeps the size
// within the file system's timestamp granularity can go unseen: replace
// the file by renaming, or send Reload.
//
// A source read from an environment variable never changes: for it the
// watcher does not poll, and a Reload only logs that the keys cannot
// change without a restart.
type KeyringWatcher struct {
	// Source is where the keys come from, usually the source the program
	// loaded its first keyring from.
	Source KeySource

	// Target receives every keyring that loads. A [*Manager] is one.
	// Required: Run panics when it is nil.
	Target interface{ SetKeyring(*Keyring) error }

	// Reload forces a reload at every value received, changed file or
	// not. Typically the channel given to signal.Notify for SIGHUP. Nil
	// means no forced reloads. Give each watcher a channel of its own:
	// watchers sharing one channel take turns at its signals.
	Reload <-chan os.Signal

	// Poll triggers a check for a change at every value received. Nil
	// means every second, from a [time.Ticker] that Run starts and stops.
	Poll <-chan time.Time

	// Logger receives one record per reload: "keyring reloaded" at level
	// Info with the key IDs and what each does at the system clock's
	// time, or "keyring reload failed, keeping the current keys" at level
	// Error with the cause. A reload whose keyring no longer holds the key
	// that was sealing is logged as "keyring reloaded without the key that
	// was sealing" at level Warn, with both keys' IDs and a hint: the
	// tokens that key sealed no longer open here. Records never contain
	// key material or a path. Nil means [slog.Default].
	Logger *slog.Logger

	// afterEvent, when set by a test, runs after each trigger is handled.
	afterEvent func()
}

// Run watches until ctx is done, then returns; it starts no goroutine. Call
// it in a goroutine of its own. The first check after Run starts always
// reloads, so a change made between loading the first keyring and starting
// the watcher is not missed.
func (w *KeyringWatcher) Run(ctx context.Context) {
	if w.Target == nil {
		panic("tokensession: KeyringWatcher.Target is nil")
	}
	poll := w.Poll
	if poll == nil && w.Source.path() != "" {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		poll = t.C
	}
	var last stamp
	var loaded *Keyring // the last keyring handed to the target
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.Reload:
			w.reload(&last, &loaded)
		case <-poll:
			if w.Source.path() != "" && !w.Source.stamp().same(last) {
				w.reload(&last, &loaded)
			}
		}
		if w.afterEvent != nil {
			w.afterEvent()
		}
	}
}

// reload loads the source and hands the keyring to the target, recording
// in last the stamp of the file as it was before reading it (a change made
// while reading is then seen by the next check), and in loaded the
// keyring.
func (w *KeyringWatcher) reload(last *stamp, loaded **Keyring) {
	logger := w.Logger
	if logger == nil {
		logger = slog.Default()
	}
	src := w.Source.String()
	if w.Source.path() == "" {
		logger.Warn("keyring not reloaded: keys from an environment variable change only with a restart", "source", src)
		return
	}
	*last = w.Source.stamp()
	// The keyring in use: the target's own if it tells (a Manager does),
	// else the one this watcher last handed it.
	prev := *loaded
	if t, ok := w.Target.(interface{ Keyring() *Keyring }); ok {
		prev = t.Keyring()
	}
	ring, err := w.Source.Load()
	if err == nil {
		if err = w.Target.SetKeyring(ring); err != nil {
			err = sourceError(src, err)
		}
	}
	if err != nil {
		logger.Error("keyring reload failed, keeping the current keys", "source", src, "err", err)
		return
	}
	*loaded = ring
	now := time.Now()
	if old, ok := sealingID(prev, now); ok && !holds(ring, old) {
		// Tokens the old key sealed now name a key this instance lacks:
		// the middleware keeps their cookies but refuses to write over
		// them. Right for a leaked key; a mistake if the file lost it.
		sealing, _ := sealingID(ring, now)
		hint := "tokens sealed by " + old + " can no longer be opened here; its sessions will be lost unless that was intended"
		if !sharesKey(ring, prev) {
			hint = "no key of the previous keyring is in the new one: tokens sealed before this reload can no longer be opened here; their sessions will be lost unless that was intended"
		}
		logger.Warn("keyring reloaded without the key that was sealing", "source", src, "was_sealing", old, "sealing", sealing, "keys", describeKeyring(ring, now), "hint", hint)
		return
	}
	logger.Info("keyring reloaded", "source", src, "keys", describeKeyring(ring, now))
}

// sealingID returns the ID of the key of r that seals at now, if r is not
// nil and has one.
func sealingID(r *Keyring, now time.Time) (string, bool) {
	if r == nil {
		return "", false
	}
	if i := r.sealingIndex(now); i >= 0 {
		return r.entries[i].Key.ID(), true
	}
	return "", false
}

// holds reports whether r lists the key with ID id.
func holds(r *Keyring, id string) bool {
	_, ok := r.byID[id]
	return ok
}

// sharesKey reports whether r and o list a key in common.
func sharesKey(r, o *Keyring) bool {
	for _, e := range o.entries {
		if holds(r, e.Key.ID()) {
			return true
		}
	}
	return false
}

// describeKeyring lists the keyring's key IDs with what each does at now:
// "k4.lid.… (sealing), k4.lid.… (opening)".
func describeKeyring(r *Keyring, now time.Time) string {
	var b strings.Builder
	for e, state := range r.States(now) {
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		b.WriteString(e.Key.ID() + " (" + state.String() + ")")
	}
	return b.String()
}

// A stamp identifies a version of a source's file. The zero stamp matches
// nothing, so the first check always reloads.
type stamp struct {
	seen   bool
	path   string      // the file read; "" when there was none to read
	target string      // path with its symlinks resolved
	fi     os.FileInfo // nil when the file could not be found
}

// stamp returns the stamp of the file the source reads now.
func (s KeySource) stamp() stamp {
	_, path, err := s.file()
	if err != nil {
		return stamp{seen: true}
	}
	st := stamp{seen: true, path: path}
	st.target, _ = filepath.EvalSymlinks(path)
	st.fi, _ = os.Stat(path)
	return st
}

func (a stamp) same(b stamp) bool {
	switch {
	case !a.seen || !b.seen || a.path != b.path || a.target != b.target:
		return false
	case a.fi == nil || b.fi == nil:
		return a.fi == nil && b.fi == nil
	}
	return os.SameFile(a.fi, b.fi) && a.fi.Size() == b.fi.Size() && a.fi.ModTime().Equal(b.fi.ModTime())
}

package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/tokensession/tokensession"
)

// loadKeys returns the keyring named by the environment. For a keyring
// file it also returns the keyringFile that reloads it; the caller sets its
// set function once the manager exists.
func loadKeys(getenv func(string) string, logger *log.Logger) (*tokensession.Keyring, *keyringFile, error) {
	env, path := strings.TrimSpace(getenv("SESSION_KEYS")), getenv("SESSION_KEYRING")
	switch {
	case env != "" && path != "":
		return nil, nil, errors.New("set SESSION_KEYS or SESSION_KEYRING, not both")
	case env != "":
		ring, err := tokensession.ParseKeyringEnv(env)
		if err != nil {
			return nil, nil, fmt.Errorf("SESSION_KEYS: %w", err)
		}
		logger.Printf("keys from SESSION_KEYS: %v", ring)
		return ring, nil, nil
	case path != "":
		f := &keyringFile{path: path, logger: logger, now: time.Now}
		ring, err := f.read()
		if err != nil {
			return nil, nil, err
		}
		logger.Printf("keys from %s: %v", path, ring)
		return ring, f, nil
	}
	ring, err := tokensession.NewKeyring(tokensession.KeyringEntry{Key: tokensession.GenerateKey()})
	if err != nil {
		return nil, nil, err
	}
	logger.Print("WARNING: neither SESSION_KEYS nor SESSION_KEYRING is set: using a random key, so sessions will not survive a restart")
	return ring, nil, nil
}

// keyringFile reloads a JSON keyring file into a manager. Write the file
// atomically (write a temporary file, then rename it over the old one) so
// that a reload never sees half a file; a reload that fails anyway keeps
// the keys in use.
type keyringFile struct {
	path   string
	set    func(*tokensession.Keyring) error // Manager.SetKeyring
	now    func() time.Time
	logger *log.Logger

	mu   sync.Mutex
	last stamp // of the file when last read, successfully or not
}

// stamp identifies a version of the file; the zero stamp is a file that
// could not be read.
type stamp struct {
	mod  time.Time
	size int64
}

func (f *keyringFile) stat() stamp {
	fi, err := os.Stat(f.path)
	if err != nil {
		return stamp{}
	}
	return stamp{fi.ModTime(), fi.Size()}
}

// read parses the file and records its stamp. The stamp is taken before
// reading, so a change made while reading is seen by the next check.
func (f *keyringFile) read() (*tokensession.Keyring, error) {
	f.last = f.stat()
	data, err := os.ReadFile(f.path)
	if err != nil {
		return nil, err // names the path only
	}
	ring, err := tokensession.ParseKeyringJSON(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.path, err) // names entries, never secrets
	}
	return ring, nil
}

// Reload reads the file and swaps its keys in. On any error the manager
// keeps the keys it has. It logs the outcome, with key IDs only.
func (f *keyringFile) Reload() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reloadLocked()
}

func (f *keyringFile) reloadLocked() error {
	ring, err := f.read()
	if err == nil {
		if err = f.set(ring); err != nil {
			err = fmt.Errorf("%s: %w", f.path, err)
		}
	}
	if err != nil {
		f.logger.Printf("keyring reload failed, keeping the current keys: %v", err)
		return err
	}
	f.logger.Printf("keyring reloaded from %s: %s", f.path, describe(ring, f.now()))
	return nil
}

// ReloadIfChanged reloads the file if its modification time or size
// changed since it was last read. A file that keeps failing is reported
// once per change, not at every check.
func (f *keyringFile) ReloadIfChanged() (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stat() == f.last {
		return false, nil
	}
	return true, f.reloadLocked()
}

// watch checks the file at every tick and reloads it at every signal on
// hup, until ctx is done.
func (f *keyringFile) watch(ctx context.Context, every time.Duration, hup <-chan os.Signal) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			f.Reload()
		case <-t.C:
			f.ReloadIfChanged()
		}
	}
}

// describe lists the keyring's key IDs with what each does now.
func describe(ring *tokensession.Keyring, now time.Time) string {
	var b strings.Builder
	for i, e := range ring.Entries() {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s (%v)", e.Key.ID(), ring.State(i, now))
	}
	return b.String()
}

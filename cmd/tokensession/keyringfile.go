package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/tokensession/tokensession"
)

// This file reads keyring files, and edits them safely: under a lock, so
// that concurrent edits lose nothing, and by an atomic rewrite that keeps
// the file's owner, group and mode.

// maxKeyringFile bounds the size of a keyring file read: thousands of keys.
const maxKeyringFile = 1 << 20

// lockWait bounds how long an edit waits for another one to finish.
const lockWait = 30 * time.Second

// readKeyringFile reads and parses the keyring file at path. With
// allowMissing, a missing or blank file is an empty keyring (nil).
func (c *cli) readKeyringFile(path string, allowMissing bool) (*tokensession.Keyring, error) {
	return c.readKeyringFileAs(path, showPath(path), allowMissing)
}

// readKeyringFileAs is readKeyringFile with the name its messages give the
// file: label, in place of the path. It warns when the file is readable by
// its group or by others.
func (c *cli) readKeyringFileAs(path, label string, allowMissing bool) (*tokensession.Keyring, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			if allowMissing {
				return nil, nil
			}
			return nil, errorf("%s: no such keyring file", label)
		}
		return nil, errorf("%s: %v", label, unwrapPath(err))
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, errorf("%s: %v", label, unwrapPath(err))
	}
	if st.IsDir() {
		return nil, errorf("%s: is a directory, not a keyring file", label)
	}
	c.checkMode(label, st.Mode())
	data, err := io.ReadAll(io.LimitReader(f, maxKeyringFile+1))
	if err != nil {
		return nil, errorf("%s: %v", label, unwrapPath(err))
	}
	if len(data) > maxKeyringFile {
		return nil, errorf("%s: larger than %d bytes, not a keyring file", label, maxKeyringFile)
	}
	if allowMissing && len(bytes.TrimSpace(data)) == 0 {
		return nil, nil
	}
	if err := notSessionKeys(label, data); err != nil {
		return nil, err
	}
	ring, err := tokensession.ParseKeyringJSON(data)
	if err != nil {
		return nil, errorf("%s: %s", label, libMessage(err))
	}
	return ring, nil
}

// notSessionKeys returns an error if data, read from the file label, holds
// keys in the SESSION_KEYS form (k4.local keys separated by white space)
// rather than keyring JSON. The library's key sources read either form;
// the keyring commands edit only JSON, which holds the keys' times. The
// error names no key.
func notSessionKeys(label string, data []byte) error {
	text := string(bytes.TrimSpace(data))
	if strings.HasPrefix(text, "{") {
		return nil
	}
	fields := strings.Fields(text)
	if len(fields) == 0 || !strings.HasPrefix(fields[0], "k4.local.") && !strings.HasPrefix(fields[0], "k3.local.") {
		return nil
	}
	from := shellWord(label)
	what := "holds keys in the SESSION_KEYS form (k4.local keys separated by white space)"
	how := fmt.Sprintf("copy the key into a JSON keyring file with 'tokensession keyring import -file NEW.json -from %s'", from)
	if ring, err := tokensession.ParseKeyringEnv(text); err != nil {
		what = fmt.Sprintf("looks like keys in the SESSION_KEYS form (k4.local keys separated by white space), but they do not read (%s)", libMessage(err))
		how = "once they do, copy them into a JSON keyring file with 'tokensession keyring import -file NEW.json -from " + from + "'"
	} else if n := len(ring.Entries()); n > 1 {
		how = fmt.Sprintf("copy its %d keys into a JSON keyring file, one 'tokensession keyring import -file NEW.json -from %s -id KEYID' each, the last key first and every other with -not-before now, so that the first key seals ('tokensession id < %s' prints the IDs)", n, from, from)
	}
	return errorf("%s %s, not keyring JSON: the keyring commands edit keyring JSON files, which hold each key's times; %s", label, what, how)
}

// checkMode warns when a keyring file's mode lets its group or others
// read it. The file is left as it is: a group that must read it (the
// application's) is the operator's choice.
func (c *cli) checkMode(label string, mode fs.FileMode) {
	if runtime.GOOS == "windows" {
		return // no Unix permission bits to check
	}
	switch perm := mode.Perm(); {
	case perm&0o004 != 0:
		c.warnf("%s is readable by every user (mode %04o): it holds secret keys; run chmod 600 on it, or 640 if the application reads it through its group", label, perm)
	case perm&0o040 != 0:
		c.warnf("%s is readable by its group (mode %04o): make sure only the application's group is the file's group", label, perm)
	}
}

// editKeyringFile changes the keyring file at path under its lock: it
// reads the file (a missing or blank one is a nil keyring if allowMissing),
// calls edit, and writes what edit returns, unless that is nil or edit
// fails.
func (c *cli) editKeyringFile(path string, allowMissing bool, edit func(*tokensession.Keyring) (*tokensession.Keyring, error)) error {
	target := resolve(path)
	unlock, err := lockFile(target+".lock", lockWait)
	if err != nil {
		return errorf("%s: %v", showPath(path), err)
	}
	defer unlock()
	ring, err := c.readKeyringFile(path, allowMissing)
	if err != nil {
		return err
	}
	next, err := edit(ring)
	if err != nil || next == nil {
		return err
	}
	return writeKeyringFile(path, next)
}

// resolve follows symbolic links at path, so that the file they point to
// is locked and replaced rather than the link. A path that does not exist
// yet stays as it is.
func resolve(path string) string {
	if resolved, err := filepath.EvalSymlinks(path); err == nil {
		return resolved
	}
	return path
}

// writeKeyringFile replaces the file at path with ring, atomically: it
// writes a temporary file in the same directory with the existing file's
// mode, owner and group (mode 0600 and the caller's for a new file), syncs
// it, and renames it over path. A symbolic link at path is followed, so
// the file it points to is replaced rather than the link. Call it with the
// file's lock held.
func writeKeyringFile(path string, ring *tokensession.Keyring) (err error) {
	data, err := ring.UnsafeMarshalJSON()
	if err != nil {
		return errorf("encoding keyring: %s", libMessage(err))
	}
	data = append(data, '\n')
	// Never write what the library would not read back.
	if _, err := tokensession.ParseKeyringJSON(data); err != nil {
		return errorf("internal error: keyring does not round-trip: %s", libMessage(err))
	}

	target := resolve(path)
	mode := fs.FileMode(0o600)
	var old fs.FileInfo
	if st, err := os.Stat(target); err == nil {
		old = st
		mode = st.Mode().Perm()
	}
	dir, base := filepath.Split(target)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return errorf("%s: cannot create a temporary file next to it: %v", showPath(path), unwrapPath(err))
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	// Chmod explicitly: CreateTemp's 0600 passes through the umask.
	if err := tmp.Chmod(mode); err != nil {
		return errorf("%s: %v", showPath(path), unwrapPath(err))
	}
	if old != nil {
		if err := keepOwner(tmp, old); err != nil {
			return errorf("%s: cannot keep the file's owner and group: %v; run as its owner or as root", showPath(path), unwrapPath(err))
		}
	}
	if _, err := tmp.Write(data); err != nil {
		return errorf("%s: writing: %v", showPath(path), unwrapPath(err))
	}
	if err := tmp.Sync(); err != nil {
		return errorf("%s: syncing: %v", showPath(path), unwrapPath(err))
	}
	if err := tmp.Close(); err != nil {
		return errorf("%s: writing: %v", showPath(path), unwrapPath(err))
	}
	if err := os.Rename(tmp.Name(), target); err != nil {
		return errorf("%s: replacing: %v", showPath(path), unwrapPath(err))
	}
	// Make the rename durable. Not every platform can sync a directory;
	// the file itself is complete either way.
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// unwrapPath drops the file name from a *fs.PathError: the name may be a
// temporary file's, or a path that must not be repeated.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// errLocked reports a lock held for longer than the wait.
var errLocked = errors.New("another keyring command is editing this file (its .lock file is held); try again once it is done")

// lockExclusive takes the lock at path by creating it with O_EXCL, and
// waits up to wait for another holder to remove it. Unlocking removes the
// file. A process that dies holding it leaves the file behind, and the
// error says so: where flock exists, lockFile uses that instead.
func lockExclusive(path string, wait time.Duration) (unlock func(), err error) {
	deadline := time.Now().Add(wait)
	for {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil {
			f.Close()
			return func() { os.Remove(path) }, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("cannot create its lock file: %w", unwrapPath(err))
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%w (if no keyring command is running, one was interrupted: remove the .lock file next to it)", errLocked)
		}
		time.Sleep(lockPoll)
	}
}

// lockPoll is how often a waiting edit retries the lock.
const lockPoll = 10 * time.Millisecond

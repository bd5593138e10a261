package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tokensession/tokensession"
)

const usageKeyring = `Usage: tokensession keyring SUBCOMMAND -file FILE [FLAGS]

Edit or show a JSON keyring file, the format tokensession.ParseKeyringJSON
reads:

  {"keys": [{"key": "k4.local…", "not_before": "…", "not_after": "…"}]}

Subcommands:
  add      generate a key and list it first (creates FILE if missing)
  retire   set a key's not_after
  prune    drop the keys whose not_after has passed
  list     show each key's position, ID, state and times, never its secret

Files are written atomically (a temporary file in the same directory,
fsync, rename) with mode 0600. TIME values are RFC 3339
(2026-12-01T10:00:00Z), "now", or +DURATION from now (+10m, +36h).

Environment:
  TOKENSESSION_NOW  for testing only: an RFC 3339 time used instead of
                    the system clock
`

const usageKeyringAdd = `Usage: tokensession keyring add -file FILE [-not-before TIME]

Generate a new key, list it first in FILE and print its k4.lid ID. FILE is
created with mode 0600 if it does not exist (or is empty).

Without -not-before the new key seals at once. For a staged rotation, give
a -not-before later than the moment every instance has loaded the new
file: until then the key only opens tokens, and from then on every
instance seals with it, with no coordination. Refuses to write a keyring
in which no key can seal now.

Flags:
  -file FILE          keyring file (required)
  -not-before TIME    when the new key starts sealing: RFC 3339, "now"
                      or +DURATION (default: at once)

Environment:
  TOKENSESSION_NOW    for testing only: an RFC 3339 time used instead of
                      the system clock
`

const usageKeyringRetire = `Usage: tokensession keyring retire -file FILE -id KEYID [-at TIME]

Set the not_after of the key KEYID (k4.lid.…, as 'keyring list' shows it)
to TIME: from then on the key neither seals nor opens tokens, and the
sessions it sealed end. Retire a key once the absolute session lifetime
(default 24h) has passed since it stopped sealing. Refuses to leave no
key able to seal now or at TIME.

Flags:
  -file FILE    keyring file (required)
  -id KEYID     the key's k4.lid ID (required)
  -at TIME      RFC 3339, "now" or +DURATION (default now)

Environment:
  TOKENSESSION_NOW    for testing only: an RFC 3339 time used instead of
                      the system clock
`

const usageKeyringPrune = `Usage: tokensession keyring prune -file FILE

Drop the keys whose not_after has passed and print their IDs, one per
line. Refuses to leave an empty keyring or one in which no key can seal
now. FILE is not rewritten when no key is retired.

Flags:
  -file FILE    keyring file (required)

Environment:
  TOKENSESSION_NOW    for testing only: an RFC 3339 time used instead of
                      the system clock
`

const usageKeyringList = `Usage: tokensession keyring list -file FILE

Print one line per key: its position, its k4.lid ID, its state now
(staged, sealing, opening or retired), and its not_before and not_after
("-" when unset). Never prints secrets.

Flags:
  -file FILE    keyring file (required)

Environment:
  TOKENSESSION_NOW    for testing only: an RFC 3339 time used instead of
                      the system clock
`

// maxKeyringFile bounds the size of a keyring file read: thousands of keys.
const maxKeyringFile = 1 << 20

// parseWhen parses a TIME argument: RFC 3339, "now", or "+" and a
// duration from now. Relative times are cut to whole seconds.
func parseWhen(s string, now time.Time) (time.Time, error) {
	switch {
	case s == "now":
		return now.UTC().Truncate(time.Second), nil
	case strings.HasPrefix(s, "+"):
		d, err := time.ParseDuration(s[1:])
		if err != nil || d < 0 {
			return time.Time{}, fmt.Errorf("%s is not a +DURATION (for example +10m or +36h)", quoteArg(s))
		}
		return now.Add(d).UTC().Truncate(time.Second), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s is not an RFC 3339 time, \"now\" or +DURATION (for example 2026-12-01T10:00:00Z or +10m)", quoteArg(s))
	}
	return t, nil
}

// keyringFlags parses the flags every keyring subcommand shares.
func (c *cli) keyringFlags(name string, fs *flag.FlagSet, args []string) (file string, err error) {
	fs.StringVar(&file, "file", "", "keyring file")
	pos, err := c.parseFlags(name, fs, args)
	if err != nil {
		return "", err
	}
	if len(pos) > 0 {
		return "", usageErrorf("%s: unexpected argument %s (run 'tokensession %s -h')", name, quoteArg(pos[0]), name)
	}
	if file == "" {
		return "", usageErrorf("%s: -file is required (run 'tokensession %s -h')", name, name)
	}
	return file, nil
}

// readKeyringOnly parses the arguments of a keyring subcommand whose only
// flag is -file, and reads that existing keyring file.
func (c *cli) readKeyringOnly(name string, args []string) (string, *tokensession.Keyring, error) {
	file, err := c.keyringFlags(name, flag.NewFlagSet(name, flag.ContinueOnError), args)
	if err != nil {
		return "", nil, err
	}
	ring, err := readKeyringFile(file, false)
	return file, ring, err
}

// readKeyringFile reads and parses the keyring file at path. With
// allowMissing, a missing or blank file is an empty keyring (nil).
func readKeyringFile(path string, allowMissing bool) (*tokensession.Keyring, error) {
	return readKeyringFileAs(path, showPath(path), allowMissing)
}

// readKeyringFileAs is readKeyringFile with the name its messages give the
// file: label, in place of the path.
func readKeyringFileAs(path, label string, allowMissing bool) (*tokensession.Keyring, error) {
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
	if st, err := f.Stat(); err == nil && st.IsDir() {
		return nil, errorf("%s: is a directory, not a keyring file", label)
	}
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
	ring, err := tokensession.ParseKeyringJSON(data)
	if err != nil {
		return nil, errorf("%s: %s", label, libMessage(err))
	}
	return ring, nil
}

// writeKeyringFile replaces the file at path with ring, atomically: it
// writes a temporary file with mode 0600 in the same directory, syncs it,
// and renames it over path. A symbolic link at path is followed, so the
// file it points to is replaced rather than the link.
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

	target := path
	if resolved, err := filepath.EvalSymlinks(path); err == nil {
		target = resolved
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
	// CreateTemp already uses 0600; say so explicitly against odd umasks
	// and platforms.
	if err := tmp.Chmod(0o600); err != nil {
		return errorf("%s: %v", showPath(path), unwrapPath(err))
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

// unwrapPath drops the temporary file's name from a *fs.PathError.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func runKeyringAdd(c *cli, args []string) error {
	const name = "keyring add"
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	notBefore := fs.String("not-before", "", "when the new key starts sealing")
	file, err := c.keyringFlags(name, fs, args)
	if err != nil {
		return err
	}
	now := c.now()
	var nb time.Time
	if *notBefore != "" {
		if nb, err = parseWhen(*notBefore, now); err != nil {
			return usageErrorf("%s: -not-before: %v", name, err)
		}
	}
	old, err := readKeyringFile(file, true)
	if err != nil {
		return err
	}
	key := tokensession.GenerateKey()
	entries := []tokensession.KeyringEntry{{Key: key, NotBefore: nb}}
	if old != nil {
		entries = append(entries, old.Entries()...)
	}
	ring, err := tokensession.NewKeyring(entries...)
	if err != nil {
		return errorf("%s: %s", showPath(file), libMessage(err))
	}
	if _, err := ring.SealingKey(now); err != nil {
		return errorf("%s: no key could seal now: the new key is staged until %s and no other key is active; add a key without -not-before first", showPath(file), formatTime(nb))
	}
	if err := writeKeyringFile(file, ring); err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, key.ID())
	return nil
}

func runKeyringRetire(c *cli, args []string) error {
	const name = "keyring retire"
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	id := fs.String("id", "", "k4.lid ID of the key to retire")
	atFlag := fs.String("at", "now", "retirement time")
	file, err := c.keyringFlags(name, fs, args)
	if err != nil {
		return err
	}
	if *id == "" {
		return usageErrorf("%s: -id is required (run 'tokensession %s -h')", name, name)
	}
	if !strings.HasPrefix(*id, "k4.lid.") {
		return usageErrorf("%s: -id takes a key ID (k4.lid.…, see 'tokensession keyring list'), not %s", name, quoteArg(*id))
	}
	now := c.now()
	at, err := parseWhen(*atFlag, now)
	if err != nil {
		return usageErrorf("%s: -at: %v", name, err)
	}
	ring, err := readKeyringFile(file, false)
	if err != nil {
		return err
	}
	entries := ring.Entries()
	i := indexOf(entries, *id)
	if i < 0 {
		return errorf("%s: no key with the ID given to -id (run 'tokensession keyring list -file FILE' for the IDs)", showPath(file))
	}
	entries[i].NotAfter = at
	if ring, err = tokensession.NewKeyring(entries...); err != nil {
		return errorf("%s: %s", showPath(file), libMessage(err))
	}
	if _, err := ring.SealingKey(now); err != nil {
		return errorf("%s: retiring %s at %s would leave no key able to seal now; add a key first", showPath(file), *id, formatTime(at))
	}
	if _, err := ring.SealingKey(at); err != nil && at.After(now) {
		return errorf("%s: retiring %s at %s would leave no key able to seal then; add a key first", showPath(file), *id, formatTime(at))
	}
	if err := writeKeyringFile(file, ring); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "%s not_after=%s\n", *id, formatTime(at))
	return nil
}

func runKeyringPrune(c *cli, args []string) error {
	file, ring, err := c.readKeyringOnly("keyring prune", args)
	if err != nil {
		return err
	}
	now := c.now()
	var keep []tokensession.KeyringEntry
	var dropped []string
	for i, e := range ring.Entries() {
		if ring.State(i, now) == tokensession.KeyRetired {
			dropped = append(dropped, e.Key.ID())
			continue
		}
		keep = append(keep, e)
	}
	if len(dropped) == 0 {
		return nil
	}
	if len(keep) == 0 {
		return errorf("%s: every key is retired; pruning would leave an empty keyring; add a key first", showPath(file))
	}
	pruned, err := tokensession.NewKeyring(keep...)
	if err != nil {
		return errorf("%s: %s", showPath(file), libMessage(err))
	}
	if _, err := pruned.SealingKey(now); err != nil {
		return errorf("%s: no key of the pruned keyring could seal now; add a key first", showPath(file))
	}
	if err := writeKeyringFile(file, pruned); err != nil {
		return err
	}
	for _, id := range dropped {
		fmt.Fprintln(c.stdout, id)
	}
	return nil
}

func runKeyringList(c *cli, args []string) error {
	_, ring, err := c.readKeyringOnly("keyring list", args)
	if err != nil {
		return err
	}
	now := c.now()
	for i, e := range ring.Entries() {
		fmt.Fprintf(c.stdout, "%d  %s  %-7s  not_before=%s  not_after=%s\n",
			i, e.Key.ID(), ring.State(i, now), formatTime(e.NotBefore), formatTime(e.NotAfter))
	}
	return nil
}

// indexOf returns the position of the key with ID id in entries, or -1.
func indexOf(entries []tokensession.KeyringEntry, id string) int {
	for i, e := range entries {
		if e.Key.ID() == id {
			return i
		}
	}
	return -1
}

// safeID returns id for an error message if it has the shape of a k4.lid
// ID, and a short quote otherwise.
func safeID(id string) string {
	const lidLen = len("k4.lid.") + 44
	if len(id) == lidLen && strings.HasPrefix(id, "k4.lid.") {
		ok := true
		for i := len("k4.lid."); i < len(id); i++ {
			ok = ok && isKeyChar(id[i]) && id[i] != '=' && id[i] != '+'
		}
		if ok {
			return id
		}
	}
	return quoteArg(id) + " (not a k4.lid ID)"
}

// formatTime formats t as RFC 3339 in UTC, or "-" for the zero time.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

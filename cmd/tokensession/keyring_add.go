package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/tokensession/tokensession"
)

// This file holds the keyring subcommands that put a key into a file: add
// and import.

func runKeyringAdd(c *cli, args []string) error {
	const name = "keyring add"
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	notBefore := fs.String("not-before", "", "when the new key starts sealing")
	file, err := c.keyringFlags(name, fs, args)
	if err != nil {
		return err
	}
	return c.putKey(name, file, tokensession.KeyringEntry{Key: tokensession.GenerateKey()}, *notBefore, false)
}

func runKeyringImport(c *cli, args []string) error {
	const name = "keyring import"
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	from := fs.String("from", "", "where the key is")
	id := fs.String("id", "", "k4.lid ID of the key")
	notBefore := fs.String("not-before", "", "when the key starts sealing")
	file, err := c.keyringFlags(name, fs, args)
	if err != nil {
		return err
	}
	if *from == "" {
		return usageErrorf("%s: -from is required: a keyring file, or - for stdin (run 'tokensession %s -h')", name, name)
	}
	if *id != "" {
		if err := checkID(name, *id); err != nil {
			return err
		}
	}
	if resolve(*from) == resolve(file) {
		return usageErrorf("%s: -from and -file are the same file", name)
	}
	e, fromRing, err := c.readKeySource(*from, *id)
	if err != nil {
		return err
	}
	return c.putKey(name, file, e, *notBefore, fromRing)
}

// readKeySource reads the key that import copies, the entry id or the
// only one: from keyring JSON with its times (fromRing), or from k4.local
// keys separated by white space.
func (c *cli) readKeySource(from, id string) (e tokensession.KeyringEntry, fromRing bool, err error) {
	label := showPath(from)
	var data []byte
	if from == "-" {
		label = "stdin"
		s, err := c.readInput(maxKeyringFile)
		if err != nil {
			return e, false, err
		}
		data = []byte(s)
	} else {
		f, err := os.Open(from)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return e, false, errorf("-from %s: no such file", label)
			}
			return e, false, errorf("-from %s: %v", label, unwrapPath(err))
		}
		defer f.Close()
		if st, err := f.Stat(); err == nil {
			if st.IsDir() {
				return e, false, errorf("-from %s: is a directory, not a keyring file", label)
			}
			c.checkMode(label, st.Mode())
		}
		if data, err = io.ReadAll(io.LimitReader(f, maxKeyringFile+1)); err != nil {
			return e, false, errorf("-from %s: %v", label, unwrapPath(err))
		}
		if len(data) > maxKeyringFile {
			return e, false, errorf("-from %s: larger than %d bytes, not a keyring file", label, maxKeyringFile)
		}
	}

	// The rule of the library's key sources: keyring JSON when the first
	// non-space byte is '{', keys separated by white space (the
	// SESSION_KEYS form) otherwise. Only JSON carries times.
	fromRing = bytes.HasPrefix(bytes.TrimSpace(data), []byte("{"))
	var ring *tokensession.Keyring
	switch {
	case len(bytes.TrimSpace(data)) == 0:
		return e, false, errorf("-from %s: empty: want a keyring file or k4.local keys", label)
	case fromRing:
		ring, err = tokensession.ParseKeyringJSON(data)
	default:
		ring, err = tokensession.ParseKeyringEnv(string(data))
	}
	if err != nil {
		return e, false, errorf("-from %s: %s", label, libMessage(err))
	}
	entries := ring.Entries()
	switch {
	case id != "":
		i := indexOf(entries, id)
		if i < 0 {
			return e, false, errorf("-from %s: no key with the ID given to -id (run 'tokensession id -' on the keys, or 'tokensession keyring list -file SOURCE', for the IDs)", label)
		}
		return entries[i], fromRing, nil
	case len(entries) == 1:
		return entries[0], fromRing, nil
	}
	return e, false, usageErrorf("keyring import: -from %s holds %d keys: choose one with -id (run 'tokensession id -' on the keys, or 'tokensession keyring list -file SOURCE', for the IDs)", label, len(entries))
}

// putKey lists e first in the keyring file, staged as notBefore says
// (keeping e's own times if fromRing and notBefore is empty), and tells
// the operator what to do next.
func (c *cli) putKey(name, file string, e tokensession.KeyringEntry, notBefore string, fromRing bool) error {
	now := c.now()
	var nb time.Time
	if notBefore != "" {
		var err error
		if nb, err = parseWhen(notBefore, now); err != nil {
			return usageErrorf("%s: -not-before: %v", name, err)
		}
	}
	var (
		old       *tokensession.Keyring
		unchanged bool
	)
	err := c.editKeyringFile(file, true, func(ring *tokensession.Keyring) (*tokensession.Keyring, error) {
		old = ring
		switch {
		case notBefore != "":
			e.NotBefore = nb
		case fromRing:
		case ring != nil:
			e.NotBefore = now.Add(defaultRollout).UTC().Truncate(time.Second)
		}
		if !e.NotAfter.IsZero() && !e.NotAfter.After(e.NotBefore) {
			return nil, errorf("%s: the key's not_after (%s) must be after its not_before (%s)", showPath(file), formatTime(e.NotAfter), formatTime(e.NotBefore))
		}
		var entries []tokensession.KeyringEntry
		if ring != nil {
			entries = ring.Entries()
			if i := indexOf(entries, e.Key.ID()); i >= 0 {
				if have := entries[i]; have.NotBefore.Equal(e.NotBefore) && have.NotAfter.Equal(e.NotAfter) {
					unchanged = true
					return nil, nil
				}
				return nil, errorf("%s: already holds %s (entry %d), with other times: use 'keyring promote', 'reschedule' or 'retire' to change them", showPath(file), e.Key.ID(), i)
			}
		}
		next, err := tokensession.NewKeyring(append([]tokensession.KeyringEntry{e}, entries...)...)
		if err != nil {
			return nil, errorf("%s: %s", showPath(file), libMessage(err))
		}
		if _, err := sealingKey(next, now); err != nil {
			return nil, errorf("%s: no key could seal now: the new key is staged until %s and no other key seals now: the first key of a keyring must seal at once (-not-before now)", showPath(file), formatTime(e.NotBefore))
		}
		return next, nil
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, e.Key.ID())
	if unchanged {
		c.notef("%s already holds %s with the same times; unchanged", showPath(file), e.Key.ID())
		return nil
	}
	if old != nil {
		for i, oe := range old.Entries() {
			if keyState(old, i, now) == tokensession.KeyStaged {
				c.warnf("%s already had a staged key, %s, sealing from %s: two rotations now overlap; the key listed first seals once active, so check the order with 'keyring list'", showPath(file), oe.Key.ID(), fromNow(oe.NotBefore, now))
			}
		}
	}
	c.nextSteps(file, e, old, now)
	return nil
}

// nextSteps tells the operator, on stderr, what a rotation needs after a
// key was put into file.
func (c *cli) nextSteps(file string, e tokensession.KeyringEntry, old *tokensession.Keyring, now time.Time) {
	f, id := shellWord(showPath(file)), e.Key.ID()
	var b strings.Builder
	staged := e.NotBefore.After(now)
	switch {
	case old == nil:
		fmt.Fprintf(&b, "%s seals now in %s, a new keyring.\nNext: copy %s to every instance. Every instance needs this same file:\ndo not run 'keyring add' on each instance's own file.\n", id, f, f)
		fmt.Fprint(c.stderr, b.String())
		return
	case staged:
		fmt.Fprintf(&b, "%s is staged in %s: it opens tokens now and seals from %s.\n", id, f, fromNow(e.NotBefore, now))
	default:
		c.warnf("%s seals now in %s: an instance that has not loaded this version of the file cannot open the sessions it seals", id, f)
	}
	b.WriteString("Next:\n")
	// step numbers the steps, whichever of them apply.
	n := 0
	step := func() int { n++; return n }
	when := "now"
	if staged {
		when = "before " + formatTime(e.NotBefore)
	}
	fmt.Fprintf(&b, "  %d. Copy %s to every instance and reload each (SIGHUP or restart), %s.\n", step(), f, when)
	b.WriteString("     Every instance needs this same key: do not run 'keyring add' on each\n     instance's own file. To copy the key into another keyring file:\n")
	fmt.Fprintf(&b, "       tokensession keyring import -file OTHER -from %s -id %s\n", f, id)
	if staged {
		fmt.Fprintf(&b, "  %d. If the rollout runs late, before %s, move the key's not_before\n     later (here by an hour):\n", step(), formatTime(e.NotBefore))
		fmt.Fprintf(&b, "       tokensession keyring reschedule -file %s -id %s -not-before %s\n", f, id, formatTime(e.NotBefore.Add(time.Hour)))
		b.WriteString("     If every instance has it early (optional):\n")
		fmt.Fprintf(&b, "       tokensession keyring promote -file %s -id %s\n", f, id)
	}
	fmt.Fprintf(&b, "  %d. Once it seals everywhere, retire the key it replaces (the default -at is\n     the earliest safe time) and copy %s again:\n", step(), f)
	retireSteps(&b, step, f, replaced(old, now, id))
	fmt.Fprint(c.stderr, b.String())
}

// replaced returns the ID of the key of ring that seals at instant at,
// which a new key id replaces, or a placeholder when there is none.
func replaced(ring *tokensession.Keyring, at time.Time, id string) string {
	if k, err := sealingKey(ring, at); err == nil && k.ID() != id {
		return k.ID()
	}
	return "OLDID"
}

// retireSteps ends the steps of a rotation, in b, in which f's sealing
// key takes over from oldID: the retire command, then the prune. The
// caller has written the retire step's heading.
func retireSteps(b *strings.Builder, step func() int, f, oldID string) {
	fmt.Fprintf(b, "       tokensession keyring retire -file %s -id %s\n", f, oldID)
	fmt.Fprintf(b, "  %d. Once its not_after, the idle timeout and the leeway have passed (no\n     cookie it sealed can come back), drop it and copy %s again:\n", step(), f)
	fmt.Fprintf(b, "       tokensession keyring prune -file %s\n", f)
}

// shellWord quotes s for a shell command line if it needs quoting.
func shellWord(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./+:@") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

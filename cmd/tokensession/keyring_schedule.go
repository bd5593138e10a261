package main

import (
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/tokensession/tokensession"
)

// This file holds the keyring subcommands that move a key through its
// life: promote, reschedule, retire and prune; and list.

func runKeyringPromote(c *cli, args []string) error {
	const name = "keyring promote"
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	id := fs.String("id", "", "k4.lid ID of the key")
	atFlag := fs.String("at", "now", "when the key starts sealing")
	file, err := c.keyringFlags(name, fs, args)
	if err != nil {
		return err
	}
	if err := checkID(name, *id); err != nil {
		return err
	}
	now := c.now()
	at, err := parseWhen(*atFlag, now)
	if err != nil {
		return usageErrorf("%s: -at: %v", name, err)
	}
	var before *tokensession.Keyring
	err = c.editKeyringFile(file, false, func(ring *tokensession.Keyring) (*tokensession.Keyring, error) {
		before = ring
		i, err := findKey(ring, *id, file)
		if err != nil {
			return nil, err
		}
		entries := ring.Entries()
		e := &entries[i]
		if st := keyState(ring, i, now); st != tokensession.KeyStaged {
			return nil, errorf("%s: entry %d (%s) is %s, not staged: its not_before (%s) has passed, nothing to promote", showPath(file), i, *id, st, formatTime(e.NotBefore))
		}
		if at.After(e.NotBefore) {
			return nil, errorf("%s: -at %s%s is after entry %d's not_before (%s): promote moves it earlier; to move it later use 'keyring reschedule'", showPath(file), formatTime(at), fromNowHint(*atFlag), i, formatTime(e.NotBefore))
		}
		if !e.NotAfter.IsZero() && !at.Before(e.NotAfter) {
			return nil, errorf("%s: -at %s is not before entry %d's not_after (%s)", showPath(file), formatTime(at), i, formatTime(e.NotAfter))
		}
		e.NotBefore = at
		return rebuild(file, entries)
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "%s not_before=%s\n", *id, formatTime(at))
	c.warnf("%s seals from %s in this version of %s: every instance must already hold the key, or it cannot open the sessions sealed with it; copy %s to every instance again", *id, fromNow(at, now), showPath(file), showPath(file))

	// What the rotation needs next, as add says it. The key replaced is
	// the one that sealed now, before the promote (KEYID was staged).
	f := shellWord(showPath(file))
	var b strings.Builder
	n := 0
	step := func() int { n++; return n }
	when := "now"
	if at.After(now) {
		when = "before " + formatTime(at)
	}
	b.WriteString("Next:\n")
	fmt.Fprintf(&b, "  %d. Copy %s to every instance again and reload each (SIGHUP or restart), %s.\n", step(), f, when)
	fmt.Fprintf(&b, "  %d. Once every instance has this version of %s, retire the key %s\n     replaces (the default -at is the earliest safe time) and copy %s again:\n", step(), f, *id, f)
	retireSteps(&b, step, f, replaced(before, now, *id))
	fmt.Fprint(c.stderr, b.String())
	return nil
}

func runKeyringReschedule(c *cli, args []string) error {
	const name = "keyring reschedule"
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	id := fs.String("id", "", "k4.lid ID of the key")
	nbFlag := fs.String("not-before", "", "the new not_before")
	file, err := c.keyringFlags(name, fs, args)
	if err != nil {
		return err
	}
	if err := checkID(name, *id); err != nil {
		return err
	}
	if *nbFlag == "" {
		return usageErrorf("%s: -not-before is required (run 'tokensession %s -h')", name, name)
	}
	now := c.now()
	nb, err := parseWhen(*nbFlag, now)
	if err != nil {
		return usageErrorf("%s: -not-before: %v", name, err)
	}
	if !nb.After(now) {
		return usageErrorf("%s: -not-before must be in the future; to make a staged key seal now, use 'keyring promote'", name)
	}
	var (
		was       time.Time
		unchanged bool
	)
	err = c.editKeyringFile(file, false, func(ring *tokensession.Keyring) (*tokensession.Keyring, error) {
		i, err := findKey(ring, *id, file)
		if err != nil {
			return nil, err
		}
		entries := ring.Entries()
		e := &entries[i]
		if st := keyState(ring, i, now); st != tokensession.KeyStaged {
			return nil, errorf("%s: entry %d (%s) is %s, not staged: its not_before (%s) has passed, so every instance that has the key seals with it; finish the rollout instead", showPath(file), i, *id, st, formatTime(e.NotBefore))
		}
		was = e.NotBefore
		switch {
		case nb.Equal(was):
			unchanged = true
			return nil, nil
		case nb.Before(was):
			return nil, errorf("%s: -not-before %s%s is before entry %d's not_before (%s): reschedule only moves a staged key later; to make it seal earlier, once every instance holds it, use 'keyring promote -at %s'", showPath(file), formatTime(nb), fromNowHint(*nbFlag), i, formatTime(was), formatTime(nb))
		case !e.NotAfter.IsZero() && !nb.Before(e.NotAfter):
			return nil, errorf("%s: -not-before %s is not before entry %d's not_after (%s)", showPath(file), formatTime(nb), i, formatTime(e.NotAfter))
		}
		e.NotBefore = nb
		return rebuild(file, entries)
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "%s not_before=%s\n", *id, formatTime(nb))
	if unchanged {
		c.notef("%s already has not_before %s; unchanged", *id, fromNow(nb, now))
		return nil
	}
	c.notef("copy %s to every instance again before %s: an instance that keeps the old version starts sealing with %s then", showPath(file), fromNow(was, now), *id)
	return nil
}

func runKeyringRetire(c *cli, args []string) error {
	const name = "keyring retire"
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	id := fs.String("id", "", "k4.lid ID of the key to retire")
	atFlag := fs.String("at", "", "retirement time")
	idle := fs.Duration("idle", tokensession.DefaultIdleTimeout, "idle timeout")
	leeway := fs.Duration("leeway", tokensession.DefaultLeeway, "clock skew tolerance")
	force := fs.Bool("force", false, "retire before the safe time")
	file, err := c.keyringFlags(name, fs, args)
	if err != nil {
		return err
	}
	if err := checkID(name, *id); err != nil {
		return err
	}
	switch {
	case *idle < time.Second:
		return usageErrorf("%s: -idle must be at least 1s", name)
	case *leeway < 0:
		return usageErrorf("%s: -leeway must not be negative", name)
	}
	now := c.now()
	var at time.Time
	if *atFlag != "" {
		if at, err = parseWhen(*atFlag, now); err != nil {
			return usageErrorf("%s: -at: %v", name, err)
		}
	}
	var (
		safe, was time.Time
		unchanged bool
	)
	err = c.editKeyringFile(file, false, func(ring *tokensession.Keyring) (*tokensession.Keyring, error) {
		i, err := findKey(ring, *id, file)
		if err != nil {
			return nil, err
		}
		entries := ring.Entries()
		e := &entries[i]
		if !at.IsZero() && !e.NotBefore.IsZero() && !at.After(e.NotBefore) {
			return nil, errorf("%s: -at %s is not after entry %d's not_before (%s): a key must seal before it retires", showPath(file), formatTime(at), i, formatTime(e.NotBefore))
		}
		end, ok := sealingEnd(ring, i, now)
		if !ok {
			return nil, errorf("%s: no key listed before entry %d (%s) takes over sealing from it, so retiring it would cut short the sessions it seals until then: add a new key first ('keyring add'), and retire this one once the new key seals", showPath(file), i, *id)
		}
		safe = end.Add(*idle + *leeway)
		if safe.Before(now) {
			safe = now
		}
		// Round up: a safe time cut to the second would be too early.
		if t := safe.Truncate(time.Second); !t.Equal(safe) {
			safe = t.Add(time.Second)
		}
		byDefault := at.IsZero()
		if byDefault {
			at = safe
		}
		was = e.NotAfter
		switch {
		case was.IsZero():
		case at.Equal(was):
			unchanged = true
			return nil, nil
		case at.After(was) && !*force:
			// A key may have been retired early because it leaked: a
			// second retire, or its default -at, must not bring it back.
			return nil, refuseLater(file, *id, was, at, now, byDefault)
		}
		if at.Before(safe) && !*force {
			return nil, errorf("%s: retiring %s at %s ends its sessions before they expire: it stops sealing at %s, and sessions last the idle timeout (%s) plus the leeway (%s) after that; the earliest safe -at is %s (give -force to end them anyway, for a leaked key)", showPath(file), *id, formatTime(at), formatTime(end), *idle, *leeway, formatTime(safe))
		}
		if !e.NotBefore.IsZero() && !at.After(e.NotBefore) {
			return nil, errorf("%s: -at %s is not after entry %d's not_before (%s): a key must seal before it retires", showPath(file), formatTime(at), i, formatTime(e.NotBefore))
		}
		e.NotAfter = at
		next, err := rebuild(file, entries)
		if err != nil {
			return nil, err
		}
		if _, err := sealingKey(next, now); err != nil {
			return nil, errorf("%s: retiring %s at %s would leave no key able to seal now; add a key first", showPath(file), *id, formatTime(at))
		}
		if _, err := sealingKey(next, at); err != nil && at.After(now) {
			return nil, errorf("%s: retiring %s at %s would leave no key able to seal then; add a key first", showPath(file), *id, formatTime(at))
		}
		return next, nil
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "%s not_after=%s\n", *id, formatTime(at))
	if unchanged {
		c.notef("%s already has not_after %s; unchanged", *id, fromNow(at, now))
		return nil
	}
	if !was.IsZero() && at.After(was) {
		again := "for longer"
		if !now.Before(was) {
			again = "again"
		}
		c.warnf("-force moved the not_after of %s later, from %s to %s: the key opens tokens %s until then", *id, formatTime(was), formatTime(at), again)
	}
	// The key stays listed until no cookie it sealed can come back, and
	// prune needs the same -idle and -leeway to tell when that is.
	pruneCmd := "tokensession keyring prune -file " + shellWord(showPath(file))
	if *idle != tokensession.DefaultIdleTimeout {
		pruneCmd += " -idle " + idle.String()
	}
	if *leeway != tokensession.DefaultLeeway {
		pruneCmd += " -leeway " + leeway.String()
	}
	keep := fmt.Sprintf("keep %s listed until %s (its not_after + the idle timeout + the leeway), when the last cookie it sealed has expired", *id, formatTime(prunable(at, *idle, *leeway)))
	if at.Before(safe) {
		c.warnf("sessions sealed by %s end at %s, before they expire (the earliest safe time is %s); copy %s to every instance again, and %s: until then the instances delete its cookies, which they would refuse as an unknown key's once it is gone; '%s' drops it then", *id, fromNow(at, now), formatTime(safe), showPath(file), keep, pruneCmd)
	} else {
		c.warnf("sessions sealed by %s that have not been refreshed by %s end then; copy %s to every instance again, and %s; '%s' drops it then", *id, fromNow(at, now), showPath(file), keep, pruneCmd)
	}
	return nil
}

// fromNowHint returns, for a TIME flag given as +DURATION, a reminder
// that the duration counts from now: an operator moving a key's time may
// expect it to count from the key's current time.
func fromNowHint(flag string) string {
	if strings.HasPrefix(flag, "+") {
		return " (" + flag + " from now: +DURATION counts from now, not from the key's current not_before)"
	}
	return ""
}

// refuseLater explains why retire does not move the not_after was of the
// key id later, to at (the default -at if byDefault), and what to do.
func refuseLater(file, id string, was, at, now time.Time, byDefault bool) error {
	which := "-at " + formatTime(at)
	if byDefault {
		which = "the default -at, the earliest safe time " + formatTime(at) + ","
	}
	if now.Before(was) {
		next := "give an earlier -at to end it sooner, or -force to move it later on purpose"
		if byDefault {
			next = "leave it, or give an earlier -at to end it sooner (or -at TIME -force to move it later on purpose)"
		}
		return errorf("%s: %s already retires: its not_after is %s; %s would move it later, so that the key opens tokens for longer: refused, since a key retired early may have leaked; %s", showPath(file), id, fromNow(was, now), which, next)
	}
	return errorf("%s: %s is already retired: its not_after is %s; %s would move it later, so that the key opens tokens again: refused, since a key retired early may have leaked; leave it as it is (prune drops it), or give -at TIME -force to bring it back on purpose", showPath(file), id, fromNow(was, now), which)
}

// sealingEnd returns when entry i of ring stops, or stopped, sealing as
// far as ring tells at instant now, and false if it seals now and no key
// listed before it ever takes over.
//
//   - A key that seals now stops at the earliest later not_before of a
//     key listed before it.
//   - A staged key seals from its not_before until the same.
//   - A key that no longer seals stopped when the key sealing now started,
//     if that key is listed before it and its not_before is known; else,
//     not knowing, now.
//   - A retired key seals nothing more: now.
func sealingEnd(ring *tokensession.Keyring, i int, now time.Time) (time.Time, bool) {
	entries := ring.Entries()
	takeover := func(from time.Time) (time.Time, bool) {
		var end time.Time
		for _, e := range entries[:i] {
			if e.NotBefore.After(from) && (e.NotAfter.IsZero() || e.NotAfter.After(e.NotBefore)) && (end.IsZero() || e.NotBefore.Before(end)) {
				end = e.NotBefore
			}
		}
		return end, !end.IsZero()
	}
	switch keyState(ring, i, now) {
	case tokensession.KeySealing:
		return takeover(now)
	case tokensession.KeyStaged:
		return takeover(entries[i].NotBefore)
	case tokensession.KeyOpening:
		k, err := sealingKey(ring, now)
		if err == nil {
			if j := indexOf(entries, k.ID()); j < i && !entries[j].NotBefore.IsZero() {
				return entries[j].NotBefore, true
			}
		}
	}
	return now, true
}

// rebuild makes the keyring of the edited entries of file.
func rebuild(file string, entries []tokensession.KeyringEntry) (*tokensession.Keyring, error) {
	ring, err := tokensession.NewKeyring(entries...)
	if err != nil {
		return nil, errorf("%s: %s", showPath(file), libMessage(err))
	}
	return ring, nil
}

func runKeyringPrune(c *cli, args []string) error {
	const name = "keyring prune"
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	idle := fs.Duration("idle", tokensession.DefaultIdleTimeout, "idle timeout")
	leeway := fs.Duration("leeway", tokensession.DefaultLeeway, "clock skew tolerance")
	file, err := c.keyringFlags(name, fs, args)
	if err != nil {
		return err
	}
	switch {
	case *idle < time.Second:
		return usageErrorf("%s: -idle must be at least 1s", name)
	case *leeway < 0:
		return usageErrorf("%s: -leeway must not be negative", name)
	}
	now := c.now()
	var dropped []string
	var pending []tokensession.KeyringEntry // retired or retiring, kept for now
	err = c.editKeyringFile(file, false, func(ring *tokensession.Keyring) (*tokensession.Keyring, error) {
		var keep []tokensession.KeyringEntry
		for _, e := range ring.Entries() {
			if !e.NotAfter.IsZero() && !now.Before(prunable(e.NotAfter, *idle, *leeway)) {
				dropped = append(dropped, e.Key.ID())
				continue
			}
			if !e.NotAfter.IsZero() {
				pending = append(pending, e)
			}
			keep = append(keep, e)
		}
		if len(dropped) == 0 {
			return nil, nil
		}
		if len(keep) == 0 {
			return nil, errorf("%s: every key is retired; pruning would leave an empty keyring; add a key first", showPath(file))
		}
		pruned, err := rebuild(file, keep)
		if err != nil {
			return nil, err
		}
		if _, err := sealingKey(pruned, now); err != nil {
			return nil, errorf("%s: no key of the pruned keyring could seal now; add a key first", showPath(file))
		}
		return pruned, nil
	})
	if err != nil {
		return err
	}
	for _, id := range dropped {
		fmt.Fprintln(c.stdout, id)
	}
	// Say what is left to prune, and when: stdout holds only the IDs
	// dropped, for scripts.
	switch {
	case len(dropped) == 0 && len(pending) == 0:
		c.notef("nothing to prune: no key in %s has a not_after (retire one first with 'keyring retire')", showPath(file))
	case len(dropped) == 0:
		c.notef("nothing to prune now in %s", showPath(file))
	}
	for _, e := range pending {
		state := "retires at"
		if !now.Before(e.NotAfter) {
			state = "is retired since"
		}
		c.notef("%s %s %s; prune drops it from %s: a token it sealed before its not_after lives up to the idle timeout (%s) and the leeway (%s) after it; until then the key stays listed, so that the instances delete its cookies rather than refuse them as an unknown key's", e.Key.ID(), state, formatTime(e.NotAfter), fromNow(prunable(e.NotAfter, *idle, *leeway), now), *idle, *leeway)
	}
	return nil
}

// prunable returns when prune may drop a key retired at notAfter: once no
// token it sealed can still be live. A token sealed before notAfter expires
// at most the idle timeout after it was sealed, and opens for the leeway
// after that. Until then the key must stay listed: a cookie sealed by a
// retired key is recognised and deleted, while one sealed by a key the
// keyring does not hold is kept and blocks the session's writes.
func prunable(notAfter time.Time, idle, leeway time.Duration) time.Time {
	return notAfter.Add(idle + leeway)
}

func runKeyringList(c *cli, args []string) error {
	const name = "keyring list"
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	leeway := fs.Duration("leeway", tokensession.DefaultLeeway, "clock skew tolerance")
	file, err := c.keyringFlags(name, fs, args)
	if err != nil {
		return err
	}
	if *leeway < 0 {
		return usageErrorf("%s: -leeway must not be negative", name)
	}
	ring, err := c.readKeyringFile(file, false)
	if err != nil {
		return err
	}
	now := c.now()
	for i, e := range ring.Entries() {
		state, desc := describeKey(ring, i, now, *leeway)
		// The first five fields stay the same for scripts: position,
		// ID, state, not_before=, not_after=; then what the key does.
		fmt.Fprintf(c.stdout, "%d  %s  %-8s not_before=%-20s  not_after=%-20s  %s\n",
			i, e.Key.ID(), state, formatTime(e.NotBefore), formatTime(e.NotAfter), desc)
	}
	return nil
}

// describeKey returns what entry i of ring does at now, as list shows it:
// a state, one of staged, sealing, opening, retiring (it still opens
// tokens, but has a not_after) or retired (it opens nothing), and a
// sentence with the times that matter. A retired key opens tokens for the
// leeway after its not_after.
func describeKey(ring *tokensession.Keyring, i int, now time.Time, leeway time.Duration) (state, desc string) {
	e := ring.Entries()[i]
	st := keyState(ring, i, now)
	retiring := ""
	if !e.NotAfter.IsZero() {
		retiring = "; retiring at " + fromNow(e.NotAfter, now)
	}
	switch st {
	case tokensession.KeyStaged:
		then := ", seals from then"
		if keyState(ring, i, e.NotBefore) != tokensession.KeySealing {
			then = "; then opens only (a key listed before it seals)"
		}
		return "staged", fmt.Sprintf("staged until %s: opens tokens%s%s", fromNow(e.NotBefore, now), then, retiring)
	case tokensession.KeySealing:
		desc = "seals new tokens"
		if end, ok := sealingEnd(ring, i, now); ok {
			desc += " until " + fromNow(end, now) + ", when a key listed before it takes over"
		}
		return "sealing", desc + retiring
	case tokensession.KeyOpening:
		if e.NotAfter.IsZero() {
			return "opening", "opens tokens; a key listed before it seals"
		}
		return "retiring", fmt.Sprintf("retiring at %s: opens tokens until then, + the leeway (%s)", fromNow(e.NotAfter, now), leeway)
	}
	opensUntil := e.NotAfter.Add(leeway)
	if now.Before(opensUntil) {
		return "retiring", fmt.Sprintf("opens until %s: retired at %s, + the leeway (%s)", fromNow(opensUntil, now), formatTime(e.NotAfter), leeway)
	}
	return "retired", fmt.Sprintf("opens nothing since %s: retired at %s, + the leeway (%s)", fromNow(opensUntil, now), formatTime(e.NotAfter), leeway)
}

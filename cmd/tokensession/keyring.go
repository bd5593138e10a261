package main

import (
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/tokensession/tokensession"
	"github.com/tokensession/tokensession/internal/format"
)

const usageKeyring = `Usage: tokensession keyring SUBCOMMAND -file FILE [FLAGS]

Edit or show a JSON keyring file, the format tokensession.ParseKeyringJSON
reads:

  {"keys": [{"key": "k4.local…", "not_before": "…", "not_after": "…"}]}

Subcommands, in the order of a rotation:
  add         generate a key and list it first, staged (creates FILE)
  import      copy a key, with its times, from another keyring file
  promote     make a staged key seal now, or at an earlier time
  reschedule  move a staged key's not_before later (a late rollout)
  retire      set a key's not_after, by default the earliest safe time
  prune       drop the retired keys whose tokens have all expired
  list        show each key's position, ID, state and times, never its
              secret

A rotation, with one file copied to every instance (each step's usage
says more):
  1. keyring add -file FILE        the new key opens tokens at once and
                                   seals from its not_before (default +1h)
  2. copy FILE to every instance and reload each, before that not_before
  3. keyring retire -file FILE -id OLD, once the new key seals; copy FILE
     again
  4. keyring prune -file FILE, once the old key's not_after, the idle
     timeout and the leeway have passed; copy FILE again

TIME values are RFC 3339 (2026-12-01T10:00:00Z), "now", or +DURATION from
now (+30m, +36h; relative times are cut to whole seconds).

Edits lock FILE.lock (created next to FILE and left there) so that two
commands at once lose nothing, and replace FILE atomically (a temporary
file in the same directory, fsync, rename), keeping its mode, owner and
group; a new FILE gets mode 0600. Every subcommand warns when FILE is
readable by its group or by others. A symbolic link is followed: the file
it points to is replaced.

Environment:
  TOKENSESSION_NOW  for testing only: an RFC 3339 time used instead of
                    the system clock
`

const usageKeyringAdd = `Usage: tokensession keyring add -file FILE [-not-before TIME]

Generate a new key, list it first in FILE, print its k4.lid ID on stdout
and, on stderr, what to do next. FILE is created with mode 0600 if it does
not exist (or is empty).

Run add once, on one file, and copy that file to every instance. Running
it on each instance's own file gives each instance a different key, and
every instance then refuses the others' sessions. To put the same key
into a file you cannot copy over, use 'keyring import'.

In a new FILE the key seals at once. In a FILE that has keys, the new key
is staged: it opens tokens at once and starts sealing at its not_before,
by default one hour from now (the rollout window). Every instance must
have loaded the new FILE before then, or it cannot open the sessions the
others seal with the new key. A rollout that runs late is moved with
'keyring reschedule'; one that is done early can end with 'keyring
promote'. -not-before now makes the key seal at once: do that only on a
FILE that no instance has loaded yet.

Refuses to write a keyring in which no key can seal now.

Flags:
  -file FILE          keyring file (required)
  -not-before TIME    when the new key starts sealing: RFC 3339, "now" or
                      +DURATION (default +1h, or now for a new FILE)

Environment:
  TOKENSESSION_NOW    for testing only: an RFC 3339 time used instead of
                      the system clock
`

const usageKeyringImport = `Usage: tokensession keyring import -file FILE -from SOURCE [-id KEYID]
                                  [-not-before TIME]

Copy one existing key into FILE, listed first, and print its k4.lid ID.
Use it when instances read different keyring files (one per instance or
per secret store) that must all hold the same new key: add the key to one
file, then import it from there into each of the others. FILE is created
with mode 0600 if it does not exist.

SOURCE is a file, or "-" for stdin. Read by the rule of the library's key
sources, it holds keyring JSON when its first non-space byte is "{", and
otherwise k4.local keys separated by white space, as in SESSION_KEYS (one
key as keygen prints it is the common case). The key is chosen with -id,
which may be left out when SOURCE holds one key. The key is never taken
from an argument: arguments show in the process list and the shell
history.

From keyring JSON, the key keeps its not_before and not_after, so every
file stages it for the same instant. A bare key is staged like 'keyring
add' stages a new one (default +1h, now in a new FILE): give every file
the same RFC 3339 -not-before. -not-before overrides the time either way.

A key that FILE already holds with the same times is left as it is (exit
status 0); with other times, use promote, reschedule or retire.

Flags:
  -file FILE          keyring file to change (required)
  -from SOURCE        where the key is: a path, or "-" for stdin (required)
  -id KEYID           the key's k4.lid ID, when SOURCE holds several
  -not-before TIME    when the key starts sealing in FILE: RFC 3339, "now"
                      or +DURATION

Environment:
  TOKENSESSION_NOW    for testing only: an RFC 3339 time used instead of
                      the system clock
`

const usageKeyringPromote = `Usage: tokensession keyring promote -file FILE -id KEYID [-at TIME]

Make the staged key KEYID seal from TIME (default now) instead of its
not_before: a rollout that is complete before the key's not_before can end
early. Only a staged key (not_before still ahead) can be promoted, and only
to an earlier time: to move it later, use 'keyring reschedule'. A TIME of
+DURATION counts from now, not from the key's current not_before.

Promote only once every instance has loaded a version of FILE that holds
KEYID: from TIME on, the instances that have the new version seal with
KEYID, and one without the key cannot open those sessions. Then copy FILE
to every instance again and, once every instance has it, retire the key
KEYID replaces ('keyring retire'). On stderr, promote prints these steps.

Flags:
  -file FILE    keyring file (required)
  -id KEYID     the key's k4.lid ID, as 'keyring list' shows it (required)
  -at TIME      RFC 3339, "now" or +DURATION from now (default now)

Environment:
  TOKENSESSION_NOW    for testing only: an RFC 3339 time used instead of
                      the system clock
`

const usageKeyringReschedule = `Usage: tokensession keyring reschedule -file FILE -id KEYID -not-before TIME

Move the not_before of the staged key KEYID later, to TIME: when a
rollout runs late, so that no instance starts sealing with a key that
another has not loaded yet. Refuses a key that is no longer staged: once
its not_before has passed, every instance that has the key seals with it,
and the only fix is to finish the rollout.

TIME must be later than the key's current not_before. A TIME of +DURATION
counts from now, not from the current not_before: at 12:00, a key staged
for 13:00 moves an hour on with +2h (or 14:00 in RFC 3339), and +30m,
which is earlier, is refused. To make a key seal earlier, use 'keyring
promote'.

Copy FILE to every instance again before the key's current not_before:
an instance that keeps the old version starts sealing at the old time.

Flags:
  -file FILE          keyring file (required)
  -id KEYID           the key's k4.lid ID (required)
  -not-before TIME    the new time, later than the current one: RFC 3339
                      or +DURATION from now (required)

Environment:
  TOKENSESSION_NOW    for testing only: an RFC 3339 time used instead of
                      the system clock
`

const usageKeyringRetire = `Usage: tokensession keyring retire -file FILE -id KEYID [-at TIME]
                                  [-idle D] [-leeway D] [-force]

Set the not_after of the key KEYID (k4.lid.…, as 'keyring list' shows it)
to TIME: from then on (and the leeway) the key neither seals nor opens
tokens, and every session it sealed that has not been refreshed ends.

The middleware re-seals a session with the sealing key on its next
request, so a session sealed by KEYID lives at most the idle timeout
after KEYID stopped sealing. The shortest safe TIME is therefore

  when the last instance stopped sealing with KEYID + idle + leeway

which FILE tells as the not_before of the key that replaced KEYID (or now,
when it does not). This is the default -at. If an instance loaded FILE
only after that not_before, it sealed with KEYID until it did: count from
then, with -at. Tokens that are never refreshed (Manager.Seal and Open for
a bearer token) live up to the absolute lifetime: give that as -idle.

An earlier -at ends sessions early and is refused unless -force is given
(for a key that has leaked). Also refuses to leave no key able to seal,
now or at TIME: add the new key, and let it seal, first.

A key that already has a not_after keeps it unless TIME is earlier: a
later TIME, the default -at included, would let a key retired early
(perhaps because it leaked) open tokens again, and is refused unless
-force is given. The same TIME leaves the file unchanged.

Flags:
  -file FILE    keyring file (required)
  -id KEYID     the key's k4.lid ID (required)
  -at TIME      RFC 3339, "now" or +DURATION (default: the earliest safe
                time)
  -idle D       the application's Config.IdleTimeout (default 30m)
  -leeway D     the application's Config.Leeway (default 30s)
  -force        retire at -at even though sessions end early, or move a
                not_after later

Environment:
  TOKENSESSION_NOW    for testing only: an RFC 3339 time used instead of
                      the system clock
`

const usageKeyringPrune = `Usage: tokensession keyring prune -file FILE [-idle D] [-leeway D]

Drop the retired keys that no live token can name, and print their IDs,
one per line. A key retired at its not_after stays in FILE until

  not_after + idle + leeway

A token it sealed before its not_after lives up to the idle timeout
after it was sealed, and opens for the leeway (Config.Leeway, for clock
skew) after that. While the key is listed, the instances recognise such a
token as a retired key's: its cookie is deleted and the visitor logged
out. Once the key is gone, the same cookie names an unknown key: the
instances keep it and refuse to replace it (the middleware's
ErrUnknownKey; the examples answer 503) until it expires. This matters
for a key retired early with 'keyring retire -force'.

Refuses to leave an empty keyring or one in which no key can seal now.
FILE is not rewritten when no key is dropped. On stderr, prune says which
retired (or retiring) keys it keeps and from when it drops them, or that
there is nothing to prune. Copy FILE to every instance after a prune.

Flags:
  -file FILE    keyring file (required)
  -idle D       the application's Config.IdleTimeout (default 30m), as
                given to 'keyring retire'
  -leeway D     the application's Config.Leeway (default 30s)

Environment:
  TOKENSESSION_NOW    for testing only: an RFC 3339 time used instead of
                      the system clock
`

const usageKeyringList = `Usage: tokensession keyring list -file FILE [-leeway D]

Print one line per key: its position, its k4.lid ID, its state now, its
not_before and not_after ("-" when unset), and what the key does, with
the times that matter. Never prints secrets. The states:

  staged    opens tokens; seals none until its not_before
  sealing   seals new tokens (and opens them)
  opening   opens tokens; a key listed before it seals
  retiring  opens tokens, seals none, and not for long: its not_after is
            ahead, or passed less than the leeway ago
  retired   opens nothing: its not_after and the leeway have passed
            ('keyring prune' says when it drops the key)

The first five fields keep their place for scripts.

Flags:
  -file FILE    keyring file (required)
  -leeway D     the application's Config.Leeway (default 30s): how long a
                retired key still opens tokens

Environment:
  TOKENSESSION_NOW    for testing only: an RFC 3339 time used instead of
                      the system clock
`

// defaultRollout is how long 'keyring add' stages a new key by default:
// the time to copy the file to every instance and reload it.
const defaultRollout = time.Hour

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

// checkID checks the value of a -id flag: a k4.lid ID. The error does not
// repeat the value, which may be a key pasted in the wrong place.
func checkID(name, id string) error {
	switch {
	case id == "":
		return usageErrorf("%s: -id is required (run 'tokensession %s -h')", name, name)
	case safeID(id) != id:
		return usageErrorf("%s: -id takes a key ID: k4.lid. and 44 characters, as 'tokensession keyring list' shows it", name)
	}
	return nil
}

// findKey returns the position of the key with ID id in ring.
func findKey(ring *tokensession.Keyring, id, file string) (int, error) {
	if i := indexOf(ring.Entries(), id); i >= 0 {
		return i, nil
	}
	return -1, errorf("%s: no key with the ID given to -id (run 'tokensession keyring list -file FILE' for the IDs)", showPath(file))
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
	if format.IsKeyID(id) {
		return id
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

// fromNow formats t with its distance from now: "2026-12-01T10:00:00Z (in
// 1h0m0s)".
func fromNow(t, now time.Time) string {
	d := t.Sub(now).Round(time.Second)
	switch {
	case d > 0:
		return fmt.Sprintf("%s (in %s)", formatTime(t), d)
	case d < 0:
		return fmt.Sprintf("%s (%s ago)", formatTime(t), -d)
	}
	return formatTime(t) + " (now)"
}

// keyState returns what entry i of ring does at now.
func keyState(ring *tokensession.Keyring, i int, now time.Time) tokensession.KeyState {
	j := 0
	for _, s := range ring.States(now) {
		if j == i {
			return s
		}
		j++
	}
	panic("tokensession: keyring entry index out of range")
}

// sealingKey returns the key of ring that seals at now, or
// ErrNoSealingKey when every key is staged or retired.
func sealingKey(ring *tokensession.Keyring, now time.Time) (tokensession.Key, error) {
	for e, s := range ring.States(now) {
		if s == tokensession.KeySealing {
			return e.Key, nil
		}
	}
	return tokensession.Key{}, tokensession.ErrNoSealingKey
}

package main

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// This file keeps key material out of everything the CLI prints but
// keygen's key. Users paste keys where they do not belong: as a command,
// a flag value, a path, in the wrong variable, with or without the
// k4.local. prefix. So the CLI never echoes what a user typed unless it
// cannot be a key, and every message, and inspect's report but the
// claims it decrypts, passes through redact on its way out, as a last
// line of defence.

// minKeyRun is the shortest run of base64 or hex characters that redact
// hides, whatever surrounds it: a 32-byte key is 43 characters of
// unpadded base64, 44 padded, 64 in hex, and a run a little shorter than
// a key shows too little of one to matter.
const minKeyRun = 40

// redact hides key material in s: the secret of every k4.local string,
// and every run of base64 (either alphabet) or hex characters that
// isKeyRun says could be a key.
func redact(s string) string {
	if !strings.Contains(s, "local.") && !hasKeyRun(s) {
		return s
	}
	// First the secret after every "local.", wherever it starts.
	var b strings.Builder
	for rest := s; ; {
		i := strings.Index(rest, "local.")
		if i < 0 {
			b.WriteString(rest)
			break
		}
		b.WriteString(rest[:i+len("local.")])
		rest = rest[i+len("local."):]
		j := 0
		for j < len(rest) && isKeyChar(rest[j]) {
			j++
		}
		if j > 0 {
			b.WriteString("[redacted]")
		}
		rest = rest[j:]
	}
	// Then every long run.
	s, b = b.String(), strings.Builder{}
	for i := 0; i < len(s); {
		j := i
		for j < len(s) && isKeyChar(s[j]) {
			j++
		}
		switch {
		case j == i:
			b.WriteByte(s[i])
			j++
		case isKeyRun(s, i, j):
			b.WriteString("[redacted]")
		default:
			b.WriteString(s[i:j])
		}
		i = j
	}
	return b.String()
}

// hasKeyRun reports whether s holds a run that redact hides.
func hasKeyRun(s string) bool {
	for i := 0; i < len(s); {
		if !isKeyChar(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && isKeyChar(s[j]) {
			j++
		}
		if isKeyRun(s, i, j) {
			return true
		}
		i = j
	}
	return false
}

// isKeyRun reports whether the maximal run s[i:j] of key characters could
// be key material: it is at least minKeyRun long, whatever surrounds it,
// unless it is the 44 base64url characters of a k4.lid ID, which is
// public. A key glued to other characters is still a key, so a run
// touching a '.' ("<key>-old.json", a cookie named "<key>x.y") counts
// too: a file or directory name of 40 such characters before its
// extension is not shown.
func isKeyRun(s string, i, j int) bool {
	if j-i == 44 && strings.HasSuffix(s[:i], "k4.lid.") && !strings.ContainsAny(s[i:j], "+=") {
		return false
	}
	return j-i >= minKeyRun
}

// isSlashRun reports whether the maximal run s[i:j] of key characters and
// '/' could be a key in standard base64 (which a path splits into
// directories): it has a key's length, 43, 44 (padded) or 64 (hex); or it
// is at least minKeyRun long and holds a '+' or '=' (a padded key ends in
// '='), or touches no '.'. A path's directories and a file name with an
// extension, the usual runs of such characters, stay readable, and so
// does a k4.lid ID.
func isSlashRun(s string, i, j int) bool {
	switch n := j - i; {
	case n == 44 && strings.HasSuffix(s[:i], "k4.lid.") && !strings.ContainsAny(s[i:j], "+=/"):
		return false
	case n == 43 || n == 44 || n == 64:
		return true
	case n < minKeyRun:
		return false
	case strings.ContainsAny(s[i:j], "+="):
		return true
	}
	return (i == 0 || s[i-1] != '.') && (j == len(s) || s[j] != '.')
}

// isKeyChar reports whether c can be part of a key written in base64
// (standard or URL alphabet, padded or not) or hex. '/' is left out so
// that paths stay readable; mayBeKey covers standard base64 with '/'.
func isKeyChar(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '_' || c == '+' || c == '='
}

// mayBeKey reports whether s, typed by a user or read from the
// environment, could hold key material: redact would change it, or it
// holds a run of base64 that isSlashRun says could be a key, counting '/'
// (standard base64) as part of the run.
func mayBeKey(s string) bool {
	if redact(s) != s {
		return true
	}
	isChar := func(c byte) bool { return isKeyChar(c) || c == '/' }
	for i := 0; i < len(s); {
		if !isChar(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && isChar(s[j]) {
			j++
		}
		if isSlashRun(s, i, j) {
			return true
		}
		i = j
	}
	return false
}

// quoteArg quotes s, which a user typed, for a message: in full when it
// cannot be a key, cut to 40 characters when it is long, and not at all
// when it could be a key.
func quoteArg(s string) string {
	if mayBeKey(s) {
		return "(" + strconv.Itoa(utf8.RuneCountInString(s)) + " characters, not shown: it could be a key)"
	}
	const max = 40
	if utf8.RuneCountInString(s) > max {
		r := []rune(s)
		return fmt.Sprintf("%q…", string(r[:max]))
	}
	return fmt.Sprintf("%q", s)
}

// showPath returns path, which a user gave, for a message: as it is when
// it cannot be a key and prints as text, and not at all otherwise.
func showPath(path string) string {
	if mayBeKey(path) {
		return "(a path of " + strconv.Itoa(utf8.RuneCountInString(path)) + " characters, not shown: it could be a key)"
	}
	if q := strconv.Quote(path); q[1:len(q)-1] != path {
		return q
	}
	return path
}

// flagError rewrites an error of the flag package without the value or
// flag name a user typed, unless it cannot be a key.
func flagError(err error) string {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		if len(name) <= 24 && !mayBeKey(name) && strconv.Quote(name) == `"`+name+`"` {
			return msg
		}
		return "flag provided but not defined: " + quoteArg("-"+name)
	}
	if rest, ok := strings.CutPrefix(msg, "bad flag syntax: "); ok {
		return "bad flag syntax: " + quoteArg(rest)
	}
	for _, prefix := range []string{"invalid value ", "invalid boolean value "} {
		rest, ok := strings.CutPrefix(msg, prefix)
		if !ok {
			continue
		}
		quoted, err := strconv.QuotedPrefix(rest)
		if err != nil {
			break
		}
		value, _ := strconv.Unquote(quoted)
		// What follows the value names a defined flag and the parse
		// error, which does not repeat the value.
		return prefix + quoteArg(value) + redact(rest[len(quoted):])
	}
	return redact(msg)
}

package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/tokensession/tokensession"
	"github.com/tokensession/tokensession/internal/cookiechunk"
)

// This file finds the token in inspect's untrusted input; FuzzInspectInput
// exercises it.

// maxInspectInput bounds what inspect reads: a whole Cookie header with
// the largest chunked session, and room to spare.
const maxInspectInput = 128 << 10

// An inspectInput is the token found in inspect's input.
type inspectInput struct {
	token  string // "" when refused says why a Cookie header holds none
	cookie string // the cookie it came from; "" for a bare token
	// chunks is how many chunk cookies were joined, 0 for none; set is
	// how many the set has, counting the empty ones after them, which
	// are not joined.
	chunks, set int
	// refused, if not nil, is why the middleware would not open the
	// cookies at all: the verdict, whatever the token holds.
	refused error
	// notes are what the report says of the cookies, one line each.
	notes []string
}

// Why the middleware leaves alone a cookie too large for this
// configuration, and which flags describe the application's: for chunk
// cookies of more chunks than -max-chunks (leftAloneChunks, or
// leftAloneEmpty when empty chunks that no instance writes make up the
// count), or of more bytes than -max-chunks and -max-cookie-size allow
// (leftAloneBytes), and for a cookie larger than -max-cookie-size
// (leftAloneOne).
const (
	leftAloneEmpty  = "too large for this configuration, so the middleware leaves them alone (set -max-chunks to the application's Config.MaxChunks)"
	leftAloneChunks = "too large for this configuration, so the middleware leaves them alone (an instance with a larger MaxChunks may have written them; set -max-chunks to the application's Config.MaxChunks)"
	leftAloneBytes  = "too large for this configuration, so the middleware leaves them alone (an instance with a larger MaxChunks or MaxCookieSize may have written them; set -max-chunks and -max-cookie-size to the application's Config.MaxChunks and Config.MaxCookieSize)"
	leftAloneOne    = "too large for this configuration, so the middleware leaves it alone (an instance with a larger MaxCookieSize may have written it; set -max-cookie-size to the application's Config.MaxCookieSize)"
)

// emptyCookie notes what an empty cookie is.
const emptyCookie = "an empty cookie is what a client that ignores Max-Age=0 keeps of one the middleware expired"

// emptyPlainNote notes that the cookie name, present, is empty.
func emptyPlainNote(name string) string {
	return fmt.Sprintf("cookie %s is empty, so the chunks are read, as the middleware does", userText(name))
}

// errKey refuses input that looks like a key.
var errKey = errors.New("the input looks like a key, which is a secret, not a token (it is not shown): give inspect a session token (v4.local.…) or a Cookie header, and the keys with -keyring, -keys or the environment")

// devCookieName is the cookie name the library defaults to with
// UnsafeAllowHTTP, which the examples use over plain http.
const devCookieName = "session"

// parseInspectInput finds the token in tainted: a bare token, or a Cookie
// header value (one or more lines, each with or without "Cookie:") holding
// the cookie name or a complete, contiguous set of its chunks name.0,
// name.1, …, read as the middleware of a Manager with MaxChunks maxChunks
// and MaxCookieSize maxSize reads them. Names up to name.15
// (cookiechunk.Max) are chunks whatever maxChunks is, and a cookie larger
// than maxSize, or a complete set of more than maxChunks chunks or more
// bytes than they carry, is read but refused (in.refused) as too large for
// this configuration: another instance, configured for larger sessions,
// may have written it. A line pasted from a response, "Set-Cookie:" and a
// cookie, gives its name=value, before the first ';' (what follows are the
// cookie's attributes). Input pasted from curl (see curlLine) gives its
// Cookie and Set-Cookie headers, and nothing else. A plain cookie wins
// over chunks unless it is empty, the first of duplicate cookies wins,
// and empty chunks at the end of a set join as nothing and do not count
// against maxChunks, as in the middleware; in.notes says so of the
// cookies at hand.
//
// A header from which the middleware reads no session gives no token, and
// in.refused says why, in the middleware's terms: no cookie of the name,
// an empty cookie alone, a set of nothing but empty chunks (no session),
// an incomplete set of chunks, or more cookies than net/http reads
// (malformed). The error is for input that is neither a token nor a
// Cookie header, and for input that looks like a key: it says so without
// repeating it.
func parseInspectInput(tainted, name string, maxChunks, maxSize int) (inspectInput, error) {
	if len(tainted) > maxInspectInput {
		return inspectInput{}, fmt.Errorf("input larger than %d bytes", maxInspectInput)
	}
	if looksLikeKey(tainted) {
		return inspectInput{}, errKey
	}
	const (
		prefix    = "cookie:"
		setPrefix = "set-cookie:"
	)
	// Input pasted from curl holds other headers and options, and lines
	// that are neither: only its cookies count.
	curl := false
	for line := range strings.Lines(tainted) {
		if _, ok := curlLine(strings.TrimSpace(line)); ok {
			curl = true
			break
		}
	}
	var parts []string
	for line := range strings.Lines(tainted) {
		line = strings.TrimSpace(line)
		lines, fromCurl := curlLine(line)
		if !fromCurl {
			lines = []string{line}
		}
		for _, line := range lines {
			switch {
			case hasPrefixFold(line, setPrefix):
				pair, _, _ := strings.Cut(line[len(setPrefix):], ";")
				if pair = strings.TrimSpace(pair); !strings.Contains(pair, "=") {
					return inspectInput{}, errors.New("a Set-Cookie line holds no name=value before its first ';': paste the Cookie request header, or the whole Set-Cookie line of the response")
				}
				line = pair
			case hasPrefixFold(line, prefix):
				line = strings.TrimSpace(line[len(prefix):])
			case curl:
				// Another header, or another line of curl's.
				continue
			}
			if line != "" {
				parts = append(parts, line)
			}
		}
	}
	if len(parts) == 0 && curl {
		return inspectInput{}, errors.New("the curl command or output holds no Cookie or Set-Cookie header (nor -b with cookies): give a token or a Cookie header")
	}
	if len(parts) == 0 {
		return inspectInput{}, errors.New("empty input: give a token or a Cookie header")
	}
	header := strings.Join(parts, "; ")
	if looksLikeKey(header) { // with "Cookie:" gone
		return inspectInput{}, errKey
	}
	if len(parts) == 1 && !strings.ContainsAny(header, "=;") {
		return inspectInput{token: header}, nil
	}
	if !strings.ContainsRune(header, '=') && len(parts) > 1 {
		return inspectInput{}, errors.New("input has several lines but is not a Cookie header")
	}

	in, err := readHeader(header, name, maxChunks, maxSize)
	if note := duplicates(header, name); note != "" && err == nil {
		in.notes = append([]string{note}, in.notes...)
	}
	return in, err
}

// curlLine reads a line of input pasted from curl, and reports whether it
// is one: a header that curl -v shows sent ("> Cookie: …") or received
// ("< Set-Cookie: …"), or a curl command, whole or one line of it as Copy
// as cURL writes it ("curl 'https://…' \", "  -H 'cookie: …' \"). It
// returns the headers it holds, as NAME: VALUE: the line without "> " or
// "< ", or the values of the command's -H and --header options, and, as
// "Cookie: …", those of -b and --cookie that hold cookies rather than the
// name of a cookie file.
func curlLine(line string) (headers []string, ok bool) {
	if len(line) > 0 && (line[0] == '>' || line[0] == '<') && (len(line) == 1 || line[1] == ' ') {
		return []string{strings.TrimSpace(line[1:])}, true
	}
	if !strings.HasPrefix(line, "curl ") && curlOption(line) == "" {
		return nil, false
	}
	words := shellWords(line)
	for i := 0; i < len(words); i++ {
		name, value, attached := curlWord(words[i])
		switch {
		case name == "":
			continue
		case !attached && i+1 < len(words):
			i++
			value = words[i]
		}
		switch name {
		case "-H", "--header":
			headers = append(headers, strings.TrimSpace(value))
		case "-b", "--cookie":
			if strings.Contains(value, "=") {
				headers = append(headers, "Cookie: "+value)
			}
		}
	}
	return headers, true
}

// curlArgs takes the curl options that hold cookies out of args, the
// command line of inspect up to a "--": each as one argument, pasted in
// quotes ("-H 'Cookie: …'"), or as two, split by a shell ("-H" "Cookie:
// …"). It returns the other arguments, and the options as lines of a
// curl command, which parseInspectInput reads; none is a flag of
// inspect's.
func curlArgs(args []string) (rest []string, input string) {
	var lines []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		name := curlOption(a)
		switch {
		case a == "--":
			return append(rest, args[i:]...), strings.Join(lines, "\n")
		case name == "":
			rest = append(rest, a)
		case a != name:
			lines = append(lines, a)
		case i+1 < len(args):
			i++
			lines = append(lines, name+" '"+strings.ReplaceAll(args[i], "'", `'\''`)+"'")
		default:
			rest = append(rest, a)
		}
	}
	return rest, strings.Join(lines, "\n")
}

// curlOption returns the curl option that w, a word of a command line,
// starts with, if it is one inspect reads a cookie from: -H and --header,
// -b and --cookie. A short option may hold its value ("-H'…'" reads as
// "-H…" in a shell), and a long one after '='.
func curlOption(w string) string {
	for _, name := range []string{"--header", "--cookie", "-H", "-b"} {
		rest, ok := strings.CutPrefix(w, name)
		switch {
		case !ok:
		case rest == "", rest[0] == ' ', rest[0] == '\'', rest[0] == '"', rest[0] == '$':
			return name
		case rest[0] == '=' && name[1] == '-':
			return name
		}
	}
	return ""
}

// curlWord reads w, a word of a curl command with its quotes undone, as
// curl reads its options: it returns the name of the option, if w is one
// that inspect reads a cookie from (-H, --header, -b, --cookie), and its
// value when w holds it too ("-Hvalue", "--header=value").
func curlWord(w string) (name, value string, attached bool) {
	for _, name := range []string{"--header", "--cookie"} {
		switch rest, ok := strings.CutPrefix(w, name); {
		case ok && rest == "":
			return name, "", false
		case ok && rest[0] == '=':
			return name, rest[1:], true
		}
	}
	for _, name := range []string{"-H", "-b"} {
		if rest, ok := strings.CutPrefix(w, name); ok {
			return name, rest, rest != ""
		}
	}
	return "", "", false
}

// shellWords splits a line of a POSIX shell command into words, undoing
// its quotes: '…' holds text as it is, "…" and $'…' take a backslash as
// an escape, and a backslash outside quotes escapes the next character
// (at the end of the line it continues the command, and is dropped). A
// quote left open runs to the end of the line.
func shellWords(line string) []string {
	var words []string
	var w strings.Builder
	inWord := false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == ' ' || c == '\t':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
			continue
		case c == '\'':
			j := strings.IndexByte(line[i+1:], '\'')
			if j < 0 {
				j = len(line) - i - 1
			}
			w.WriteString(line[i+1 : i+1+j])
			i += j + 1
		case c == '"' || c == '$' && i+1 < len(line) && line[i+1] == '\'':
			quote := c
			if c == '$' {
				quote = '\''
				i++
			}
			for i++; i < len(line) && line[i] != quote; i++ {
				if line[i] == '\\' {
					if i++; i == len(line) {
						break
					}
				}
				w.WriteByte(line[i])
			}
		case c == '\\' && i+1 == len(line):
			continue
		case c == '\\':
			i++
			w.WriteByte(line[i])
		default:
			w.WriteByte(c)
		}
		inWord = true
	}
	if inWord {
		words = append(words, w.String())
	}
	return words
}

// readHeader reads the session cookie named name out of a Cookie header,
// for parseInspectInput.
func readHeader(header, name string, maxChunks, maxSize int) (inspectInput, error) {
	var set cookiechunk.Set
	var others []string
	devCookie := false // a cookie named as the library names it over plain http
	if !set.Scan([]string{header}, name, cookiechunk.Max, func(k string) {
		if len(others) < 6 {
			others = append(others, quoteArg(k))
		}
		devCookie = devCookie || k == devCookieName || k == devCookieName+".0"
	}) {
		return inspectInput{
			cookie:  name,
			refused: &verdict{tokensession.ErrMalformed, fmt.Sprintf("the Cookie header holds more cookies than net/http reads (%d)", cookiechunk.MaxPairs)},
			notes:   []string{"net/http reads no cookie at all from a Cookie header of more cookies than that, so neither does the middleware"},
		}, nil
	}
	// An empty cookie is what a client that ignores Max-Age keeps of one
	// the middleware expired: it gives way to the chunks.
	if set.HasPlain && (set.Plain != "" || set.Present == 0) {
		if set.Plain == "" {
			return inspectInput{
				cookie:  name,
				refused: &verdict{errNoSession, fmt.Sprintf("cookie %s is empty", quoteArg(name))},
				notes:   []string{emptyCookie},
			}, nil
		}
		if looksLikeKey(set.Plain) {
			return inspectInput{}, errKey
		}
		in := inspectInput{token: set.Plain, cookie: name}
		switch size := len(name) + len(set.Plain); {
		case size > cookieSize:
			// No configuration writes it: the middleware reads it as
			// malformed.
			in.refused = &verdict{tokensession.ErrMalformed, "token exceeds the size limit"}
		case size > maxSize:
			in.refused = &verdict{tokensession.ErrTooLarge, fmt.Sprintf("cookie of %d bytes, more than -max-cookie-size %d: %s", size, maxSize, leftAloneOne)}
		}
		return in, nil
	}
	if set.Present == 0 {
		in := inspectInput{cookie: name, refused: &verdict{errNoSession, fmt.Sprintf("no cookie named %s in the Cookie header", quoteArg(name))}}
		switch {
		case devCookie && name == tokensession.DefaultCookieName:
			in.notes = []string{fmt.Sprintf("the Cookie header has one named %q, the name the library gives the session cookie over plain http (UnsafeAllowHTTP, as in the examples): add -cookie-name %s", devCookieName, devCookieName)}
		case len(others) > 0:
			in.notes = []string{fmt.Sprintf("the Cookie header has %s: if one of them is the session cookie, set -cookie-name", strings.Join(others, ", "))}
		}
		return in, nil
	}
	n, ok := set.Count()
	if !ok {
		var have []string
		for i := range cookiechunk.Max {
			if set.Present&(1<<i) != 0 {
				have = append(have, fmt.Sprintf(".%d", i))
			}
		}
		in := inspectInput{
			cookie:  name,
			refused: &verdict{tokensession.ErrMalformed, fmt.Sprintf("incomplete or non-contiguous cookie chunks: %s has %s, not a complete, contiguous set of two or more", quoteArg(name), strings.Join(have, " "))},
		}
		if set.HasPlain {
			in.notes = append(in.notes, emptyPlainNote(name), emptyCookie)
		}
		// As the library's documentation words it.
		in.notes = append(in.notes, "an incomplete chunk set is usually a cookie dropped by a client or proxy over its Cookie header limit (nginx allows 8 KiB by default); the middleware deletes the chunks once a request uses the session")
		return in, nil
	}
	// Empty chunks at the end are what a client that ignores Max-Age
	// keeps of the chunks the middleware expired as a session shrank:
	// they join as nothing, and do not count against MaxChunks.
	used := n
	for used > 0 && set.Chunks[used-1] == "" {
		used--
	}
	in := inspectInput{cookie: name, chunks: used, set: n}
	if set.HasPlain {
		in.notes = append(in.notes, emptyPlainNote(name))
	}
	var emptyCounted []string // empty chunks that count against MaxChunks
	for i, c := range set.Chunks[:n] {
		switch {
		case c != "":
		case i < used:
			emptyCounted = append(emptyCounted, userText(name)+"."+strconv.Itoa(i))
			in.notes = append(in.notes, fmt.Sprintf("chunk cookie %s.%d is empty: it joins as nothing and counts against -max-chunks, as in the middleware", userText(name), i))
		default:
			in.notes = append(in.notes, fmt.Sprintf("chunk cookie %s.%d is empty: at the end of the set it is not joined and does not count against -max-chunks, as in the middleware", userText(name), i))
		}
	}
	if set.HasPlain || used < n || len(emptyCounted) > 0 {
		in.notes = append(in.notes, emptyCookie)
	}
	if used == 0 {
		in.refused = &verdict{errNoSession, fmt.Sprintf("the chunk cookies of %s (.0 to .%d) are all empty", quoteArg(name), n-1)}
		return in, nil
	}
	in.token = strings.Join(set.Chunks[:used], "")
	if looksLikeKey(in.token) {
		return inspectInput{}, errKey
	}
	counted := fmt.Sprintf("%d chunk cookies", used)
	if len(emptyCounted) > 0 {
		counted += ", counting the empty " + joinAnd(emptyCounted)
	}
	switch {
	case n-used == 1:
		counted += " (and an empty one after them, which does not count)"
	case n > used:
		counted += fmt.Sprintf(" (and %d empty ones after them, which do not count)", n-used)
	}
	switch {
	case len(in.token) > maxTokenSize(name, cookiechunk.Max, cookieSize):
		// No configuration writes it: the middleware reads it as
		// malformed.
		in.refused = &verdict{tokensession.ErrMalformed, "token exceeds the size limit"}
	case used > maxChunks && len(emptyCounted) > 0:
		// No instance writes an empty chunk before others: it is what is
		// left of an expired one.
		in.refused = &verdict{tokensession.ErrTooLarge, fmt.Sprintf("%s, more than -max-chunks %d: %s", counted, maxChunks, leftAloneEmpty)}
	case used > maxChunks:
		in.refused = &verdict{tokensession.ErrTooLarge, fmt.Sprintf("%s, more than -max-chunks %d: %s", counted, maxChunks, leftAloneChunks)}
	case len(in.token) > maxTokenSize(name, maxChunks, maxSize):
		in.refused = &verdict{tokensession.ErrTooLarge, fmt.Sprintf("%d bytes in chunk cookies, more than %d chunks carry (-max-chunks %d, -max-cookie-size %d): %s", len(in.token), maxChunks, maxChunks, maxSize, leftAloneBytes)}
	}
	return in, nil
}

// duplicates returns a note on the cookies of header named name, or as
// one of its chunks, that appear more than once, or "" if none does. Of
// such cookies the first counts, as in the middleware.
func duplicates(header, name string) string {
	var counts [1 + cookiechunk.Max]int // the cookie, then chunk i at i+1
	for part := range strings.SplitSeq(header, ";") {
		// As cookiechunk.Set.Scan reads the header.
		k, _, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		suffix, ours := strings.CutPrefix(k, name)
		if !ours {
			continue
		}
		if suffix == "" {
			counts[0]++
		} else if i, ok := cookiechunk.Index(suffix, cookiechunk.Max); ok {
			counts[1+i]++
		}
	}
	var dups []string
	for i, n := range counts {
		if n < 2 {
			continue
		}
		cookie := userText(name)
		if i > 0 {
			cookie += "." + strconv.Itoa(i-1)
		}
		if len(dups) == 0 {
			dups = append(dups, fmt.Sprintf("%d cookies named %s", n, cookie))
		} else {
			dups = append(dups, fmt.Sprintf("%d named %s", n, cookie))
		}
	}
	if len(dups) == 0 {
		return ""
	}
	first := "the first is used"
	if len(dups) > 1 {
		first = "the first of each is used"
	}
	tossing := "(cookie tossing; the __Host- prefix prevents it)"
	if hasPrefixFold(name, "__Host-") {
		tossing = "(cookie tossing), which the __Host- prefix prevents in browsers: look for what else adds cookies to these requests"
	}
	return fmt.Sprintf("the Cookie header holds %s: %s, as in the middleware. A duplicate is what a sibling subdomain or a path-scoped cookie planting one looks like %s",
		joinAnd(dups), first, tossing)
}

// joinAnd joins words as a list in a sentence: "a", "a and b", "a, b and
// c".
func joinAnd(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " and " + words[len(words)-1]
}

// hasPrefixFold reports whether s begins with prefix, ignoring ASCII
// case.
func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// looksLikeKey reports whether tainted, given where a token belongs, holds
// key material: a PASERK secret key (k4.local…, k4.secret…) anywhere, or
// nothing but words with the length of a raw 32-byte key in base64 or hex.
// A token is neither: it starts with "v4.", and is longer.
func looksLikeKey(tainted string) bool {
	words := strings.FieldsFunc(tainted, func(r rune) bool {
		return r == ' ' || r == '\t' || r == '\r' || r == '\n' || r == ';' || r == '=' || r == ':' || r == '"'
	})
	raw := len(words) > 0
	for _, w := range words {
		if isPASERKSecret(w) {
			return true
		}
		raw = raw && isRawKey(w)
	}
	return raw
}

// isPASERKSecret reports whether w starts like a PASERK that holds a
// secret: kN.local (k4.local, k4.local-wrap, k4.local-pw) or kN.secret.
func isPASERKSecret(w string) bool {
	if len(w) < 4 || w[0] != 'k' || w[1] < '1' || w[1] > '9' || w[2] != '.' {
		return false
	}
	for _, typ := range []string{"local", "secret"} {
		if rest, ok := strings.CutPrefix(w[3:], typ); ok && (rest == "" || rest[0] == '.' || rest[0] == '-') {
			return true
		}
	}
	return false
}

// isRawKey reports whether w has the length and alphabet of 32 key bytes
// in base64 (either alphabet; 43 characters, as the caller splits off any
// '=' of padding) or hex (64).
func isRawKey(w string) bool {
	if n := len(w); n != 43 && n != 64 {
		return false
	}
	for i := 0; i < len(w); i++ {
		if !isKeyChar(w[i]) && w[i] != '/' {
			return false
		}
	}
	return true
}

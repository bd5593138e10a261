package main

import (
	"errors"
	"fmt"
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
	token  string
	cookie string // the cookie it came from; "" for a bare token
	chunks int    // how many chunk cookies were joined; 0 for none
	// refused, if not nil, is why the middleware would not open the
	// cookies at all: the verdict, whatever the token holds.
	refused error
}

// leftAlone explains the verdict on chunk cookies of more chunks or bytes
// than -max-chunks allows.
const leftAlone = "too large for this configuration, so the middleware leaves them alone (an instance with a larger MaxChunks may have written them; give -max-chunks its value)"

// devCookieName is the cookie name the library defaults to with
// UnsafeAllowHTTP, which the examples use over plain http.
const devCookieName = "session"

// parseInspectInput finds the token in tainted: a bare token, or a Cookie
// header value (one or more lines, each with or without "Cookie:") holding
// the cookie name or a complete, contiguous set of its chunks name.0,
// name.1, …. As in the middleware, names up to name.15 (cookiechunk.Max)
// are chunks whatever maxChunks is, and a complete set of more than
// maxChunks chunks, or more bytes than they carry, is joined but refused
// (in.refused) as too large for this configuration: another instance,
// configured for larger sessions, may have written it. A line pasted from
// a response, "Set-Cookie:" and a cookie, gives its name=value, before
// the first ';' (what follows are the cookie's attributes). A plain cookie wins over chunks, and the
// first of duplicate cookies wins, as in the middleware. A header with more
// cookies than net/http reads is an error: the middleware sees no cookie
// in it at all. So is input that looks like a key: the error says so
// without repeating it.
func parseInspectInput(tainted, name string, maxChunks int) (inspectInput, error) {
	if len(tainted) > maxInspectInput {
		return inspectInput{}, fmt.Errorf("input larger than %d bytes", maxInspectInput)
	}
	errKey := errors.New("the input looks like a key, which is a secret, not a token (it is not shown): give inspect a session token (v4.local.…) or a Cookie header, and the keys with -keyring, -keys or the environment")
	if looksLikeKey(tainted) {
		return inspectInput{}, errKey
	}
	const (
		prefix    = "cookie:"
		setPrefix = "set-cookie:"
	)
	var parts []string
	for line := range strings.Lines(tainted) {
		line = strings.TrimSpace(line)
		switch {
		case hasPrefixFold(line, setPrefix):
			pair, _, _ := strings.Cut(line[len(setPrefix):], ";")
			if pair = strings.TrimSpace(pair); !strings.Contains(pair, "=") {
				return inspectInput{}, errors.New("a Set-Cookie line holds no name=value before its first ';': paste the Cookie request header, or the whole Set-Cookie line of the response")
			}
			line = pair
		case hasPrefixFold(line, prefix):
			line = strings.TrimSpace(line[len(prefix):])
		}
		if line != "" {
			parts = append(parts, line)
		}
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

	var set cookiechunk.Set
	var others []string
	devCookie := false // a cookie named as the library names it over plain http
	if !set.Scan([]string{header}, name, cookiechunk.Max, func(k string) {
		if len(others) < 6 {
			others = append(others, quoteArg(k))
		}
		devCookie = devCookie || k == devCookieName || k == devCookieName+".0"
	}) {
		return inspectInput{}, fmt.Errorf("the Cookie header has more than %d cookies, more than net/http reads: the middleware would read no session from it", cookiechunk.MaxPairs)
	}
	if set.HasPlain {
		if set.Plain == "" {
			return inspectInput{}, fmt.Errorf("cookie %s is empty", quoteArg(name))
		}
		if looksLikeKey(set.Plain) {
			return inspectInput{}, errKey
		}
		in := inspectInput{token: set.Plain, cookie: name}
		if len(name)+len(set.Plain) > cookieSize {
			// No configuration writes it: the middleware reads it as
			// malformed.
			in.refused = &verdict{tokensession.ErrMalformed, "token exceeds the size limit"}
		}
		return in, nil
	}
	if set.Present == 0 {
		if devCookie && name == tokensession.DefaultCookieName {
			return inspectInput{}, fmt.Errorf("no cookie named %s in the Cookie header, but one named %q, the name the library gives the session cookie over plain http (UnsafeAllowHTTP, as in the examples): add -cookie-name %s", quoteArg(name), devCookieName, devCookieName)
		}
		if len(others) == 0 {
			return inspectInput{}, fmt.Errorf("no cookie named %s in the Cookie header", quoteArg(name))
		}
		return inspectInput{}, fmt.Errorf("no cookie named %s in the Cookie header, which has %s; set -cookie-name", quoteArg(name), strings.Join(others, ", "))
	}
	n, ok := set.Count()
	if !ok {
		var have []string
		for i := range cookiechunk.Max {
			if set.Present&(1<<i) != 0 {
				have = append(have, fmt.Sprintf(".%d", i))
			}
		}
		return inspectInput{}, fmt.Errorf("chunk cookies of %s are not a complete, contiguous set of two or more (have %s); the middleware ignores them", quoteArg(name), strings.Join(have, " "))
	}
	// An empty chunk is refused like an empty cookie: no token is empty,
	// and no chunk of one is.
	for i, c := range set.Chunks[:n] {
		if c == "" {
			return inspectInput{}, fmt.Errorf("chunk cookie %s is empty", quoteArg(fmt.Sprintf("%s.%d", name, i)))
		}
	}
	token := strings.Join(set.Chunks[:n], "")
	if looksLikeKey(token) {
		return inspectInput{}, errKey
	}
	in := inspectInput{token: token, cookie: name, chunks: n}
	switch {
	case len(token) > maxTokenSize(name, cookiechunk.Max):
		// No configuration writes it: the middleware reads it as
		// malformed.
		in.refused = &verdict{tokensession.ErrMalformed, "token exceeds the size limit"}
	case n > maxChunks:
		in.refused = &verdict{tokensession.ErrTooLarge, fmt.Sprintf("%d chunk cookies, more than -max-chunks %d: %s", n, maxChunks, leftAlone)}
	case len(token) > maxTokenSize(name, maxChunks):
		in.refused = &verdict{tokensession.ErrTooLarge, fmt.Sprintf("%d bytes in chunk cookies, more than %d chunks carry (-max-chunks %d): %s", len(token), maxChunks, maxChunks, leftAlone)}
	}
	return in, nil
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

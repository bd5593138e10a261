package main

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"aidanwoods.dev/go-paseto"

	"github.com/tokensession/tokensession"
	"github.com/tokensession/tokensession/internal/cookiechunk"
	"github.com/tokensession/tokensession/internal/format"
)

// newManager returns a manager over ring with the clock at *now.
func newManager(t *testing.T, ring *tokensession.Keyring, now *time.Time, cfg tokensession.Config[json.RawMessage]) *tokensession.Manager[json.RawMessage] {
	t.Helper()
	cfg.Keyring = ring
	cfg.Now = func() time.Time { return *now }
	m, err := tokensession.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// split cuts tok into n nearly equal parts.
func split(tok string, n int) []string {
	parts := make([]string, n)
	size := (len(tok) + n - 1) / n
	for i := range parts {
		parts[i] = tok[min(i*size, len(tok)):min((i+1)*size, len(tok))]
	}
	return parts
}

// tamper flips the base64 character at index i of s.
func tamper(s string, i int) string {
	b := []byte(s)
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

// withFooter replaces tok's footer with the one naming kid.
func withFooter(tok, kid string) string {
	i := strings.LastIndexByte(tok, '.')
	return tok[:i+1] + base64.RawURLEncoding.EncodeToString([]byte(`{"kid":"`+kid+`"}`))
}

func TestInspect(t *testing.T) {
	key, other, retired := tokensession.GenerateKey(), tokensession.GenerateKey(), tokensession.GenerateKey()
	ring, err := tokensession.NewKeyring(
		tokensession.KeyringEntry{Key: key},
		tokensession.KeyringEntry{Key: retired, NotAfter: t0.Add(-time.Hour)},
	)
	if err != nil {
		t.Fatal(err)
	}
	dir := tmpDir(t)
	file := writeRing(t, dir, ring.Entries()...)
	secrets := key.UnsafeExportPASERK() + " " + retired.UnsafeExportPASERK()
	allKeys := []tokensession.Key{key, other, retired}

	clock := t0
	m := newManager(t, ring, &clock, tokensession.Config[json.RawMessage]{MaxChunks: 4})
	data := json.RawMessage(`{"user":"alice","roles":["admin","ops"],"n":1}`)
	tok, _, err := m.Seal(data)
	if err != nil {
		t.Fatal(err)
	}
	big, _, err := m.Seal(json.RawMessage(`{"blob":"` + strings.Repeat("x", 6000) + `"}`))
	if err != nil {
		t.Fatal(err)
	}
	// A session sealed at t0-70m and refreshed at t0-10m: created more than
	// an hour ago, its idle expiry still ahead.
	clock = t0.Add(-70 * time.Minute)
	first, _, err := m.Seal(data)
	if err != nil {
		t.Fatal(err)
	}
	_, info, err := m.Open(first)
	if err != nil {
		t.Fatal(err)
	}
	clock = t0.Add(-10 * time.Minute)
	refreshed, _, err := m.Reseal(data, info)
	if err != nil {
		t.Fatal(err)
	}
	clock = t0
	otherRing, _ := tokensession.NewKeyring(tokensession.KeyringEntry{Key: other})
	tokOther, _, err := newManager(t, otherRing, &clock, tokensession.Config[json.RawMessage]{}).Seal(data)
	if err != nil {
		t.Fatal(err)
	}
	tokAPI, _, err := newManager(t, ring, &clock, tokensession.Config[json.RawMessage]{Purpose: "api"}).Seal(data)
	if err != nil {
		t.Fatal(err)
	}
	tokDev, _, err := newManager(t, ring, &clock, tokensession.Config[json.RawMessage]{UnsafeAllowHTTP: true}).Seal(data)
	if err != nil {
		t.Fatal(err)
	}
	// A token of the retired key, sealed before its retirement.
	retiredRing, _ := tokensession.NewKeyring(tokensession.KeyringEntry{Key: retired})
	clock = t0.Add(-90 * time.Minute)
	tokRetired, _, err := newManager(t, retiredRing, &clock, tokensession.Config[json.RawMessage]{}).Seal(data)
	if err != nil {
		t.Fatal(err)
	}
	clock = t0
	// Data that would drive a terminal: a C1 CSI character.
	tokEvil, _, err := m.Seal(json.RawMessage("{\"x\":\"\u009b31m\"}"))
	if err != nil {
		t.Fatal(err)
	}

	// A session over two chunks of MaxChunks 4 whose chunks are each
	// longer than a cookie carries.
	huge, _, err := m.Seal(json.RawMessage(`{"blob":"` + strings.Repeat("y", 9000) + `"}`))
	if err != nil {
		t.Fatal(err)
	}

	// A session of about 1300 bytes: one cookie of MaxCookieSize 2048, or
	// three chunks of 512 bytes, carry it; two such chunks do not.
	medium, _, err := m.Seal(json.RawMessage(`{"blob":"` + strings.Repeat("m", 700) + `"}`))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(medium); n <= 2*(512-len("__Host-session.0")) || n > 3*(512-len("__Host-session.0")) {
		t.Fatalf("medium token of %d bytes", n)
	}

	chunks := split(tok, 3)
	bigChunks := split(big, 2)
	hugeChunks := split(huge, 2)
	mediumChunks := split(medium, 2)
	const name = "__Host-session"
	keys := []string{"-keyring", file}
	fileEnv := map[string]string{"SESSION_KEYRING": file}

	for _, tc := range []struct {
		name     string
		at       time.Duration // after t0
		env      map[string]string
		args     []string // after "inspect"
		stdin    string
		wantCode int
		wantOut  []string
		// wantVerdict is in the verdict line of a report that exits 1;
		// wantErr in the message of a command that fails.
		wantVerdict, wantErr string
		wantNotOut           []string // not in stdout
	}{
		{
			name: "bare token argument", args: append(keys, tok),
			wantOut: []string{
				"token:    " + strconv.Itoa(len(tok)) + " bytes\n",
				"purpose:  __Host-session\n",
				"key ID:   " + key.ID() + "\n",
				"key:      in the keyring at position 0, sealing\n",
				"exp:      2026-03-01T12:30:00Z (in 30m0s)\n",
				"iat:      2026-03-01T12:00:00Z (now)\n",
				"created:  2026-03-01T12:00:00Z (now)\n",
				"sid:      ",
				"data:\n  {\n    \"user\": \"alice\",\n    \"roles\": [\n      \"admin\",\n      \"ops\"\n    ],\n    \"n\": 1\n  }\n",
				"\nvalid now\n",
			},
		},
		{name: "token on stdin", args: keys, stdin: "\n  " + tok + "  \r\n", wantOut: []string{"valid now"}},
		{name: "token on stdin with dash", args: append(keys, "-"), stdin: tok, wantOut: []string{"valid now"}},
		{name: "flags after the token", args: []string{tok, "-keyring", file}, wantOut: []string{"valid now"}},
		{name: "after --", args: append(keys, "--", tok), wantOut: []string{"valid now"}},
		{name: "cookie header", args: append(keys, "Cookie: theme=dark; "+name+"="+tok+"; lang=en"), wantOut: []string{"from cookie __Host-session\n", "valid now"}},
		{name: "cookie header without prefix", args: append(keys, name+"="+tok), wantOut: []string{"from cookie __Host-session\n", "valid now"}},
		{name: "cookie header lower case prefix, quoted", args: append(keys, `cookie:`+name+`="`+tok+`"`), wantOut: []string{"valid now"}},
		{name: "cookie header on stdin, two lines", args: keys, stdin: "Cookie: a=1\nCookie: " + name + "=" + tok + "\n", wantOut: []string{"valid now"}},
		{
			name:    "chunked cookie header",
			args:    append(keys, "-max-chunks", "3"),
			stdin:   "Cookie: " + name + ".1=" + chunks[1] + "; other=x; " + name + ".0=" + chunks[0] + "; " + name + ".2=" + chunks[2],
			wantOut: []string{"from cookies __Host-session.0 … __Host-session.2 (3 chunks)\n", "key ID:   " + key.ID(), "\"user\": \"alice\"", "valid now"},
		},
		{
			name:     "two chunks with the default -max-chunks",
			args:     keys,
			stdin:    "Cookie: " + name + ".0=" + bigChunks[0] + "; " + name + ".1=" + bigChunks[1],
			wantCode: 1, wantVerdict: "session too large: 2 chunk cookies, more than -max-chunks 1: too large for this configuration, so the middleware leaves them alone (an instance with a larger MaxChunks may have written them; set -max-chunks to the application's Config.MaxChunks)",
			wantOut: []string{"(2 chunks)", strings.Repeat("x", 6000)},
		},
		{
			name:    "large chunked session",
			args:    append(keys, "-max-chunks", "4"),
			stdin:   "Cookie: " + name + ".0=" + bigChunks[0] + "; " + name + ".1=" + bigChunks[1],
			wantOut: []string{"(2 chunks)", strings.Repeat("x", 6000), "valid now"},
		},
		{
			name:    "plain cookie wins over chunks, first duplicate wins",
			args:    keys,
			stdin:   name + ".0=junk; " + name + "=" + tok + "; " + name + "=junk",
			wantOut: []string{"from cookie __Host-session\n", "valid now"},
		},
		{
			name:     "large session over the app's bound",
			args:     keys,
			stdin:    big,
			wantCode: 1, wantVerdict: "malformed token: token exceeds the size limit",
			wantOut: []string{"\"blob\"", "note:     the token has " + strconv.Itoa(len(big)) + " bytes, more than the cookies of -max-chunks 1 and -max-cookie-size 4096 carry (4082): if the application's Config.MaxChunks or Config.MaxCookieSize is larger, set -max-chunks and -max-cookie-size to them\n", "invalid: malformed token: token exceeds the size limit\n"},
		},
		{name: "large session within -max-chunks", args: append(keys, "-max-chunks", "4"), stdin: big, wantOut: []string{"\"blob\"", "valid now"}},
		{name: "curl -H as two arguments", args: append(keys, "-H", "Cookie: "+name+"="+tok), wantOut: []string{"from cookie __Host-session\n", "valid now"}},
		{name: "curl -b as two arguments", args: []string{"-keyring", file, "-b", "a=1; " + name + "=" + tok}, wantOut: []string{"from cookie __Host-session\n", "valid now"}},
		{name: "curl options as arguments", args: append(keys, "-max-chunks", "4", "-H 'accept: */*'", "--header", "cookie: "+name+".1="+bigChunks[1], `-H "cookie: `+name+".0="+bigChunks[0]+`"`), wantOut: []string{"(2 chunks)", "valid now"}},
		{name: "curl option and a token", args: append(keys, "-H", "Cookie: "+name+"="+tok, tok), wantCode: 2, wantErr: "inspect: takes one token or Cookie header"},
		{name: "curl option after --", args: append(keys, "--", "-H 'Cookie: "+name+"="+tok+"'"), wantOut: []string{"from cookie __Host-session\n", "valid now"}},
		{name: "keys flag", args: []string{"-keys", secrets, tok}, wantOut: []string{"valid now"}},
		{name: "SESSION_KEYRING path", env: fileEnv, args: []string{tok}, wantOut: []string{"valid now"}},
		{name: "SESSION_KEYRING JSON", env: map[string]string{"SESSION_KEYRING": mustJSON(t, ring)}, args: []string{tok}, wantOut: []string{"valid now"}},
		{name: "SESSION_KEYS", env: map[string]string{"SESSION_KEYS": secrets}, args: []string{tok}, wantOut: []string{"valid now"}},
		{name: "flag beats environment", env: map[string]string{"SESSION_KEYS": other.UnsafeExportPASERK()}, args: append(keys, tok), wantOut: []string{"valid now"}},
		{name: "purpose", args: append(keys, "-purpose", "api", tokAPI), wantOut: []string{"purpose:  api\n", "\"user\"", "valid now"}},
		{name: "cookie name sets the purpose", args: append(keys, "-cookie-name", "session", "session="+tokDev), wantOut: []string{"purpose:  session\n", "valid now"}},
		{
			name: "idle expiry", at: 31 * time.Minute, args: append(keys, tok),
			wantCode: 1, wantVerdict: "token expired: past its idle expiry",
			wantOut: []string{"exp:      2026-03-01T12:30:00Z (1m0s ago)\n", "\"user\": \"alice\"", "invalid: token expired: past its idle expiry\n"},
		},
		{
			// exp is 13m29s ahead, but -idle 10m after iat has passed.
			name: "expiry from -idle", at: 16*time.Minute + 31*time.Second, args: append(keys, "-idle", "10m", tok),
			wantCode: 1, wantVerdict: "token expired: past its idle expiry",
			wantOut: []string{
				"exp:      2026-03-01T12:30:00Z (in 13m29s)\n",
				"expiry:   2026-03-01T12:10:00Z (6m31s ago), plus -leeway 30s: iat + -idle 10m0s, before exp; -idle and -absolute must match the application's Config.IdleTimeout and Config.AbsoluteTimeout\n",
			},
		},
		{
			name: "expiry from exp", args: append(keys, "-leeway", "0", tok),
			wantOut: []string{"expiry:   2026-03-01T12:30:00Z (in 30m0s): exp\n"},
		},
		{
			name: "revoked", args: append(keys, "-revoked-before", "2026-03-01T11:00:00Z", refreshed),
			wantCode: 1, wantVerdict: "session revoked: session created before RevokedBefore",
			wantOut: []string{"created:  2026-03-01T10:50:00Z (1h10m0s ago)", "\"user\""},
		},
		{name: "created at -revoked-before", args: append(keys, "-revoked-before", "2026-03-01T12:00:00Z", tok), wantOut: []string{"valid now"}},
		{name: "created after -revoked-before, to the nanosecond", args: append(keys, "-revoked-before", "2026-03-01T10:49:59.999999999Z", refreshed), wantOut: []string{"valid now"}},
		{name: "within leeway", at: 30*time.Minute + 10*time.Second, args: append(keys, tok), wantOut: []string{"valid now"}},
		{
			name: "no leeway", at: 30*time.Minute + 10*time.Second, args: append(keys, "-leeway", "0", tok),
			wantCode: 1, wantVerdict: "token expired: past its idle expiry",
		},
		{name: "refreshed session within lifetime", args: append(keys, refreshed), wantOut: []string{"created:  2026-03-01T10:50:00Z (1h10m0s ago)", "valid now"}},
		{
			name: "past absolute lifetime", args: append(keys, "-absolute", "1h", refreshed),
			wantCode: 1, wantVerdict: "token expired: past the session's absolute lifetime",
			wantOut: []string{"\"user\"", "expiry:   2026-03-01T11:50:00Z (10m0s ago), plus -leeway 30s: created + -absolute 1h0m0s, before exp; -idle and -absolute must match the application's Config.IdleTimeout and Config.AbsoluteTimeout\n", "invalid: token expired: past the session's absolute lifetime\n"},
		},
		{
			name: "tampered", args: append(keys, tamper(tok, len("v4.local.")+40)),
			wantCode: 1, wantVerdict: "token not authentic",
			wantOut: []string{"key ID:   " + key.ID(), "claims:   not decrypted (not authentic: wrong key or purpose, or altered)\n", "invalid: token not authentic\n"},
		},
		{
			name: "tampered chunk", args: append(keys, "-max-chunks", "3"),
			stdin:    name + ".0=" + chunks[0] + "; " + name + ".1=" + tamper(chunks[1], len(chunks[1])/2) + "; " + name + ".2=" + chunks[2],
			wantCode: 1, wantVerdict: "token not authentic",
		},
		{
			name: "wrong purpose", args: append(keys, tokAPI),
			wantCode: 1, wantVerdict: "token not authentic",
			wantOut: []string{"claims:   not decrypted (not authentic"},
		},
		{
			name: "unknown key", args: append(keys, tokOther),
			wantCode: 1, wantVerdict: "unknown key ID",
			wantOut: []string{"key ID:   " + other.ID(), "key:      not in the keyring\n", "claims:   not decrypted (key not in the keyring)\n",
				"invalid: unknown key ID\n" +
					"hint:     this keyring lacks " + other.ID() + ": it is older than the keyring that sealed the token (copy the current keyring here), or the key was pruned (the user must log in again)\n" +
					"hint:     the middleware reports ErrUnknownKey and leaves the cookie alone (the examples answer 503)\n"},
		},
		{
			name: "retired key", args: append(keys, tokRetired),
			wantCode: 1, wantVerdict: "key retired",
			wantOut: []string{"key:      in the keyring at position 1, retired\n", "iat:      2026-03-01T10:30:00Z (1h30m0s ago)", "invalid: key retired\n"},
		},
		{
			name: "footer swapped to another key", args: append(keys, withFooter(tok, retired.ID())),
			wantCode: 1, wantVerdict: "key retired",
			wantOut: []string{"key ID:   " + retired.ID(), "not decrypted"},
		},
		{
			name: "not a token", args: append(keys, "hello"),
			wantCode: 1, wantVerdict: "malformed token: not a v4.local token",
			wantOut: []string{"key ID:   none (not a v4.local token)\n", "claims:   not decrypted (no key ID)\n"},
		},
		{
			name: "bad footer", args: append(keys, tok[:strings.LastIndexByte(tok, '.')+1]+"e30"),
			wantCode: 1, wantVerdict: "malformed token: footer is not exactly",
			wantOut: []string{"key ID:   none (footer is not exactly {\"kid\":\"k4.lid.…\"})\n"},
		},
		{
			name: "no footer", args: append(keys, tok[:strings.LastIndexByte(tok, '.')]),
			wantCode: 1, wantVerdict: "malformed token: token has no footer",
		},
		{name: "terminal escapes in data", args: append(keys, tokEvil), wantOut: []string{`"x": "\u009b31m"`, "valid now"}},

		// Errors before any report.
		{name: "no cookie of the name", args: append(keys, "Cookie: a=1; b=2"), wantCode: 1, wantVerdict: `no session: no cookie named "__Host-session" in the Cookie header`, wantOut: []string{"token:    none\n", `note:     the Cookie header has "a", "b": if one of them is the session cookie, set -cookie-name` + "\n"}},
		{name: "empty cookie", args: append(keys, name+"="), wantCode: 1, wantVerdict: `no session: cookie "__Host-session" is empty`, wantOut: []string{"token:    none\n", "note:     an empty cookie is what a client that ignores Max-Age=0 keeps of one the middleware expired\n"}},
		{name: "empty chunks", stdin: name + ".1=\n" + name + ".0=", args: keys, wantCode: 1, wantVerdict: `no session: the chunk cookies of "__Host-session" (.0 to .1) are all empty`, wantOut: []string{"token:    none\n", "note:     chunk cookie __Host-session.0 is empty"}},
		{name: "empty cookie and empty chunks", args: append(keys, name+"=; "+name+".0=; "+name+".1=; "+name+".2="), wantCode: 1, wantVerdict: "(.0 to .2) are all empty"},

		// Empty cookies, as a client that ignores Max-Age keeps those the
		// middleware expired, are read as the middleware reads them.
		{
			name: "empty chunk in the middle joins as nothing", args: append(keys, "-max-chunks", "3", name+".0="+chunks[0]+"; "+name+".1=; "+name+".2="+chunks[2]),
			wantCode: 1, wantVerdict: "token not authentic",
			wantOut: []string{"(3 chunks)\n", "note:     chunk cookie __Host-session.1 is empty: it joins as nothing and counts against -max-chunks, as in the middleware\n", "note:     an empty cookie is what a client that ignores Max-Age=0 keeps of one the middleware expired\n"},
		},
		{
			name: "empty chunk in the middle, beyond -max-chunks", args: append(keys, "-max-chunks", "2", name+".0="+chunks[0]+"; "+name+".1=; "+name+".2="+chunks[2]),
			wantCode: 1, wantVerdict: "session too large: 3 chunk cookies, counting the empty __Host-session.1, more than -max-chunks 2: too large for this configuration, so the middleware leaves them alone (set -max-chunks to the application's Config.MaxChunks)",
			wantOut:    []string{"note:     chunk cookie __Host-session.1 is empty: it joins as nothing and counts against -max-chunks, as in the middleware\n", "note:     an empty cookie is what a client that ignores Max-Age=0 keeps of one the middleware expired\n"},
			wantNotOut: []string{"may have written"},
		},
		{
			name: "empty first chunk, beyond -max-chunks", args: append(keys, name+".0=; "+name+".1="+tok),
			wantCode: 1, wantVerdict: "session too large: 2 chunk cookies, counting the empty __Host-session.0, more than -max-chunks 1",
			wantNotOut: []string{"may have written"},
		},
		{
			name: "empty chunk at the end", args: append(keys, "-max-chunks", "3", name+".0="+chunks[0]+"; "+name+".1="+chunks[1]+"; "+name+".2="+chunks[2]+"; "+name+".3="),
			wantOut: []string{"from cookies __Host-session.0 … __Host-session.2 (3 chunks)\n", "note:     chunk cookie __Host-session.3 is empty: at the end of the set it is not joined and does not count against -max-chunks, as in the middleware\n", "\"user\": \"alice\"", "\nvalid now\n"},
		},
		{
			name: "empty chunks at the end, beyond -max-chunks", args: append(keys, "-max-chunks", "2", name+".0="+chunks[0]+"; "+name+".1="+chunks[1]+"; "+name+".2="+chunks[2]+"; "+name+".3=; "+name+".4="),
			wantCode: 1, wantVerdict: "session too large: 3 chunk cookies (and 2 empty ones after them, which do not count), more than -max-chunks 2",
			wantOut: []string{"from cookies __Host-session.0 … __Host-session.2 (3 chunks)\n", "__Host-session.3 is empty", "__Host-session.4 is empty"},
		},
		{
			name: "empty first chunk", args: append(keys, "-max-chunks", "2", name+".0=; "+name+".1="+tok),
			wantOut: []string{"note:     chunk cookie __Host-session.0 is empty", "\nvalid now\n"},
		},
		{
			name: "whole token in chunk 0", args: append(keys, "-max-chunks", "1", name+".0="+tok+"; "+name+".1="),
			wantOut: []string{"from cookie __Host-session.0 (1 chunk)\n", "note:     chunk cookie __Host-session.1 is empty", "\nvalid now\n"},
		},
		{
			name: "empty cookie gives way to the chunks", args: append(keys, "-max-chunks", "3", name+"=; "+name+".0="+chunks[0]+"; "+name+".1="+chunks[1]+"; "+name+".2="+chunks[2]),
			wantOut:    []string{"(3 chunks)\n", "note:     cookie __Host-session is empty, so the chunks are read, as the middleware does\n", "note:     an empty cookie is what a client that ignores Max-Age=0 keeps of one the middleware expired\n", "\nvalid now\n"},
			wantNotOut: []string{"keeps it so"},
		},
		{name: "empty cookie, incomplete chunks", args: append(keys, name+"=; "+name+".0="+tok), wantCode: 1, wantVerdict: `malformed token: incomplete or non-contiguous cookie chunks: "__Host-session" has .0, not a complete, contiguous set of two or more`},
		{
			name: "duplicate cookie, the first malformed", args: append(keys, "-cookie-name", "session", "Cookie: session=garbage; session="+tokDev),
			wantCode: 1, wantVerdict: "malformed token: not a v4.local token",
			wantOut: []string{"note:     the Cookie header holds 2 cookies named session: the first is used, as in the middleware. A duplicate is what a sibling subdomain or a path-scoped cookie planting one looks like (cookie tossing; the __Host- prefix prevents it)\n"},
		},
		{
			name: "duplicate __Host- cookie", args: append(keys, name+"="+tok+"; "+name+"=x; "+name+"=y"),
			wantOut: []string{"note:     the Cookie header holds 3 cookies named __Host-session: the first is used, as in the middleware. A duplicate is what a sibling subdomain or a path-scoped cookie planting one looks like (cookie tossing), which the __Host- prefix prevents in browsers: look for what else adds cookies to these requests\n", "\nvalid now\n"},
		},
		{
			name: "duplicate chunks", args: append(keys, "-max-chunks", "3", name+".0="+chunks[0]+"; "+name+".1="+chunks[1]+"; "+name+".2="+chunks[2]+"; "+name+".1=x; "+name+".0=y; "+name+".1=z"),
			wantOut: []string{"note:     the Cookie header holds 2 cookies named __Host-session.0 and 3 named __Host-session.1: the first of each is used, as in the middleware.", "\nvalid now\n"},
		},
		{
			name: "duplicate empty cookie", args: append(keys, name+"=; "+name+"="+tok),
			wantCode: 1, wantVerdict: `no session: cookie "__Host-session" is empty`,
			wantOut: []string{"note:     the Cookie header holds 2 cookies named __Host-session: the first is used"},
		},
		{name: "first of duplicate chunks empty", args: append(keys, "-max-chunks", "3", name+".1=; "+name+".0="+chunks[0]+"; "+name+".1="+chunks[1]+"; "+name+".2="+chunks[2]), wantCode: 1, wantVerdict: "token not authentic"},
		{
			name: "chunk gap", args: append(keys, name+".0="+chunks[0]+"; "+name+".2="+chunks[2]),
			wantCode: 1, wantVerdict: `"__Host-session" has .0 .2, not a complete`,
			wantOut: []string{"note:     an incomplete chunk set is usually a cookie dropped by a client or proxy over its Cookie header limit (nginx allows 8 KiB by default); the middleware deletes the chunks once a request uses the session\n"},
		},
		{name: "chunks without 0", args: append(keys, name+".1="+chunks[1]+"; "+name+".2="+chunks[2]), wantCode: 1, wantVerdict: "has .1 .2, not"},
		{name: "single chunk", args: append(keys, name+".0="+tok), wantCode: 1, wantVerdict: "has .0, not"},
		{
			name: "chunk beyond -max-chunks", args: append(keys, "-max-chunks", "2", name+".0="+chunks[0]+"; "+name+".1="+chunks[1]+"; "+name+".2="+chunks[2]),
			wantCode: 1, wantVerdict: "session too large: 3 chunk cookies, more than -max-chunks 2: too large for this configuration, so the middleware leaves them alone",
			wantOut: []string{"(3 chunks)", "\"user\": \"alice\"", "invalid: session too large: 3 chunk cookies"},
		},
		{
			name: "chunks beyond the default MaxChunks", args: append(keys, "-max-chunks", "1", name+".0="+bigChunks[0]+"; "+name+".1="+bigChunks[1]),
			wantCode: 1, wantVerdict: "session too large: 2 chunk cookies, more than -max-chunks 1",
			wantOut: []string{"(2 chunks)", strings.Repeat("x", 6000)},
		},
		{
			name: "chunks carrying more bytes than -max-chunks allow", args: append(keys, "-max-chunks", "2", name+".0="+hugeChunks[0]+"; "+name+".1="+hugeChunks[1]),
			wantCode: 1, wantVerdict: "session too large: " + strconv.Itoa(len(huge)) + " bytes in chunk cookies, more than 2 chunks carry (-max-chunks 2, -max-cookie-size 4096)",
			wantOut: []string{"(2 chunks)", strings.Repeat("y", 9000)},
		},

		// -max-cookie-size bounds one cookie, and so the token.
		{
			name: "cookie larger than -max-cookie-size", args: append(keys, "-max-cookie-size", "512", name+"="+medium),
			wantCode: 1, wantVerdict: "session too large: cookie of " + strconv.Itoa(len(name)+len(medium)) + " bytes, more than -max-cookie-size 512: too large for this configuration, so the middleware leaves it alone",
			wantOut: []string{"from cookie __Host-session\n", "\"blob\"", "invalid: session too large: cookie of"},
		},
		{name: "cookie within -max-cookie-size", args: append(keys, "-max-cookie-size", "2048", name+"="+medium), wantOut: []string{"\nvalid now\n"}},
		{
			name: "chunks carrying more bytes than -max-cookie-size allows", args: append(keys, "-max-cookie-size", "512", "-max-chunks", "2", name+".0="+mediumChunks[0]+"; "+name+".1="+mediumChunks[1]),
			wantCode: 1, wantVerdict: "session too large: " + strconv.Itoa(len(medium)) + " bytes in chunk cookies, more than 2 chunks carry (-max-chunks 2, -max-cookie-size 512)",
		},
		{name: "chunks within -max-cookie-size", args: append(keys, "-max-cookie-size", "512", "-max-chunks", "3", name+".0="+mediumChunks[0]+"; "+name+".1="+mediumChunks[1]), wantOut: []string{"\nvalid now\n"}},
		{
			name: "token longer than -max-cookie-size allows", args: append(keys, "-max-cookie-size", "512", "-max-chunks", "1", medium),
			wantCode: 1, wantVerdict: "malformed token: token exceeds the size limit",
		},
		{name: "token within -max-cookie-size and -max-chunks", args: append(keys, "-max-cookie-size", "512", "-max-chunks", "3", medium), wantOut: []string{"\nvalid now\n"}},
		// Chunk names up to .15 are chunks whatever -max-chunks is, as in
		// the middleware: a stray one spoils the set.
		{name: "chunk name above -max-chunks in a set", args: append(keys, "-max-chunks", "2", name+".0="+bigChunks[0]+"; "+name+".1="+bigChunks[1]+"; "+name+".5=x"), wantCode: 1, wantVerdict: "has .0 .1 .5, not"},
		{name: "chunk name .15", args: append(keys, "-max-chunks", "1", name+".15=x; a=1"), wantCode: 1, wantVerdict: "has .15, not"},
		{name: "name .16 is no chunk", args: append(keys, name+".16=x"), wantCode: 1, wantVerdict: `no session: no cookie named "__Host-session"`, wantOut: []string{`the Cookie header has "__Host-session.16"`}},
		{
			name: "cookie larger than any cookie", args: keys, stdin: "Cookie: " + name + "=" + big,
			wantCode: 1, wantVerdict: "malformed token: token exceeds the size limit",
			wantOut: []string{"from cookie __Host-session\n", "\"blob\""},
		},
		{name: "as many cookies as net/http reads", args: keys, stdin: strings.Repeat("a=1; ", cookiechunk.MaxPairs-1) + name + "=" + tok, wantOut: []string{"valid now"}},
		{
			name: "more cookies than net/http reads", args: keys, stdin: strings.Repeat("a=1; ", cookiechunk.MaxPairs) + name + "=" + tok,
			wantCode: 1, wantVerdict: "malformed token: the Cookie header holds more cookies than net/http reads (3000)",
		},
		{
			name: "more cookies than net/http reads, on two lines", args: keys, stdin: "Cookie: " + name + "=" + tok + "\nCookie: " + strings.Repeat("a=1; ", cookiechunk.MaxPairs-1) + "b=2",
			wantCode: 1, wantVerdict: "more cookies than net/http reads",
		},
		{name: "empty stdin", args: keys, stdin: " \n\t", wantCode: 1, wantErr: "inspect: empty input"},
		{name: "oversized stdin", args: keys, stdin: strings.Repeat("a", maxInspectInput+1), wantCode: 1, wantErr: "stdin: input larger than"},
		{name: "two lines, no header", args: keys, stdin: tok + "\n" + tok, wantCode: 1, wantErr: "several lines"},
		{name: "missing keyring file", args: []string{"-keyring", filepath.Join(dir, "nope.json"), tok}, wantCode: 1, wantErr: "inspect: -keyring " + filepath.Join(dir, "nope.json") + ": keyring file: no such file or directory"},
		{name: "bad keys flag", args: []string{"-keys", "k4.local.bad", tok}, wantCode: 1, wantErr: "inspect: -keys: keyring entry 0: wrong key length"},
		{name: "bad SESSION_KEYS", env: map[string]string{"SESSION_KEYS": "k3.local.x"}, args: []string{tok}, wantCode: 1, wantErr: "inspect: SESSION_KEYS: keyring entry 0: wrong PASERK version"},
		{name: "bad SESSION_KEYRING JSON", env: map[string]string{"SESSION_KEYRING": `{"keys":`}, args: []string{tok}, wantCode: 1, wantErr: "inspect: SESSION_KEYRING: invalid key: keyring file is not valid JSON"},
		{name: "key in SESSION_KEYRING", env: map[string]string{"SESSION_KEYRING": " " + key.UnsafeExportPASERK() + "\n"}, args: []string{tok}, wantCode: 1, wantErr: "inspect: SESSION_KEYRING looks like a key; keys go in SESSION_KEYS (its value is not shown)"},
		{name: "raw key in SESSION_KEYRING", env: map[string]string{"SESSION_KEYRING": strings.TrimPrefix(key.UnsafeExportPASERK(), "k4.local.")}, args: []string{tok}, wantCode: 1, wantErr: "inspect: SESSION_KEYRING looks like a key; keys go in SESSION_KEYS"},
		{name: "SESSION_KEYS separated by commas", env: map[string]string{"SESSION_KEYS": key.UnsafeExportPASERK() + "," + retired.UnsafeExportPASERK()}, args: []string{tok}, wantCode: 1, wantErr: "inspect: SESSION_KEYS: keyring entry 0: wrong key length (96 characters after the prefix, want 43) (keys are separated by white space, not commas)"},
		{name: "-keys separated by semicolons", args: []string{"-keys", key.UnsafeExportPASERK() + ";" + retired.UnsafeExportPASERK(), tok}, wantCode: 1, wantErr: "(keys are separated by white space, not semicolons)"},
		{name: "missing SESSION_KEYRING file", env: map[string]string{"SESSION_KEYRING": filepath.Join(dir, "gone.json")}, args: []string{tok}, wantCode: 1, wantErr: "inspect: SESSION_KEYRING: no such file or directory (SESSION_KEYRING holds keyring JSON starting with '{', or the path of a keyring file or directory; its value is not shown)"},

		// Usage errors.
		{name: "no keys", args: []string{tok}, wantCode: 2, wantErr: "inspect: no keys"},
		{name: "both key flags", args: []string{"-keyring", file, "-keys", secrets, tok}, wantCode: 2, wantErr: "give -keyring or -keys, not both"},
		{name: "both key variables", env: map[string]string{"SESSION_KEYS": secrets, "SESSION_KEYRING": file}, args: []string{tok}, wantCode: 2, wantErr: "inspect: both SESSION_KEYS and SESSION_KEYRING are set: set one (or name the keys with -keyring or -keys)"},
		{name: "two arguments", args: append(keys, "Cookie:", name+"="+tok), wantCode: 2, wantErr: "inspect: takes one token or Cookie header"},
		{name: "unknown flag", args: append(keys, "-verbose", tok), wantCode: 2, wantErr: "inspect: flag provided but not defined: -verbose"},
		{name: "bad duration", args: append(keys, "-idle", "soon", tok), wantCode: 2, wantErr: `inspect: invalid value "soon" for flag -idle`},
		{name: "idle over absolute", args: append(keys, "-idle", "2h", "-absolute", "1h", tok), wantCode: 2, wantErr: "-idle must not exceed -absolute"},
		{name: "tiny idle", args: append(keys, "-idle", "1ms", tok), wantCode: 2, wantErr: "-idle must be at least 1s"},
		{name: "tiny absolute", args: append(keys, "-idle", "1ms", "-absolute", "1ms", tok), wantCode: 2, wantErr: "must be at least 1s"},
		{name: "bad -revoked-before", args: append(keys, "-revoked-before", "yesterday", tok), wantCode: 2, wantErr: "inspect: -revoked-before: not an RFC 3339 time (for example 2026-03-01T12:00:00Z)"},
		{name: "-revoked-before in the future", args: append(keys, "-revoked-before", "2026-03-01T12:01:00Z", tok), wantCode: 2, wantErr: "inspect: -revoked-before is in the future: the library refuses such a Config.RevokedBefore"},
		{name: "bad max chunks", args: append(keys, "-max-chunks", "17", tok), wantCode: 2, wantErr: "-max-chunks must be between 1 and 16"},
		{name: "max cookie size too small", args: append(keys, "-max-cookie-size", "511", tok), wantCode: 2, wantErr: "inspect: -max-cookie-size must be between 512 and 4096"},
		{name: "max cookie size too large", args: append(keys, "-max-cookie-size", "4097", tok), wantCode: 2, wantErr: "inspect: -max-cookie-size must be between 512 and 4096"},
		{name: "max cookie size not a number", args: append(keys, "-max-cookie-size", "4k", tok), wantCode: 2, wantErr: `inspect: invalid value "4k" for flag -max-cookie-size`},
		{name: "cookie name too long for -max-cookie-size", args: append(keys, "-max-cookie-size", "512", "-cookie-name", strings.Repeat("n", 300), tok), wantCode: 2, wantErr: "inspect: -cookie-name is too long to leave room for a token in a cookie of -max-cookie-size 512 bytes"},
		{name: "empty cookie name", args: append(keys, "-cookie-name", "", tok), wantCode: 2, wantErr: "-cookie-name must not be empty"},
		{name: "invalid cookie name", args: append(keys, "-cookie-name", "a b", tok), wantCode: 2, wantErr: "inspect: invalid cookie settings"},
		{name: "cookie name too long", args: append(keys, "-cookie-name", strings.Repeat("n", 3900), tok), wantCode: 2, wantErr: "inspect: -cookie-name is too long to leave room for a token in a cookie"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := exec(t, t0.Add(tc.at), tc.env, tc.stdin, append([]string{"inspect"}, tc.args...)...)
			checkInspect(t, r, tc.wantCode, tc.wantVerdict, tc.wantErr)
			for _, want := range tc.wantOut {
				if !strings.Contains(r.stdout, want) {
					t.Errorf("stdout has no %q:\n%s", want, r.stdout)
				}
			}
			for _, bad := range tc.wantNotOut {
				if strings.Contains(r.stdout, bad) {
					t.Errorf("stdout has %q:\n%s", bad, r.stdout)
				}
			}
			if tc.wantCode == 2 && r.stdout != "" {
				t.Errorf("usage error printed %q", r.stdout)
			}
			if strings.Contains(r.stdout, "k4.local") || strings.Contains(r.stdout, tok[20:60]) {
				t.Errorf("stdout shows a key or the token:\n%s", r.stdout)
			}
			noSecrets(t, r.stdout+r.stderr, allKeys...)
		})
	}
}

// checkInspect checks a run of inspect: with wantErr, that it failed with
// exit status wantCode, printing no report on stdout and the one line of
// wantErr on stderr; without, that it printed a report on stdout and
// nothing on stderr, with exit status wantCode: 0 with the last line
// "valid now", 1 with one verdict line "invalid: …" holding wantVerdict.
func checkInspect(t *testing.T, r result, wantCode int, wantVerdict, wantErr string) {
	t.Helper()
	if wantErr != "" {
		checkResult(t, r, wantCode, wantErr)
		if r.stdout != "" {
			t.Errorf("a failure printed a report:\n%s", r.stdout)
		}
		return
	}
	if r.code != wantCode {
		t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, wantCode, r.stdout, r.stderr)
	}
	if r.stderr != "" {
		t.Errorf("a report printed on stderr: %q", r.stderr)
	}
	var verdicts []string
	for _, line := range strings.Split(r.stdout, "\n") {
		if line == "valid now" || strings.HasPrefix(line, "invalid: ") {
			verdicts = append(verdicts, line)
		}
	}
	switch {
	case len(verdicts) != 1:
		t.Errorf("%d verdict lines, want 1:\n%s", len(verdicts), r.stdout)
	case wantCode == 0 && !strings.HasSuffix(r.stdout, "\nvalid now\n"):
		t.Errorf("the last line is not \"valid now\":\n%s", r.stdout)
	case wantCode == 1 && !strings.Contains(verdicts[0], wantVerdict):
		t.Errorf("verdict %q does not contain %q:\n%s", verdicts[0], wantVerdict, r.stdout)
	}
}

// TestInspectMisplacedInput gives inspect what operators paste instead of
// a Cookie header: a key (a secret, which no output may show), a response's
// Set-Cookie lines, and the cookie of an application over plain http.
func TestInspectMisplacedInput(t *testing.T) {
	key := tokensession.GenerateKey()
	ring, _ := tokensession.NewKeyring(tokensession.KeyringEntry{Key: key})
	clock := t0
	tok, _, err := newManager(t, ring, &clock, tokensession.Config[json.RawMessage]{}).Seal(json.RawMessage(`1`))
	if err != nil {
		t.Fatal(err)
	}
	tokDev, _, err := newManager(t, ring, &clock, tokensession.Config[json.RawMessage]{UnsafeAllowHTTP: true}).Seal(json.RawMessage(`1`))
	if err != nil {
		t.Fatal(err)
	}
	big, _, err := newManager(t, ring, &clock, tokensession.Config[json.RawMessage]{MaxChunks: 4}).Seal(json.RawMessage(`"` + strings.Repeat("x", 5000) + `"`))
	if err != nil {
		t.Fatal(err)
	}
	bigChunks := split(big, 2)
	other := tokensession.GenerateKey()
	forms := secretForms(t, other)
	const looksLikeKey = "inspect: the input looks like a key, which is a secret, not a token (it is not shown): give inspect a session token (v4.local.…) or a Cookie header, and the keys with -keyring, -keys or the environment"
	// big is sealed with MaxChunks 4.
	keys := []string{"-keys", key.UnsafeExportPASERK(), "-max-chunks", "4"}

	type tc struct {
		name, arg, stdin     string
		wantCode             int
		wantVerdict, wantErr string // as for checkInspect
		wantOut              string
	}
	cases := []tc{
		{name: "key on stdin", stdin: key.UnsafeExportPASERK() + "\n", wantCode: 1, wantErr: looksLikeKey},
		{name: "keys on stdin, as in SESSION_KEYS", stdin: forms[0] + " " + key.UnsafeExportPASERK(), wantCode: 1, wantErr: looksLikeKey},
		{name: "key as the session cookie", arg: "Cookie: __Host-session=" + forms[0], wantCode: 1, wantErr: looksLikeKey},
		{name: "raw key as the session cookie, among others", arg: "theme=dark; __Host-session=" + forms[3], wantCode: 1, wantErr: looksLikeKey},
		{name: "local-wrap PASERK", arg: "k4.local-wrap.pie." + forms[1], wantCode: 1, wantErr: looksLikeKey},
		{name: "a word that is no key", arg: "hello", wantCode: 1, wantVerdict: "malformed token: not a v4.local token"},
		{name: "a long cookie value is no key", arg: "Cookie: csrf=" + forms[1] + "; __Host-session=" + tok, wantOut: "valid now"},

		{name: "Set-Cookie line", arg: "Set-Cookie: __Host-session=" + tok + "; Path=/; Max-Age=1800; HttpOnly; Secure; SameSite=Lax", wantOut: "from cookie __Host-session\n"},
		{name: "Set-Cookie lines of chunks", stdin: "set-cookie: __Host-session.0=" + bigChunks[0] + "; Path=/; Secure\r\nSet-Cookie: __Host-session.1=" + bigChunks[1] + "; Path=/; Secure\r\n", wantOut: "(2 chunks)"},
		{name: "Set-Cookie line, quoted value", arg: `Set-Cookie: __Host-session="` + tok + `"; Secure`, wantOut: "valid now"},
		{name: "Set-Cookie line without a cookie", arg: "Set-Cookie: Secure; HttpOnly", wantCode: 1, wantErr: "inspect: a Set-Cookie line holds no name=value before its first ';': paste the Cookie request header, or the whole Set-Cookie line of the response"},
		{name: "Set-Cookie line of another cookie", arg: "Set-Cookie: theme=dark; Path=/", wantCode: 1, wantVerdict: `no session: no cookie named "__Host-session" in the Cookie header`, wantOut: `note:     the Cookie header has "theme": if one of them is the session cookie, set -cookie-name` + "\n"},

		{name: "plain-http cookie", arg: "Cookie: theme=dark; session=" + tokDev, wantCode: 1, wantVerdict: `no session: no cookie named "__Host-session" in the Cookie header`, wantOut: `note:     the Cookie header has one named "session", the name the library gives the session cookie over plain http (UnsafeAllowHTTP, as in the examples): add -cookie-name session` + "\n"},
		{name: "plain-http chunks", arg: "session.0=" + bigChunks[0] + "; session.1=" + bigChunks[1], wantCode: 1, wantVerdict: "no session", wantOut: "add -cookie-name session\n"},
		{name: "plain-http Set-Cookie", arg: "Set-Cookie: session=" + tokDev + "; Path=/; HttpOnly", wantCode: 1, wantVerdict: "no session", wantOut: "add -cookie-name session\n"},

		// Pasted from curl: curl -v's request and response headers, and
		// the options of a command (Copy as cURL).
		{name: "curl -v request header", arg: "> Cookie: __Host-session=" + tok + "; theme=dark", wantOut: "from cookie __Host-session\n"},
		{name: "curl -v response header", arg: "< set-cookie: __Host-session=" + tok + "; Path=/; Secure", wantOut: "from cookie __Host-session\n"},
		{name: "-H in single quotes", arg: "-H 'Cookie: __Host-session=" + tok + "'", wantOut: "from cookie __Host-session\n"},
		{name: "-H in double quotes", arg: `-H "cookie: theme=dark; __Host-session=` + tok + `"`, wantOut: "from cookie __Host-session\n"},
		{name: "--header, continued", arg: "  --header 'Cookie: __Host-session=" + tok + "' \\", wantOut: "from cookie __Host-session\n"},
		{name: "--header=", arg: "--header='Cookie: __Host-session=" + tok + "'", wantCode: 1, wantErr: "inspect: curl has no --header=VALUE form (it stops at an unknown option): write --header 'VALUE'"},
		{name: "-H, value attached", arg: "-H'Cookie: __Host-session=" + tok + "'", wantOut: "from cookie __Host-session\n"},
		{name: "-H, value attached, in a command", stdin: "curl -s \\\n  -H'Cookie: __Host-session=" + tok + "' \\\n  --cookie-jar jar.txt --header X-A:b=c\n", wantOut: "from cookie __Host-session\n"},
		{name: "-b", arg: "-b '__Host-session=" + tok + "; theme=dark'", wantOut: "from cookie __Host-session\n"},
		{name: "--cookie, ANSI-C quoted", arg: "--cookie $'theme=dark; __Host-session=" + tok + "'", wantOut: "from cookie __Host-session\n"},
		{
			name:    "curl -v output",
			stdin:   "*   Trying 127.0.0.1:443...\n* subject: CN=example.com\n> GET /account?tab=1 HTTP/2\n> Host: example.com\n> user-agent: curl/8.5.0\n> cookie: __Host-session=" + tok + "; theme=dark\n>\n< HTTP/2 200\n< content-type: text/html\n<\n<p>a=b</p>\n",
			wantOut: "from cookie __Host-session\n",
		},
		{
			name:    "Copy as cURL, chunks",
			stdin:   "curl 'https://example.com/account?tab=1' \\\n  -H 'accept: text/html' \\\n  -H 'cookie: theme=dark; __Host-session.0=" + bigChunks[0] + "' \\\n  -H 'Cookie: __Host-session.1=" + bigChunks[1] + "' \\\n  -H 'user-agent: Mozilla/5.0 (a=b)' \\\n  --data-raw 'x=1'\n",
			wantOut: "(2 chunks)",
		},
		{name: "curl command on one line", arg: "curl -s -H 'Accept: */*' -b '__Host-session=" + tok + "' https://example.com/?a=b", wantOut: "from cookie __Host-session\n"},
		{name: "curl command with a cookie jar", arg: "curl -b jar.txt -H 'X-A: b=c' https://example.com/", wantCode: 1, wantErr: "inspect: curl's -b names a cookie file, whose cookies curl sends and inspect cannot see"},
		{name: "key in a curl header", arg: "-H 'Cookie: __Host-session=" + forms[0] + "'", wantCode: 1, wantErr: looksLikeKey},
	}
	// A raw key's base64url may start with "-", like a flag.
	dashKey := "-" + strings.Repeat("A", 42)
	cases = append(cases, tc{name: "key form starting with -", arg: dashKey, wantCode: 1, wantErr: looksLikeKey})
	for i, f := range forms {
		cases = append(cases,
			tc{name: "key form " + strconv.Itoa(i), arg: f, wantCode: 1, wantErr: looksLikeKey},
			tc{name: "key form " + strconv.Itoa(i) + " on stdin with Cookie:", stdin: "Cookie: " + f + "\n", wantCode: 1, wantErr: looksLikeKey},
		)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"inspect"}, keys...)
			if c.arg != "" {
				args = append(args, c.arg)
			}
			r := exec(t, t0, nil, c.stdin, args...)
			checkInspect(t, r, c.wantCode, c.wantVerdict, c.wantErr)
			if !strings.Contains(r.stdout, c.wantOut) {
				t.Errorf("stdout has no %q:\n%s", c.wantOut, r.stdout)
			}
			if f, leaked := leaks(r.stdout+r.stderr, forms); leaked {
				t.Errorf("output shows (part of) %q:\n%s%s", f, r.stdout, r.stderr)
			}
			noSecrets(t, r.stdout+r.stderr, key, other)
		})
	}
	// The plain-http cookie, named: valid.
	r := exec(t, t0, nil, "", append(append([]string{"inspect"}, keys...), "-cookie-name", "session", "Cookie: theme=dark; session="+tokDev)...)
	checkResult(t, r, 0, "")
}

// TestInspectKeySources reads inspect's keys from every source form the
// library's EnvKeySource and FileKeySource read, and checks that the
// environment follows their rule: precedence, a variable set but empty,
// two variables set, a directory of credentials.
func TestInspectKeySources(t *testing.T) {
	key, other := tokensession.GenerateKey(), tokensession.GenerateKey()
	ring, _ := tokensession.NewKeyring(tokensession.KeyringEntry{Key: key})
	clock := t0
	tok, _, err := newManager(t, ring, &clock, tokensession.Config[json.RawMessage]{}).Seal(json.RawMessage(`1`))
	if err != nil {
		t.Fatal(err)
	}
	dir := tmpDir(t)
	write := func(path, data string) string {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	ringJSON := mustJSON(t, ring)
	keysFile := write(filepath.Join(dir, "keys.txt"), "\n"+key.UnsafeExportPASERK()+"\n")
	otherFile := write(filepath.Join(dir, "other.txt"), other.UnsafeExportPASERK())
	credRing := filepath.Dir(write(filepath.Join(dir, "cred-ring", "session-keyring"), ringJSON))
	credKeys := filepath.Dir(write(filepath.Join(dir, "cred-keys", "session-keys"), key.UnsafeExportPASERK()))
	credOther := filepath.Dir(write(filepath.Join(dir, "cred-other", "session-keys"), other.UnsafeExportPASERK()))
	credBoth := filepath.Dir(write(filepath.Join(dir, "cred-both", "session-keys"), key.UnsafeExportPASERK()))
	write(filepath.Join(credBoth, "session-keyring"), ringJSON)
	credNone := filepath.Join(dir, "cred-none")
	if err := os.Mkdir(credNone, 0o700); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name     string
		env      map[string]string
		args     []string // before the token
		wantCode int
		wantErr  string
	}{
		{name: "-keyring file of keys", args: []string{"-keyring", keysFile}},
		{name: "-keyring directory with session-keyring", args: []string{"-keyring", credRing}},
		{name: "-keyring directory with session-keys", args: []string{"-keyring", credKeys}},
		{name: "SESSION_KEYRING file of keys", env: map[string]string{"SESSION_KEYRING": keysFile}},
		{name: "SESSION_KEYRING directory", env: map[string]string{"SESSION_KEYRING": credRing}},
		{name: "SESSION_KEYRING JSON after white space", env: map[string]string{"SESSION_KEYRING": "\n  " + ringJSON}},
		{name: "CREDENTIALS_DIRECTORY session-keyring", env: map[string]string{"CREDENTIALS_DIRECTORY": credRing}},
		{name: "CREDENTIALS_DIRECTORY session-keys", env: map[string]string{"CREDENTIALS_DIRECTORY": credKeys}},
		{name: "SESSION_KEYS before CREDENTIALS_DIRECTORY", env: map[string]string{"SESSION_KEYS": key.UnsafeExportPASERK(), "CREDENTIALS_DIRECTORY": credOther}},
		{name: "SESSION_KEYRING before CREDENTIALS_DIRECTORY", env: map[string]string{"SESSION_KEYRING": keysFile, "CREDENTIALS_DIRECTORY": credOther}},
		{name: "flag before the environment", env: map[string]string{"SESSION_KEYRING": otherFile}, args: []string{"-keyring", credKeys}},

		{name: "SESSION_KEYS white space", env: map[string]string{"SESSION_KEYS": " \n\t"}, wantCode: 2, wantErr: "inspect: SESSION_KEYS is set but empty (or name the keys with -keyring or -keys)"},
		{name: "SESSION_KEYRING empty", env: map[string]string{"SESSION_KEYRING": ""}, wantCode: 2, wantErr: "inspect: SESSION_KEYRING is set but empty"},
		{name: "SESSION_KEYRING empty, CREDENTIALS_DIRECTORY set", env: map[string]string{"SESSION_KEYRING": "", "CREDENTIALS_DIRECTORY": credKeys}, wantCode: 2, wantErr: "inspect: SESSION_KEYRING is set but empty"},
		{name: "both set, one empty", env: map[string]string{"SESSION_KEYS": "", "SESSION_KEYRING": keysFile}, wantCode: 2, wantErr: "inspect: both SESSION_KEYS and SESSION_KEYRING are set: set one"},
		{name: "CREDENTIALS_DIRECTORY empty", env: map[string]string{"CREDENTIALS_DIRECTORY": " "}, wantCode: 2, wantErr: "inspect: CREDENTIALS_DIRECTORY is set but empty"},
		{name: "CREDENTIALS_DIRECTORY missing", env: map[string]string{"CREDENTIALS_DIRECTORY": filepath.Join(dir, "gone")}, wantCode: 2, wantErr: "inspect: CREDENTIALS_DIRECTORY does not exist (its value is not shown; or name the keys with -keyring or -keys)"},
		{name: "CREDENTIALS_DIRECTORY without keys", env: map[string]string{"CREDENTIALS_DIRECTORY": credNone}, wantCode: 2, wantErr: "inspect: CREDENTIALS_DIRECTORY: holds neither session-keyring nor session-keys"},
		{name: "CREDENTIALS_DIRECTORY with both files", env: map[string]string{"CREDENTIALS_DIRECTORY": credBoth}, wantCode: 1, wantErr: "inspect: CREDENTIALS_DIRECTORY: directory holds both session-keyring and session-keys: keep one"},
		{name: "-keyring directory without keys", args: []string{"-keyring", credNone}, wantCode: 1, wantErr: "inspect: -keyring " + credNone + ": keyring file: directory holds neither session-keyring nor session-keys"},
		{name: "-keyring empty", env: map[string]string{"SESSION_KEYRING": keysFile}, args: []string{"-keyring", ""}, wantCode: 2, wantErr: "inspect: -keyring is empty"},
		{name: "-keys white space", env: map[string]string{"SESSION_KEYRING": keysFile}, args: []string{"-keys", " "}, wantCode: 2, wantErr: "inspect: -keys is empty"},
		{name: "no source", env: map[string]string{"OTHER": "x"}, wantCode: 2, wantErr: "inspect: no keys: give -keyring or -keys, or set SESSION_KEYS, SESSION_KEYRING or CREDENTIALS_DIRECTORY"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := exec(t, t0, tc.env, "", append(append([]string{"inspect"}, tc.args...), tok)...)
			checkResult(t, r, tc.wantCode, tc.wantErr)
			if tc.wantCode == 0 && !strings.HasSuffix(r.stdout, "\nvalid now\n") {
				t.Errorf("stdout:\n%s", r.stdout)
			}
			noSecrets(t, r.stdout+r.stderr, key, other)
		})
	}
}

// TestInspectWarnsOnMode checks that inspect, like the keyring commands,
// warns when the keyring file it reads is readable by others, naming the
// file as the user gave it.
func TestInspectWarnsOnMode(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permission bits")
	}
	key := tokensession.GenerateKey()
	ring, _ := tokensession.NewKeyring(tokensession.KeyringEntry{Key: key})
	clock := t0
	tok, _, err := newManager(t, ring, &clock, tokensession.Config[json.RawMessage]{}).Seal(json.RawMessage(`1`))
	if err != nil {
		t.Fatal(err)
	}
	file := writeRing(t, tmpDir(t), tokensession.KeyringEntry{Key: key})
	if err := os.Chmod(file, 0o644); err != nil {
		t.Fatal(err)
	}
	r := exec(t, t0, nil, tok, "inspect", "-keyring", file)
	checkResult(t, r, 0, "")
	if !strings.Contains(r.stderr, "warning: "+file+" is readable by every user") {
		t.Errorf("-keyring: stderr %q has no warning naming the file", r.stderr)
	}
	r = exec(t, t0, map[string]string{"SESSION_KEYRING": file}, tok, "inspect")
	checkResult(t, r, 0, "")
	if !strings.Contains(r.stderr, "warning: SESSION_KEYRING is readable by every user") || strings.Contains(r.stderr, file) {
		t.Errorf("SESSION_KEYRING: stderr %q does not warn, or names the path", r.stderr)
	}
}

// TestInspectNoSealingKey inspects with a keyring none of whose keys can
// seal now, which tokensession.New alone refuses.
func TestInspectNoSealingKey(t *testing.T) {
	staged, old := tokensession.GenerateKey(), tokensession.GenerateKey()
	clock := t0
	oldRing, _ := tokensession.NewKeyring(tokensession.KeyringEntry{Key: old})
	tok, _, err := newManager(t, oldRing, &clock, tokensession.Config[json.RawMessage]{}).Seal(json.RawMessage(`1`))
	if err != nil {
		t.Fatal(err)
	}
	file := writeRing(t, tmpDir(t),
		tokensession.KeyringEntry{Key: staged, NotBefore: t0.Add(time.Hour)},
		tokensession.KeyringEntry{Key: old, NotAfter: t0.Add(time.Minute)},
	)
	r := exec(t, t0.Add(2*time.Minute), nil, tok, "inspect", "-keyring", file)
	checkInspect(t, r, 1, "key retired", "")
	if !strings.Contains(r.stdout, "position 1, retired") || !strings.Contains(r.stdout, "data:\n  1\n") {
		t.Errorf("stdout:\n%s", r.stdout)
	}
	// Within the leeway the retired key still opens.
	r = exec(t, t0.Add(time.Minute+10*time.Second), nil, tok, "inspect", "-keyring", file)
	checkResult(t, r, 0, "")
}

func mustJSON(t *testing.T, ring *tokensession.Keyring) string {
	t.Helper()
	b, err := ring.UnsafeMarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestPrintable(t *testing.T) {
	for in, want := range map[string]string{
		"plain text\n":        "plain text\n",
		"é ✓":                 "é ✓",
		"\x1b[31m":            `\u001b[31m`,
		"\u009b":              `\u009b`,
		"\xff":                `\xff`,
		"tab\there":           `tab\u0009here`,
		"\U000e0001 tag":      `\U000e0001 tag`,
		"\u202eright-to-left": `\u202eright-to-left`,
	} {
		if got := printable(in); got != want {
			t.Errorf("printable(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestInspectForeignClaims inspects an authentic token whose claims this
// package would never write, as another implementation might.
func TestInspectForeignClaims(t *testing.T) {
	key := fuzzKey(t)
	raw := make([]byte, tokensession.KeySize)
	for i := range raw {
		raw[i] = byte(i)
	}
	sk, err := paseto.V4SymmetricKeyFromBytes(raw)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := paseto.NewTokenFromClaimsJSON(
		[]byte("{\"exp\":5,\"iat\":\"yesterday\",\"sid\":7,\"zz\":\"\\u001b\",\"aa\":[1]}"),
		[]byte(`{"kid":"`+key.ID()+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	r := exec(t, t0, nil, tok.V4Encrypt(sk, format.Implicit(tokensession.DefaultCookieName)), "inspect", "-keys", key.UnsafeExportPASERK())
	checkInspect(t, r, 1, "malformed token: claims are missing or have the wrong type", "")
	for _, want := range []string{
		"exp:      5 (not a string)\n",
		"iat:      yesterday (not an RFC 3339 time)\n",
		"created:  (missing)\n",
		"sid:      7 (not a string)\n",
		"data:     (missing)\n",
		"other:    aa = [1]\nother:    zz = \"\\u001b\"\n",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout has no %q:\n%s", want, r.stdout)
		}
	}
}

// TestInspectForgedLines inspects an authentic token whose claims hold
// line breaks and other control characters: none of them may start a line
// of inspect's output, so no token can print a fake verdict.
func TestInspectForgedLines(t *testing.T) {
	key := fuzzKey(t)
	raw := make([]byte, tokensession.KeySize)
	for i := range raw {
		raw[i] = byte(i)
	}
	sk, err := paseto.V4SymmetricKeyFromBytes(raw)
	if err != nil {
		t.Fatal(err)
	}
	claims := `{"exp":"2026-03-01T12:30:00Z","iat":"2026-03-01T12:00:00Z\nvalid now","created":"2026-03-01T12:00:00Z",` +
		`"sid":"abc\nvalid now","data":{"k\nvalid now":"v\nvalid now"},` +
		`"x\nvalid now":"\u2028valid now","\r\u001b[2K":"","y":[1,` + "\n" + `"valid now"]}`
	tok, err := paseto.NewTokenFromClaimsJSON([]byte(claims), []byte(`{"kid":"`+key.ID()+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	sealed := tok.V4Encrypt(sk, format.Implicit(tokensession.DefaultCookieName))
	r := exec(t, t0, nil, sealed, "inspect", "-keys", key.UnsafeExportPASERK())
	checkInspect(t, r, 1, "", "")
	for _, line := range strings.Split(r.stdout, "\n") {
		if strings.TrimSpace(line) == "valid now" || strings.Contains(line, "\r") || strings.Contains(line, "\x1b") || strings.Contains(line, "\u2028") {
			t.Errorf("forged or raw line %q in:\n%s", line, r.stdout)
		}
	}
	for _, want := range []string{
		`sid:      abc\u000avalid now` + "\n",
		`other:    \u000d\u001b[2K = ""` + "\n",
		`iat:      2026-03-01T12:00:00Z\u000avalid now (not an RFC 3339 time)` + "\n",
		`other:    x\u000avalid now = "\u2028valid now"` + "\n",
		`other:    y = [1,"valid now"]` + "\n",
		`"k\nvalid now": "v\nvalid now"`,
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout has no %q:\n%s", want, r.stdout)
		}
	}
}

func TestPrintableLine(t *testing.T) {
	for in, want := range map[string]string{
		"plain":        "plain",
		"two\nlines":   `two\u000alines`,
		"cr\r":         `cr\u000d`,
		`back\slash`:   `back\\slash`,
		"\x1b[31m\xff": `\u001b[31m\xff`,
		"\u2028sep":    `\u2028sep`,
		"é ✓":          "é ✓",
	} {
		if got := printableLine(in); got != want {
			t.Errorf("printableLine(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestInspectUsage checks what inspect's usage promises about its
// defaults and its verdicts, white space aside.
func TestInspectUsage(t *testing.T) {
	r := exec(t, t0, nil, "", "inspect", "-h")
	checkResult(t, r, 0, "")
	usage := strings.Join(strings.Fields(r.stdout), " ")
	for _, want := range []string{
		"-max-chunks N the application's Config.MaxChunks",
		"(1 to 16; default 1, the library default; give your Config.MaxChunks)",
		"The report, verdict included, goes to stdout; stderr has only warnings, usage errors and failures to run",
		"-revoked-before TIME the application's Config.RevokedBefore",
		"Config.IsRevoked is not applied",
		`after "invalid: unknown key ID" hint lines give the likely causes`,
		`"> " and "< " before a header (curl -v) are taken off, and of a curl command (Copy as cURL), whole, in lines or as arguments, the -H and --header options give headers and -b and --cookie cookies`,
		"A cookie of more than -max-cookie-size bytes but at most 4096, or a set of more chunks than -max-chunks, or of more bytes than that many cookies of -max-cookie-size carry, is \"session too large ... too large for this configuration\": an instance configured for larger sessions may have written it, so the middleware leaves it alone",
		"A cookie of more than 4096 bytes, or a set of more bytes than 16 cookies of 4096 carry, is \"malformed token: token exceeds the size limit\": no configuration writes it, so the middleware deletes it once a request uses the session.",
	} {
		if !strings.Contains(usage, want) {
			t.Errorf("usage does not say %q:\n%s", want, r.stdout)
		}
	}
}

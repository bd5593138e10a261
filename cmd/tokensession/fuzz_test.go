package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tokensession/tokensession"
	"github.com/tokensession/tokensession/internal/cookiechunk"
	"github.com/tokensession/tokensession/internal/format"
)

// fuzzKey is a fixed key, so that the seed corpus can hold tokens it opens
// (testdata/fuzz/FuzzInspectInput). Its bytes are 0, 1, …, 31.
func fuzzKey(tb testing.TB) tokensession.Key {
	b := make([]byte, tokensession.KeySize)
	for i := range b {
		b[i] = byte(i)
	}
	k, err := tokensession.NewKeyFromBytes(b)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// FuzzInspectInput feeds inspect's input parsing, and the whole inspect
// command, arbitrary input: a bare token, a Cookie header, chunks, or
// anything else. Nothing may panic, the parsed token must come from the
// input, no output may show the key, and input that is one Cookie header
// has a session for inspect exactly when it has one for the middleware.
func FuzzInspectInput(f *testing.F) {
	key := fuzzKey(f)
	ring, err := tokensession.NewKeyring(tokensession.KeyringEntry{Key: key})
	if err != nil {
		f.Fatal(err)
	}
	m, err := tokensession.New(tokensession.Config[json.RawMessage]{Keyring: ring, Now: func() time.Time { return t0 }})
	if err != nil {
		f.Fatal(err)
	}
	tok, _, err := m.Seal(json.RawMessage(`{"user":"alice"}`))
	if err != nil {
		f.Fatal(err)
	}
	half := len(tok) / 2
	secret := key.UnsafeExportPASERK()
	f.Add(tok)
	f.Add("Cookie: __Host-session=" + tok)
	f.Add("__Host-session.0=" + tok[:half] + "; __Host-session.1=" + tok[half:])
	f.Add("__Host-session.1=" + tok[half:] + "\ncookie: __Host-session.0=\"" + tok[:half] + "\"")
	// One cookie more than net/http reads: no session.
	f.Add(strings.Repeat("a=1; ", cookiechunk.MaxPairs) + "__Host-session=" + tok)
	// A response's cookie, and a key pasted where the token belongs.
	f.Add("Set-Cookie: __Host-session=" + tok + "; Path=/; Secure; HttpOnly")
	f.Add("a=1; __Host-session=" + secret[len("k4.local."):])

	// A set of chunks more than the default MaxChunks allows.
	f.Add("__Host-session.0=" + tok[:half] + "; __Host-session.1=" + tok[half:] + "; __Host-session.15=x")
	// Empty cookies, as a client that ignores Max-Age keeps those the
	// middleware expired.
	f.Add("__Host-session.0=" + tok[:half] + "; __Host-session.1=" + tok[half:] + "; __Host-session.2=")
	f.Add("__Host-session=; __Host-session.0=" + tok + "; __Host-session.1=")
	// Duplicates, as cookie tossing leaves them.
	f.Add("__Host-session=garbage; __Host-session=" + tok + "; __Host-session.0=; __Host-session.0=x")
	// Pasted from curl: -v output, and Copy as cURL.
	f.Add("> Cookie: __Host-session=" + tok + "; theme=dark")
	f.Add("< set-cookie: __Host-session=" + tok + "; Path=/; Secure")
	f.Add("-H 'Cookie: __Host-session=" + tok + "'")
	f.Add(`--header "cookie: __Host-session=` + tok + `"`)
	f.Add("* Trying 127.0.0.1:443...\n> GET /?a=b HTTP/2\n> cookie: __Host-session=" + tok + "\n>\n< HTTP/2 200\n")
	f.Add("curl 'https://example.com/?a=b' \\\n  -H 'accept: */*' \\\n  -b $'__Host-session.0=" + tok[:half] + "; __Host-session.1=" + tok[half:] + "' \\\n  --data-raw 'x=1'")
	f.Add(`curl -H "Cookie: a=\"b\"" -b 'x'\''y=1' --cookie=jar.txt -H'X: "`)
	// Several Cookie lines, empty ones among them, over net/http's
	// limit; curl's forms of them, and of -b.
	f.Add("Cookie: " + strings.Repeat("a=1; ", cookiechunk.MaxPairs-2) + "__Host-session=" + tok + "\nCookie:\nCookie: \n")
	f.Add("Cookie:\ncookie: __Host-session.0=" + tok[:half] + "\nCOOKIE: __Host-session.1=" + tok[half:] + "\n")
	f.Add("> GET / HTTP/1.1\n> Cookie:\n> Cookie: __Host-session=" + tok + "\n>\n< HTTP/1.1 200 OK\n< Set-Cookie: __Host-session=; Max-Age=0\n")
	f.Add("curl -sSH 'Cookie;' -kb '__Host-session=garbage' -H $'Cookie: a=1\\x3b __Host-session=\\u0076" + tok[1:] + "' https://x/ # -b 'b=2'\n")
	f.Add("curl -b 'a=1' --cookie '__Host-session=" + tok + "' -H 'Cookie:' \\\n  --data-raw 'x\n-H Cookie: y=1' https://x/")
	f.Add("Set-Cookie: __Host-session=garbage\nSet-Cookie: __Host-session.1=; Max-Age=0\nSet-Cookie: __Host-session=" + tok + "; Expires=Thu, 01 Jan 1970 00:00:00 GMT\n")

	const name = tokensession.DefaultCookieName
	// v judges tokens as m does.
	v := verifier{
		ring:     ring,
		implicit: format.Implicit(name),
		limits:   format.Limits{Idle: tokensession.DefaultIdleTimeout, Absolute: tokensession.DefaultAbsoluteTimeout, Leeway: tokensession.DefaultLeeway},
		maxToken: maxTokenSize(name, 1, cookieSize),
	}
	f.Fuzz(func(t *testing.T, tainted string) {
		if isCookieHeader(tainted) {
			checkHeaderParity(t, m, &v, tainted, []string{tainted})
		}
		if lines, ok := cookieHeaderLines(tainted); ok {
			checkHeaderParity(t, m, &v, tainted, lines)
		}
		in, err := parseInspectInput(tainted, name, cookiechunk.Max, cookieSize)
		if err == nil && in.token == "" && in.refused == nil {
			t.Fatal("no token, and no verdict")
		}
		if err == nil && in.token != "" {
			// inspect's verdict is Manager.Open's, in the same words.
			want := "valid now"
			if _, _, err := m.Open(in.token); err != nil {
				want = libMessage(err)
			}
			got := "valid now"
			if o := v.open(in.token, t0); o.verdict != nil {
				got = o.verdict.Error()
			}
			if got != want {
				t.Fatalf("inspect says %q, Manager.Open %q", got, want)
			}
			switch {
			case len(in.token) > len(tainted):
				t.Fatalf("token of %d bytes from %d bytes of input", len(in.token), len(tainted))
			case in.cookie == "" && in.set != 0, in.set == 1, in.chunks > in.set, in.set > cookiechunk.Max, in.set > 0 && in.chunks == 0:
				t.Fatalf("bad source: %+v", in)
			case in.cookie == "" && strings.TrimSpace(in.token) != in.token:
				t.Fatalf("bare token %q not trimmed", in.token)
			case strings.ContainsRune(in.token, ';'):
				t.Fatalf("token %q holds a cookie separator", in.token)
			case looksLikeKey(in.token):
				t.Fatal("key material accepted as a token")
			}
			if _, footer, err := format.Split(in.token); err == nil {
				if kid, err := format.FooterKeyID(footer); err == nil && safeID(kid) != kid {
					t.Fatalf("footer key ID %q accepted", kid)
				}
			}
		}

		var stdout, stderr bytes.Buffer
		code := runEnv([]string{"inspect", "-keys", secret}, strings.NewReader(tainted), &stdout, &stderr,
			func() time.Time { return t0 }, func(string) (string, bool) { return "", false })
		if code != 0 && code != 1 {
			t.Fatalf("exit %d: %s", code, stderr.String())
		}
		// Exit status 1 comes with a report ending in a verdict on
		// stdout, or with one line on stderr (input that is not a token,
		// or looks like a key), never both.
		if code == 1 && stderr.Len() == 0 && strings.Count("\n"+stdout.String(), "\ninvalid: ") != 1 {
			t.Fatalf("no verdict line:\n%s", stdout.String())
		}
		if code == 1 && stderr.Len() > 0 && (stdout.Len() > 0 || !strings.HasPrefix(stderr.String(), "tokensession: ") || strings.Count(stderr.String(), "\n") != 1) {
			t.Fatalf("stderr is not one line, or comes with a report: %q\n%s", stderr.String(), stdout.String())
		}
		if code == 0 && stderr.Len() > 0 {
			t.Fatalf("stderr %q", stderr.String())
		}
		// Only the verdict prints "valid now", as the last line, with exit
		// status 0: nothing in the input can forge it.
		if n := strings.Count("\n"+stdout.String(), "\nvalid now\n"); n > 1 || (n == 1 && (code != 0 || !strings.HasSuffix(stdout.String(), "\nvalid now\n"))) {
			t.Fatalf("forged verdict (exit %d):\n%s", code, stdout.String())
		}
		if out := stdout.String() + stderr.String(); strings.Contains(out, secret[len("k4.local."):]) {
			t.Fatal("output shows the key")
		}
	})
}

// isCookieHeader reports whether inspect reads tainted as the value of
// one Cookie header: one line of name=value pairs, within inspect's
// bound, without a "Cookie:" or "Set-Cookie:" prefix, and not pasted
// from curl.
func isCookieHeader(tainted string) bool {
	line := strings.TrimSpace(tainted)
	return len(tainted) <= maxInspectInput && !strings.Contains(tainted, "\n") && strings.Contains(tainted, "=") &&
		!hasPrefixFold(line, "cookie:") && !hasPrefixFold(line, "set-cookie:") &&
		!curlVerbose(line, '>') && !curlVerbose(line, '<') && !isCurlCommand(tainted)
}

// cookieHeaderLines returns the values of tainted's lines if each of them
// is a Cookie header line ("Cookie: …"), blank ones aside, and inspect
// reads them as such: the values that net/http presents as
// Request.Header["Cookie"] for a request with these lines.
func cookieHeaderLines(tainted string) ([]string, bool) {
	if len(tainted) > maxInspectInput {
		return nil, false
	}
	var lines []string
	for line := range strings.Lines(tainted) {
		switch line = strings.TrimSpace(line); {
		case line == "":
		case hasPrefixFold(line, "cookie:"):
			lines = append(lines, strings.Trim(line[len("cookie:"):], " \t\r\n"))
		default:
			return nil, false
		}
	}
	// One line without '=' or ';' is a bare token to inspect.
	bare := len(lines) == 1 && !strings.ContainsAny(lines[0], "=;")
	return lines, len(lines) > 0 && !bare && !isCurlCommand(tainted)
}

// checkHeaderParity checks that inspect, configured as m with its
// verifier v, finds a session in tainted, the Cookie header lines,
// exactly when m's middleware does, and calls it too large exactly when m
// does. Input that looks like a key is refused by inspect whatever the
// header holds, and left out.
func checkHeaderParity(t *testing.T, m *tokensession.Manager[json.RawMessage], v *verifier, tainted string, lines []string) {
	r := httptest.NewRequest("GET", "/", nil)
	r.Header["Cookie"] = lines
	_, _, loadErr := m.Load(r)
	in, err := parseInspectInput(tainted, tokensession.DefaultCookieName, 1, cookieSize)
	if err != nil && strings.Contains(err.Error(), "looks like a key") {
		return
	}
	var why error = err
	if why == nil {
		why = in.refused
	}
	if why == nil {
		why = v.open(in.token, t0).verdict
	}
	if (why == nil) != (loadErr == nil) {
		t.Fatalf("inspect: %v; the middleware: %v", why, loadErr)
	}
	var vd *verdict
	inspectTooLarge := errors.As(why, &vd) && vd.class == tokensession.ErrTooLarge
	if inspectTooLarge != errors.Is(loadErr, tokensession.ErrTooLarge) {
		t.Fatalf("inspect: %v; the middleware: %v", why, loadErr)
	}
}

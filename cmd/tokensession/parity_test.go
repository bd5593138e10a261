package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tokensession/tokensession"
	"github.com/tokensession/tokensession/internal/cookiechunk"
)

// A parityConfig is a manager's cookie settings and the inspect flags that
// describe them.
type parityConfig struct {
	name string
	cfg  tokensession.Config[json.RawMessage]
	args []string
}

// parityConfigs are the settings the parity tests write and read cookies
// with. The default one passes no flags, so that inspect's defaults are
// checked to be the library's.
var parityConfigs = []parityConfig{
	{"default", tokensession.Config[json.RawMessage]{}, nil},
	{"MaxChunks 4", tokensession.Config[json.RawMessage]{MaxChunks: 4}, []string{"-max-chunks", "4", "-max-cookie-size", "4096"}},
	{"MaxCookieSize 512, MaxChunks 16", tokensession.Config[json.RawMessage]{MaxCookieSize: 512, MaxChunks: 16}, []string{"-max-chunks", "16", "-max-cookie-size", "512"}},
	{"MaxCookieSize 1024, MaxChunks 3", tokensession.Config[json.RawMessage]{MaxCookieSize: 1024, MaxChunks: 3}, []string{"-max-chunks", "3", "-max-cookie-size", "1024"}},
	{"MaxCookieSize 600", tokensession.Config[json.RawMessage]{MaxCookieSize: 600}, []string{"-max-chunks", "1", "-max-cookie-size", "600"}},
}

// A cookiePair is one cookie of a Cookie header.
type cookiePair struct{ name, value string }

func cookieHeader(pairs []cookiePair) string {
	parts := make([]string, len(pairs))
	for i, p := range pairs {
		parts[i] = p.name + "=" + p.value
	}
	return strings.Join(parts, "; ")
}

// chunkPairs names parts as the chunks of the cookie name, from .0.
func chunkPairs(name string, parts ...string) []cookiePair {
	pairs := make([]cookiePair, len(parts))
	for i, p := range parts {
		pairs[i] = cookiePair{name + "." + strconv.Itoa(i), p}
	}
	return pairs
}

// written returns the cookies the middleware of m sets for a new session
// holding value, as a browser sends them back, or nil if the session does
// not fit m's settings.
func written(t *testing.T, m *tokensession.Manager[json.RawMessage], value json.RawMessage) []cookiePair {
	t.Helper()
	var saveErr error
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := m.FromContext(r.Context())
		s.Set(value)
		saveErr = s.Save()
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if errors.Is(saveErr, tokensession.ErrTooLarge) {
		return nil
	} else if saveErr != nil {
		t.Fatal(saveErr)
	}
	var pairs []cookiePair
	for _, c := range rec.Result().Cookies() {
		pairs = append(pairs, cookiePair{c.Name, c.Value})
	}
	if len(pairs) == 0 {
		t.Fatal("no cookie written")
	}
	return pairs
}

// cookieShapes returns Cookie headers made of a session's cookies as the
// middleware wrote them (the cookie name, or its chunks), and of other
// tokens: reordered, quoted, re-split, with empty chunks, gaps, duplicates,
// a lone .0, the cookie name along with chunks, and so on.
func cookieShapes(name string, pairs []cookiePair, otherTok string) map[string]string {
	var tok string
	for _, p := range pairs {
		tok += p.value
	}
	half := split(tok, 2)
	otherHalf := split(otherTok, 2)
	plain := cookiePair{name, tok}
	shapes := map[string][]cookiePair{
		"as written":                    pairs,
		"as one cookie":                 {plain},
		"quoted":                        {{name, `"` + tok + `"`}},
		"among other cookies":           append(append([]cookiePair{{"a", "1"}}, pairs...), cookiePair{"b", "2"}),
		"in two chunks":                 chunkPairs(name, half...),
		"in three chunks":               chunkPairs(name, split(tok, 3)...),
		"in sixteen chunks":             chunkPairs(name, split(tok, 16)...),
		"whole in .0, empty .1":         chunkPairs(name, tok, ""),
		"empty .0, whole in .1":         chunkPairs(name, "", tok),
		"empty trailing chunk":          chunkPairs(name, half[0], half[1], ""),
		"two empty trailing":            chunkPairs(name, half[0], half[1], "", ""),
		"empty middle chunk":            chunkPairs(name, half[0], "", half[1]),
		"quoted empty chunk":            chunkPairs(name, half[0], half[1], `""`),
		"all chunks empty":              chunkPairs(name, "", ""),
		"lone empty .0":                 chunkPairs(name, ""),
		"lone .0":                       chunkPairs(name, tok),
		"gap":                           {{name + ".0", half[0]}, {name + ".2", half[1]}},
		"gap after empty":               {{name + ".0", half[0]}, {name + ".1", half[1]}, {name + ".3", ""}},
		"no .0":                         {{name + ".1", half[0]}, {name + ".2", half[1]}},
		"stray .15":                     append(chunkPairs(name, half...), cookiePair{name + ".15", "x"}),
		"empty .15 after a set":         append(chunkPairs(name, half...), cookiePair{name + ".15", ""}),
		"not a chunk name .01":          {{name + ".0", half[0]}, {name + ".01", half[1]}},
		"duplicate chunk":               append(chunkPairs(name, half...), cookiePair{name + ".0", otherHalf[0]}),
		"duplicate chunk, empty first":  append([]cookiePair{{name + ".1", ""}}, chunkPairs(name, half...)...),
		"empty cookie":                  {{name, ""}},
		"empty cookie, chunks":          append([]cookiePair{{name, ""}}, chunkPairs(name, half...)...),
		"chunks, empty cookie":          append(chunkPairs(name, half...), cookiePair{name, ""}),
		"cookie and chunks":             append([]cookiePair{plain}, chunkPairs(name, otherHalf...)...),
		"chunks and cookie":             append(chunkPairs(name, otherHalf...), plain),
		"cookie, empty chunks":          append([]cookiePair{plain}, chunkPairs(name, "", "")...),
		"duplicate cookie":              {plain, {name, otherTok}},
		"duplicate cookie, empty first": {{name, ""}, plain},
		"tampered":                      {{name, tamper(tok, len(tok)/2)}},
		"truncated chunks":              chunkPairs(name, half[0], half[1][:len(half[1])-1]),
		"other cookie only":             {{"other", tok}},
	}
	shapes["reversed"] = slices.Clone(pairs)
	slices.Reverse(shapes["reversed"])
	if len(pairs) > 1 { // chunks
		var v []string
		for _, p := range pairs {
			v = append(v, p.value)
		}
		shapes["written, empty trailing chunk"] = chunkPairs(name, append(v, "")...)
		shapes["written, empty first chunk"] = chunkPairs(name, append([]string{""}, v...)...)
		shapes["written, last chunk dropped"] = chunkPairs(name, v[:len(v)-1]...)
		shapes["written, empty middle chunk"] = chunkPairs(name, slices.Insert(slices.Clone(v), 1, "")...)
	}
	headers := make(map[string]string, len(shapes)+1)
	for shape, pairs := range shapes {
		headers[shape] = cookieHeader(pairs)
	}
	// One cookie more than net/http reads: no cookie at all.
	headers["too many cookies"] = strings.Repeat("a=1; ", cookiechunk.MaxPairs) + cookieHeader(pairs)
	return headers
}

// TestInspectAgreesWithMiddleware runs the same Cookie headers through the
// middleware (Manager.Handler and Manager.Load) and through inspect given
// the manager's settings, and checks that they agree on whether the
// request has a session, on its value, and on whether a cookie that does
// not open is too large for these settings (left alone by the
// middleware). The headers are the cookies that managers of every
// setting wrote, and shapes of them that only a client makes: empty
// chunks, gaps, duplicates, a lone .0, the cookie name along with chunks.
func TestInspectAgreesWithMiddleware(t *testing.T) {
	ring, keys := newRingArgs(t)
	clock := t0
	quiet := func(*http.Request, error) {}

	values := []json.RawMessage{
		json.RawMessage(`{"user":"alice"}`),
		json.RawMessage(`{"blob":"` + strings.Repeat("x", 1500) + `"}`),
		json.RawMessage(`{"blob":"` + strings.Repeat("y", 3500) + `"}`),
		json.RawMessage(`{"blob":"` + strings.Repeat("z", 6000) + `"}`),
	}
	other, _, err := newManager(t, ring, &clock, tokensession.Config[json.RawMessage]{MaxChunks: 16}).Seal(json.RawMessage(`{"user":"mallory"}`))
	if err != nil {
		t.Fatal(err)
	}

	// outcomes counts, by shape and reader, what both read: a session,
	// a session too large for the reader, or none.
	outcomes := map[[3]string]int{}
	for _, wc := range parityConfigs {
		cfg := wc.cfg
		cfg.ErrorHandler = quiet
		writer := newManager(t, ring, &clock, cfg)
		for vi, value := range values {
			pairs := written(t, writer, value)
			if pairs == nil {
				continue
			}
			for _, rc := range parityConfigs {
				cfg := rc.cfg
				cfg.ErrorHandler = quiet
				reader := newManager(t, ring, &clock, cfg)
				for shape, header := range cookieShapes(tokensession.DefaultCookieName, pairs, other) {
					t.Run(fmt.Sprintf("%s/value %d/%s/%s", wc.name, vi, rc.name, shape), func(t *testing.T) {
						outcomes[[3]string{shape, rc.name, checkParity(t, reader, append(slices.Clone(keys), rc.args...), []string{header}, "Cookie: "+header+"\n")}]++
					})
				}
			}
		}
	}

	// The headers reach every outcome, the empty shapes included.
	for _, want := range [][3]string{
		{"as written", "default", "session"},
		{"as written", "default", "too large"},
		{"as written", "MaxCookieSize 512, MaxChunks 16", "session"},
		{"as written", "MaxCookieSize 600", "too large"},
		{"as written", "MaxCookieSize 1024, MaxChunks 3", "too large"},
		{"written, empty trailing chunk", "MaxCookieSize 512, MaxChunks 16", "session"},
		{"written, empty trailing chunk", "MaxCookieSize 1024, MaxChunks 3", "session"},
		{"written, empty middle chunk", "MaxCookieSize 512, MaxChunks 16", "session"},
		{"duplicate chunk, empty first", "MaxChunks 4", "no session"},
		{"duplicate cookie, empty first", "default", "no session"},
		{"empty cookie", "default", "no session"},
		{"lone empty .0", "MaxChunks 4", "no session"},
		{"empty trailing chunk", "MaxChunks 4", "session"},
		{"two empty trailing", "MaxCookieSize 1024, MaxChunks 3", "session"},
		{"whole in .0, empty .1", "default", "session"},
		{"empty .0, whole in .1", "MaxChunks 4", "session"},
		{"empty middle chunk", "MaxChunks 4", "session"},
		{"empty middle chunk", "default", "too large"},
		{"all chunks empty", "default", "no session"},
		{"empty cookie, chunks", "MaxChunks 4", "session"},
		{"chunks, empty cookie", "MaxChunks 4", "session"},
		{"cookie, empty chunks", "default", "session"},
		{"cookie and chunks", "default", "session"},
		{"chunks and cookie", "default", "session"},
		{"in sixteen chunks", "MaxCookieSize 512, MaxChunks 16", "session"},
		{"in sixteen chunks", "MaxChunks 4", "too large"},
		{"lone .0", "MaxChunks 4", "no session"},
		{"gap", "MaxChunks 4", "no session"},
		{"duplicate chunk", "MaxChunks 4", "session"},
		{"quoted", "default", "session"},
		{"too many cookies", "default", "no session"},
	} {
		if outcomes[want] == 0 {
			t.Errorf("no header of shape %q read by %q gave %q", want[0], want[1], want[2])
		}
	}
}

// checkParity checks that inspect, run with args on stdin, and the
// middleware of m agree on a request with the Cookie header lines that
// stdin stands for, and returns what they read: "session", "too large"
// or "no session".
func checkParity(t *testing.T, m *tokensession.Manager[json.RawMessage], args, lines []string, stdin string) string {
	t.Helper()
	r := httptest.NewRequest("GET", "/", nil)
	r.Header["Cookie"] = lines
	value, _, loadErr := m.Load(r)

	// The middleware proper agrees with Load.
	var got json.RawMessage
	var exists bool
	var sessErr error
	m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := m.FromContext(r.Context())
		got, exists = s.Get()
		sessErr = s.Err()
	})).ServeHTTP(httptest.NewRecorder(), r)
	if exists != (loadErr == nil) || !bytes.Equal(got, value) {
		t.Fatalf("Handler: session %v, value %s; Load: %v, value %s", exists, got, loadErr, value)
	}
	if tooLarge := errors.Is(loadErr, tokensession.ErrTooLarge); errors.Is(sessErr, tokensession.ErrTooLarge) != tooLarge {
		t.Fatalf("Handler: Err() = %v; Load: %v", sessErr, loadErr)
	}

	res := exec(t, t0, nil, stdin, append([]string{"inspect"}, args...)...)
	if res.stderr != "" {
		t.Fatalf("inspect printed on stderr: %s", res.stderr)
	}
	switch {
	case loadErr == nil && res.code != 0:
		t.Fatalf("the middleware reads a session, inspect says (exit %d):\n%s%s", res.code, res.stdout, res.stderr)
	case loadErr != nil && res.code == 0:
		t.Fatalf("the middleware reads no session (%v), inspect says:\n%s", loadErr, res.stdout)
	case loadErr != nil && res.code != 1:
		t.Fatalf("inspect exit %d, want 1:\n%s", res.code, res.stdout)
	case loadErr == nil:
		var want bytes.Buffer
		if err := json.Indent(&want, value, "  ", "  "); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(res.stdout, "\ndata:\n  "+want.String()+"\n") {
			t.Fatalf("inspect shows other data than the middleware reads (%s):\n%s", value, res.stdout)
		}
	}
	tooLarge := errors.Is(loadErr, tokensession.ErrTooLarge)
	if strings.Contains(res.stdout, "\ninvalid: session too large") != tooLarge {
		t.Fatalf("the middleware: %v; inspect:\n%s", loadErr, res.stdout)
	}
	switch {
	case loadErr == nil:
		return "session"
	case tooLarge:
		return "too large"
	}
	return "no session"
}

// execInspect runs inspect with args on the Cookie header, given on stdin.
func execInspect(t *testing.T, args []string, header string) result {
	t.Helper()
	return exec(t, t0, nil, "Cookie: "+header+"\n", append([]string{"inspect"}, args...)...)
}

// TestInspectAgreesWithMiddlewareOnLines is TestInspectAgreesWithMiddleware
// for requests of several Cookie header lines, empty ones among them, at
// and around net/http's limit on cookies, each pasted as Cookie lines, as
// curl -v shows them and as the -H options of a curl command.
func TestInspectAgreesWithMiddlewareOnLines(t *testing.T) {
	ring, keys := newRingArgs(t)
	clock := t0
	quiet := func(*http.Request, error) {}
	const name = tokensession.DefaultCookieName
	value := json.RawMessage(`{"blob":"` + strings.Repeat("x", 3500) + `"}`)
	tok, _, err := newManager(t, ring, &clock, tokensession.Config[json.RawMessage]{MaxChunks: 16}).Seal(value)
	if err != nil {
		t.Fatal(err)
	}
	half := split(tok, 2)
	small, _, err := newManager(t, ring, &clock, tokensession.Config[json.RawMessage]{}).Seal(json.RawMessage(`{"user":"alice"}`))
	if err != nil {
		t.Fatal(err)
	}
	outcomes := map[string]int{}
	for _, rc := range parityConfigs {
		cfg := rc.cfg
		cfg.ErrorHandler = quiet
		m := newManager(t, ring, &clock, cfg)
		others := func(n int) string { return strings.Repeat("a=1; ", n) }
		shapes := map[string][]string{
			"one line each":           {name + ".0=" + half[0], name + ".1=" + half[1]},
			"empty lines around":      {"", name + ".0=" + half[0], "", name + ".1=" + half[1], ""},
			"plain, empty line":       {name + "=" + small, ""},
			"empty lines only":        {"", "", ""},
			"empty plain, chunks":     {name + "=", name + ".0=" + half[0] + "; " + name + ".1=" + half[1]},
			"duplicates across lines": {name + "=garbage", name + "=" + small},
			// The cookie at net/http's limit, then one over it, counted
			// over lines.
			"at the limit":                     {others(1499) + "b=2", others(1499) + name + "=" + small},
			"over the limit":                   {others(1500) + "b=2", others(1499) + name + "=" + small},
			"at the limit, empty line":         {others(2998) + name + "=" + small, ""},
			"over the limit, empty lines":      {others(2998) + name + "=" + small, "", ""},
			"at the limit, empty lines":        {"", others(2997) + name + "=" + small, ""},
			"over the limit, by ';'":           {others(2998) + name + "=" + small + ";", ""},
			"at the limit, chunks":             {name + ".0=" + half[0], "", others(2997) + name + ".1=" + half[1]},
			"over the limit, chunks":           {name + ".0=" + half[0], "", "", others(2997) + name + ".1=" + half[1]},
			"over the limit, empty lines only": slices.Repeat([]string{""}, cookiechunk.MaxPairs+1),
		}
		for shape, lines := range shapes {
			var cookie, verbose, curl strings.Builder
			verbose.WriteString("> GET / HTTP/1.1\n> Host: example.com\n")
			curl.WriteString("curl 'https://example.com/' \\\n  -H 'accept: */*'")
			for _, l := range lines {
				fmt.Fprintf(&cookie, "Cookie: %s\n", l)
				fmt.Fprintf(&verbose, "> Cookie: %s\n", l)
				if l == "" {
					curl.WriteString(" \\\n  -H 'Cookie;'")
				} else {
					curl.WriteString(" \\\n  -H " + shellWord("Cookie: "+l))
				}
			}
			verbose.WriteString(">\n< HTTP/1.1 200 OK\n")
			for form, stdin := range map[string]string{"Cookie lines": cookie.String(), "curl -v": verbose.String(), "curl -H": curl.String()} {
				t.Run(rc.name+"/"+shape+"/"+form, func(t *testing.T) {
					outcomes[shape+"/"+checkParity(t, m, append(slices.Clone(keys), rc.args...), lines, stdin)]++
				})
			}
		}
	}
	for _, want := range []string{
		"one line each/session", "one line each/too large", "empty lines around/session",
		"at the limit/session", "over the limit/no session",
		"at the limit, empty line/session", "over the limit, empty lines/no session",
		"at the limit, empty lines/session", "over the limit, by ';'/no session",
		"at the limit, chunks/session", "at the limit, chunks/too large", "over the limit, chunks/no session",
	} {
		if outcomes[want] == 0 {
			t.Errorf("no request of shape %q", want)
		}
	}
}

// TestSizesAsUsageSays checks what inspect's usage says of each size
// range against the middleware: a cookie too large for this configuration
// but not for every one is left alone, a larger one is deleted, and
// inspect's verdict names the one or the other.
func TestSizesAsUsageSays(t *testing.T) {
	ring, keys := newRingArgs(t)
	clock := t0
	const name = tokensession.DefaultCookieName
	garbage := func(n int) string { return "v4.local." + strings.Repeat("A", n-len("v4.local.")) }
	for _, tc := range []struct {
		name        string
		cfg         tokensession.Config[json.RawMessage]
		args        []string
		pairs       []cookiePair
		wantDeleted bool
		wantVerdict string
	}{
		{
			name: "cookie over -max-cookie-size", cfg: tokensession.Config[json.RawMessage]{MaxCookieSize: 1024}, args: []string{"-max-cookie-size", "1024"},
			pairs: []cookiePair{{name, garbage(2000)}}, wantVerdict: "invalid: session too large: cookie of 2014 bytes, more than -max-cookie-size 1024: too large for this configuration",
		},
		{
			name: "cookie over 4096 bytes", pairs: []cookiePair{{name, garbage(7054)}},
			wantDeleted: true, wantVerdict: "invalid: malformed token: token exceeds the size limit",
		},
		{
			name: "chunks over -max-chunks", pairs: chunkPairs(name, garbage(3000), strings.Repeat("A", 3000)),
			wantVerdict: "invalid: session too large: 2 chunk cookies, more than -max-chunks 1: too large for this configuration",
		},
		{
			name: "chunks over what -max-chunks cookies of -max-cookie-size carry", cfg: tokensession.Config[json.RawMessage]{MaxChunks: 2, MaxCookieSize: 1024}, args: []string{"-max-chunks", "2", "-max-cookie-size", "1024"},
			pairs: chunkPairs(name, garbage(1500), strings.Repeat("A", 1500)), wantVerdict: "invalid: session too large: 3000 bytes in chunk cookies, more than 2 chunks carry (-max-chunks 2, -max-cookie-size 1024): too large for this configuration",
		},
		{
			name: "chunks over what 16 cookies of 4096 carry", cfg: tokensession.Config[json.RawMessage]{MaxChunks: 16}, args: []string{"-max-chunks", "16"},
			pairs:       chunkPairs(name, append([]string{garbage(4096)}, slices.Repeat([]string{strings.Repeat("A", 4096)}, 15)...)...),
			wantDeleted: true, wantVerdict: "invalid: malformed token: token exceeds the size limit",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.ErrorHandler = func(*http.Request, error) {}
			m := newManager(t, ring, &clock, cfg)
			header := cookieHeader(tc.pairs)
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("Cookie", header)
			rec := httptest.NewRecorder()
			m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				m.FromContext(r.Context()).Get()
			})).ServeHTTP(rec, r)
			deleted := 0
			for _, line := range rec.Result().Header["Set-Cookie"] {
				if !strings.Contains(line, "Max-Age=0") {
					t.Errorf("the middleware sets %.60s…", line)
				}
				deleted++
			}
			if deleted != len(tc.pairs) && tc.wantDeleted || deleted != 0 && !tc.wantDeleted {
				t.Errorf("the middleware deletes %d of %d cookies, want them all deleted: %v", deleted, len(tc.pairs), tc.wantDeleted)
			}
			res := execInspect(t, append(slices.Clone(keys), tc.args...), header)
			if res.code != 1 || !strings.Contains(res.stdout, "\n"+tc.wantVerdict) {
				t.Errorf("inspect exits %d, without the verdict %q:\n%s%s", res.code, tc.wantVerdict, res.stdout, res.stderr)
			}
		})
	}
}

// newRingArgs returns a keyring of one new key and inspect's arguments
// that name the key.
func newRingArgs(t *testing.T) (*tokensession.Keyring, []string) {
	t.Helper()
	key := tokensession.GenerateKey()
	ring, err := tokensession.NewKeyring(tokensession.KeyringEntry{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	return ring, []string{"-keys", key.UnsafeExportPASERK()}
}

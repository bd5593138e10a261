package tokensession_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tokensession/tokensession"
)

func TestMiddlewareModifySendsOneCookie(t *testing.T) {
	t.Parallel()
	e := newMWEnv(t, nil)
	rec := e.do("/set?user=alice")
	lines := rec.Result().Header["Set-Cookie"]
	if len(lines) != 1 {
		t.Fatalf("Set-Cookie lines = %q, want exactly one", lines)
	}
	line := lines[0]
	for _, attr := range []string{"__Host-session=v4.local.", "; Path=/", "; Max-Age=1800", "; HttpOnly", "; Secure", "; SameSite=Lax"} {
		mustContain(t, line, attr)
	}
	if strings.Contains(line, "Domain=") {
		t.Errorf("__Host- cookie has a Domain: %q", line)
	}
	h := rec.Result().Header
	if got := h.Values("Vary"); len(got) != 1 || got[0] != "Cookie" {
		t.Errorf("Vary = %q, want Cookie", got)
	}
	mustContain(t, h.Get("Cache-Control"), "private")
	v, info := e.openCookie(rec.Result().Cookies()[0])
	if v.User != "alice" || !info.Created.Equal(mwT0) || !info.Expires.Equal(mwT0.Add(30*time.Minute)) {
		t.Errorf("sealed %+v %+v", v, info)
	}
}

func TestMiddlewareFreshReadSendsNothing(t *testing.T) {
	t.Parallel()
	e := newMWEnv(t, nil)
	c := e.login("alice")
	e.clock.Advance(10 * time.Minute) // 20 minutes left, window is 15
	rec := e.do("/", c)
	if rec.Body.String() != "alice" {
		t.Fatalf("body %q", rec.Body.String())
	}
	// A read sends no cookie, only Vary: Cookie since the body depends on it.
	if h := rec.Result().Header; h.Get("Set-Cookie") != "" || h.Get("Cache-Control") != "" || h.Get("Vary") != "Cookie" {
		t.Errorf("fresh read wrote headers: %v", h)
	}
}

func TestMiddlewareUntouchedSendsNothing(t *testing.T) {
	t.Parallel()
	e := newMWEnv(t, nil)
	garbage := &http.Cookie{Name: "__Host-session", Value: "garbage"}
	c := e.login("alice")
	e.clock.Advance(29 * time.Minute) // would need a refresh if read
	for _, ck := range []*http.Cookie{garbage, c} {
		rec := e.do("/untouched", ck)
		if got := rec.Result().Header["Set-Cookie"]; len(got) != 0 {
			t.Errorf("untouched request with %s cookie set %q", ck.Value[:7], got)
		}
	}
	if errs := e.errs.take(); len(errs) != 0 {
		t.Errorf("untouched requests reported %v", errs)
	}
}

func TestMiddlewareRefreshWindowEdge(t *testing.T) {
	t.Parallel()
	e := newMWEnv(t, nil) // idle 30m, refresh window 15m
	c := e.login("alice")
	_, first := e.openCookie(c)

	// Exactly at the window's edge, 15 minutes remain: not yet less than
	// the window, so nothing is sent.
	e.clock.Set(mwT0.Add(15 * time.Minute))
	if got := e.do("/", c).Result().Header["Set-Cookie"]; len(got) != 0 {
		t.Fatalf("refreshed at the edge: %q", got)
	}
	// One second inside the window the token is re-sealed.
	e.clock.Set(mwT0.Add(15*time.Minute + time.Second))
	rec := e.do("/", c)
	cs := rec.Result().Cookies()
	if len(cs) != 1 {
		t.Fatalf("inside the window: cookies %v", cs)
	}
	v, info := e.openCookie(cs[0])
	if v.User != "alice" || info.ID != first.ID || !info.Created.Equal(first.Created) {
		t.Errorf("refresh changed the session: %+v vs %+v", info, first)
	}
	if want := e.clock.Now().Add(30 * time.Minute); !info.Expires.Equal(want) {
		t.Errorf("refreshed expiry %v, want %v", info.Expires, want)
	}
	if cs[0].MaxAge != 1800 {
		t.Errorf("Max-Age %d, want 1800", cs[0].MaxAge)
	}
}

func TestMiddlewareAbsoluteCap(t *testing.T) {
	t.Parallel()
	e := newMWEnv(t, func(c *tokensession.Config[mwValue]) {
		c.AbsoluteTimeout = time.Hour
		c.Leeway = -1
	})
	c := e.login("alice")
	// Refresh every 20 minutes; the expiry may never pass created + 1h.
	for i := 1; i <= 2; i++ {
		e.clock.Set(mwT0.Add(time.Duration(i) * 20 * time.Minute))
		cs := e.do("/", c).Result().Cookies()
		if len(cs) != 1 {
			t.Fatalf("refresh %d: cookies %v", i, cs)
		}
		c = cs[0]
	}
	_, info := e.openCookie(c)
	if want := mwT0.Add(time.Hour); !info.Expires.Equal(want) {
		t.Fatalf("expiry %v, want the cap %v", info.Expires, want)
	}
	if c.MaxAge != int((20 * time.Minute).Seconds()) {
		t.Errorf("Max-Age %d, want the 1200 s left before the cap", c.MaxAge)
	}
	// Inside the window but at the cap: re-sealing gains nothing, so
	// nothing is sent.
	e.clock.Set(mwT0.Add(50 * time.Minute))
	if got := e.do("/", c).Result().Header["Set-Cookie"]; len(got) != 0 {
		t.Errorf("re-sealed at the cap: %q", got)
	}
	// Past the cap the session is gone and its cookie expired.
	e.clock.Set(mwT0.Add(time.Hour))
	rec := e.do("/", c)
	if rec.Body.String() != "-" {
		t.Errorf("session survived its absolute lifetime: %q", rec.Body.String())
	}
	if got := cookiesByName(rec)["__Host-session"]; got == nil || got.MaxAge >= 0 {
		t.Errorf("expired session cookie not deleted: %v", got)
	}
	if !e.errs.has(tokensession.ErrExpired) {
		t.Error("ErrExpired not reported")
	}
}

func TestMiddlewareRotationReseal(t *testing.T) {
	t.Parallel()
	e := newMWEnv(t, nil)
	c := e.login("alice")
	_, before := e.openCookie(c)

	// Stage a new key ten minutes ahead: the old key still seals, so a
	// read sends nothing.
	newKey := tokensession.GenerateKey()
	staged, err := tokensession.NewKeyring(
		tokensession.KeyringEntry{Key: newKey, NotBefore: mwT0.Add(10 * time.Minute)},
		tokensession.KeyringEntry{Key: e.key},
	)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.m.SetKeyring(staged); err != nil {
		t.Fatal(err)
	}
	e.clock.Set(mwT0.Add(time.Minute))
	if got := e.do("/", c).Result().Header["Set-Cookie"]; len(got) != 0 {
		t.Fatalf("staged key caused a re-seal: %q", got)
	}
	// At activation the token still has 20 minutes (no refresh due), but
	// its key no longer seals: the read re-seals it with the new key,
	// keeping the session.
	e.clock.Set(mwT0.Add(10 * time.Minute))
	rec := e.do("/", c)
	cs := rec.Result().Cookies()
	if rec.Body.String() != "alice" || len(cs) != 1 {
		t.Fatalf("after activation: body %q cookies %v", rec.Body.String(), cs)
	}
	_, after := e.openCookie(cs[0])
	if after.KeyID != newKey.ID() || before.KeyID != e.key.ID() {
		t.Errorf("re-sealed with %s, want the new key %s", after.KeyID, newKey.ID())
	}
	if after.ID != before.ID || !after.Created.Equal(before.Created) {
		t.Errorf("re-seal changed the session: %+v vs %+v", after, before)
	}
	// The re-sealed cookie is fresh: the next read sends nothing.
	if got := e.do("/", cs[0]).Result().Header["Set-Cookie"]; len(got) != 0 {
		t.Errorf("second read re-sealed again: %q", got)
	}
}

func TestMiddlewareUnknownKeyCookieUntouched(t *testing.T) {
	t.Parallel()
	other := newMWEnv(t, nil)
	c := other.login("mallory")
	e := newMWEnv(t, nil)
	rec := e.do("/", c)
	if rec.Body.String() != "-" {
		t.Errorf("foreign key opened: %q", rec.Body.String())
	}
	if got := rec.Result().Header["Set-Cookie"]; len(got) != 0 {
		t.Errorf("unknown-kid cookie was touched: %q", got)
	}
	if !e.errs.has(tokensession.ErrUnknownKey) {
		t.Error("ErrUnknownKey not reported")
	}
}

func TestMiddlewareBadCookieExpired(t *testing.T) {
	t.Parallel()
	e := newMWEnv(t, nil)
	good := e.login("alice")
	flip := []byte(good.Value)
	// Another base64url character: still well-formed, no longer authentic.
	if flip[20] == 'A' {
		flip[20] = 'B'
	} else {
		flip[20] = 'A'
	}
	cases := []struct {
		name  string
		value string
		want  error
	}{
		{"garbage", "garbage", tokensession.ErrMalformed},
		{"tampered", string(flip), tokensession.ErrNotAuthentic},
		{"other purpose", mustSealPurpose(t, e, "elsewhere"), tokensession.ErrNotAuthentic},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := e.do("/", &http.Cookie{Name: "__Host-session", Value: tc.value})
			if rec.Code != http.StatusOK || rec.Body.String() != "-" {
				t.Errorf("status %d body %q", rec.Code, rec.Body.String())
			}
			del := cookiesByName(rec)["__Host-session"]
			if del == nil || del.MaxAge >= 0 {
				t.Errorf("bad cookie not expired: %v", rec.Result().Header["Set-Cookie"])
			}
			if !e.errs.has(tc.want) {
				t.Errorf("reason %v not reported", tc.want)
			}
		})
	}
	t.Run("expired", func(t *testing.T) {
		e.clock.Set(mwT0.Add(31 * time.Minute))
		defer e.clock.Set(mwT0)
		rec := e.do("/", good)
		if del := cookiesByName(rec)["__Host-session"]; del == nil || del.MaxAge >= 0 {
			t.Errorf("expired cookie not deleted: %v", rec.Result().Header["Set-Cookie"])
		}
		if !e.errs.has(tokensession.ErrExpired) {
			t.Error("ErrExpired not reported")
		}
	})
}

// mustSealPurpose seals a token with e's keyring but another purpose.
func mustSealPurpose(t *testing.T, e *mwEnv, purpose string) string {
	t.Helper()
	m, err := tokensession.New(tokensession.Config[mwValue]{Keyring: e.m.Keyring(), Purpose: purpose, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := m.Seal(mwValue{User: "mallory"})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestMiddlewareTwoManagers(t *testing.T) {
	t.Parallel()
	a := newMWEnv(t, func(c *tokensession.Config[mwValue]) { c.CookieName = "__Host-a" })
	b := newMWEnv(t, func(c *tokensession.Config[mwValue]) { c.CookieName = "__Host-b" })
	h := a.m.Handler(b.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sa, sb := a.m.FromContext(r.Context()), b.m.FromContext(r.Context())
		if sa == nil || sb == nil || sa == any(sb) {
			t.Fatal("managers share a session")
		}
		if r.URL.Path == "/set" {
			sa.Set(mwValue{User: "a"})
			sb.Set(mwValue{User: "b"})
		}
		va, _ := sa.Get()
		vb, _ := sb.Get()
		w.Write([]byte(va.User + vb.User))
	})))
	rec := newRecorder()
	h.ServeHTTP(rec, mwRequest("/set"))
	cs := rec.Result().Cookies()
	if len(cs) != 2 {
		t.Fatalf("cookies %v", cs)
	}
	rec = newRecorder()
	h.ServeHTTP(rec, mwRequest("/", cs...))
	if rec.Body.String() != "ab" || len(rec.Result().Cookies()) != 0 {
		t.Errorf("body %q, cookies %v", rec.Body.String(), rec.Result().Cookies())
	}
}

// Instances' clocks differ within the leeway: a session created on a fast
// instance and changed on a slow one (iat before created) stays valid, and
// a token sealed with a key that one instance has already activated is not
// re-sealed with the older key by an instance that has not.
func TestMiddlewareClockSkewAcrossInstances(t *testing.T) {
	t.Parallel()
	oldKey, newKey := tokensession.GenerateKey(), tokensession.GenerateKey()
	activation := mwT0.Add(time.Minute)
	ring, err := tokensession.NewKeyring(
		tokensession.KeyringEntry{Key: newKey, NotBefore: activation},
		tokensession.KeyringEntry{Key: oldKey},
	)
	if err != nil {
		t.Fatal(err)
	}
	instance := func(offset time.Duration) *mwEnv {
		e := newMWEnv(t, func(c *tokensession.Config[mwValue]) { c.Keyring = ring; c.Leeway = 10 * time.Second })
		e.clock.Set(mwT0.Add(offset))
		return e
	}
	fast, slow := instance(3*time.Second), instance(0)

	c := fast.login("alice")
	cs := slow.do("/update?item=tea", c).Result().Cookies()
	if len(cs) != 1 {
		t.Fatalf("update on the slow instance: %v", cs)
	}
	for _, e := range []*mwEnv{fast, slow} {
		if got := e.do("/", cs[0]).Body.String(); got != "alice" {
			t.Fatalf("re-sealed token (iat before created) read as %q: %v", got, e.errs.take())
		}
	}

	// The fast instance passes the activation first and seals with the
	// new key; the slow one, 3 s behind, reads that token and leaves it.
	fast.clock.Set(activation.Add(time.Second))
	slow.clock.Set(activation.Add(-2 * time.Second))
	c = fast.login("bob")
	if _, info := fast.openCookie(c); info.KeyID != newKey.ID() {
		t.Fatalf("fast instance sealed with %s", info.KeyID)
	}
	rec := slow.do("/", c)
	if rec.Body.String() != "bob" || len(rec.Result().Cookies()) != 0 {
		t.Errorf("slow instance: body %q, cookies %v (must not downgrade the key)", rec.Body.String(), rec.Result().Cookies())
	}
}

// The handler's Cache-Control lines are merged into one, directive by
// directive: whatever it set that is stricter survives, what lets shared
// caches store the cookie goes, and Vary names Cookie once.
func TestMiddlewareCacheHeadersMerged(t *testing.T) {
	t.Parallel()
	const ours = `private, no-cache="Set-Cookie"`
	cases := []struct {
		name       string
		cc, vary   []string
		wantCC     string
		wantVary   []string
		readOnly   bool // the handler only reads the session
		wantNoVary bool
	}{
		{name: "none", wantCC: ours, wantVary: []string{"Cookie"}},
		{name: "two lines", cc: []string{"max-age=3600", "no-store"}, wantCC: "max-age=3600, no-store"},
		{name: "private kept", cc: []string{"private, max-age=60"}, wantCC: "private, max-age=60"},
		{name: "private any case", cc: []string{"PRIVATE"}, wantCC: "PRIVATE"},
		{name: "private in a value", cc: []string{`no-cache="private"`}, wantCC: `no-cache="private", ` + ours},
		{name: "privately", cc: []string{"privately, max-age=5"}, wantCC: "privately, max-age=5, " + ours},
		{name: "private of some fields", cc: []string{`public, max-age=300, private="X-Debug"`}, wantCC: `max-age=300, private="X-Debug", ` + ours},
		{name: "no-store with an argument", cc: []string{`no-store="x"`}, wantCC: `no-store="x", ` + ours},
		{name: "no-store in a value", cc: []string{`x="a, no-store", must-revalidate`}, wantCC: `x="a, no-store", must-revalidate, ` + ours},
		{name: "public dropped", cc: []string{"public, max-age=600", "S-MAXAGE=600, no-transform"}, wantCC: "max-age=600, no-transform, " + ours},
		{name: "public with no-store", cc: []string{"public", "no-store"}, wantCC: "no-store"},
		{name: "escaped quote in a value", cc: []string{`no-cache="a\", private", max-age=5`}, wantCC: `no-cache="a\", private", max-age=5, ` + ours},
		// Where a directive that does not parse ends is anyone's guess: a
		// cache could read what follows inside its quotes. The strictest
		// answer replaces them.
		{name: "unbalanced quote", cc: []string{`public, max-age=600, no-cache="x`}, wantCC: "private, no-store"},
		{name: "escaped quote outside quotes", cc: []string{`max-age=1\", public`}, wantCC: "private, no-store"},
		{name: "escape at the end", cc: []string{`no-cache="x\`}, wantCC: "private, no-store"},
		{name: "text after the quotes", cc: []string{`no-cache="x"y, max-age=5`}, wantCC: "private, no-store"},
		{name: "unbalanced on a second line", cc: []string{"max-age=60", `x="`}, wantCC: "private, no-store"},
		{name: "not a token", cc: []string{"max-age=60, max age=5"}, wantCC: "private, no-store"},
		{name: "vary has cookie", vary: []string{"Accept-Encoding, cookie"}, wantCC: ours, wantVary: []string{"Accept-Encoding, cookie"}},
		{name: "vary star", vary: []string{"*"}, wantCC: ours, wantVary: []string{"*"}},
		{name: "vary other", vary: []string{"Accept-Encoding"}, wantCC: ours, wantVary: []string{"Accept-Encoding", "Cookie"}},
		// A read sends no cookie and keeps the handler's Cache-Control, but
		// the body depends on the cookie.
		{name: "read public", readOnly: true, cc: []string{"public, max-age=600"}, wantCC: "public, max-age=600", wantVary: []string{"Cookie"}},
		{name: "read vary cookie", readOnly: true, vary: []string{"Cookie"}, wantVary: []string{"Cookie"}},
		{name: "read unbalanced quote", readOnly: true, cc: []string{`public, max-age=600, no-cache="x`}, wantCC: `public, max-age=600, no-cache="x`, wantVary: []string{"Cookie"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newMWEnv(t, nil)
			c := e.login("alice")
			rec := newRecorder()
			e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for _, v := range tc.cc {
					w.Header().Add("Cache-Control", v)
				}
				for _, v := range tc.vary {
					w.Header().Add("Vary", v)
				}
				s := e.m.FromContext(r.Context())
				if tc.readOnly {
					s.Get()
				} else {
					s.Set(mwValue{User: "bob"})
				}
				w.Write([]byte("ok"))
			})).ServeHTTP(rec, mwRequest("/", c))
			h := rec.Result().Header
			if got := len(h["Set-Cookie"]); (got > 0) == tc.readOnly {
				t.Errorf("%d Set-Cookie lines", got)
			}
			var wantCC []string
			if tc.wantCC != "" {
				wantCC = []string{tc.wantCC}
			}
			if got := h["Cache-Control"]; !slices.Equal(got, wantCC) {
				t.Errorf("Cache-Control %q, want %q", got, wantCC)
			}
			wantVary := tc.wantVary
			if wantVary == nil {
				wantVary = []string{"Cookie"}
			}
			if got := h["Vary"]; !slices.Equal(got, wantVary) {
				t.Errorf("Vary %q, want %q", got, wantVary)
			}
		})
	}
}

// Vary: Cookie goes on every response whose handler read the session,
// with or without a session, and only on those.
func TestMiddlewareVaryWhenRead(t *testing.T) {
	t.Parallel()
	e := newMWEnv(t, nil)
	c := e.login("alice")
	for _, tc := range []struct {
		target string
		cookie *http.Cookie
		vary   string
	}{
		{"/", c, "Cookie"},
		{"/", nil, "Cookie"},
		{"/untouched", c, ""},
		{"/untouched", nil, ""},
	} {
		var cookies []*http.Cookie
		if tc.cookie != nil {
			cookies = append(cookies, tc.cookie)
		}
		h := e.do(tc.target, cookies...).Result().Header
		if got := h.Get("Vary"); got != tc.vary || len(h["Vary"]) > 1 {
			t.Errorf("%s with cookie %v: Vary %q, want %q", tc.target, tc.cookie != nil, h["Vary"], tc.vary)
		}
		if h.Get("Set-Cookie") != "" || h.Get("Cache-Control") != "" {
			t.Errorf("%s: read wrote %v", tc.target, h)
		}
	}
}

// TestWriterCommitsBeforeHeaders checks, over a real connection, that the
// cookie reaches the client however the handler first writes.
func TestWriterCommitsBeforeHeaders(t *testing.T) {
	t.Parallel()
	e := newMWEnv(t, nil)
	cases := []struct {
		name  string
		write func(w http.ResponseWriter)
	}{
		{"WriteHeader", func(w http.ResponseWriter) { w.WriteHeader(http.StatusAccepted) }},
		{"Write", func(w http.ResponseWriter) { w.Write([]byte("body")) }},
		{"WriteString", func(w http.ResponseWriter) { io.WriteString(w, "body") }},
		{"io.Copy", func(w http.ResponseWriter) { io.Copy(w, strings.NewReader(strings.Repeat("z", 1<<16))) }},
		{"Flush", func(w http.ResponseWriter) { w.(http.Flusher).Flush(); w.Write([]byte("late body")) }},
		{"ResponseController.Flush", func(w http.ResponseWriter) {
			if err := http.NewResponseController(w).Flush(); err != nil {
				t.Errorf("Flush: %v", err)
			}
		}},
		{"return without writing", func(w http.ResponseWriter) {}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				e.m.FromContext(r.Context()).Set(mwValue{User: "alice"})
				tc.write(w)
			})))
			defer srv.Close()
			resp, err := srv.Client().Get(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			cs := resp.Cookies()
			if len(cs) != 1 || cs[0].Name != "__Host-session" {
				t.Fatalf("cookies %v", cs)
			}
			if v, _ := e.openCookie(cs[0]); v.User != "alice" {
				t.Errorf("value %+v", v)
			}
			if errs := e.errs.take(); len(errs) != 0 {
				t.Errorf("errors reported: %v", errs)
			}
		})
	}
}

func TestWriterInformationalDoesNotCommit(t *testing.T) {
	t.Parallel()
	e := newMWEnv(t, nil)
	srv := httptest.NewServer(e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		e.m.FromContext(r.Context()).Set(mwValue{User: "alice"})
		w.Write([]byte("ok"))
	})))
	defer srv.Close()
	var got1xx []int
	trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, _ textproto.MIMEHeader) error {
		got1xx = append(got1xx, code)
		return nil
	}}
	req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(t.Context(), trace), "GET", srv.URL, nil)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(got1xx) != 1 || got1xx[0] != http.StatusEarlyHints {
		t.Errorf("1xx responses %v, want [103]", got1xx)
	}
	if resp.StatusCode != http.StatusOK || len(resp.Cookies()) != 1 {
		t.Errorf("final response %d with cookies %v", resp.StatusCode, resp.Cookies())
	}
}

func TestWriterChangeAfterWriteReported(t *testing.T) {
	t.Parallel()
	e := newMWEnv(t, nil)
	var saveErr error
	srv := httptest.NewServer(e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := e.m.FromContext(r.Context())
		s.Get()
		w.Write([]byte("headers gone"))
		s.Set(mwValue{User: "too late"})
		saveErr = s.Save()
	})))
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(resp.Cookies()) != 0 {
		t.Errorf("late change produced cookies %v", resp.Cookies())
	}
	if !errors.Is(saveErr, tokensession.ErrHeadersWritten) {
		t.Errorf("Save = %v, want ErrHeadersWritten", saveErr)
	}
	// Save returned it: the ErrorHandler does not get it a second time.
	if errs := e.errs.take(); len(errs) != 0 {
		t.Errorf("ErrorHandler got %v as well", errs)
	}
}

func TestWriterHijackPassesThrough(t *testing.T) {
	t.Parallel()
	e := newMWEnv(t, nil)
	// A change pending at Hijack is reported when the handler returns.
	returned := make(chan struct{})
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(returned)
		h.ServeHTTP(w, r)
	}))
	h = e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.m.FromContext(r.Context()).Set(mwValue{User: "pending"})
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("Hijack: %v", err)
			return
		}
		defer conn.Close()
		brw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\nhijacked")
		brw.Flush()
	}))
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "hijacked" {
		t.Errorf("body %q", body)
	}
	<-returned
	if !e.errs.has(tokensession.ErrHeadersWritten) {
		t.Error("change pending at Hijack not reported")
	}
}

func TestWriterUnwrap(t *testing.T) {
	t.Parallel()
	e := newMWEnv(t, nil)
	rec := httptest.NewRecorder()
	var inner http.ResponseWriter
	e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inner = w.(interface{ Unwrap() http.ResponseWriter }).Unwrap()
	})).ServeHTTP(rec, mwRequest("/"))
	if inner != rec {
		t.Errorf("Unwrap returned %T, want the recorder", inner)
	}
}

// A session first reached after the headers went out knows it is too late.
func TestWriterSessionFirstUsedAfterWrite(t *testing.T) {
	t.Parallel()
	e := newMWEnv(t, nil)
	var saveErr error
	rec := httptest.NewRecorder()
	e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("headers gone"))
		s := e.m.FromContext(r.Context())
		s.Set(mwValue{User: "too late"})
		saveErr = s.Save()
	})).ServeHTTP(rec, mwRequest("/"))
	if !errors.Is(saveErr, tokensession.ErrHeadersWritten) {
		t.Errorf("Save = %v, want ErrHeadersWritten", saveErr)
	}
	if errs := e.errs.take(); len(errs) != 0 {
		t.Errorf("ErrorHandler got %v as well", errs)
	}
	if got := rec.Result().Header["Set-Cookie"]; len(got) != 0 {
		t.Errorf("late change wrote %q", got)
	}
}

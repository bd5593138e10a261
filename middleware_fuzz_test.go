package tokensession_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tokensession/tokensession"
)

// fuzzMiddlewareKey is fixed so that the seed corpus's tokens stay valid.
const fuzzMiddlewareKey = "k4.local.cHFyc3R1dnd4eXp7fH1-f4CBgoOEhYaHiImKi4yNjo8"

// FuzzMiddlewareCookie feeds arbitrary Cookie headers through the
// middleware of a handler that reads and sometimes changes the session: no
// panic, never a 5xx, every Set-Cookie line is one of ours on a response
// no shared cache stores, the response varies on Cookie, no error
// repeats what the client sent, and Manager.Load reads the same session as
// the middleware, or fails for the same reason.
func FuzzMiddlewareCookie(f *testing.F) {
	ring, err := tokensession.ParseKeyringEnv(fuzzMiddlewareKey)
	if err != nil {
		f.Fatal(err)
	}
	now := func() time.Time { return mwT0 }
	var reported []error
	m, err := tokensession.New(tokensession.Config[mwValue]{
		Keyring: ring, Now: now, MaxChunks: 3, MaxCookieSize: 600,
		ErrorHandler: func(_ *http.Request, err error) { reported = append(reported, err) },
	})
	if err != nil {
		f.Fatal(err)
	}
	var read mwValue
	var readOK bool
	var readErr error
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := m.FromContext(r.Context())
		v, ok := s.Get()
		read, readOK, readErr = v, ok, s.Err()
		if err := s.Err(); err != nil {
			reported = append(reported, err)
		}
		if ok && len(v.Cart) < 3 {
			s.Update(func(v *mwValue) { v.Cart = append(v.Cart, "x") })
		}
		w.Write([]byte(v.User))
	}))
	for _, seed := range []string{
		"",
		"__Host-session=",
		"__Host-session=v4.local.",
		"__Host-session.0=a; __Host-session.1=b",
		"__Host-session.0=a; __Host-session.2=b",
		"__Host-session.99=a; __Host-session.-1=b; __Host-session.01=c",
		`__Host-session="quoted"`,
		"a=b; __Host-session=\x00\xff; c",
		strings.Repeat(";", 3000) + "__Host-session=v4.local.x",
		"__Host-session.0=a; __Host-session.1=b; __Host-session.2=c; __Host-session.3=d",
		"__Host-session.0=a; __Host-session.1=b; __Host-session.15=c",
	} {
		f.Add(seed)
	}
	// Sessions sealed under larger settings than m's: four chunks, and
	// one cookie longer than m's MaxCookieSize.
	for _, cfg := range []tokensession.Config[mwValue]{
		{Keyring: ring, Now: now, MaxChunks: 16, MaxCookieSize: 600},
		{Keyring: ring, Now: now},
	} {
		big, err := tokensession.New(cfg)
		if err != nil {
			f.Fatal(err)
		}
		rec := httptest.NewRecorder()
		big.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			big.FromContext(r.Context()).Set(mwValue{User: strings.Repeat("u", 1200)})
		})).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		var pairs []string
		for _, c := range rec.Result().Cookies() {
			pairs = append(pairs, c.Name+"="+c.Value)
		}
		f.Add(strings.Join(pairs, "; "))
	}
	f.Fuzz(func(t *testing.T, header string) {
		req := httptest.NewRequest("GET", "/", nil)
		req.Header["Cookie"] = []string{header}
		rec := httptest.NewRecorder()
		reported = nil
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("status %d", rec.Code)
		}
		resp := rec.Result()
		for _, line := range resp.Header["Set-Cookie"] {
			if !strings.HasPrefix(line, "__Host-session") || !strings.Contains(line, "; HttpOnly; Secure; SameSite=Lax") {
				t.Fatalf("unexpected Set-Cookie %q", line)
			}
		}
		if cc := resp.Header.Get("Cache-Control"); len(resp.Header["Set-Cookie"]) > 0 && !strings.HasPrefix(cc, "private") {
			t.Fatalf("Set-Cookie with Cache-Control %q", cc)
		}
		if got := resp.Header["Vary"]; len(got) != 1 || got[0] != "Cookie" {
			t.Fatalf("Vary %q", got)
		}
		v, _, err := m.Load(req)
		if (err == nil) != readOK || v.User != read.User || err != readErr && err != http.ErrNoCookie {
			t.Fatalf("Load = %q, %v; the middleware read %q, %v (session %v)", v.User, err, read.User, readErr, readOK)
		}
		_, value, _ := strings.Cut(header, "=")
		for _, err := range reported {
			if len(value) >= 12 && strings.Contains(err.Error(), value) {
				t.Fatalf("error %q repeats the cookie", err)
			}
		}
	})
}

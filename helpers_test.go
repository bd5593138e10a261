package tokensession_test

import (
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokensession/tokensession"
)

// Helpers shared by the test files of package tokensession_test.

// testKey returns the key of bytes seed, seed+1, …, seed+31.
func testKey(t testing.TB, seed byte) tokensession.Key {
	t.Helper()
	var b [tokensession.KeySize]byte
	for i := range b {
		b[i] = seed + byte(i)
	}
	k, err := tokensession.NewKeyFromBytes(b[:])
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// vectorKey is the key of the PASETO vectors, bytes 0x70…0x8f.
func vectorKey(t testing.TB) tokensession.Key { return testKey(t, 0x70) }

func mustRing(t testing.TB, entries ...tokensession.KeyringEntry) *tokensession.Keyring {
	t.Helper()
	r, err := tokensession.NewKeyring(entries...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func mustNew[T any](t testing.TB, cfg tokensession.Config[T]) *tokensession.Manager[T] {
	t.Helper()
	m, err := tokensession.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// openSentinels are the errors Manager.Open may report.
var openSentinels = []error{
	tokensession.ErrMalformed,
	tokensession.ErrUnknownKey,
	tokensession.ErrKeyRetired,
	tokensession.ErrNotAuthentic,
	tokensession.ErrExpired,
	tokensession.ErrRevoked,
}

// isSentinel reports whether err matches exactly one of openSentinels.
func isSentinel(err error) bool {
	n := 0
	for _, s := range openSentinels {
		if errors.Is(err, s) {
			n++
		}
	}
	return n == 1
}

// fixedT0 is the instant token tests start at.
var fixedT0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// leaksToken reports whether msg contains a 12-character piece of the
// token after its header.
func leaksToken(msg, tok string) bool {
	body := strings.TrimPrefix(tok, "v4.local.")
	for i := 0; i+12 <= len(body); i++ {
		if strings.Contains(msg, body[i:i+12]) {
			return true
		}
	}
	return false
}

// splitToken returns a token's payload and footer segments.
func splitToken(t testing.TB, tok string) (payload, footer string) {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 4 || parts[0] != "v4" || parts[1] != "local" {
		t.Fatalf("token is not v4.local.<payload>.<footer>: %q", tok)
	}
	return parts[2], parts[3]
}

func encodedFooter(k tokensession.Key) string {
	return base64.RawURLEncoding.EncodeToString([]byte(`{"kid":"` + k.ID() + `"}`))
}

// mwT0 is the instant middleware tests start at.
var mwT0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// A fakeClock is a Config.Now that tests move by hand, safe for concurrent
// use.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock(t time.Time) *fakeClock { return &fakeClock{t: t} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type mwValue struct {
	User string   `json:"user"`
	Cart []string `json:"cart,omitempty"`
}

// mwErrors collects what the manager reports to its ErrorHandler.
type mwErrors struct {
	mu   sync.Mutex
	errs []error
}

func (e *mwErrors) handle(_ *http.Request, err error) {
	e.mu.Lock()
	e.errs = append(e.errs, err)
	e.mu.Unlock()
}

func (e *mwErrors) take() []error {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := e.errs
	e.errs = nil
	return out
}

func (e *mwErrors) has(target error) bool {
	for _, err := range e.take() {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

// mwEnv is a manager with an injected clock and collected errors.
type mwEnv struct {
	t     *testing.T
	m     *tokensession.Manager[mwValue]
	clock *fakeClock
	errs  *mwErrors
	key   tokensession.Key
	h     http.Handler
	name  string // the session cookie's name
}

// newMWEnv returns a manager over a fresh one-key ring. edit may adjust the
// config before New.
func newMWEnv(t *testing.T, edit func(*tokensession.Config[mwValue])) *mwEnv {
	t.Helper()
	e := &mwEnv{t: t, clock: newFakeClock(mwT0), errs: &mwErrors{}, key: tokensession.GenerateKey()}
	ring, err := tokensession.NewKeyring(tokensession.KeyringEntry{Key: e.key})
	if err != nil {
		t.Fatal(err)
	}
	cfg := tokensession.Config[mwValue]{Keyring: ring, Now: e.clock.Now, ErrorHandler: e.errs.handle}
	if edit != nil {
		edit(&cfg)
	}
	e.m, err = tokensession.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.h = e.m.Handler(http.HandlerFunc(e.serve))
	e.name = cookieNameOf(t, e.m)
	return e
}

// cookieNameOf returns the name of m's session cookie, as a response that
// starts a session sets it.
func cookieNameOf[T any](t *testing.T, m *tokensession.Manager[T]) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var v T
		m.FromContext(r.Context()).Set(v)
	})).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	cs := rec.Result().Cookies()
	if len(cs) == 0 {
		t.Fatalf("no session cookie set: %v", rec.Result().Header)
	}
	return strings.TrimSuffix(cs[0].Name, ".0")
}

// serve is a small application: /set?user=U&item=I sets the value, /update
// appends an item, /renew renews, /destroy destroys, anything else reads.
// The body is the user name, or "-" with no session.
func (e *mwEnv) serve(w http.ResponseWriter, r *http.Request) {
	s := e.m.FromContext(r.Context())
	switch r.URL.Path {
	case "/set":
		v := mwValue{User: r.FormValue("user")}
		if item := r.FormValue("item"); item != "" {
			v.Cart = []string{item}
		}
		s.Set(v)
	case "/update":
		s.Update(func(v *mwValue) { v.Cart = append(v.Cart, r.FormValue("item")) })
	case "/renew":
		s.Renew()
	case "/destroy":
		s.Destroy()
	case "/untouched":
		w.Write([]byte("untouched"))
		return
	}
	v, ok := s.Get()
	if !ok {
		w.Write([]byte("-"))
		return
	}
	w.Write([]byte(v.User))
}

// do sends one request with the given cookies and returns the recorder.
func (e *mwEnv) do(target string, cookies ...*http.Cookie) *httptest.ResponseRecorder {
	e.t.Helper()
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, mwRequest(target, cookies...))
	if rec.Code >= 500 {
		e.t.Fatalf("GET %s: status %d", target, rec.Code)
	}
	return rec
}

// login starts a session for user and returns its cookie.
func (e *mwEnv) login(user string) *http.Cookie {
	e.t.Helper()
	rec := e.do("/set?user=" + user)
	cs := rec.Result().Cookies()
	if len(cs) != 1 || cs[0].Name != e.name {
		e.t.Fatalf("login: cookies %v", cs)
	}
	return cs[0]
}

// cookiesByName indexes the response's Set-Cookie lines by cookie name.
func cookiesByName(rec *httptest.ResponseRecorder) map[string]*http.Cookie {
	out := map[string]*http.Cookie{}
	for _, c := range rec.Result().Cookies() {
		out[c.Name] = c
	}
	return out
}

// openCookie opens the session cookies cs carry with the env's manager,
// as the middleware reads them.
func (e *mwEnv) openCookie(cs ...*http.Cookie) (mwValue, tokensession.Info) {
	e.t.Helper()
	v, info, err := e.m.Load(mwRequest("/", cs...))
	if err != nil {
		e.t.Fatalf("Open cookie: %v", err)
	}
	return v, info
}

func mustContain(t *testing.T, s, sub string) {
	t.Helper()
	if !strings.Contains(s, sub) {
		t.Errorf("%q does not contain %q", s, sub)
	}
}

func mwRequest(target string, cookies ...*http.Cookie) *http.Request {
	req := httptest.NewRequest("GET", target, nil)
	for _, c := range cookies {
		req.AddCookie(c)
	}
	return req
}

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }

// keyStates returns what each entry of ring does at now, in order.
func keyStates(ring *tokensession.Keyring, now time.Time) []tokensession.KeyState {
	var out []tokensession.KeyState
	for _, s := range ring.States(now) {
		out = append(out, s)
	}
	return out
}

// sealingKey returns the key of ring that seals at now, as States reports
// it, or ErrNoSealingKey.
func sealingKey(ring *tokensession.Keyring, now time.Time) (tokensession.Key, error) {
	for e, s := range ring.States(now) {
		if s == tokensession.KeySealing {
			return e.Key, nil
		}
	}
	return tokensession.Key{}, tokensession.ErrNoSealingKey
}

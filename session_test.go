package tokensession_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokensession/tokensession"
)

// A cookie sealed by a key this instance lacks (a rollout in progress) is
// never replaced by a write; the handler learns why it has no session, and
// only Renew or Destroy replace the cookie.
func TestSessionUnknownKeyWriteKeepsCookie(t *testing.T) {
	t.Parallel()
	other := newMWEnv(t, nil) // an instance that already has the new key
	c := other.login("alice")
	e := newMWEnv(t, nil)

	var sessErr, saveErr error
	serve := func(fn func(s *tokensession.Session[mwValue])) map[string]*http.Cookie {
		t.Helper()
		rec := newRecorder()
		e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s := e.m.FromContext(r.Context())
			sessErr = s.Err()
			fn(s)
			w.Write([]byte("ok"))
		})).ServeHTTP(rec, mwRequest("/", c))
		return cookiesByName(rec)
	}
	unknown := func(errs []error) int {
		n := 0
		for _, err := range errs {
			if errors.Is(err, tokensession.ErrUnknownKey) {
				n++
			}
		}
		return n
	}

	// Set without Save: nothing written, the refusal reported.
	set := serve(func(s *tokensession.Session[mwValue]) { s.Set(mwValue{User: "anon"}) })
	if len(set) != 0 {
		t.Errorf("Set replaced the cookie: %v", set)
	}
	if !errors.Is(sessErr, tokensession.ErrUnknownKey) {
		t.Errorf("Err = %v, want ErrUnknownKey", sessErr)
	}
	if strings.Contains(sessErr.Error(), c.Value[10:40]) {
		t.Error("Err carries token bytes")
	}
	// The opening error and the refused write.
	if errs := e.errs.take(); len(errs) != 2 || unknown(errs) != 2 {
		t.Errorf("ErrorHandler got %v, want the opening error and the refused write", errs)
	}

	// Update with Save: Save returns it, the ErrorHandler does not get it.
	upd := serve(func(s *tokensession.Session[mwValue]) {
		s.Update(func(v *mwValue) { v.Cart = append(v.Cart, "book") })
		saveErr = s.Save()
	})
	if len(upd) != 0 {
		t.Errorf("Update replaced the cookie: %v", upd)
	}
	if !errors.Is(saveErr, tokensession.ErrUnknownKey) {
		t.Errorf("Save = %v, want ErrUnknownKey", saveErr)
	}
	if errs := e.errs.take(); len(errs) != 1 || unknown(errs) != 1 {
		t.Errorf("ErrorHandler got %v, want the opening error alone", errs)
	}

	// The instance with the key still reads the session whole.
	if got := other.do("/", c).Body.String(); got != "alice" {
		t.Errorf("session lost: %q", got)
	}

	// Login replaces the cookie.
	renewed := serve(func(s *tokensession.Session[mwValue]) {
		s.Set(mwValue{User: "bob"})
		s.Renew()
		saveErr = s.Save()
	})
	if saveErr != nil {
		t.Errorf("Save after Renew: %v", saveErr)
	}
	if nc := renewed[e.name]; nc == nil || nc.MaxAge <= 0 {
		t.Errorf("Renew did not replace the cookie: %v", renewed)
	} else if v, _ := e.openCookie(nc); v.User != "bob" {
		t.Errorf("renewed session %q", v.User)
	}

	// Logout expires it.
	destroyed := serve(func(s *tokensession.Session[mwValue]) { s.Destroy() })
	if dc := destroyed[e.name]; dc == nil || dc.MaxAge >= 0 {
		t.Errorf("Destroy did not expire the cookie: %v", destroyed)
	}
	e.errs.take()
}

// Err says why the request has no session.
func TestSessionErr(t *testing.T) {
	t.Parallel()
	e := newMWEnv(t, func(c *tokensession.Config[mwValue]) { c.MaxChunks = 2; c.MaxCookieSize = 512 })
	good := e.login("alice")
	chunked := e.do("/set?user=bob&item=" + strings.Repeat("x", 200))
	chunk1 := cookiesByName(chunked)[e.name+".1"]
	if chunk1 == nil {
		t.Fatalf("no chunked session: %v", chunked.Result().Header["Set-Cookie"])
	}
	var got error
	h := e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = e.m.FromContext(r.Context()).Err()
	}))
	for _, tc := range []struct {
		name   string
		cookie *http.Cookie
		want   error
	}{
		{"no cookie", nil, nil},
		{"good", good, nil},
		{"garbage", &http.Cookie{Name: e.name, Value: "v4.local.garbage"}, tokensession.ErrMalformed},
		{"chunk 0 dropped", chunk1, tokensession.ErrMalformed},
	} {
		req := mwRequest("/")
		if tc.cookie != nil {
			req.AddCookie(tc.cookie)
		}
		h.ServeHTTP(newRecorder(), req)
		if !errors.Is(got, tc.want) || (got == nil) != (tc.want == nil) {
			t.Errorf("%s: Err = %v, want %v", tc.name, got, tc.want)
		}
		if tc.cookie != nil && got != nil && strings.Contains(got.Error(), tc.cookie.Value[:12]) {
			t.Errorf("%s: Err carries the cookie: %v", tc.name, got)
		}
	}
	// An incomplete chunk set says what probably happened.
	e.do("/", chunk1)
	var hint bool
	for _, err := range e.errs.take() {
		hint = hint || strings.Contains(err.Error(), "may have dropped a cookie")
	}
	if !hint {
		t.Error("incomplete chunk set reported without the dropped-cookie hint")
	}
	e.clock.Advance(31 * time.Minute)
	h.ServeHTTP(newRecorder(), mwRequest("/", good))
	if !errors.Is(got, tokensession.ErrExpired) {
		t.Errorf("expired: Err = %v", got)
	}
}

// logRecord is one record the default error handler logged.
type logRecord struct {
	level slog.Level
	text  string // message and attributes
}

// captureHandler is a slog.Handler that keeps every record.
type captureHandler struct {
	mu      sync.Mutex
	records []logRecord
}

func (h *captureHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *captureHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *captureHandler) WithGroup(string) slog.Handler            { return h }
func (h *captureHandler) Handle(_ context.Context, r slog.Record) error {
	text := r.Message
	r.Attrs(func(a slog.Attr) bool {
		text += " " + a.String()
		return true
	})
	h.mu.Lock()
	h.records = append(h.records, logRecord{r.Level, text})
	h.mu.Unlock()
	return nil
}

func (h *captureHandler) take() []logRecord {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := h.records
	h.records = nil
	return out
}

// With no ErrorHandler, every error that no Save returned is logged through
// slog.Default exactly once: server-side failures at Error or Warn, what
// any client can send at Debug, the dropped-chunk hint at Info once a
// minute. No line carries token bytes. Not parallel: it replaces the
// default logger.
func TestSessionDefaultErrorHandlerLogs(t *testing.T) {
	capture := &captureHandler{}
	prev := slog.Default()
	slog.SetDefault(slog.New(capture))
	defer slog.SetDefault(prev)

	clock := newFakeClock(mwT0)
	ring, err := tokensession.NewKeyring(tokensession.KeyringEntry{Key: tokensession.GenerateKey()})
	if err != nil {
		t.Fatal(err)
	}
	m, err := tokensession.New(tokensession.Config[mwValue]{Keyring: ring, Now: clock.Now, MaxChunks: 2, MaxCookieSize: 512})
	if err != nil {
		t.Fatal(err)
	}
	other := newMWEnv(t, nil)
	foreign := other.login("alice")
	// A session sealed with the same key by an instance whose cookies
	// carry more: three chunks, where m reads two.
	big, err := tokensession.New(tokensession.Config[mwValue]{Keyring: ring, Now: clock.Now, MaxChunks: 4, MaxCookieSize: 512})
	if err != nil {
		t.Fatal(err)
	}
	bigRec := httptest.NewRecorder()
	big.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		big.FromContext(r.Context()).Set(mwValue{User: strings.Repeat("b", 700)})
	})).ServeHTTP(bigRec, mwRequest("/"))
	bigChunks := bigRec.Result().Cookies()
	if len(bigChunks) != 3 {
		t.Fatalf("%d chunks, want 3", len(bigChunks))
	}

	var saveErr error
	run := func(c []*http.Cookie, fn func(w http.ResponseWriter, s *tokensession.Session[mwValue])) *http.Response {
		req := mwRequest("/", c...)
		rec := newRecorder()
		m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fn(w, m.FromContext(r.Context()))
		})).ServeHTTP(rec, req)
		return rec.Result()
	}
	late := func(save bool) func(http.ResponseWriter, *tokensession.Session[mwValue]) {
		return func(w http.ResponseWriter, s *tokensession.Session[mwValue]) {
			s.Get()
			w.Write([]byte("gone"))
			s.Set(mwValue{User: "late"})
			if save {
				saveErr = s.Save()
			}
		}
	}
	huge := func(save bool) func(http.ResponseWriter, *tokensession.Session[mwValue]) {
		return func(w http.ResponseWriter, s *tokensession.Session[mwValue]) {
			s.Set(mwValue{User: strings.Repeat("y", 2000)})
			if save {
				saveErr = s.Save()
			}
		}
	}
	login := run(nil, func(w http.ResponseWriter, s *tokensession.Session[mwValue]) {
		s.Set(mwValue{User: "carol", Cart: []string{strings.Repeat("x", 200)}})
	})
	var chunk1 *http.Cookie
	for _, c := range login.Cookies() {
		if c.Name == "__Host-session.1" {
			chunk1 = c
		}
	}
	if chunk1 == nil {
		t.Fatalf("no chunk 1 in %v", login.Header["Set-Cookie"])
	}
	read := func(w http.ResponseWriter, s *tokensession.Session[mwValue]) { s.Get() }
	tampered := &http.Cookie{Name: "__Host-session", Value: foreign.Value[:len(foreign.Value)-60] + strings.Repeat("A", 60)}

	write := func(w http.ResponseWriter, s *tokensession.Session[mwValue]) { s.Set(mwValue{User: "anon"}) }
	fromOther := func(kid string) string { return "key_id=" + kid }
	for _, tc := range []struct {
		name   string
		cookie []*http.Cookie
		fn     func(http.ResponseWriter, *tokensession.Session[mwValue])
		want   []slog.Level // levels logged, in order
		hasMsg string
	}{
		{"late change", nil, late(false), []slog.Level{slog.LevelError}, "after the response headers"},
		{"late change saved", nil, late(true), nil, ""},
		{"too large", nil, huge(false), []slog.Level{slog.LevelError}, "too large"},
		{"too large saved", nil, huge(true), nil, ""},
		{"forged cookie", []*http.Cookie{tampered}, read, []slog.Level{slog.LevelDebug}, "did not open"},
		// An unknown key: a warning naming the key ID with a hint, once a
		// minute per key ID.
		{"unknown key read", []*http.Cookie{foreign}, read, []slog.Level{slog.LevelWarn}, fromOther(other.key.ID())},
		{"unknown key read again", []*http.Cookie{foreign}, read, []slog.Level{slog.LevelDebug}, fromOther(other.key.ID())},
		{"unknown key write", []*http.Cookie{foreign}, write, []slog.Level{slog.LevelDebug, slog.LevelWarn}, "does not have"},
		{"larger cookie read", bigChunks, read, []slog.Level{slog.LevelWarn}, "give every instance the same MaxChunks and MaxCookieSize"},
		{"larger cookie read again", bigChunks, read, []slog.Level{slog.LevelDebug}, "give every instance the same MaxChunks and MaxCookieSize"},
		{"larger cookie write", bigChunks, write, []slog.Level{slog.LevelDebug, slog.LevelWarn}, "is kept"},
		{"dropped chunk", []*http.Cookie{chunk1}, read, []slog.Level{slog.LevelInfo}, "may have dropped a cookie"},
		{"dropped chunk again", []*http.Cookie{chunk1}, read, []slog.Level{slog.LevelDebug}, "may have dropped a cookie"},
	} {
		saveErr = nil
		resp := run(tc.cookie, tc.fn)
		recs := capture.take()
		var levels []slog.Level
		for _, r := range recs {
			levels = append(levels, r.level)
			for _, c := range tc.cookie {
				if strings.Contains(r.text, "v4.local.") || strings.Contains(r.text, c.Value[20:50]) {
					t.Errorf("%s: log line carries token bytes: %s", tc.name, r.text)
				}
			}
		}
		if len(levels) != len(tc.want) || (len(levels) > 0 && !equalLevels(levels, tc.want)) {
			t.Errorf("%s: logged %v, want levels %v", tc.name, recs, tc.want)
			continue
		}
		if tc.hasMsg != "" && !strings.Contains(recs[len(recs)-1].text, tc.hasMsg) {
			t.Errorf("%s: last line %q lacks %q", tc.name, recs[len(recs)-1].text, tc.hasMsg)
		}
		if strings.HasSuffix(tc.name, "saved") && saveErr == nil {
			t.Errorf("%s: Save returned nil", tc.name)
		}
		if strings.HasSuffix(tc.name, "write") && len(resp.Header["Set-Cookie"]) != 0 {
			t.Errorf("%s: cookie replaced: %q", tc.name, resp.Header["Set-Cookie"])
		}
		if strings.HasPrefix(tc.name, "unknown key read") {
			// The hint, and the error's own fixed message.
			mustContain(t, recs[0].text, "give every instance the same keyring")
			if !strings.HasSuffix(recs[0].text, " err=tokensession: unknown key ID") {
				t.Errorf("%s: the error lost its fixed message: %s", tc.name, recs[0].text)
			}
		}
	}
	// A minute later each hint shows above debug again.
	clock.Advance(time.Minute)
	for _, tc := range []struct {
		name   string
		cookie []*http.Cookie
		want   slog.Level
	}{
		{"dropped chunk", []*http.Cookie{chunk1}, slog.LevelInfo},
		{"unknown key", []*http.Cookie{foreign}, slog.LevelWarn},
		{"larger cookie", bigChunks, slog.LevelWarn},
	} {
		run(tc.cookie, read)
		if recs := capture.take(); len(recs) != 1 || recs[0].level != tc.want {
			t.Errorf("%s a minute later: %v", tc.name, recs)
		}
	}
	// Other unknown key IDs warn once each, but no more than eight a
	// minute: a client can name any number of them.
	warned := map[string]int{}
	for i := range 12 {
		c := newMWEnv(t, nil).login("x")
		for range 2 {
			run([]*http.Cookie{c}, read)
			for _, r := range capture.take() {
				if r.level == slog.LevelWarn {
					warned[strconv.Itoa(i)]++
				}
			}
		}
	}
	if len(warned) != 7 {
		t.Errorf("warned of %d new key IDs in a minute, want 7 (and the one above)", len(warned))
	}
	for i, n := range warned {
		if n != 1 {
			t.Errorf("key %s: %d warnings", i, n)
		}
	}
}

func equalLevels(a, b []slog.Level) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// An Update callback that panics leaves the session unlocked and unchanged
// in the response.
func TestSessionUpdatePanicUnlocks(t *testing.T) {
	t.Parallel()
	e := newMWEnv(t, nil)
	c := e.login("alice")
	var after string
	rec := newRecorder()
	e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := e.m.FromContext(r.Context())
		func() {
			defer func() { recover() }()
			s.Update(func(v *mwValue) { panic("boom") })
		}()
		v, _ := s.Get() // deadlocks if the panic left the lock held
		after = v.User
	})).ServeHTTP(rec, mwRequest("/", c))
	if after != "alice" {
		t.Errorf("value after the panic %q", after)
	}
	if got := rec.Result().Header["Set-Cookie"]; len(got) != 0 {
		t.Errorf("a panicked Update was sealed: %q", got)
	}
}

func TestMiddlewareLifecycle(t *testing.T) {
	t.Parallel()
	e := newMWEnv(t, nil)
	c := e.login("alice")
	_, first := e.openCookie(c)

	// Renew issues a new session ID and creation time, keeping the value.
	e.clock.Advance(time.Minute)
	cs := e.do("/renew", c).Result().Cookies()
	if len(cs) != 1 {
		t.Fatalf("renew: cookies %v", cs)
	}
	v, renewed := e.openCookie(cs[0])
	if v.User != "alice" || renewed.ID == first.ID || !renewed.Created.Equal(e.clock.Now()) {
		t.Errorf("renew: %+v %+v (was %+v)", v, renewed, first)
	}

	// Update keeps the ID.
	cs = e.do("/update?item=apple", cs[0]).Result().Cookies()
	v, updated := e.openCookie(cs[0])
	if updated.ID != renewed.ID || len(v.Cart) != 1 || v.Cart[0] != "apple" {
		t.Errorf("update: %+v %+v", v, updated)
	}

	// Destroy expires the cookie; the body shows no session.
	rec := e.do("/destroy", cs[0])
	if rec.Body.String() != "-" {
		t.Errorf("destroy: body %q", rec.Body.String())
	}
	del := cookiesByName(rec)["__Host-session"]
	if del == nil || del.MaxAge >= 0 || del.Value != "" {
		t.Errorf("destroy did not expire the cookie: %v", rec.Result().Header["Set-Cookie"])
	}
}

func TestMiddlewareTooLargeKeepsPreviousCookie(t *testing.T) {
	t.Parallel()
	e := newMWEnv(t, nil) // one cookie of 4096 bytes at most
	c := e.login("alice")
	big := strings.Repeat("x", 5000)
	rec := e.do("/update?item="+big, c)
	if got := rec.Result().Header["Set-Cookie"]; len(got) != 0 {
		t.Errorf("oversized session wrote %d Set-Cookie lines", len(got))
	}
	var tl *tokensession.TooLargeError
	found := false
	for _, err := range e.errs.take() {
		if errors.As(err, &tl) {
			found = true
		}
	}
	if !found || tl.Size <= tl.Limit || tl.Limit != 4096-len("__Host-session") {
		t.Fatalf("TooLargeError not reported with sizes: %+v", tl)
	}
	// The previous cookie still opens.
	if got := e.do("/", c).Body.String(); got != "alice" {
		t.Errorf("previous cookie lost: %q", got)
	}
}

func TestMiddlewareSaveErrors(t *testing.T) {
	t.Parallel()
	e := newMWEnv(t, nil)
	var saveErr, lateErr error
	h := e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := e.m.FromContext(r.Context())
		old, _ := s.Get()
		s.Set(mwValue{User: strings.Repeat("y", 5000)})
		saveErr = s.Save()
		s.Set(old) // keep what was there
		if err := s.Save(); err != nil {
			t.Errorf("Save of the old value: %v", err)
		}
		w.Write([]byte("ok"))
		s.Set(mwValue{User: "late"})
		lateErr = s.Save()
	}))
	c := e.login("alice")
	req := mwRequest("/", c)
	rec := newRecorder()
	h.ServeHTTP(rec, req)
	if !errors.Is(saveErr, tokensession.ErrTooLarge) {
		t.Errorf("Save of a huge value: %v", saveErr)
	}
	if !errors.Is(lateErr, tokensession.ErrHeadersWritten) {
		t.Errorf("Save after the write: %v", lateErr)
	}
	// Save returned both errors: the ErrorHandler gets neither.
	if errs := e.errs.take(); len(errs) != 0 {
		t.Errorf("errors Save returned also went to the ErrorHandler: %v", errs)
	}
	cs := rec.Result().Cookies()
	if len(cs) != 1 {
		t.Fatalf("cookies %v", cs)
	}
	if v, _ := e.openCookie(cs[0]); v.User != "alice" {
		t.Errorf("sealed %q, want the value restored before the write", v.User)
	}
}

func TestMiddlewareFromContextOutsideHandler(t *testing.T) {
	t.Parallel()
	e := newMWEnv(t, nil)
	if s := e.m.FromContext(mwRequest("/").Context()); s != nil {
		t.Fatal("FromContext outside the handler returned a session")
	}
	defer func() {
		if r := recover(); r == nil || !strings.HasPrefix(r.(string), "tokensession: ") {
			t.Errorf("panic %v, want a tokensession: message", r)
		}
	}()
	var s *tokensession.Session[mwValue]
	s.Get()
}

// Load reads a request's cookies exactly as the middleware does: the
// same value and metadata from a plain cookie or a set of chunks, and the
// same reason when the cookies do not open.
func TestManagerLoad(t *testing.T) {
	t.Parallel()
	e := newMWEnv(t, func(c *tokensession.Config[mwValue]) { c.MaxChunks, c.MaxCookieSize = 4, 1024 })
	plain := e.login("ada")
	chunks := e.do("/set?user=" + strings.Repeat("u", 1500)).Result().Cookies()
	if len(chunks) != 3 {
		t.Fatalf("%d chunks, want 3", len(chunks))
	}
	// One character of the payload changed.
	i := strings.LastIndexByte(plain.Value, '.') - 20
	flip := map[byte]string{'A': "B"}[plain.Value[i]]
	if flip == "" {
		flip = "A"
	}
	forged := &http.Cookie{Name: e.name, Value: plain.Value[:i] + flip + plain.Value[i+1:]}
	for _, tc := range []struct {
		name    string
		cookies []*http.Cookie
		err     error
	}{
		{"plain", []*http.Cookie{plain}, nil},
		{"chunks", chunks, nil},
		{"no cookie", nil, http.ErrNoCookie},
		{"empty cookie", []*http.Cookie{{Name: e.name, Value: ""}}, http.ErrNoCookie},
		{"missing chunk", chunks[1:], tokensession.ErrMalformed},
		{"larger than MaxCookieSize", []*http.Cookie{{Name: e.name, Value: "v4.local." + strings.Repeat("A", 1100)}}, tokensession.ErrTooLarge},
		{"larger than any cookie", []*http.Cookie{{Name: e.name, Value: "v4.local." + strings.Repeat("A", 4100)}}, tokensession.ErrMalformed},
		{"forged", []*http.Cookie{forged}, tokensession.ErrNotAuthentic},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, info, err := e.m.Load(mwRequest("/", tc.cookies...))
			if !errors.Is(err, tc.err) {
				t.Fatalf("Load: err = %v, want %v", err, tc.err)
			}
			// The middleware's view of the same request.
			var got mwValue
			var gotInfo tokensession.Info
			var ok bool
			var sessErr error
			e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s := e.m.FromContext(r.Context())
				got, ok = s.Get()
				gotInfo, _ = s.Info()
				sessErr = s.Err()
			})).ServeHTTP(httptest.NewRecorder(), mwRequest("/", tc.cookies...))
			if ok != (err == nil) || got.User != v.User || gotInfo != info {
				t.Errorf("Load = %q %+v %v; the middleware read %q %+v (session %v)", v.User, info, err, got.User, gotInfo, ok)
			}
			if tc.err != http.ErrNoCookie && sessErr != err {
				t.Errorf("Load err %v, Session.Err %v", err, sessErr)
			}
		})
	}
}

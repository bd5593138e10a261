package tokensession_test

import (
	"errors"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tokensession/tokensession"
)

// sealedLen returns the token length for v, sealed at the env's clock.
func sealedLen(t *testing.T, e *mwEnv, v mwValue) int {
	t.Helper()
	tok, _, err := e.m.Seal(v)
	if err != nil {
		t.Fatal(err)
	}
	return len(tok)
}

func TestCookieBudgetBoundary(t *testing.T) {
	t.Parallel()
	// Measure a token with a roomy manager, then set the budget to exactly
	// the cookie's name plus that token.
	probe := newMWEnv(t, func(c *tokensession.Config[mwValue]) { c.MaxChunks = 4 })
	user := strings.Repeat("u", 600)
	n := sealedLen(t, probe, mwValue{User: user})
	budget := len("__Host-session") + n

	e := newMWEnv(t, func(c *tokensession.Config[mwValue]) { c.MaxCookieSize = budget })
	rec := e.do("/set?user=" + user)
	cs := rec.Result().Cookies()
	if len(cs) != 1 || len(cs[0].Name)+len(cs[0].Value) != budget {
		t.Fatalf("at the budget: %d cookies, %d bytes", len(cs), len(cs[0].Name)+len(cs[0].Value))
	}
	// Three more bytes of value (four of base64) no longer fit one cookie.
	rec = e.do("/set?user=" + user + "uuu")
	if len(rec.Result().Cookies()) != 0 || !e.errs.has(tokensession.ErrTooLarge) {
		t.Errorf("over the budget: cookies %v", rec.Result().Cookies())
	}
}

func TestChunkBoundBoundary(t *testing.T) {
	t.Parallel()
	// With 3 chunks of 1024 bytes, the chunk names take 16 bytes each, so
	// tokens may be 3*(1024-16) bytes long.
	const chunks, size = 3, 1024
	limit := chunks * (size - len("__Host-session.0"))
	e := newMWEnv(t, func(c *tokensession.Config[mwValue]) { c.MaxChunks = chunks; c.MaxCookieSize = size })
	probe := newMWEnv(t, func(c *tokensession.Config[mwValue]) { c.MaxChunks = 4 })
	// Find the longest user name whose token fits the bound exactly or
	// just under it (base64 grows in steps).
	base := sealedLen(t, probe, mwValue{})
	l := (limit - base) * 3 / 4
	for sealedLen(t, probe, mwValue{User: strings.Repeat("u", l+1)}) <= limit {
		l++
	}
	for sealedLen(t, probe, mwValue{User: strings.Repeat("u", l)}) > limit {
		l--
	}
	fits := strings.Repeat("u", l)
	rec := e.do("/set?user=" + fits)
	cs := rec.Result().Cookies()
	if len(cs) != chunks {
		t.Fatalf("at the bound: %d cookies (%v), want %d", len(cs), e.errs.take(), chunks)
	}
	total := 0
	for _, c := range cs {
		if len(c.Name)+len(c.Value) > size {
			t.Errorf("cookie %s has %d bytes, over %d", c.Name, len(c.Name)+len(c.Value), size)
		}
		total += len(c.Value)
	}
	if total > limit || limit-total > 3 {
		t.Errorf("chunks carry %d bytes, bound %d", total, limit)
	}
	// Read back.
	if got := e.do("/", cs...).Body.String(); got != fits {
		t.Errorf("chunked read returned %d bytes", len(got))
	}
	// One more byte exceeds the bound: typed error with both sizes, no
	// cookie written, the previous chunks still open.
	rec = e.do("/set?user="+fits+"uuu", cs...)
	if len(rec.Result().Cookies()) != 0 {
		t.Errorf("over the bound wrote %v", rec.Result().Cookies())
	}
	var found bool
	for _, err := range e.errs.take() {
		if tl, ok := err.(*tokensession.TooLargeError); ok && tl.Limit == limit && tl.Size > limit {
			found = true
		}
	}
	if !found {
		t.Error("TooLargeError with the bound not reported")
	}
}

func TestChunksReadOnlyAsCompleteSet(t *testing.T) {
	t.Parallel()
	e := newMWEnv(t, func(c *tokensession.Config[mwValue]) { c.MaxChunks = 4; c.MaxCookieSize = 1024 })
	rec := e.do("/set?user=" + strings.Repeat("u", 1500))
	cs := rec.Result().Cookies()
	if len(cs) != 3 {
		t.Fatalf("%d chunks, want 3", len(cs))
	}
	cases := map[string][]*http.Cookie{
		"missing first":  {cs[1], cs[2]},
		"missing middle": {cs[0], cs[2]},
		"missing last":   {cs[0], cs[1]},
		"only one":       {cs[0]},
		"out of order":   {cs[1], cs[0], cs[2]}, // order in the header does not matter
		"swapped values": {{Name: cs[0].Name, Value: cs[1].Value}, {Name: cs[1].Name, Value: cs[0].Value}, cs[2]},
	}
	for name, set := range cases {
		t.Run(name, func(t *testing.T) {
			rec := e.do("/", set...)
			want := "-"
			if name == "out of order" {
				want = strings.Repeat("u", 1500)
			}
			if got := rec.Body.String(); got != want {
				t.Errorf("read %d bytes, want %q", len(got), want[:1])
			}
			if rec.Code != http.StatusOK {
				t.Errorf("status %d", rec.Code)
			}
		})
	}
}

func TestMiddlewareDevelopmentCookie(t *testing.T) {
	t.Parallel()
	e := newMWEnv(t, func(c *tokensession.Config[mwValue]) { c.UnsafeAllowHTTP = true })
	line := e.do("/set?user=dev").Result().Header.Get("Set-Cookie")
	if !strings.HasPrefix(line, "session=") || strings.Contains(line, "Secure") {
		t.Errorf("development cookie %q", line)
	}
	mustContain(t, line, "HttpOnly")
	mustContain(t, line, "Max-Age="+strconv.Itoa(1800))
}

// With chunking allowed, a single cookie is still bounded by one cookie's
// size: no browser sends more, so a larger one is an attack.
func TestMiddlewarePlainCookieBounded(t *testing.T) {
	t.Parallel()
	e := newMWEnv(t, func(c *tokensession.Config[mwValue]) { c.MaxChunks = 4 })
	rec := e.do("/", &http.Cookie{Name: "__Host-session", Value: "v4.local." + strings.Repeat("A", 5000)})
	if rec.Body.String() != "-" || !e.errs.has(tokensession.ErrMalformed) {
		t.Errorf("oversized plain cookie: body %q", rec.Body.String())
	}
	if del := cookiesByName(rec)["__Host-session"]; del == nil || del.MaxAge >= 0 {
		t.Errorf("oversized plain cookie not expired")
	}
}

// The Cookie header is read as net/http reads it: up to 3000 cookies, and
// nothing at all beyond, so a hostile header costs no more here than in
// r.Cookie. A session cookie among a few hundred others is found.
func TestMiddlewareCookieHeaderBounded(t *testing.T) {
	t.Parallel()
	e := newMWEnv(t, nil)
	c := e.login("alice")
	var errSess error
	var user string
	h := e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := e.m.FromContext(r.Context())
		v, _ := s.Get()
		user, errSess = v.User, s.Err()
	}))
	pair := c.Name + "=" + c.Value
	for _, tc := range []struct {
		name   string
		header string
		want   string
	}{
		{"crowded", strings.Repeat("pref=1; ", 500) + pair, "alice"},
		{"at the limit", strings.Repeat(";", 2999) + pair, "alice"},
		{"over the limit", strings.Repeat(";", 3000) + pair, ""},
		{"a megabyte", strings.Repeat("a=b;", 1<<18) + pair, ""},
	} {
		req := mwRequest("/")
		req.Header.Set("Cookie", tc.header)
		_, stdErr := req.Cookie(c.Name)
		h.ServeHTTP(newRecorder(), req)
		if user != tc.want {
			t.Errorf("%s: user %q, want %q", tc.name, user, tc.want)
		}
		if (stdErr == nil) != (tc.want != "") {
			t.Errorf("%s: net/http disagrees: r.Cookie error %v", tc.name, stdErr)
		}
		if tc.want == "" && !errors.Is(errSess, tokensession.ErrMalformed) {
			t.Errorf("%s: Err = %v, want ErrMalformed", tc.name, errSess)
		}
	}
}

// The Set-Cookie lines come from http.Cookie.String: these are the exact
// bytes the middleware has always sent, for each kind of configuration,
// for a session cookie, its chunks and their deletion.
func TestSetCookieLineBytes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		edit  func(*tokensession.Config[mwValue])
		attrs string // after Max-Age
		path  string // Path and Domain
	}{
		{"default", nil, "; HttpOnly; Secure; SameSite=Lax", "; Path=/"},
		{"strict", func(c *tokensession.Config[mwValue]) { c.SameSite = http.SameSiteStrictMode }, "; HttpOnly; Secure; SameSite=Strict", "; Path=/"},
		{"none", func(c *tokensession.Config[mwValue]) { c.SameSite = http.SameSiteNoneMode }, "; HttpOnly; Secure; SameSite=None", "; Path=/"},
		{"http", func(c *tokensession.Config[mwValue]) { c.UnsafeAllowHTTP = true }, "; HttpOnly; SameSite=Lax", "; Path=/"},
		{"domain and path", func(c *tokensession.Config[mwValue]) {
			c.CookieName, c.Domain, c.Path = "sid", "example.com", "/app"
		}, "; HttpOnly; Secure; SameSite=Lax", "; Path=/app; Domain=example.com"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newMWEnv(t, func(c *tokensession.Config[mwValue]) {
				c.MaxChunks, c.MaxCookieSize = 3, 1024
				if tc.edit != nil {
					tc.edit(c)
				}
			})
			want := func(name, value, maxAge string) string {
				return name + "=" + value + tc.path + "; Max-Age=" + maxAge + tc.attrs
			}
			// One cookie.
			rec := e.do("/set?user=ada")
			lines := rec.Result().Header["Set-Cookie"]
			cs := rec.Result().Cookies()
			if len(lines) != 1 || lines[0] != want(e.name, cs[0].Value, "1800") {
				t.Errorf("session cookie:\n got %q\nwant %q", lines, want(e.name, cs[0].Value, "1800"))
			}
			// Chunks, and the deletion of the plain cookie they replace.
			rec = e.do("/set?user="+strings.Repeat("u", 1200), cs[0])
			lines = rec.Result().Header["Set-Cookie"]
			chunks := rec.Result().Cookies()
			if len(lines) != 3 || len(chunks) != 3 {
				t.Fatalf("chunked session: %q", lines)
			}
			for i := range 2 {
				if name := e.name + "." + strconv.Itoa(i); lines[i] != want(name, chunks[i].Value, "1800") {
					t.Errorf("chunk %d:\n got %q\nwant %q", i, lines[i], want(name, chunks[i].Value, "1800"))
				}
			}
			if lines[2] != want(e.name, "", "0") {
				t.Errorf("deletion:\n got %q\nwant %q", lines[2], want(e.name, "", "0"))
			}
		})
	}
}

// A leading dot on Config.Domain is not sent: browsers ignore it, and
// http.Cookie.String leaves it out.
func TestSetCookieDomainLeadingDot(t *testing.T) {
	t.Parallel()
	e := newMWEnv(t, func(c *tokensession.Config[mwValue]) { c.CookieName, c.Domain = "sid", ".example.co.uk" })
	line := e.do("/set?user=ada").Result().Header.Get("Set-Cookie")
	mustContain(t, line, "; Domain=example.co.uk;")
}

// During a rolling change of MaxChunks or MaxCookieSize, an instance meets
// sessions sealed under larger settings than its own. It cannot read them,
// but they are sessions, not bad cookies: a read or a write leaves every
// chunk as it is, and only Renew or Destroy replace them, Destroy expiring
// every chunk present, those above the local MaxChunks included.
func TestChunksFromLargerConfigKept(t *testing.T) {
	t.Parallel()
	big := newMWEnv(t, func(c *tokensession.Config[mwValue]) { c.MaxChunks = 4; c.MaxCookieSize = 1024 })
	user := strings.Repeat("u", 1500)
	chunks := big.do("/set?user=" + user).Result().Cookies()
	if len(chunks) != 3 {
		t.Fatalf("%d chunks, want 3", len(chunks))
	}
	for _, tc := range []struct {
		name      string
		maxChunks int
		size      int
	}{
		{"fewer chunks", 2, 1024},
		{"one chunk", 1, 1024},
		{"smaller cookies", 4, 512},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newMWEnv(t, func(c *tokensession.Config[mwValue]) {
				c.Keyring = big.m.Keyring()
				c.MaxChunks, c.MaxCookieSize = tc.maxChunks, tc.size
			})
			var sessErr, saveErr error
			serve := func(fn func(s *tokensession.Session[mwValue])) *httptest.ResponseRecorder {
				t.Helper()
				rec := newRecorder()
				e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					s := e.m.FromContext(r.Context())
					sessErr = s.Err()
					fn(s)
				})).ServeHTTP(rec, mwRequest("/", chunks...))
				return rec
			}
			tooLarge := func(err error) bool {
				return errors.Is(err, tokensession.ErrTooLarge) && !errors.Is(err, tokensession.ErrMalformed)
			}

			// A read: no session, the reason, nothing written.
			rec := serve(func(s *tokensession.Session[mwValue]) {
				if _, ok := s.Get(); ok {
					t.Error("read a session")
				}
			})
			if got := rec.Result().Header["Set-Cookie"]; len(got) != 0 {
				t.Errorf("read wrote %q", got)
			}
			if !tooLarge(sessErr) {
				t.Errorf("Err = %v, want ErrTooLarge", sessErr)
			}
			if _, _, err := e.m.Load(mwRequest("/", chunks...)); err != sessErr {
				t.Errorf("Load = %v, the middleware %v", err, sessErr)
			}
			if errs := e.errs.take(); len(errs) != 1 || errs[0] != sessErr {
				t.Errorf("ErrorHandler got %v, want the opening error", errs)
			}

			// A write without Save: refused and reported.
			rec = serve(func(s *tokensession.Session[mwValue]) { s.Set(mwValue{User: "anon"}) })
			if got := rec.Result().Header["Set-Cookie"]; len(got) != 0 {
				t.Errorf("Set wrote %q", got)
			}
			if errs := e.errs.take(); len(errs) != 2 || !tooLarge(errs[1]) || errs[1] == errs[0] {
				t.Errorf("ErrorHandler got %v, want the opening error and the refused write", errs)
			}
			// With Save: Save returns the refusal.
			rec = serve(func(s *tokensession.Session[mwValue]) {
				s.Update(func(v *mwValue) { v.Cart = append(v.Cart, "x") })
				saveErr = s.Save()
			})
			if got := rec.Result().Header["Set-Cookie"]; len(got) != 0 {
				t.Errorf("Update wrote %q", got)
			}
			if !tooLarge(saveErr) {
				t.Errorf("Save = %v, want ErrTooLarge", saveErr)
			}
			if errs := e.errs.take(); len(errs) != 1 {
				t.Errorf("ErrorHandler got %v, want the opening error alone", errs)
			}

			// Login replaces the session and expires the chunks it does
			// not rewrite.
			rec = serve(func(s *tokensession.Session[mwValue]) {
				s.Set(mwValue{User: "bob"})
				s.Renew()
			})
			got := cookiesByName(rec)
			for _, c := range chunks {
				if got[c.Name] == nil {
					t.Errorf("Renew left %s as it was", c.Name)
				}
			}
			var fresh []*http.Cookie
			for _, c := range got {
				if c.MaxAge > 0 {
					fresh = append(fresh, c)
				}
			}
			if v, _ := e.openCookie(fresh...); v.User != "bob" {
				t.Errorf("renewed session %q", v.User)
			}

			// Logout expires every chunk.
			got = cookiesByName(serve(func(s *tokensession.Session[mwValue]) { s.Destroy() }))
			for _, c := range chunks {
				if d := got[c.Name]; d == nil || d.MaxAge >= 0 {
					t.Errorf("Destroy did not expire %s", c.Name)
				}
			}
			e.errs.take()

			// An incomplete set is still malformed, and expired.
			rec = e.do("/", chunks[0], chunks[2])
			if !e.errs.has(tokensession.ErrMalformed) {
				t.Error("incomplete set not malformed")
			}
			if got := cookiesByName(rec); got[chunks[0].Name] == nil || got[chunks[2].Name] == nil {
				t.Errorf("incomplete set not expired: %q", rec.Result().Header["Set-Cookie"])
			}
		})
	}
	// The instance that sealed the session still reads it.
	if got := big.do("/", chunks...).Body.String(); got != user {
		t.Errorf("session lost: read %d bytes", len(got))
	}
}

// Chunk names are chunks up to the package's bound whatever MaxChunks is:
// a set too long for any configuration is malformed, and names from the
// bound up are other cookies.
func TestChunkNamesUpToPackageBound(t *testing.T) {
	t.Parallel()
	e := newMWEnv(t, func(c *tokensession.Config[mwValue]) { c.MaxChunks = 2; c.MaxCookieSize = 1024 })
	chunks := e.do("/set?user=" + strings.Repeat("u", 900)).Result().Cookies()
	if len(chunks) != 2 {
		t.Fatalf("%d chunks, want 2", len(chunks))
	}
	withNames := func(from, to int, value string) []*http.Cookie {
		cs := append([]*http.Cookie(nil), chunks...)
		for i := from; i <= to; i++ {
			cs = append(cs, &http.Cookie{Name: e.name + "." + strconv.Itoa(i), Value: value})
		}
		return cs
	}
	for _, tc := range []struct {
		name    string
		cookies []*http.Cookie
		want    error // nil: the session reads
	}{
		{"names 16 to 40 are other cookies", withNames(16, 40, "junk"), nil},
		{"junk chunks 2 to 15", withNames(2, 15, "junk"), tokensession.ErrTooLarge},
		{"junk chunk 5", withNames(5, 5, "junk"), tokensession.ErrMalformed},
		{"16 chunks too long for any configuration", withNames(2, 15, strings.Repeat("a", 4700)), tokensession.ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := e.do("/", tc.cookies...)
			errs := e.errs.take()
			switch {
			case tc.want == nil && (rec.Body.String() == "-" || len(errs) != 0):
				t.Errorf("no session: %v", errs)
			case tc.want != nil && (len(errs) != 1 || !errors.Is(errs[0], tc.want)):
				t.Errorf("reported %v, want %v", errs, tc.want)
			}
			_, _, err := e.m.Load(mwRequest("/", tc.cookies...))
			if (err == nil) != (tc.want == nil) || tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("Load = %v, want %v", err, tc.want)
			}
			// Only a malformed set is expired, every chunk of it.
			got := cookiesByName(rec)
			if tc.want == tokensession.ErrMalformed {
				for _, c := range tc.cookies {
					if d := got[c.Name]; d == nil || d.MaxAge >= 0 {
						t.Errorf("%s not expired", c.Name)
					}
				}
			} else if len(got) != 0 {
				t.Errorf("wrote %q", rec.Result().Header["Set-Cookie"])
			}
		})
	}
}

// A stubbornJar is the cookie store of a client that ignores Max-Age: it
// keeps a cookie the middleware expires, with the empty value of the
// Set-Cookie line that expires it (old browsers that know only Expires,
// and hand-written cookie jars, do so).
type stubbornJar map[string]string

// update applies the response's Set-Cookie lines.
func (j stubbornJar) update(rec *httptest.ResponseRecorder) {
	for _, c := range rec.Result().Cookies() {
		j[c.Name] = c.Value
	}
}

// String lists the cookies, those with a value as name=…, empty ones as
// name=.
func (j stubbornJar) String() string {
	var s []string
	for _, c := range j.cookies() {
		if c.Value != "" {
			c.Value = "…"
		}
		s = append(s, c.Name+"="+c.Value)
	}
	return strings.Join(s, "; ")
}

func (j stubbornJar) cookies() []*http.Cookie {
	var cs []*http.Cookie
	for _, name := range slices.Sorted(maps.Keys(j)) {
		cs = append(cs, &http.Cookie{Name: name, Value: j[name]})
	}
	return cs
}

// An empty cookie is what a client that ignores Max-Age keeps of a cookie
// the middleware expired. It carries nothing, so it neither hides the
// session nor makes it too large: an empty plain cookie left when the
// session grew into chunks does not hide them, empty chunks left when it
// shrank do not count against MaxChunks, and a set of nothing but empty
// chunks is no session, which a write replaces. The next write expires
// the empty cookies again.
func TestEmptyCookiesKeptByClient(t *testing.T) {
	t.Parallel()
	big := newMWEnv(t, func(c *tokensession.Config[mwValue]) { c.MaxChunks = 4; c.MaxCookieSize = 1024 })
	sameKey := func(maxChunks int) *mwEnv {
		return newMWEnv(t, func(c *tokensession.Config[mwValue]) {
			c.Keyring = big.m.Keyring()
			c.MaxChunks, c.MaxCookieSize = maxChunks, 1024
		})
	}
	name := big.name
	// expired checks that rec expires each of names.
	expired := func(t *testing.T, rec *httptest.ResponseRecorder, names ...string) {
		t.Helper()
		got := cookiesByName(rec)
		for _, n := range names {
			if c := got[n]; c == nil || c.MaxAge >= 0 {
				t.Errorf("%s not expired: %q", n, rec.Result().Header["Set-Cookie"])
			}
		}
	}

	t.Run("plain cookie left empty by a session grown into chunks", func(t *testing.T) {
		jar := stubbornJar{}
		jar.update(big.do("/set?user=alice"))
		user := strings.Repeat("u", 1500)
		jar.update(big.do("/set?user="+user, jar.cookies()...))
		if v, ok := jar[name]; !ok || v != "" || jar[name+".1"] == "" {
			t.Fatalf("jar %v, want the empty cookie and chunks", jar)
		}
		if got := big.do("/", jar.cookies()...).Body.String(); got != user {
			t.Errorf("read %.10q, want the chunks' session", got)
		}
		if errs := big.errs.take(); len(errs) != 0 {
			t.Errorf("reported %v", errs)
		}
		if v, _, err := big.m.Load(mwRequest("/", jar.cookies()...)); err != nil || v.User != user {
			t.Errorf("Load = %.10q, %v", v.User, err)
		}
		rec := big.do("/update?item=x", jar.cookies()...)
		expired(t, rec, name)
	})

	t.Run("chunks left empty by a shrunk session, MaxChunks below them", func(t *testing.T) {
		jar := stubbornJar{}
		jar.update(big.do("/set?user=" + strings.Repeat("u", 1500)))
		if len(jar) != 3 {
			t.Fatalf("%d chunks, want 3", len(jar))
		}
		user := strings.Repeat("v", 900)
		jar.update(big.do("/set?user="+user, jar.cookies()...))
		if len(jar) != 3 || jar[name+".2"] != "" || jar[name+".1"] == "" {
			t.Fatalf("jar %v, want two chunks and an empty third", jar)
		}
		// An instance of MaxChunks 2 reads the two chunks that carry the
		// session.
		small := sameKey(2)
		if got := small.do("/", jar.cookies()...).Body.String(); got != user {
			t.Errorf("read %.10q, want the session", got)
		}
		if errs := small.errs.take(); len(errs) != 0 {
			t.Errorf("reported %v", errs)
		}
		if v, _, err := small.m.Load(mwRequest("/", jar.cookies()...)); err != nil || v.User != user {
			t.Errorf("Load = %.10q, %v", v.User, err)
		}
		rec := small.do("/update?item=x", jar.cookies()...)
		expired(t, rec, name+".2")
		if errs := small.errs.take(); len(errs) != 0 {
			t.Errorf("write reported %v", errs)
		}
	})

	t.Run("only empty chunks left by a logout", func(t *testing.T) {
		two := sameKey(2)
		jar := stubbornJar{}
		jar.update(two.do("/set?user=" + strings.Repeat("u", 900)))
		jar.update(two.do("/destroy", jar.cookies()...))
		if len(jar) != 2 || jar[name+".0"] != "" || jar[name+".1"] != "" {
			t.Fatalf("jar %v, want two empty chunks", jar)
		}
		// An instance of MaxChunks 1 sees no session, no error, and a
		// write starts a session.
		one := sameKey(1)
		if got := one.do("/", jar.cookies()...).Body.String(); got != "-" {
			t.Errorf("read %q, want no session", got)
		}
		if _, _, err := one.m.Load(mwRequest("/", jar.cookies()...)); err != http.ErrNoCookie {
			t.Errorf("Load = %v, want http.ErrNoCookie", err)
		}
		rec := one.do("/set?user=bob", jar.cookies()...)
		if errs := one.errs.take(); len(errs) != 0 {
			t.Errorf("reported %v", errs)
		}
		if got := cookiesByName(rec)[name]; got == nil || got.MaxAge <= 0 {
			t.Errorf("no session written: %q", rec.Result().Header["Set-Cookie"])
		}
		expired(t, rec, name+".0", name+".1")
	})
}

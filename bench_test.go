package tokensession_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"aidanwoods.dev/go-paseto"

	"github.com/tokensession/tokensession"
)

// The benchmarks run with a fixed clock so that no token expires or enters
// its refresh window while b.N grows, and compare only numbers measured in
// the same run: BenchmarkMiddleware/untouched against BenchmarkBareHandler,
// BenchmarkOpenKeyring/keys=16 against keys=1. Run them with
//
//	go test -run='^$' -bench=. -count=10 -benchtime=200ms > new.txt
//	benchstat new.txt
//
// On a busy machine ns/op swings widely; the middleware benchmarks also
// report cpu-ns/op (see benchReportCPU), which does not.
//
// benchmarks/ (a nested module) compares the same paths with
// gorilla/sessions and hand-rolled go-paseto.

// benchMaxCookieSize is the default Config.MaxCookieSize, the per-cookie
// budget of name and value.
const benchMaxCookieSize = 4096

// benchT0 is the fixed instant every benchmark manager lives at.
var benchT0 = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

func benchClock(t time.Time) func() time.Time { return func() time.Time { return t } }

// benchValue is a typical session: who the user is, a CSRF token, a few
// preferences, and for the bigger sizes a shopping cart.
type benchValue struct {
	UserID int64       `json:"uid"`
	Email  string      `json:"email"`
	Roles  []string    `json:"roles"`
	CSRF   string      `json:"csrf"`
	Prefs  benchPrefs  `json:"prefs"`
	Cart   []benchItem `json:"cart,omitempty"`
}

type benchPrefs struct {
	Theme    string `json:"theme"`
	Lang     string `json:"lang"`
	TZ       string `json:"tz"`
	PageSize int    `json:"page_size"`
}

type benchItem struct {
	SKU   string `json:"sku"`
	Name  string `json:"name"`
	Qty   int    `json:"qty"`
	Cents int64  `json:"cents"`
}

// benchSizes are the target JSON sizes of the session value.
var benchSizes = []struct {
	name string
	size int
}{
	{"200B", 200},
	{"1KiB", 1024},
	{"3KiB", 3 * 1024},
}

// benchMakeValue returns a session value whose JSON encoding is within 5%
// of size bytes, and that length.
func benchMakeValue(tb testing.TB, size int) (benchValue, int) {
	tb.Helper()
	v := benchValue{
		UserID: 90210417,
		Email:  "ada.lovelace@example.org",
		Roles:  []string{"user", "editor"},
		CSRF:   "o8Kx3vQ1tZpR7mWc2yLhN5fJ0aUeGdBs9iTkXqV4w6M",
		Prefs:  benchPrefs{Theme: "dark", Lang: "en-GB", TZ: "Europe/London", PageSize: 50},
	}
	n := benchJSONLen(tb, v)
	for i := 1; n < size-40; i++ {
		v.Cart = append(v.Cart, benchItem{
			SKU:   fmt.Sprintf("SKU-%06d", 100000+i*7919%900000),
			Name:  fmt.Sprintf("Catalogue item %d, blue, size M", i),
			Qty:   1 + i%3,
			Cents: int64(499 + i*250),
		})
		n = benchJSONLen(tb, v)
	}
	if d := n - size; d*20 > size || -d*20 > size {
		tb.Fatalf("benchMakeValue(%d): JSON is %d bytes, not within 5%%", size, n)
	}
	return v, n
}

func benchJSONLen(tb testing.TB, v benchValue) int {
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return len(b)
}

// benchKeyring returns a keyring of the given keys, the first sealing.
func benchKeyring(tb testing.TB, keys ...tokensession.Key) *tokensession.Keyring {
	tb.Helper()
	entries := make([]tokensession.KeyringEntry, len(keys))
	for i, k := range keys {
		entries[i].Key = k
	}
	r, err := tokensession.NewKeyring(entries...)
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// benchManager returns a manager at instant now with up to four chunks, so
// that every benchmark size fits; values that fit one cookie use one. Its
// cache of opened tokens is off, so that every
// open pays for the cryptography and the parsing: the cost of a session's
// first request on an instance, and of every request after a change.
func benchManager(tb testing.TB, now time.Time, keys ...tokensession.Key) *tokensession.Manager[benchValue] {
	tb.Helper()
	cfg := tokensession.Config[benchValue]{
		Keyring:   benchKeyring(tb, keys...),
		Now:       benchClock(now),
		MaxChunks: 4,
	}
	cfg.OpenCacheBytes = -1 // every request pays for decryption
	m, err := tokensession.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// benchCachedManager is benchManager with the default cache of opened
// tokens.
func benchCachedManager(b *testing.B, now time.Time, keys ...tokensession.Key) *tokensession.Manager[benchValue] {
	b.Helper()
	cfg := tokensession.Config[benchValue]{
		Keyring:   benchKeyring(b, keys...),
		Now:       benchClock(now),
		MaxChunks: 4,
	}
	m, err := tokensession.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	return m
}

// benchLogin runs one request through m that sets v, and returns the
// Cookie header a browser would send back.
func benchLogin(tb testing.TB, m *tokensession.Manager[benchValue], v benchValue) string {
	tb.Helper()
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := m.FromContext(r.Context())
		s.Set(v)
		if err := s.Save(); err != nil {
			tb.Fatal(err)
		}
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	lines := rec.Header()["Set-Cookie"]
	if len(lines) == 0 {
		tb.Fatal("login set no cookie")
	}
	return benchCookieHeader(lines)
}

// benchCookieHeader turns Set-Cookie lines into the Cookie header that
// sends them back.
func benchCookieHeader(setCookie []string) string {
	var parts []string
	for _, l := range setCookie {
		nv, _, _ := strings.Cut(l, ";")
		parts = append(parts, nv)
	}
	return strings.Join(parts, "; ")
}

// benchRecorder is an httptest.ResponseRecorder reset between iterations
// instead of reallocated, so that allocs/op counts only the code under
// test. BenchmarkBareHandler measures what is left.
type benchRecorder struct {
	httptest.ResponseRecorder
	hdr  http.Header
	body bytes.Buffer
}

func newBenchRecorder() *benchRecorder {
	r := &benchRecorder{hdr: make(http.Header)}
	r.reset()
	return r
}

func (r *benchRecorder) reset() {
	clear(r.hdr)
	r.body.Reset()
	r.ResponseRecorder = httptest.ResponseRecorder{HeaderMap: r.hdr, Body: &r.body, Code: 200}
}

// benchRequest returns a reusable GET request carrying cookie.
func benchRequest(cookie string) *http.Request {
	r := httptest.NewRequest("GET", "/", nil)
	if cookie != "" {
		r.Header.Set("Cookie", cookie)
	}
	return r
}

// benchServe runs h on r b.N times. The middleware never modifies r (it
// serves a shallow copy with its own context), so r is reused as is.
func benchServe(b *testing.B, h http.Handler, r *http.Request) {
	b.Helper()
	rec := newBenchRecorder()
	b.ReportAllocs()
	defer benchReportCPU(b)()
	for b.Loop() {
		rec.reset()
		h.ServeHTTP(rec, r)
	}
}

// benchReportCPU reports cpu-ns/op, the process's CPU time per iteration
// (from benchRusageCPU), when the returned function runs after the loop.
// Unlike ns/op it does not count time spent waiting while other processes
// hold the CPU, so it is the steadier measure on a shared machine.
func benchReportCPU(b *testing.B) func() {
	t0, ok := benchRusageCPU()
	return func() {
		if t1, ok1 := benchRusageCPU(); ok && ok1 && b.N > 0 {
			b.ReportMetric(float64(t1-t0)/float64(b.N), "cpu-ns/op")
		}
	}
}

// benchServeOnce serves r once and returns the response's Set-Cookie lines.
func benchServeOnce(h http.Handler, r *http.Request) []string {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec.Header()["Set-Cookie"]
}

// Handlers. Each writes a small body so the response is committed through
// the middleware's writer, as a real handler's would be.

func benchOKHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	})
}

func benchReadHandler(b *testing.B, m *tokensession.Manager[benchValue], want bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, ok := m.FromContext(r.Context()).Get()
		if ok != want {
			b.Fatalf("session present = %v, want %v", ok, want)
		}
		io.WriteString(w, v.Prefs.Theme)
	})
}

func benchModifyHandler(b *testing.B, m *tokensession.Manager[benchValue]) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := m.FromContext(r.Context())
		s.Update(func(v *benchValue) { v.Prefs.PageSize++ })
		if err := s.Save(); err != nil {
			b.Fatal(err)
		}
		io.WriteString(w, "ok")
	})
}

func BenchmarkSeal(b *testing.B) {
	m := benchManager(b, benchT0, tokensession.GenerateKey())
	for _, sz := range benchSizes {
		b.Run("size="+sz.name, func(b *testing.B) {
			v, n := benchMakeValue(b, sz.size)
			tok, _, err := m.Seal(v)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := m.Seal(v); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(tok)), "token-bytes")
		})
	}
}

func BenchmarkOpen(b *testing.B) {
	benchOpen(b, benchManager(b, benchT0, tokensession.GenerateKey()))
}

// BenchmarkOpenCached opens the same token again and again with the
// default cache of opened tokens: what each request after the first costs
// while a session is unchanged. Compare with BenchmarkOpen.
func BenchmarkOpenCached(b *testing.B) {
	benchOpen(b, benchCachedManager(b, benchT0, tokensession.GenerateKey()))
}

func benchOpen(b *testing.B, m *tokensession.Manager[benchValue]) {
	for _, sz := range benchSizes {
		b.Run("size="+sz.name, func(b *testing.B) {
			v, n := benchMakeValue(b, sz.size)
			tok, _, err := m.Seal(v)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := m.Open(tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkBareHandler is the baseline for BenchmarkMiddleware: the same
// handler and request with no middleware.
func BenchmarkBareHandler(b *testing.B) {
	m := benchManager(b, benchT0, tokensession.GenerateKey())
	v, _ := benchMakeValue(b, 200)
	benchServe(b, benchOKHandler(), benchRequest(benchLogin(b, m, v)))
}

func BenchmarkMiddleware(b *testing.B) {
	key := tokensession.GenerateKey()
	m := benchManager(b, benchT0, key)
	mc := benchCachedManager(b, benchT0, key)

	// The overhead of the middleware on a request whose handler never
	// calls the Session: the cookie is present but never parsed. Compare
	// with BenchmarkBareHandler.
	b.Run("untouched", func(b *testing.B) {
		v, _ := benchMakeValue(b, 200)
		r := benchRequest(benchLogin(b, m, v))
		h := m.Handler(benchOKHandler())
		if sc := benchServeOnce(h, r); len(sc) != 0 {
			b.Fatalf("untouched session set cookies: %q", sc)
		}
		benchServe(b, h, r)
	})

	for _, sz := range benchSizes {
		v, n := benchMakeValue(b, sz.size)
		cookie := benchLogin(b, m, v)

		// Reading a session sealed just now: open only, no Set-Cookie;
		// then the same read answered from the cache of opened tokens, as a
		// session's requests after the first are.
		for _, path := range []struct {
			name string
			m    *tokensession.Manager[benchValue]
		}{{"read-fresh", m}, {"read-fresh-cached", mc}} {
			b.Run(path.name+"/size="+sz.name, func(b *testing.B) {
				r := benchRequest(cookie)
				h := path.m.Handler(benchReadHandler(b, path.m, true))
				if sc := benchServeOnce(h, r); len(sc) != 0 {
					b.Fatalf("fresh read set cookies: %q", sc)
				}
				b.SetBytes(int64(n))
				benchServe(b, h, r)
			})
		}

		// Open, change one field, seal, Set-Cookie.
		b.Run("modify-save/size="+sz.name, func(b *testing.B) {
			r := benchRequest(cookie)
			h := m.Handler(benchModifyHandler(b, m))
			if sc := benchServeOnce(h, r); len(sc) == 0 {
				b.Fatal("modify set no cookie")
			}
			b.SetBytes(int64(n))
			benchServe(b, h, r)
		})

		// A read-only request 20 minutes later, inside the default
		// 15-minute refresh window of the 30-minute idle timeout: open,
		// re-seal unchanged, Set-Cookie.
		b.Run("refresh/size="+sz.name, func(b *testing.B) {
			later := benchManager(b, benchT0.Add(20*time.Minute), key)
			r := benchRequest(cookie)
			h := later.Handler(benchReadHandler(b, later, true))
			if sc := benchServeOnce(h, r); len(sc) == 0 {
				b.Fatal("refresh set no cookie")
			}
			b.SetBytes(int64(n))
			benchServe(b, h, r)
		})

		// A read-only request whose token was sealed by a key that is now
		// second in the keyring: open with the old key, re-seal with the
		// new one, Set-Cookie.
		b.Run("rotate/size="+sz.name, func(b *testing.B) {
			rotated := benchManager(b, benchT0, tokensession.GenerateKey(), key)
			r := benchRequest(cookie)
			h := rotated.Handler(benchReadHandler(b, rotated, true))
			if sc := benchServeOnce(h, r); len(sc) == 0 {
				b.Fatal("rotation set no cookie")
			}
			b.SetBytes(int64(n))
			benchServe(b, h, r)
		})
	}
}

// BenchmarkAttack measures what an attacker without a key can make one
// request cost, through the middleware with a handler that reads the
// session. Every case must be rejected as "no session".
func BenchmarkAttack(b *testing.B) {
	key := tokensession.GenerateKey()
	m := benchManager(b, benchT0, key)
	v200, _ := benchMakeValue(b, 200)
	good := strings.TrimPrefix(benchLogin(b, m, v200), tokensession.DefaultCookieName+"=")
	footer := good[strings.LastIndexByte(good, '.'):]

	run := func(b *testing.B, m *tokensession.Manager[benchValue], cookie string, wantSetCookie bool) {
		r := benchRequest(cookie)
		h := m.Handler(benchReadHandler(b, m, false))
		if sc := benchServeOnce(h, r); (len(sc) != 0) != wantSetCookie {
			b.Fatalf("Set-Cookie = %q, want present = %v", sc, wantSetCookie)
		}
		b.SetBytes(int64(len(cookie)))
		benchServe(b, h, r)
	}

	// A cookie of random bytes, not a token: rejected by the header and
	// base64 checks before any key lookup or cryptography. The response
	// expires the cookie.
	b.Run("garbage", func(b *testing.B) {
		run(b, m, tokensession.DefaultCookieName+"="+benchJunk(400), true)
	})

	// A well-formed token sealed by a key not in the keyring: rejected by
	// the footer lookup (one map access) without decrypting. The cookie is
	// left alone, since another instance may know the key.
	b.Run("unknown-kid", func(b *testing.B) {
		other := benchManager(b, benchT0, tokensession.GenerateKey())
		run(b, m, benchLogin(b, other, v200), false)
	})

	// The most work a forger can cause with one cookie: a well-formed
	// payload under the footer of a real key (footers are public), so the
	// MAC is computed before the token fails. Cost grows with the payload.
	b.Run("forged-known-kid", func(b *testing.B) {
		run(b, m, tokensession.DefaultCookieName+"=v4.local."+benchPayload(len(good)-len(footer)-len("v4.local."))+footer, true)
	})

	// A 64 KiB Cookie header (Go's server accepts up to 1 MiB of headers)
	// of ~1,300 unrelated cookies and a 20 KiB session cookie, over the
	// ~16 KiB the manager opens with MaxChunks 4:
	// measures the linear scan of the header, which must not allocate per
	// cookie, and the size check that rejects the token before decoding.
	b.Run("oversized-header", func(b *testing.B) {
		var sb strings.Builder
		for i := 0; sb.Len() < 44<<10; i++ {
			fmt.Fprintf(&sb, "tracker%d=%s; ", i, benchJunk(24))
		}
		sb.WriteString(tokensession.DefaultCookieName + "=v4.local." + benchPayload(20<<10))
		run(b, m, sb.String(), true)
	})

	// A complete, contiguous set of chunks (MaxChunks 4) whose joined
	// payload is as large as the manager opens, under a real key's footer:
	// reassembly, then a MAC over ~12 KiB before the forgery fails. This is
	// the most expensive cookie an attacker can send; it scales with
	// MaxChunks × MaxCookieSize.
	b.Run("forged-full-chunks", func(b *testing.B) {
		budget := 0
		for i := range 4 {
			budget += benchMaxCookieSize - len(tokensession.DefaultCookieName+"."+strconv.Itoa(i))
		}
		tok := "v4.local." + benchPayload(budget-len("v4.local.")-len(footer)-8) + footer
		var parts []string
		for i := 0; len(tok) > 0; i++ {
			name := tokensession.DefaultCookieName + "." + strconv.Itoa(i)
			k := min(len(tok), benchMaxCookieSize-len(name))
			parts = append(parts, name+"="+tok[:k])
			tok = tok[k:]
		}
		if len(parts) != 4 {
			b.Fatalf("%d chunks, want 4", len(parts))
		}
		run(b, m, strings.Join(parts, "; "), true)
	})
}

// BenchmarkHostileCookieHeader compares, in one run, the middleware's read
// of a hostile Cookie header (Go's server accepts up to 1 MiB of headers)
// with net/http's own r.Cookie(name) on the same header. The middleware
// sub-benchmark reports x-r.Cookie, its time over that of as many
// r.Cookie calls made right after it, which should stay a small multiple:
// both count the cookies first and give up beyond 3000.
func BenchmarkHostileCookieHeader(b *testing.B) {
	m := benchManager(b, benchT0, tokensession.GenerateKey())
	name := tokensession.DefaultCookieName
	within := strings.Repeat(name+"="+benchJunk(300)+"; ", 2999)
	headers := []struct{ name, header string }{
		{"semicolons-1MiB", strings.Repeat(";", 1<<20)},
		{"pairs-1MiB", strings.Repeat("a=b;", 1<<18)},
		{"duplicates-1MiB", strings.Repeat(name+"=x; ", (1<<20)/(len(name)+4))},
		{"duplicates-2999", within[:len(within)-2]},
	}
	for _, hc := range headers {
		r := benchRequest(hc.header)
		b.Run(hc.name+"/r.Cookie", func(b *testing.B) {
			b.SetBytes(int64(len(hc.header)))
			for b.Loop() {
				r.Cookie(name)
			}
		})
		b.Run(hc.name+"/middleware", func(b *testing.B) {
			h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				m.FromContext(r.Context()).Get()
			}))
			b.SetBytes(int64(len(hc.header)))
			benchServe(b, h, r)
			// The same number of r.Cookie calls, right after, untimed by b.
			start := time.Now()
			for range b.N {
				r.Cookie(name)
			}
			if ref := time.Since(start); ref > 0 {
				b.ReportMetric(float64(b.Elapsed())/float64(ref), "x-r.Cookie")
			}
		})
	}
}

// BenchmarkChunks reads a genuine 3 KiB session that spans two cookies
// (MaxChunks 4): reassembly plus a normal open.
func BenchmarkChunks(b *testing.B) {
	m := benchManager(b, benchT0, tokensession.GenerateKey())
	v, n := benchMakeValue(b, 3*1024)
	cookie := benchLogin(b, m, v)
	if c := strings.Count(cookie, tokensession.DefaultCookieName+"."); c < 2 {
		b.Fatalf("3 KiB session spans %d cookies, want 2 or more", c)
	}
	r := benchRequest(cookie)
	h := m.Handler(benchReadHandler(b, m, true))
	if sc := benchServeOnce(h, r); len(sc) != 0 {
		b.Fatalf("fresh read set cookies: %q", sc)
	}
	b.SetBytes(int64(n))
	benchServe(b, h, r)
	b.ReportMetric(float64(len(cookie)), "cookie-bytes")
}

// BenchmarkOpenKeyring opens a token sealed by the last of 16 keys and
// compares it with a one-key ring: the key is found by the footer's ID
// with one map lookup, so the two cost the same (no trial decryption).
func BenchmarkOpenKeyring(b *testing.B) {
	keys := make([]tokensession.Key, 16)
	for i := range keys {
		keys[i] = tokensession.GenerateKey()
	}
	v, n := benchMakeValue(b, 200)
	tok, _, err := benchManager(b, benchT0, keys[15]).Seal(v)
	if err != nil {
		b.Fatal(err)
	}
	for _, ring := range [][]tokensession.Key{keys[15:], keys} {
		b.Run("keys="+strconv.Itoa(len(ring)), func(b *testing.B) {
			m := benchManager(b, benchT0, ring...)
			b.SetBytes(int64(n))
			b.ReportAllocs()
			defer benchReportCPU(b)()
			for b.Loop() {
				if _, _, err := m.Open(tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// benchJunk returns n deterministic bytes of URL-safe junk.
func benchJunk(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = "abcdefghijklmnopqrstuvwxyz0123456789"[(i*7+3)%36]
	}
	return string(b)
}

// benchPayload returns canonical unpadded base64url of n*3/4 junk bytes,
// about n characters: shaped like a v4.local payload, authentic for no key.
func benchPayload(n int) string {
	raw := make([]byte, n*3/4)
	for i := range raw {
		raw[i] = byte(i*131 + 7)
	}
	return base64.RawURLEncoding.EncodeToString(raw)
}

// The case benchmarks below compare the cases a fleet meets, interleaved
// in rounds inside one process so that a noisy machine slows every case
// alike. Compare the cases of one run, never two runs:
//
//	go test -run='^$' -bench='Cases' -cpu=1 -benchtime=200ms -rounds=8 > cases.txt
//	benchstat -ignore /round -col '/case@(off miss floor hit on)' -filter '.unit:cpu-ns/op' cases.txt
//
// Each column is then compared with off, the cache off. cpu-ns/op is the
// process's CPU time per operation, from getrusage.
var benchRounds = flag.Int("rounds", 5, "rounds of the *Cases benchmarks")

// benchPoolSize is how many distinct tokens the miss cases cycle through:
// far more than the default cache holds at any size, and more than it
// remembers having seen, so that almost every open misses.
const benchPoolSize = 8192

// benchFloor is go-paseto used by hand for the same token as the library:
// the same five claims, footer and implicit assertion, and the same reads
// on open. It is the engine's floor for Seal and Open.
type benchFloor struct {
	key      paseto.V4SymmetricKey
	footer   []byte
	implicit []byte
	parser   paseto.Parser
	now      time.Time
}

func newBenchFloor(tb testing.TB, key tokensession.Key, now time.Time) *benchFloor {
	sk, err := paseto.V4SymmetricKeyFromBytes(refKeyBytes(tb, key))
	if err != nil {
		tb.Fatal(err)
	}
	return &benchFloor{
		key:      sk,
		footer:   []byte(`{"kid":"` + key.ID() + `"}`),
		implicit: []byte("tokensession/v1:" + tokensession.DefaultCookieName),
		parser:   paseto.NewParserWithoutExpiryCheck(),
		now:      now,
	}
}

func (f *benchFloor) seal(v benchValue) (string, error) {
	var sid [16]byte
	if _, err := rand.Read(sid[:]); err != nil {
		return "", err
	}
	t := paseto.NewToken()
	if err := t.Set("data", v); err != nil {
		return "", err
	}
	now := f.now.UTC()
	t.SetString("created", now.Format(time.RFC3339Nano))
	t.SetTime("exp", now.Add(30*time.Minute))
	t.SetTime("iat", now)
	t.SetString("sid", base64.RawURLEncoding.EncodeToString(sid[:]))
	t.SetFooter(f.footer)
	return t.V4Encrypt(f.key, f.implicit), nil
}

func (f *benchFloor) open(tok string) (benchValue, error) {
	var v benchValue
	t, err := f.parser.ParseV4Local(f.key, tok, f.implicit)
	if err != nil {
		return v, err
	}
	var times [3]time.Time
	for i, name := range []string{"exp", "iat", "created"} {
		s, err := t.GetString(name)
		if err != nil {
			return v, err
		}
		if times[i], err = time.Parse(time.RFC3339Nano, s); err != nil {
			return v, err
		}
	}
	if _, err := t.GetString("sid"); err != nil {
		return v, err
	}
	if !f.now.Before(times[0]) {
		return v, errors.New("expired")
	}
	err = t.Get("data", &v)
	return v, err
}

// BenchmarkOpenCases opens tokens of each size four ways: hit, the same
// token again and again through the default cache; miss, distinct tokens
// through the default cache, which has not seen them lately (the first
// request of a session on a cold instance, or a cache that sees more
// sessions than it holds); off, the same distinct tokens with the cache
// off; floor, the same distinct tokens with go-paseto by hand.
func BenchmarkOpenCases(b *testing.B) {
	key := tokensession.GenerateKey()
	off := benchManager(b, benchT0, key)
	miss := benchCachedManager(b, benchT0, key)
	hit := benchCachedManager(b, benchT0, key)
	floor := newBenchFloor(b, key, benchT0)

	type sized struct {
		name string
		n    int
		tok  string   // sealed by hit, so cached there
		pool []string // sealed with the cache off
	}
	var sizes []sized
	for _, sz := range benchSizes {
		v, n := benchMakeValue(b, sz.size)
		tok, _, err := hit.Seal(v)
		if err != nil {
			b.Fatal(err)
		}
		pool := make([]string, benchPoolSize)
		for i := range pool {
			if pool[i], _, err = off.Seal(v); err != nil {
				b.Fatal(err)
			}
		}
		sizes = append(sizes, sized{sz.name, n, tok, pool})
	}
	cases := []struct {
		name string
		open func(s *sized, i int) error
	}{
		{"hit", func(s *sized, i int) error { _, _, err := hit.Open(s.tok); return err }},
		{"miss", func(s *sized, i int) error { _, _, err := miss.Open(s.pool[i%len(s.pool)]); return err }},
		{"off", func(s *sized, i int) error { _, _, err := off.Open(s.pool[i%len(s.pool)]); return err }},
		{"floor", func(s *sized, i int) error { _, err := floor.open(s.pool[i%len(s.pool)]); return err }},
	}
	// next continues each case's walk through the pool from run to run.
	next := make(map[string]int)
	for round := range *benchRounds {
		for i := range sizes {
			s := &sizes[i]
			for _, c := range cases {
				name := fmt.Sprintf("round=%d/case=%s/size=%s", round, c.name, s.name)
				b.Run(name, func(b *testing.B) {
					b.SetBytes(int64(s.n))
					b.ReportAllocs()
					defer benchReportCPU(b)()
					j := next[c.name+s.name]
					for b.Loop() {
						if err := c.open(s, j); err != nil {
							b.Fatal(err)
						}
						j++
					}
					next[c.name+s.name] = j
				})
			}
		}
	}
}

// BenchmarkSealCases seals a session value of each size three ways: on,
// with the default cache, which remembers every token it seals; off, with
// the cache off; floor, with go-paseto by hand.
func BenchmarkSealCases(b *testing.B) {
	key := tokensession.GenerateKey()
	off := benchManager(b, benchT0, key)
	on := benchCachedManager(b, benchT0, key)
	floor := newBenchFloor(b, key, benchT0)
	cases := []struct {
		name string
		seal func(v benchValue) error
	}{
		{"on", func(v benchValue) error { _, _, err := on.Seal(v); return err }},
		{"off", func(v benchValue) error { _, _, err := off.Seal(v); return err }},
		{"floor", func(v benchValue) error { _, err := floor.seal(v); return err }},
	}
	for round := range *benchRounds {
		for _, sz := range benchSizes {
			v, n := benchMakeValue(b, sz.size)
			for _, c := range cases {
				b.Run(fmt.Sprintf("round=%d/case=%s/size=%s", round, c.name, sz.name), func(b *testing.B) {
					b.SetBytes(int64(n))
					b.ReportAllocs()
					defer benchReportCPU(b)()
					for b.Loop() {
						if err := c.seal(v); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		}
	}
}

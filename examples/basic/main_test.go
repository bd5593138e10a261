package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokensession/tokensession"
)

// syncBuffer is a log destination that tests read while the server writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type testServer struct {
	*httptest.Server
	app    *app
	client *http.Client
	logs   *syncBuffer
}

func newRing(t *testing.T, keys ...tokensession.Key) *tokensession.Keyring {
	t.Helper()
	entries := make([]tokensession.KeyringEntry, len(keys))
	for i, k := range keys {
		entries[i].Key = k
	}
	ring, err := tokensession.NewKeyring(entries...)
	if err != nil {
		t.Fatal(err)
	}
	return ring
}

func newTestServer(t *testing.T, ring *tokensession.Keyring) *testServer {
	t.Helper()
	if ring == nil {
		ring = newRing(t, tokensession.GenerateKey())
	}
	logs := &syncBuffer{}
	a, err := newApp(ring, options{insecure: true, now: time.Now}, log.New(logs, "", 0))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.routes())
	t.Cleanup(srv.Close)
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	client := srv.Client()
	client.Jar = jar
	return &testServer{Server: srv, app: a, client: client, logs: logs}
}

// post submits a form as a browser on the same origin would, following the
// redirect. It returns the final response's status, body and URL.
func (ts *testServer) post(t *testing.T, path string, form url.Values) (int, string, *url.URL) {
	t.Helper()
	req, err := http.NewRequest("POST", ts.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("Origin", ts.URL)
	return ts.do(t, req)
}

func (ts *testServer) get(t *testing.T, path string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", ts.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	code, body, _ := ts.do(t, req)
	return code, body
}

func (ts *testServer) do(t *testing.T, req *http.Request) (int, string, *url.URL) {
	t.Helper()
	resp, err := ts.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body), resp.Request.URL
}

// cookieNames returns the names of the cookies the client holds for the
// server, sorted as the jar returns them.
func (ts *testServer) cookieNames(t *testing.T) []string {
	t.Helper()
	u, _ := url.Parse(ts.URL)
	var names []string
	for _, c := range ts.client.Jar.Cookies(u) {
		names = append(names, c.Name)
	}
	return names
}

var itemRE = regexp.MustCompile(`<li id="item-\d+">([^<]*)</li>`)

func cartItems(body string) []string {
	var items []string
	for _, m := range itemRE.FindAllStringSubmatch(body, -1) {
		items = append(items, m[1])
	}
	return items
}

func TestLoginCartLogout(t *testing.T) {
	ts := newTestServer(t, nil)

	code, body := ts.get(t, "/")
	if code != 200 || !strings.Contains(body, "You are not logged in") {
		t.Fatalf("GET / before login: %d\n%s", code, body)
	}
	if names := ts.cookieNames(t); len(names) != 0 {
		t.Fatalf("cookies before login: %v", names)
	}

	code, body, _ = ts.post(t, "/login", url.Values{"username": {"  <alice>  "}})
	if code != 200 || !strings.Contains(body, "Logged in as &lt;alice&gt;") {
		t.Fatalf("after login: %d\n%s", code, body)
	}
	if names := ts.cookieNames(t); len(names) != 1 || names[0] != "session" {
		t.Fatalf("cookies after login: %v", names)
	}

	for _, item := range []string{"apples", "pears & plums"} {
		if code, body, _ := ts.post(t, "/cart", url.Values{"item": {item}}); code != 200 {
			t.Fatalf("add %q: %d\n%s", item, code, body)
		}
	}
	code, body = ts.get(t, "/")
	if got := cartItems(body); code != 200 || len(got) != 2 || got[0] != "apples" || got[1] != "pears &amp; plums" {
		t.Fatalf("cart: %d %q", code, got)
	}
	if !strings.Contains(body, "Logged in as &lt;alice&gt;") {
		t.Fatal("logged out by adding to the cart")
	}

	code, body, _ = ts.post(t, "/logout", nil)
	if code != 200 || !strings.Contains(body, "You are not logged in") || len(cartItems(body)) != 0 {
		t.Fatalf("after logout: %d\n%s", code, body)
	}
	if names := ts.cookieNames(t); len(names) != 0 {
		t.Fatalf("cookies after logout: %v", names)
	}
}

func TestLoginRenewsSessionID(t *testing.T) {
	ts := newTestServer(t, nil)
	ts.post(t, "/cart", url.Values{"item": {"before login"}})
	before := ts.sessionInfo(t)
	ts.post(t, "/login", url.Values{"username": {"bob"}})
	after := ts.sessionInfo(t)
	if before.ID == "" || before.ID == after.ID {
		t.Fatalf("session ID not renewed at login: %q -> %q", before.ID, after.ID)
	}
	if _, body := ts.get(t, "/"); len(cartItems(body)) != 1 {
		t.Fatal("cart lost at login")
	}
}

// sessionInfo opens the client's (single) session cookie.
func (ts *testServer) sessionInfo(t *testing.T) tokensession.Info {
	t.Helper()
	u, _ := url.Parse(ts.URL)
	for _, c := range ts.client.Jar.Cookies(u) {
		if c.Name == "session" {
			_, info, err := ts.app.sessions.Open(c.Value)
			if err != nil {
				t.Fatal(err)
			}
			return info
		}
	}
	t.Fatal("no session cookie")
	return tokensession.Info{}
}

func TestFullCartKeepsItems(t *testing.T) {
	ts := newTestServer(t, nil)
	ts.post(t, "/login", url.Values{"username": {"carol"}})

	var added []string
	sawChunks := false
	for i := 0; ; i++ {
		if i > 200 {
			t.Fatal("cart never became full")
		}
		item := fmt.Sprintf("%03d-%s", i, strings.Repeat("x", maxItemLen-4))
		code, body, _ := ts.post(t, "/cart", url.Values{"item": {item}})
		if code == http.StatusConflict {
			if !strings.Contains(body, "Your cart is full") || !strings.Contains(body, "Logged in as carol") {
				t.Fatalf("no full message:\n%s", body)
			}
			if got := cartItems(body); len(got) != len(added) {
				t.Fatalf("full page shows %d items, want %d", len(got), len(added))
			}
			break
		}
		if code != 200 {
			t.Fatalf("add item %d: %d\n%s", i, code, body)
		}
		added = append(added, item)
		if names := ts.cookieNames(t); len(names) > 1 {
			sawChunks = true
			slices.Sort(names)
			for j, n := range names {
				if n != fmt.Sprintf("session.%d", j) {
					t.Fatalf("cookie names: %v", names)
				}
			}
		}
	}
	if !sawChunks {
		t.Fatal("the cart never spanned several cookies")
	}
	if names := ts.cookieNames(t); len(names) != 2 {
		t.Errorf("full cart in %d cookies, want 2: %v", len(names), names)
	}
	code, body := ts.get(t, "/")
	got := cartItems(body)
	if code != 200 || !strings.Contains(body, "Logged in as carol") || strings.Contains(body, "Your cart is full") {
		t.Fatalf("GET / after full: %d\n%s", code, body)
	}
	if strings.Join(got, "\n") != strings.Join(added, "\n") {
		t.Fatalf("cart after full: %d items, want the %d added before", len(got), len(added))
	}
	t.Logf("%d items of %d bytes fit in 2 cookies", len(added), maxItemLen)
}

// cookieHeaderLimit is where curl stops adding cookies to a request; nginx
// and Apache refuse a header line near the same size.
const cookieHeaderLimit = 8190

// cappedCookies is a transport that sends the Cookie header as curl does:
// a cookie that would take the header past cookieHeaderLimit is dropped.
type cappedCookies struct {
	next    http.RoundTripper
	longest int // the longest Cookie header sent
}

func (c *cappedCookies) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	var kept []string
	n := 0
	for _, ck := range req.Cookies() {
		pair := ck.Name + "=" + ck.Value
		sep := 0
		if n > 0 {
			sep = len("; ")
		}
		if n+sep+len(pair) > cookieHeaderLimit {
			continue
		}
		n += sep + len(pair)
		kept = append(kept, pair)
	}
	req.Header.Del("Cookie")
	if len(kept) > 0 {
		req.Header.Set("Cookie", strings.Join(kept, "; "))
	}
	c.longest = max(c.longest, n)
	return c.next.RoundTrip(req)
}

// TestFullCartFitsCookieHeader fills the cart through a client that caps
// the Cookie header as curl and proxies do. Every item stays until the
// cart is refused as full; no request loses the session.
func TestFullCartFitsCookieHeader(t *testing.T) {
	ts := newTestServer(t, nil)
	capped := &cappedCookies{next: ts.client.Transport}
	ts.client.Transport = capped
	ts.post(t, "/login", url.Values{"username": {"dana"}})
	for i := 0; ; i++ {
		if i > 200 {
			t.Fatal("cart never became full")
		}
		item := fmt.Sprintf("%03d-%s", i, strings.Repeat("y", maxItemLen-4))
		code, body, _ := ts.post(t, "/cart", url.Values{"item": {item}})
		if !strings.Contains(body, "Logged in as dana") {
			t.Fatalf("logged out after %d items (longest Cookie header %d bytes): status %d", i, capped.longest, code)
		}
		want := i + 1
		if code != 200 {
			want = i
		}
		if got := cartItems(body); len(got) != want {
			t.Fatalf("after item %d: %d items in the cart, want %d (status %d)", i, len(got), want, code)
		}
		if code == http.StatusConflict && strings.Contains(body, "Your cart is full") {
			break
		}
		if code != 200 {
			t.Fatalf("add item %d: %d\n%s", i, code, body)
		}
	}
	// Room is left for the site's other cookies.
	if capped.longest > cookieHeaderLimit-900 {
		t.Errorf("a full cart needs a %d-byte Cookie header, leaving under 900 bytes of %d", capped.longest, cookieHeaderLimit)
	}
	t.Logf("longest Cookie header: %d bytes", capped.longest)
}

func TestBadInput(t *testing.T) {
	ts := newTestServer(t, nil)
	for _, tc := range []struct {
		name, path string
		form       url.Values
		want       int
	}{
		{"empty user", "/login", url.Values{"username": {"   "}}, 400},
		{"missing user", "/login", nil, 400},
		{"long user", "/login", url.Values{"username": {strings.Repeat("a", maxUserLen+1)}}, 400},
		{"control char", "/login", url.Values{"username": {"a\x00b"}}, 400},
		{"escape char", "/login", url.Values{"username": {"a\x1b[31mb"}}, 400},
		{"bad utf8", "/login", url.Values{"username": {"a\xffb"}}, 400},
		{"empty item", "/cart", url.Values{"item": {""}}, 400},
		{"long item", "/cart", url.Values{"item": {strings.Repeat("é", maxItemLen/2) + "x"}}, 400},
		{"huge form", "/cart", url.Values{"item": {strings.Repeat("x", 100<<10)}}, 413},
		{"max user", "/login", url.Values{"username": {strings.Repeat("ü", maxUserLen/2)}}, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body, _ := ts.post(t, tc.path, tc.form)
			if code != tc.want {
				t.Fatalf("status %d, want %d\n%s", code, tc.want, body)
			}
		})
	}
	if names := ts.cookieNames(t); len(names) != 1 {
		t.Fatalf("cookies: %v (only the valid login should have set one)", names)
	}
}

func TestCrossOriginRefused(t *testing.T) {
	ts := newTestServer(t, nil)
	for _, hdr := range []map[string]string{
		{"Sec-Fetch-Site": "cross-site"},
		{"Sec-Fetch-Site": "same-site"},
		{"Origin": "http://evil.example"}, // an older browser
	} {
		for _, path := range []string{"/login", "/cart", "/logout"} {
			req, _ := http.NewRequest("POST", ts.URL+path, strings.NewReader("username=mallory&item=x"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for k, v := range hdr {
				req.Header.Set(k, v)
			}
			if code, body, _ := ts.do(t, req); code != http.StatusForbidden {
				t.Errorf("%s with %v: %d, want 403\n%s", path, hdr, code, body)
			}
		}
	}
	if names := ts.cookieNames(t); len(names) != 0 {
		t.Fatalf("a refused request set cookies: %v", names)
	}
}

func TestHealthz(t *testing.T) {
	ts := newTestServer(t, nil)
	if code, body := ts.get(t, "/healthz"); code != 200 || body != "ok" {
		t.Fatalf("/healthz: %d %q", code, body)
	}
	if code, _ := ts.get(t, "/nope"); code != 404 {
		t.Fatalf("/nope: %d", code)
	}
}

// TestClockOffset runs two instances sharing a key, the second one hour
// ahead: the first one's cookie has expired there.
func TestClockOffset(t *testing.T) {
	ring := newRing(t, tokensession.GenerateKey())
	ts := newTestServer(t, ring)
	ts.post(t, "/login", url.Values{"username": {"erin"}})

	ahead, err := newApp(ring, options{insecure: true, now: func() time.Time { return time.Now().Add(time.Hour) }}, log.New(io.Discard, "", 0))
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("GET", "/", nil)
	u, _ := url.Parse(ts.URL)
	for _, c := range ts.client.Jar.Cookies(u) {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	ahead.routes().ServeHTTP(rec, req)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "You are not logged in") {
		t.Fatalf("expired session still logged in: %d", rec.Code)
	}
	if sc := rec.Header().Values("Set-Cookie"); len(sc) != 1 || !strings.Contains(sc[0], "Max-Age=0") {
		t.Fatalf("expired cookie not cleared: %q", sc)
	}
}

func TestRun(t *testing.T) {
	k := tokensession.GenerateKey()
	env := map[string]string{
		"ADDR":         "127.0.0.1:0",
		"SESSION_KEYS": k.UnsafeExportPASERK(),
	}
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, lookup(env), log.New(pw, "", 0))
		pw.Close()
	}()
	lines := bufio.NewScanner(pr)
	var base string
	for base == "" && lines.Scan() {
		if _, u, ok := strings.Cut(lines.Text(), "listening on "); ok {
			base = u
		}
	}
	go io.Copy(io.Discard, pr)
	if base == "" {
		cancel()
		t.Fatalf("no URL printed: %v", <-done)
	}
	resp, err := http.Get(base + "healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "ok" {
		t.Fatalf("healthz: %d %q", resp.StatusCode, body)
	}
	// On loopback the cookie is the plain-http "session", so that
	// go run ./examples/basic works at http://127.0.0.1:8080.
	resp, err = http.PostForm(base+"login", url.Values{"username": {"ivy"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var names []string
	for _, c := range resp.Request.Response.Cookies() {
		names = append(names, c.Name)
	}
	if !slices.Equal(names, []string{"session"}) {
		t.Errorf("login on loopback set cookies %q, want [session]", names)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func lookup(env map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := env[k]; return v, ok }
}

// TestKeySetup checks how the keys' variables start the server: a value
// set but empty stops it, and nothing from a variable reaches the log.
func TestKeySetup(t *testing.T) {
	k1, k2 := tokensession.GenerateKey(), tokensession.GenerateKey()
	p1, p2 := k1.UnsafeExportPASERK(), k2.UnsafeExportPASERK()
	inline := `{"keys":[{"key":"` + p1 + `"},{"key":"` + p2 + `"}]}`
	keyring := filepath.Join(t.TempDir(), "keyring.json")
	if err := os.WriteFile(keyring, []byte(inline), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		env     map[string]string
		wantErr string // "": the server starts
		wantLog string
	}{
		{name: "none", env: nil, wantLog: "WARNING: tokensession: no keys"},
		{name: "SESSION_KEYS", env: map[string]string{"SESSION_KEYS": p1 + "\n" + p2}, wantLog: "keys from SESSION_KEYS: tokensession.Keyring[" + k1.ID()},
		{name: "SESSION_KEYS white space", env: map[string]string{"SESSION_KEYS": " \n "}, wantErr: "SESSION_KEYS is set but empty"},
		{name: "SESSION_KEYRING empty", env: map[string]string{"SESSION_KEYRING": ""}, wantErr: "SESSION_KEYRING is set but empty"},
		{name: "SESSION_KEYRING inline JSON", env: map[string]string{"SESSION_KEYRING": inline}, wantLog: "keys from SESSION_KEYRING: tokensession.Keyring[" + k1.ID()},
		{name: "SESSION_KEYRING file", env: map[string]string{"SESSION_KEYRING": keyring}, wantLog: "keys from SESSION_KEYRING: tokensession.Keyring[" + k1.ID()},
		{name: "SESSION_KEYRING bad inline JSON", env: map[string]string{"SESSION_KEYRING": `{"keys":[{"key":"` + p1 + `","not_before":"+30m"}]}`}, wantErr: "SESSION_KEYRING: keyring entry 0: not_before: want an RFC 3339 time"},
		{name: "key as SESSION_KEYRING", env: map[string]string{"SESSION_KEYRING": p1}, wantErr: "SESSION_KEYRING: no such file or directory"},
		{name: "both", env: map[string]string{"SESSION_KEYS": p1, "SESSION_KEYRING": keyring}, wantErr: "both SESSION_KEYS and SESSION_KEYRING are set"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{"ADDR": "127.0.0.1:0"}
			for k, v := range tc.env {
				env[k] = v
			}
			logs := &syncBuffer{}
			// A cancelled context: the server stops as soon as it starts.
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			err := run(ctx, lookup(env), log.New(logs, "", 0))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(logs.String(), tc.wantLog) {
				t.Errorf("log lacks %q:\n%s", tc.wantLog, logs)
			}
			for _, secret := range []string{p1[9:], p2[9:]} {
				for _, out := range []string{fmt.Sprint(err), logs.String()} {
					if strings.Contains(out, secret[:12]) {
						t.Fatalf("key material shown: %s", out)
					}
				}
			}
		})
	}
}

// TestCartOnInstanceWithoutKey is a key rollout that slipped: instance Y
// seals with a new key B that instance X does not have yet. A cart write on
// X must answer 503 with Retry-After and leave the cookie alone, so the
// user is still logged in, with the same cart, back on Y.
func TestCartOnInstanceWithoutKey(t *testing.T) {
	a, b := tokensession.GenerateKey(), tokensession.GenerateKey()
	y := newTestServer(t, newRing(t, b, a))
	x, err := newApp(newRing(t, a), options{insecure: true}, log.New(io.Discard, "", 0))
	if err != nil {
		t.Fatal(err)
	}
	y.post(t, "/login", url.Values{"username": {"kim"}})
	y.post(t, "/cart", url.Values{"item": {"tea"}})
	if info := y.sessionInfo(t); info.KeyID != b.ID() {
		t.Fatalf("Y sealed with %s, want the new key %s", info.KeyID, b.ID())
	}

	req := httptest.NewRequest("POST", "/cart", strings.NewReader(url.Values{"item": {"cake"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	u, _ := url.Parse(y.URL)
	for _, c := range y.client.Jar.Cookies(u) {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	x.routes().ServeHTTP(rec, req)
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Errorf("POST /cart on X: %d, Retry-After %q; want 503 with Retry-After", rec.Code, rec.Header().Get("Retry-After"))
	}
	if sc := rec.Header().Values("Set-Cookie"); len(sc) > 0 {
		t.Errorf("POST /cart on X set cookies over one it cannot read: %q", sc)
	}
	y.client.Jar.SetCookies(u, rec.Result().Cookies()) // as a browser would

	code, body := y.get(t, "/")
	if code != 200 || !strings.Contains(body, "Logged in as kim") {
		t.Errorf("back on Y: %d, not logged in as kim", code)
	}
	if items := cartItems(body); !slices.Equal(items, []string{"tea"}) {
		t.Errorf("back on Y: cart %q, want [tea]", items)
	}
}

// unavailableText is the whole message of the page a request gets when its
// session was sealed by a key this instance does not have.
const unavailableText = "Your session is temporarily unavailable; try again in a few seconds."

// TestPagesOnInstanceWithoutKey is the same slipped rollout, seen from the
// pages: instance X, which lacks Y's new key, must not show the anonymous
// page and its login form to a user who is logged in on Y, since a login
// there would replace the session Y can still read. GET / and POST /login
// on X answer 503 with Retry-After and the "temporarily unavailable" page,
// and leave the cookie alone; back on Y the user has the same login and
// cart. A logout on X is honoured (see logout).
func TestPagesOnInstanceWithoutKey(t *testing.T) {
	a, b := tokensession.GenerateKey(), tokensession.GenerateKey()
	y := newTestServer(t, newRing(t, b, a))
	x := newTestServer(t, newRing(t, a))
	y.post(t, "/login", url.Values{"username": {"kim"}})
	y.post(t, "/cart", url.Values{"item": {"tea"}})
	if info := y.sessionInfo(t); info.KeyID != b.ID() {
		t.Fatalf("Y sealed with %s, want the new key %s", info.KeyID, b.ID())
	}
	yURL, _ := url.Parse(y.URL)

	// serveX sends the request to X with the user's cookies, as a browser
	// behind a load balancer would, and keeps the cookies X sets (the
	// browser's one jar), without following a redirect.
	serveX := func(method, path string, form url.Values) *http.Response {
		t.Helper()
		req, err := http.NewRequest(method, x.URL+path, strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Sec-Fetch-Site", "same-origin")
		}
		for _, c := range y.client.Jar.Cookies(yURL) {
			req.AddCookie(c)
		}
		resp, err := x.Client().Transport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		y.client.Jar.SetCookies(yURL, resp.Cookies())
		return resp
	}

	for _, tc := range []struct {
		method, path string
		form         url.Values
	}{
		{"GET", "/", nil},
		{"POST", "/login", url.Values{"username": {"kim"}}},
		{"POST", "/login", url.Values{"username": {"mallory"}}},
	} {
		resp := serveX(tc.method, tc.path, tc.form)
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		page := string(body)
		what := tc.method + " " + tc.path + " on X"
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "5" {
			t.Errorf("%s: %d, Retry-After %q; want 503 with Retry-After 5", what, resp.StatusCode, resp.Header.Get("Retry-After"))
		}
		if sc := resp.Header.Values("Set-Cookie"); len(sc) > 0 {
			t.Errorf("%s set %d cookies over one it cannot read", what, len(sc))
		}
		if !strings.Contains(page, `<p id="unavailable" class="note">`+unavailableText+`</p>`) {
			t.Errorf("%s: no unavailable message:\n%s", what, page)
		}
		for _, invite := range []string{"You are not logged in", `action="/login"`, `action="/logout"`, `action="/cart"`, "<form"} {
			if strings.Contains(page, invite) {
				t.Errorf("%s: the page has %q:\n%s", what, invite, page)
			}
		}
		if got := resp.Header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("%s: Cache-Control %q, want no-store", what, got)
		}
	}

	code, body := y.get(t, "/")
	if code != 200 || !strings.Contains(body, "Logged in as kim") {
		t.Errorf("back on Y: %d, not logged in as kim", code)
	}
	if items := cartItems(body); !slices.Equal(items, []string{"tea"}) {
		t.Errorf("back on Y: cart %q, want [tea]", items)
	}

	// Logging out is what the user asked for: X expires the cookie it
	// cannot read, as Y would.
	resp := serveX("POST", "/logout", url.Values{})
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("POST /logout on X: %d, want 303", resp.StatusCode)
	}
	sc := resp.Header.Values("Set-Cookie")
	if len(sc) != 1 || !strings.HasPrefix(sc[0], "session=;") || !strings.Contains(sc[0], "Max-Age=0") {
		t.Errorf("POST /logout on X: Set-Cookie %q, want the session cookie expired", sc)
	}
	if names := y.cookieNames(t); len(names) != 0 {
		t.Errorf("cookies after logout on X: %v", names)
	}
}

// TestMadeUpKeyDropsOldCookies: after a restart with a key made up at
// start, no instance will ever read a cookie sealed before it, so the
// example drops it instead of answering 503 until it expires.
func TestMadeUpKeyDropsOldCookies(t *testing.T) {
	before := newTestServer(t, nil)
	before.post(t, "/login", url.Values{"username": {"kim"}})
	before.post(t, "/cart", url.Values{"item": {"tea"}})

	after := newTestServer(t, nil)
	after.app.madeUpKey = true
	beforeURL, _ := url.Parse(before.URL)
	afterURL, _ := url.Parse(after.URL)
	after.client.Jar.SetCookies(afterURL, before.client.Jar.Cookies(beforeURL))

	code, body := after.get(t, "/")
	if code != http.StatusOK || !strings.Contains(body, "You are not logged in") {
		t.Errorf("GET / after the restart: %d, want 200 and the anonymous page:\n%s", code, body)
	}
	if names := after.cookieNames(t); len(names) != 0 {
		t.Errorf("the old cookie was not dropped: %v", names)
	}
	after.client.Jar.SetCookies(afterURL, before.client.Jar.Cookies(beforeURL))
	if code, body, _ := after.post(t, "/cart", url.Values{"item": {"cake"}}); code != http.StatusOK || !slices.Equal(cartItems(body), []string{"cake"}) {
		t.Errorf("POST /cart after the restart: %d, cart %q; want a new cart [cake]", code, cartItems(body))
	}
}

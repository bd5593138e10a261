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
		code, body, final := ts.post(t, "/cart", url.Values{"item": {item}})
		if code != 200 {
			t.Fatalf("add item %d: %d\n%s", i, code, body)
		}
		if final.RawQuery == "full=1" {
			if !strings.Contains(body, "Your cart is full") {
				t.Fatalf("no full message:\n%s", body)
			}
			break
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
	if names := ts.cookieNames(t); len(names) != 4 {
		t.Errorf("full cart in %d cookies, want 4: %v", len(names), names)
	}
	code, body := ts.get(t, "/")
	got := cartItems(body)
	if code != 200 || !strings.Contains(body, "Logged in as carol") || strings.Contains(body, "Your cart is full") {
		t.Fatalf("GET / after full: %d\n%s", code, body)
	}
	if strings.Join(got, "\n") != strings.Join(added, "\n") {
		t.Fatalf("cart after full: %d items, want the %d added before", len(got), len(added))
	}
	t.Logf("%d items of %d bytes fit in 4 cookies", len(added), maxItemLen)
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
		"ADDR":           "127.0.0.1:0",
		"SESSION_KEYS":   k.UnsafeExportPASERK(),
		"SESSION_LEEWAY": "5s",
		"CLOCK_OFFSET":   "-1m",
	}
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, func(k string) string { return env[k] }, log.New(pw, "", 0))
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
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	for _, bad := range []string{"SESSION_LEEWAY", "CLOCK_OFFSET"} {
		env := map[string]string{"ADDR": "127.0.0.1:0", bad: "soon"}
		err := run(context.Background(), func(k string) string { return env[k] }, log.New(io.Discard, "", 0))
		if err == nil || !strings.Contains(err.Error(), bad) {
			t.Fatalf("%s=soon: %v", bad, err)
		}
	}
}

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokensession/tokensession"
)

// clock is a settable clock, safe for the server's goroutines.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type fixture struct {
	srv   *httptest.Server
	app   *app
	ring  *tokensession.Keyring
	clock *clock
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ring, err := tokensession.NewKeyring(tokensession.KeyringEntry{Key: tokensession.GenerateKey()})
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{t: time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)}
	a, err := newApp(ring, c.Now, log.New(io.Discard, "", 0))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.routes())
	t.Cleanup(srv.Close)
	return &fixture{srv: srv, app: a, ring: ring, clock: c}
}

func (f *fixture) do(t *testing.T, method, path, contentType, body string, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func (f *fixture) token(t *testing.T, contentType, body string) tokenResponse {
	t.Helper()
	resp, b := f.do(t, "POST", "/token", contentType, body, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("POST /token: %d %s", resp.StatusCode, b)
	}
	var tr tokenResponse
	if err := json.Unmarshal(b, &tr); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tr.Token, "v4.local.") {
		t.Fatalf("token %.20q…", tr.Token)
	}
	if got, want := tr.Expires, f.clock.Now().Add(tokensession.DefaultIdleTimeout); !got.Equal(want) {
		t.Fatalf("expires %v, want %v", got, want)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Fatalf("Cache-Control %q", cc)
	}
	return tr
}

func (f *fixture) me(t *testing.T, authorization string) (int, http.Header, string) {
	t.Helper()
	h := map[string]string{}
	if authorization != "" {
		h["Authorization"] = authorization
	}
	resp, b := f.do(t, "GET", "/me", "", "", h)
	return resp.StatusCode, resp.Header, string(b)
}

func TestTokenAndMe(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		name, contentType, body string
	}{
		{"form", "application/x-www-form-urlencoded", url.Values{"username": {"alice"}}.Encode()},
		{"json", "application/json; charset=utf-8", `{"username":"alice"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := f.token(t, tc.contentType, tc.body)
			for _, scheme := range []string{"Bearer ", "bearer "} {
				code, _, body := f.me(t, scheme+tr.Token)
				if code != 200 || strings.TrimSpace(body) != `{"user":"alice"}` {
					t.Fatalf("GET /me: %d %s", code, body)
				}
			}
		})
	}
}

func TestUnauthorized(t *testing.T) {
	f := newFixture(t)
	good := f.token(t, "application/json", `{"username":"bob"}`).Token

	// A token of the same keys for another purpose: a cookie session.
	cookies, err := tokensession.New(tokensession.Config[Session]{Keyring: f.ring, Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	cookieTok, _, err := cookies.Seal(Session{User: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	i := len("v4.local.") + 10
	flip := "A"
	if good[i] == 'A' {
		flip = "B"
	}
	tampered := good[:i] + flip + good[i+1:]

	const generic = `{"error":"missing or invalid bearer token"}`
	for _, tc := range []struct {
		name, authorization, challenge string
	}{
		{"missing", "", `Bearer realm="api"`},
		{"empty bearer", "Bearer ", `Bearer realm="api", error="invalid_token"`},
		{"basic auth", "Basic Ym9iOnB3", `Bearer realm="api", error="invalid_token"`},
		{"garbage", "Bearer not-a-token", `Bearer realm="api", error="invalid_token"`},
		{"tampered", "Bearer " + tampered, `Bearer realm="api", error="invalid_token"`},
		{"cookie purpose", "Bearer " + cookieTok, `Bearer realm="api", error="invalid_token"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, h, body := f.me(t, tc.authorization)
			if code != 401 || h.Get("WWW-Authenticate") != tc.challenge || strings.TrimSpace(body) != generic {
				t.Fatalf("GET /me: %d %q %s", code, h.Get("WWW-Authenticate"), body)
			}
		})
	}

	// The bearer token does not open as a cookie session either.
	if _, _, err := cookies.Open(good); err == nil {
		t.Fatal("api token opened as a cookie session")
	}

	f.clock.Advance(tokensession.DefaultIdleTimeout + time.Minute)
	if code, _, body := f.me(t, "Bearer "+good); code != 401 || strings.TrimSpace(body) != generic {
		t.Fatalf("expired token: %d %s", code, body)
	}
}

// TestUnknownKeyRetry checks that a token sealed by a key this instance
// does not have yet (during a key rollout, another instance may) is
// answered 503 with Retry-After, so the client keeps it and retries,
// instead of 401, which would make it drop a valid token.
func TestUnknownKeyRetry(t *testing.T) {
	f := newFixture(t)
	newKey := tokensession.GenerateKey()
	ahead, err := tokensession.NewKeyring(tokensession.KeyringEntry{Key: newKey}, f.ring.Entries()[0])
	if err != nil {
		t.Fatal(err)
	}
	other, err := newApp(ahead, f.clock.Now, log.New(io.Discard, "", 0))
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := other.tokens.Seal(Session{User: "erin"})
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"GET /me", "POST /refresh"} {
		method, path, _ := strings.Cut(path, " ")
		resp, body := f.do(t, method, path, "", "", map[string]string{"Authorization": "Bearer " + tok})
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("%s %s: %d, Retry-After %q: %s", method, path, resp.StatusCode, resp.Header.Get("Retry-After"), body)
		}
		if strings.Contains(string(body), "erin") || strings.Contains(string(body), newKey.ID()) {
			t.Fatalf("%s %s: body tells too much: %s", method, path, body)
		}
	}
	// Once the key has reached this instance, the same token works.
	if err := f.app.tokens.SetKeyring(ahead); err != nil {
		t.Fatal(err)
	}
	if code, _, body := f.me(t, "Bearer "+tok); code != 200 || strings.TrimSpace(body) != `{"user":"erin"}` {
		t.Fatalf("after the rollout: %d %s", code, body)
	}
}

func TestRefresh(t *testing.T) {
	f := newFixture(t)
	first := f.token(t, "application/json", `{"username":"carol"}`)
	_, info1, err := f.app.tokens.Open(first.Token)
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(20 * time.Minute)
	resp, b := f.do(t, "POST", "/refresh", "", "", map[string]string{"Authorization": "Bearer " + first.Token})
	if resp.StatusCode != 200 {
		t.Fatalf("refresh: %d %s", resp.StatusCode, b)
	}
	var second tokenResponse
	if err := json.Unmarshal(b, &second); err != nil {
		t.Fatal(err)
	}
	if want := f.clock.Now().Add(tokensession.DefaultIdleTimeout); !second.Expires.Equal(want) {
		t.Fatalf("refreshed expiry %v, want %v", second.Expires, want)
	}
	v, info2, err := f.app.tokens.Open(second.Token)
	if err != nil || v.User != "carol" || info2.ID != info1.ID || !info2.Created.Equal(info1.Created) {
		t.Fatalf("refreshed token: %v %+v %v", v, info2, err)
	}
	// Past the first token's expiry, the refreshed one still works.
	f.clock.Advance(20 * time.Minute)
	if code, _, _ := f.me(t, "Bearer "+first.Token); code != 401 {
		t.Fatalf("first token still valid: %d", code)
	}
	if code, _, body := f.me(t, "Bearer "+second.Token); code != 200 {
		t.Fatalf("refreshed token: %d %s", code, body)
	}
	if resp, _ := f.do(t, "POST", "/refresh", "", "", nil); resp.StatusCode != 401 {
		t.Fatalf("refresh without token: %d", resp.StatusCode)
	}
}

func TestBadRequests(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		name, contentType, body string
		want                    int
	}{
		{"empty form", "application/x-www-form-urlencoded", "", 400},
		{"blank name", "application/x-www-form-urlencoded", "username=+++", 400},
		{"long name", "application/json", `{"username":"` + strings.Repeat("a", maxUserLen+1) + `"}`, 400},
		{"control char", "application/json", `{"username":"a\u0007b"}`, 400},
		{"bad utf8", "application/x-www-form-urlencoded", "username=%ff", 400},
		{"bad json", "application/json", `{"username":`, 400},
		{"unknown field", "application/json", `{"user":"x"}`, 400},
		{"wrong type", "application/json", `{"username":7}`, 400},
		{"huge json", "application/json", `{"username":"` + strings.Repeat("a", 20<<10) + `"}`, 413},
		{"huge form", "application/x-www-form-urlencoded", "username=" + strings.Repeat("a", 20<<10), 413},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, b := f.do(t, "POST", "/token", tc.contentType, tc.body, nil)
			if resp.StatusCode != tc.want || !strings.Contains(string(b), `"error"`) {
				t.Fatalf("%d %s", resp.StatusCode, b)
			}
		})
	}
	if resp, _ := f.do(t, "GET", "/token", "", "", nil); resp.StatusCode != 405 {
		t.Fatalf("GET /token: %d", resp.StatusCode)
	}
}

func TestRun(t *testing.T) {
	env := map[string]string{"ADDR": "127.0.0.1:0"}
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, func(k string) (string, bool) { v, ok := env[k]; return v, ok }, log.New(pw, "", 0))
		pw.Close()
	}()
	lines := bufio.NewScanner(pr)
	var base, warning string
	for base == "" && lines.Scan() {
		if strings.HasPrefix(lines.Text(), "WARNING") {
			warning = lines.Text()
		}
		if _, u, ok := strings.Cut(lines.Text(), "listening on "); ok {
			base = u
		}
	}
	go io.Copy(io.Discard, pr)
	if base == "" {
		cancel()
		t.Fatalf("no URL printed: %v", <-done)
	}
	if warning == "" {
		t.Error("no warning about the generated key")
	}
	resp, err := http.PostForm(base+"token", url.Values{"username": {"dan"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("POST /token: %d", resp.StatusCode)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

package tokensession_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokensession/tokensession"
)

// browser is a TLS client with a cookie jar, as a browser keeps cookies.
type browser struct {
	t   *testing.T
	srv *httptest.Server
	c   *http.Client
}

func newBrowser(t *testing.T, h http.Handler) *browser {
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := srv.Client()
	c.Jar = jar
	return &browser{t: t, srv: srv, c: c}
}

func (b *browser) get(path string) string {
	b.t.Helper()
	resp, err := b.c.Get(b.srv.URL + path)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		b.t.Fatalf("GET %s: %d", path, resp.StatusCode)
	}
	return string(body)
}

// cookieNames lists the names of the cookies the jar holds for the server.
func (b *browser) cookieNames() []string {
	u, _ := url.Parse(b.srv.URL)
	var names []string
	for _, c := range b.c.Jar.Cookies(u) {
		names = append(names, c.Name)
	}
	sort.Strings(names)
	return names
}

func TestRoundTripLifecycle(t *testing.T) {
	t.Parallel()
	e := newMWEnv(t, nil)
	b := newBrowser(t, e.h)
	if got := b.get("/"); got != "-" {
		t.Fatalf("before login: %q", got)
	}
	b.get("/set?user=alice")
	// Many requests over an hour, each within the idle timeout: the
	// session is refreshed as it nears expiry and never lost.
	for i := 0; i < 12; i++ {
		e.clock.Advance(5 * time.Minute)
		if got := b.get("/"); got != "alice" {
			t.Fatalf("request %d at %v: %q", i, e.clock.Now().Sub(mwT0), got)
		}
	}
	if got := b.cookieNames(); len(got) != 1 || got[0] != "__Host-session" {
		t.Errorf("jar holds %v", got)
	}
	b.get("/destroy")
	if got := b.cookieNames(); len(got) != 0 {
		t.Errorf("after logout the jar holds %v", got)
	}
	if got := b.get("/"); got != "-" {
		t.Errorf("after logout: %q", got)
	}
	if errs := e.errs.take(); len(errs) != 0 {
		t.Errorf("errors reported: %v", errs)
	}
}

func TestRoundTripChunkedSession(t *testing.T) {
	t.Parallel()
	e := newMWEnv(t, func(c *tokensession.Config[mwValue]) { c.MaxChunks = 4 })
	b := newBrowser(t, e.h)
	b.get("/set?user=alice")
	// Grow the cart past one cookie, then past two.
	var want []string
	for i := 0; i < 40; i++ {
		item := fmt.Sprintf("item-%02d-%s", i, strings.Repeat("q", 150))
		want = append(want, item)
		b.get("/update?item=" + item)
	}
	names := b.cookieNames()
	if len(names) < 2 || names[0] != "__Host-session.0" || names[1] != "__Host-session.1" {
		t.Fatalf("chunked session cookies %v", names)
	}
	// Reloads read the complete set and change nothing.
	for i := 0; i < 3; i++ {
		if got := b.get("/"); got != "alice" {
			t.Fatalf("reload %d: %q", i, got)
		}
	}
	if got := b.cookieNames(); strings.Join(got, " ") != strings.Join(names, " ") {
		t.Errorf("reload changed cookies: %v -> %v", names, got)
	}
	// The chunks the browser holds join into the whole cart.
	u, _ := url.Parse(b.srv.URL)
	req := httptest.NewRequest("GET", "/", nil)
	for _, c := range b.c.Jar.Cookies(u) {
		req.AddCookie(c)
	}
	if v, _, err := e.m.Load(req); err != nil || v.User != "alice" || !slices.Equal(v.Cart, want) {
		t.Errorf("the chunked session: %v, user %q, %d items; want alice and the %d items added, in order", err, v.User, len(v.Cart), len(want))
	}
	// Shrinking back to one cookie deletes every chunk.
	b.get("/set?user=alice")
	if got := b.cookieNames(); len(got) != 1 || got[0] != "__Host-session" {
		t.Errorf("after shrinking the jar holds %v", got)
	}
	if got := b.get("/"); got != "alice" {
		t.Errorf("after shrinking: %q", got)
	}
	if errs := e.errs.take(); len(errs) != 0 {
		t.Errorf("errors reported: %v", errs)
	}
}

func TestMiddlewareConcurrent(t *testing.T) {
	t.Parallel()
	e := newMWEnv(t, func(c *tokensession.Config[mwValue]) { c.MaxChunks = 2 })
	cookie := e.login("shared")
	var wg sync.WaitGroup
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := e.login(fmt.Sprintf("user%d", g))
			for i := 0; i < 50; i++ {
				switch i % 4 {
				case 0:
					cs := e.do("/update?item=x", c).Result().Cookies()
					if len(cs) == 1 {
						c = cs[0]
					}
				case 1:
					if got := e.do("/", c).Body.String(); got != fmt.Sprintf("user%d", g) {
						t.Errorf("goroutine %d read %q", g, got)
						return
					}
				case 2:
					e.do("/", cookie)
				case 3:
					e.do("/untouched", c)
				}
			}
		}()
	}
	// Swap keyrings while serving, alternating which of two keys seals, so
	// every token stays openable.
	k2 := tokensession.GenerateKey()
	for i := 0; i < 20; i++ {
		first, second := k2, e.key
		if i%2 == 1 {
			first, second = e.key, k2
		}
		ring, _ := tokensession.NewKeyring(tokensession.KeyringEntry{Key: first}, tokensession.KeyringEntry{Key: second})
		if err := e.m.SetKeyring(ring); err != nil {
			t.Error(err)
		}
	}
	wg.Wait()
}

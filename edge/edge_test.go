package edge

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tokensession/tokensession"
)

// cookieLineRE is the exact shape of the shop's Set-Cookie lines on a
// loopback address: name, value, then the attributes in this order.
var cookieLineRE = regexp.MustCompile(`^(session(?:\.[01])?)=([A-Za-z0-9_.-]*); Path=/; Max-Age=(\d+); HttpOnly; SameSite=Lax$`)

// checkCookies asserts that lines set exactly the cookies in want (name to
// Max-Age: 1800 for a new token, 0 for a deletion), in that order, with
// the shop's attributes, and that set cookies carry a value.
func checkCookies(t *testing.T, what string, lines []string, want ...string) {
	t.Helper()
	var got []string
	for _, line := range lines {
		m := cookieLineRE.FindStringSubmatch(line)
		if m == nil {
			t.Errorf("%s: Set-Cookie %.120q: not name=value; Path=/; Max-Age=N; HttpOnly; SameSite=Lax", what, line)
			continue
		}
		if (m[3] == "0") != (m[2] == "") {
			t.Errorf("%s: Set-Cookie %.120q: a value with Max-Age=0 or none without", what, line)
		}
		got = append(got, m[1]+" "+m[3])
	}
	if !slices.Equal(got, want) {
		t.Errorf("%s: Set-Cookie sets %q, want %q", what, got, want)
	}
}

func keyringJSON(t *testing.T, entries ...tokensession.KeyringEntry) string {
	t.Helper()
	ring, err := tokensession.NewKeyring(entries...)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := ring.UnsafeMarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return string(doc)
}

// footerKID returns the k4.lid in a token's footer.
func footerKID(t *testing.T, tok string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	footer, err := base64.RawURLEncoding.DecodeString(parts[len(parts)-1])
	if err != nil {
		t.Fatalf("footer: %v", err)
	}
	var f struct{ Kid string }
	if err := json.Unmarshal(footer, &f); err != nil {
		t.Fatalf("footer: %v", err)
	}
	return f.Kid
}

// TestEdgeAndOrigin runs examples/basic (the origin) and examples/edge
// under workerd (the edge) with the same keys, and moves one user between
// them.
func TestEdgeAndOrigin(t *testing.T) {
	needWorkerd(t)
	dir := t.TempDir()
	basicBin := buildBasic(t, dir)
	apiBin := build(t, dir, "./examples/api")
	k1 := tokensession.GenerateKey()
	keys := "SESSION_KEYS=" + k1.UnsafeExportPASERK()
	origin := startBasic(t, "origin", basicBin, keys)
	edge := startEdge(t, "edge", keys)

	alice := newBrowser()
	if r := alice.do(t, origin, "POST", "/login", url.Values{"username": {"alice"}}); r.status != http.StatusSeeOther {
		t.Fatalf("login at the origin: %d", r.status)
	}

	t.Run("origin login read at the edge", func(t *testing.T) {
		r := alice.do(t, edge, "GET", "/", nil)
		if p := parsePage(t, r); p.user != "alice" || len(p.cart) != 0 {
			t.Errorf("edge page: %+v", p)
		}
		checkCookies(t, "fresh session read at the edge", r.setCookie) // nothing to refresh
		if o := alice.do(t, origin, "GET", "/", nil); o.body != r.body {
			t.Errorf("the edge's page differs from the origin's:\nedge:   %q\norigin: %q", r.body, o.body)
		}
	})

	t.Run("cart item added at the edge, read at the origin", func(t *testing.T) {
		r := alice.do(t, edge, "POST", "/cart", url.Values{"item": {"apple"}})
		if r.status != http.StatusSeeOther {
			t.Fatalf("add at the edge: %d %q", r.status, r.body)
		}
		checkCookies(t, "cart at the edge", r.setCookie, "session 1800")
		// The bridge carries the middleware's caching headers.
		if v, cc := r.header.Values("Vary"), r.header.Get("Cache-Control"); !slices.Contains(v, "Cookie") || !strings.Contains(cc, "private") {
			t.Errorf("cart at the edge: Vary %q, Cache-Control %q; want Cookie and private", v, cc)
		}
		if p := parsePage(t, alice.do(t, origin, "GET", "/", nil)); p.user != "alice" || !slices.Equal(p.cart, []string{"apple"}) {
			t.Errorf("origin page after the edge added apple: %+v", p)
		}
	})

	item := strings.Repeat("pear ", 39) // 195 bytes
	t.Run("session over two chunks", func(t *testing.T) {
		var r reply
		for n := 0; n < 30 && alice.cookies["session.1"] == ""; n++ {
			r = alice.do(t, edge, "POST", "/cart", url.Values{"item": {item}})
		}
		if alice.cookies["session.1"] == "" {
			t.Fatal("the cart never outgrew one cookie")
		}
		// The first Set-Cookie in chunks writes both chunks and deletes
		// the single cookie.
		checkCookies(t, "cart in two chunks", r.setCookie, "session.0 1800", "session.1 1800", "session 0")
		edgePage := parsePage(t, alice.do(t, edge, "GET", "/", nil))
		originPage := parsePage(t, alice.do(t, origin, "GET", "/", nil))
		if originPage.user != "alice" || len(originPage.cart) < 2 || !slices.Equal(originPage.cart, edgePage.cart) {
			t.Errorf("origin reads %d items, edge %d", len(originPage.cart), len(edgePage.cart))
		}
		// One more item at the edge: a new two-chunk session, nothing to
		// delete.
		r = alice.do(t, edge, "POST", "/cart", url.Values{"item": {"plum"}})
		checkCookies(t, "two chunks rewritten", r.setCookie, "session.0 1800", "session.1 1800")
		if p := parsePage(t, alice.do(t, origin, "GET", "/", nil)); p.cart[len(p.cart)-1] != "plum" {
			t.Errorf("origin's last item %q, want plum", p.cart[len(p.cart)-1])
		}
	})

	t.Run("full cart refused at the edge", func(t *testing.T) {
		// Fill the two chunks (MaxChunks 2 of at most 3584 bytes) until
		// the edge refuses an item.
		var before page
		var r reply
		for n := 0; n < 40 && r.status != http.StatusConflict; n++ {
			before = parsePage(t, alice.do(t, edge, "GET", "/", nil))
			if r = alice.do(t, edge, "POST", "/cart", url.Values{"item": {item}}); r.status != http.StatusSeeOther && r.status != http.StatusConflict {
				t.Fatalf("add at the edge: %d %q", r.status, r.body)
			}
		}
		full := parsePageCode(t, r, http.StatusConflict)
		if !full.full || full.user != "alice" || !slices.Equal(full.cart, before.cart) {
			t.Errorf("409 page: %+v; want the note and the cart of %d items", full, len(before.cart))
		}
		// The handler sets the cart it had back, which seals it again:
		// two chunks, neither holding the refused item.
		checkCookies(t, "full cart at the edge", r.setCookie, "session.0 1800", "session.1 1800")
		if p := parsePage(t, alice.do(t, origin, "GET", "/", nil)); p.user != "alice" || !slices.Equal(p.cart, before.cart) || p.full {
			t.Errorf("origin after the edge refused an item: %q with %d items (note %v), want alice with %d", p.user, len(p.cart), p.full, len(before.cart))
		}
		// The origin refuses the same item with the same page.
		if o := alice.clone().do(t, origin, "POST", "/cart", url.Values{"item": {item}}); o.status != http.StatusConflict || o.body != r.body {
			t.Errorf("the origin's answer to the same item: %d, same page as the edge's: %v", o.status, o.body == r.body)
		}
	})

	t.Run("logout at the edge ends the session at the origin", func(t *testing.T) {
		r := alice.do(t, edge, "POST", "/logout", nil)
		if r.status != http.StatusSeeOther {
			t.Fatalf("logout: %d", r.status)
		}
		checkCookies(t, "logout at the edge", r.setCookie, "session.0 0", "session.1 0")
		if p := parsePage(t, alice.do(t, origin, "GET", "/", nil)); p.user != "" || len(p.cart) != 0 {
			t.Errorf("origin after logout at the edge: %+v", p)
		}
	})

	t.Run("tampered cookie", func(t *testing.T) {
		bob := newBrowser()
		bob.do(t, origin, "POST", "/login", url.Values{"username": {"bob"}})
		tok := bob.cookies["session"]
		i := len("v4.local.") + 40
		flipped := byte('A')
		if tok[i] == 'A' {
			flipped = 'B'
		}
		bob.cookies["session"] = tok[:i] + string(flipped) + tok[i+1:]
		r := bob.do(t, edge, "GET", "/", nil)
		if p := parsePage(t, r); p.user != "" {
			t.Errorf("tampered cookie logged in as %q", p.user)
		}
		checkCookies(t, "tampered cookie", r.setCookie, "session 0")
	})

	t.Run("bearer token of examples/api refused", func(t *testing.T) {
		api := startBasic(t, "api", apiBin, keys)
		resp, err := http.PostForm(api.base+"/token", url.Values{"username": {"carol"}})
		if err != nil {
			t.Fatal(err)
		}
		var issued struct{ Token string }
		err = json.NewDecoder(resp.Body).Decode(&issued)
		resp.Body.Close()
		if err != nil || !strings.HasPrefix(issued.Token, "v4.local.") {
			t.Fatalf("POST /token: %v %q", err, issued.Token)
		}
		// The token is good where it belongs.
		req, _ := http.NewRequest("GET", api.base+"/me", nil)
		req.Header.Set("Authorization", "Bearer "+issued.Token)
		if me, err := client.Do(req); err != nil || me.StatusCode != http.StatusOK {
			t.Fatalf("GET /me with the token: %v %v", err, me)
		}
		carol := newBrowser()
		carol.cookies["session"] = issued.Token
		r := carol.do(t, edge, "GET", "/", nil)
		if p := parsePage(t, r); p.user != "" {
			t.Errorf("api token opened as a session at the edge: %q", p.user)
		}
		checkCookies(t, "api token as a cookie", r.setCookie, "session 0")
	})

	t.Run("cross-origin POST refused", func(t *testing.T) {
		dave := newBrowser()
		for _, h := range [][]string{{"Sec-Fetch-Site", "cross-site"}, {"Origin", "http://evil.example"}} {
			r := dave.do(t, edge, "POST", "/login", url.Values{"username": {"dave"}}, h...)
			if r.status != http.StatusForbidden || len(r.setCookie) != 0 {
				t.Errorf("%s: %d, Set-Cookie %q", h[0], r.status, r.setCookie)
			}
		}
	})

	t.Run("edge logs name the cause, never the token", func(t *testing.T) {
		logs := edge.logs()
		if !strings.Contains(logs, "session: GET /: tokensession:") {
			t.Errorf("edge log has no session errors:\n%s", logs)
		}
		if strings.Contains(logs, "v4.local.") || strings.Contains(logs, k1.UnsafeExportPASERK()[9:]) {
			t.Errorf("a token or key in the edge log:\n%s", logs)
		}
	})
}

// TestEdgeClock checks, under workerd's clock (Date.now() stands still
// while a request runs), iat, refresh near expiry and expiry, with tokens
// the origin seals with its clock shifted into the past.
func TestEdgeClock(t *testing.T) {
	needWorkerd(t)
	basicBin := buildBasic(t, t.TempDir())
	k1 := tokensession.GenerateKey()
	keys := "SESSION_KEYS=" + k1.UnsafeExportPASERK()
	ring, err := tokensession.ParseKeyringEnv(k1.UnsafeExportPASERK())
	if err != nil {
		t.Fatal(err)
	}
	m := opener(t, ring)
	edge := startEdge(t, "edge", keys)

	t.Run("iat is the request's instant", func(t *testing.T) {
		u := newBrowser()
		before := time.Now().Truncate(time.Second)
		u.do(t, edge, "POST", "/login", url.Values{"username": {"erin"}})
		after := time.Now()
		_, info, err := m.Open(u.token())
		if err != nil {
			t.Fatal(err)
		}
		if info.IssuedAt.Before(before) || info.IssuedAt.After(after) || !info.Expires.Equal(info.IssuedAt.Add(30*time.Minute)) {
			t.Errorf("login between %v and %v: iat %v exp %v", before, after, info.IssuedAt, info.Expires)
		}
	})

	t.Run("refresh near expiry", func(t *testing.T) {
		// Sealed 20 minutes ago: 10 minutes left, under the 15-minute
		// refresh window.
		past := startBasic(t, "origin-20m", basicBin, keys, "CLOCK_OFFSET=-20m")
		u := newBrowser()
		u.do(t, past, "POST", "/login", url.Values{"username": {"frank"}})
		_, old, err := m.Open(u.token())
		if err != nil {
			t.Fatal(err)
		}
		before := time.Now().Truncate(time.Second)
		r := u.do(t, edge, "GET", "/", nil)
		after := time.Now()
		if p := parsePage(t, r); p.user != "frank" {
			t.Fatalf("edge page: %+v", p)
		}
		checkCookies(t, "refresh at the edge", r.setCookie, "session 1800")
		_, info, err := m.Open(u.token())
		if err != nil {
			t.Fatal(err)
		}
		if info.ID != old.ID || !info.Created.Equal(old.Created) || info.IssuedAt.Before(before) || info.IssuedAt.After(after) {
			t.Errorf("refreshed %+v from %+v; edge request between %v and %v", info, old, before, after)
		}
	})

	t.Run("expired", func(t *testing.T) {
		// Sealed 31 minutes ago: expired a minute ago, past the 30 s leeway.
		past := startBasic(t, "origin-31m", basicBin, keys, "CLOCK_OFFSET=-31m")
		u := newBrowser()
		u.do(t, past, "POST", "/login", url.Values{"username": {"grace"}})
		r := u.do(t, edge, "GET", "/", nil)
		if p := parsePage(t, r); p.user != "" {
			t.Errorf("expired session read as %q", p.user)
		}
		checkCookies(t, "expired at the edge", r.setCookie, "session 0")
	})
}

// TestEdgeStagedRotation: the edge gains a staged key, then the origin
// starts sealing with it, and the edge reads every session throughout.
func TestEdgeStagedRotation(t *testing.T) {
	needWorkerd(t)
	dir := t.TempDir()
	basicBin := buildBasic(t, dir)
	k1, k2 := tokensession.GenerateKey(), tokensession.GenerateKey()
	keys := "SESSION_KEYS=" + k1.UnsafeExportPASERK()
	// k2 seals from 20 s from now. The second origin runs 25 s ahead, so
	// it seals with k2 at once, within the 30 s leeway of the edge's clock.
	staged := keyringJSON(t,
		tokensession.KeyringEntry{Key: k2, NotBefore: time.Now().Add(20 * time.Second).Truncate(time.Second)},
		tokensession.KeyringEntry{Key: k1})
	ringFile := filepath.Join(dir, "keyring.json")
	if err := os.WriteFile(ringFile, []byte(staged), 0o600); err != nil {
		t.Fatal(err)
	}

	var users []*browser
	login := func(origin *process, wantKID string) {
		t.Helper()
		u := newBrowser()
		name := fmt.Sprintf("user%d", len(users))
		u.do(t, origin, "POST", "/login", url.Values{"username": {name}})
		u.do(t, origin, "POST", "/cart", url.Values{"item": {"item of " + name}})
		if kid := footerKID(t, u.token()); kid != wantKID {
			t.Fatalf("%s sealed %s with %s, want %s", origin.name, name, kid, wantKID)
		}
		users = append(users, u)
	}
	readAll := func(edge *process) {
		t.Helper()
		for i, u := range users {
			name := fmt.Sprintf("user%d", i)
			// A copy: the edge may refresh the cookie, and each check
			// should present the token the origin sealed.
			p := parsePage(t, u.clone().do(t, edge, "GET", "/", nil))
			if p.user != name || !slices.Equal(p.cart, []string{"item of " + name}) {
				t.Errorf("%s reads %s as %+v", edge.name, name, p)
			}
		}
	}

	origin := startBasic(t, "origin k1", basicBin, keys)
	edge := startEdge(t, "edge k1", keys)
	login(origin, k1.ID())
	readAll(edge)

	// 1. The edge gains the staged key; the origin still knows only k1.
	edge.stop()
	edge = startEdge(t, "edge k2 staged", "SESSION_KEYRING="+staged)
	login(origin, k1.ID())
	readAll(edge)

	// 2. The origin switches to the same keyring, past k2's activation.
	origin.stop()
	origin = startBasic(t, "origin k2 active", basicBin, "SESSION_KEYRING="+ringFile, "CLOCK_OFFSET=25s")
	login(origin, k2.ID())
	login(origin, k2.ID())
	readAll(edge)

	// 3. A user with a k2 session keeps shopping at the edge; the origin
	// reads the result.
	u := users[len(users)-1]
	u.do(t, edge, "POST", "/cart", url.Values{"item": {"edge item"}})
	if p := parsePage(t, u.do(t, origin, "GET", "/", nil)); !slices.Contains(p.cart, "edge item") {
		t.Errorf("origin after an edge change under the staged key: %+v", p)
	}
}

// TestEdgeRolloutSlip: a new key reaches the origin, which seals with it
// at once, before it reaches the edge. Until the edge has it, the edge
// leaves the cookie alone: it answers the page and a login with 503,
// Retry-After and a "temporarily unavailable" page (no login form that
// would invite the user to replace the session), and a cart write with
// 503 and Retry-After; once the edge restarts with the new keyring, the
// login and the cart are intact.
func TestEdgeRolloutSlip(t *testing.T) {
	needWorkerd(t)
	basicBin := buildBasic(t, t.TempDir())
	k1, k2 := tokensession.GenerateKey(), tokensession.GenerateKey()
	// k2 seals at once: no not_before, the mistake this test is about.
	rolled := keyringJSON(t, tokensession.KeyringEntry{Key: k2}, tokensession.KeyringEntry{Key: k1})
	origin := startBasic(t, "origin k2", basicBin, "SESSION_KEYRING="+rolled)
	edge := startEdge(t, "edge k1", "SESSION_KEYS="+k1.UnsafeExportPASERK())

	alice := newBrowser()
	alice.do(t, origin, "POST", "/login", url.Values{"username": {"alice"}})
	alice.do(t, origin, "POST", "/cart", url.Values{"item": {"apple"}})
	if kid := footerKID(t, alice.token()); kid != k2.ID() {
		t.Fatalf("the origin sealed with %s, want the new key %s", kid, k2.ID())
	}
	sealed := alice.token()

	for _, req := range []struct {
		method, path string
		form         url.Values
	}{
		{"GET", "/", nil},
		{"POST", "/login", url.Values{"username": {"alice"}}},
	} {
		what := req.method + " " + req.path + " at the edge without the key"
		r := alice.do(t, edge, req.method, req.path, req.form)
		if r.status != http.StatusServiceUnavailable {
			t.Errorf("%s: %d %q, want 503", what, r.status, r.body)
		}
		if n, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || n <= 0 {
			t.Errorf("%s: 503 with Retry-After %q, want a number of seconds", what, r.header.Get("Retry-After"))
		}
		if !strings.Contains(r.body, `<p id="unavailable" class="note">Your session is temporarily unavailable; try again in a few seconds.</p>`) ||
			strings.Contains(r.body, "<form") || strings.Contains(r.body, "not logged in") {
			t.Errorf("%s: want the unavailable page, without a form: %q", what, r.body)
		}
		checkCookies(t, what, r.setCookie) // the cookie is left alone
	}
	if alice.token() != sealed {
		t.Fatal("the edge changed the cookie")
	}

	r := alice.do(t, edge, "POST", "/cart", url.Values{"item": {"pear"}})
	if r.status != http.StatusServiceUnavailable {
		t.Errorf("cart write at the edge without the key: %d %q, want 503", r.status, r.body)
	}
	if n, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || n <= 0 {
		t.Errorf("503 with Retry-After %q, want a number of seconds", r.header.Get("Retry-After"))
	}
	checkCookies(t, "cart write at the edge without the key", r.setCookie)
	if alice.token() != sealed {
		t.Fatal("the edge changed the cookie")
	}
	if p := parsePage(t, alice.do(t, origin, "GET", "/", nil)); p.user != "alice" || !slices.Equal(p.cart, []string{"apple"}) {
		t.Errorf("origin during the slip: %+v", p)
	}
	logs := edge.logs()
	if !strings.Contains(logs, "unknown key") || strings.Contains(logs, "v4.local.") {
		t.Errorf("edge log should report the unknown key, without the token:\n%s", logs)
	}

	// The key reaches the edge.
	edge.stop()
	edge = startEdge(t, "edge k2", "SESSION_KEYRING="+rolled)
	r = alice.do(t, edge, "GET", "/", nil)
	if p := parsePage(t, r); p.user != "alice" || !slices.Equal(p.cart, []string{"apple"}) {
		t.Errorf("edge with the key: %+v, want alice's login and cart", p)
	}
	checkCookies(t, "read at the edge with the key", r.setCookie)
	r = alice.do(t, edge, "POST", "/cart", url.Values{"item": {"pear"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("cart write at the edge with the key: %d %q", r.status, r.body)
	}
	checkCookies(t, "cart write at the edge with the key", r.setCookie, "session 1800")
	if p := parsePage(t, alice.do(t, origin, "GET", "/", nil)); p.user != "alice" || !slices.Equal(p.cart, []string{"apple", "pear"}) {
		t.Errorf("origin after the rollout: %+v", p)
	}
}

// Package e2e drives examples/basic in headless Chromium: the cookies a
// real browser keeps, chunked sessions, logout, a forged cookie and a
// cross-site form post.
//
// Run it with e2e/run.sh, which installs Debian's chromium when missing.
// Without a browser the test skips, except under CI=true, where it fails.
// E2E_SCREENSHOT=/path.png saves a screenshot of the full cart there.
package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

const (
	testTimeout = 110 * time.Second // everything: build, start, browser
	stepTimeout = 20 * time.Second  // one browser step
)

func TestBrowser(t *testing.T) {
	start := time.Now()
	chromium := findChromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	bin := buildExample(ctx, t)
	app := startApp(t, bin)
	t.Logf("app at %s (built and started in %v)", app.url, time.Since(start).Round(time.Millisecond))

	b := newBrowser(ctx, t, chromium, app)
	b.crossSiteLogin()
	b.loginAndReload()
	b.fillCart()
	b.logout()
	b.tamperedCookie()
	app.checkLogs()
	t.Logf("browser steps took %v, whole test %v", time.Since(b.started).Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
}

type browser struct {
	t       *testing.T
	ctx     context.Context
	app     *app
	started time.Time
}

func newBrowser(ctx context.Context, t *testing.T, chromium string, a *app) *browser {
	t.Helper()
	ctx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1000, 800),
		// No UserDataDir: chromedp makes a fresh one and removes it.
	)
	t.Cleanup(cancelAlloc)
	ctx, cancelTab := chromedp.NewContext(ctx)
	t.Cleanup(cancelTab)
	b := &browser{t: t, ctx: ctx, app: a, started: time.Now()}
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("starting %s: %v", chromium, err)
	}
	t.Logf("browser started in %v", time.Since(b.started).Round(time.Millisecond))
	return b
}

// step returns a context for one step, bounded by stepTimeout.
func (b *browser) step() (context.Context, context.CancelFunc) {
	return context.WithTimeout(b.ctx, stepTimeout)
}

func (b *browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

func run[T any](b *browser, what string, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
	return v
}

// load runs actions that navigate, waits for the page, and returns the
// status of its document (the last one of a redirect chain).
func (b *browser) load(what string, actions ...chromedp.Action[chromedp.Void]) *network.Response {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, actions...)
	if err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
	if resp == nil {
		b.t.Fatalf("%s: no response", what)
	}
	return resp
}

// cookies returns the cookies the browser keeps for the app.
func (b *browser) cookies() []*network.Cookie {
	b.t.Helper()
	res := run(b, "get cookies", func(ctx context.Context, tg *chromedp.Target) (network.GetCookiesResult, error) {
		return cdp.Call(ctx, tg, network.GetCookies, network.GetCookiesParams{URLs: []string{b.app.url + "/"}})
	})
	return res.Cookies
}

// sessionCookies returns the names of the session's cookies, sorted.
func (b *browser) sessionCookies() []string {
	var names []string
	for _, c := range b.cookies() {
		if strings.HasPrefix(c.Name, "session") {
			names = append(names, c.Name)
		}
	}
	slices.Sort(names)
	return names
}

func (b *browser) text(id string) string {
	b.t.Helper()
	return run(b, "text of #"+id, chromedp.Text(chromedp.ID(id)))
}

// has reports whether the page has an element with this id, without
// waiting for it.
func (b *browser) has(id string) bool {
	b.t.Helper()
	return run(b, "look for #"+id, chromedp.Evaluate[bool](fmt.Sprintf("document.getElementById(%q) !== null", id)))
}

func (b *browser) cart() []string {
	b.t.Helper()
	return run(b, "read the cart", chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("#cart li"), li => li.textContent)`))
}

func (b *browser) expectLoggedOut(what string) {
	b.t.Helper()
	if !b.has("anonymous") || b.has("whoami") {
		b.t.Fatalf("%s: the page does not show the logged-out state", what)
	}
	if got := b.text("anonymous"); got != "You are not logged in" {
		b.t.Fatalf("%s: %q", what, got)
	}
}

func (b *browser) login(name string) {
	b.t.Helper()
	b.do("open the app", chromedp.Navigate(b.app.url+"/"), chromedp.WaitVisible(chromedp.ID("username")))
	b.do("type the user name", chromedp.SetValue(chromedp.ID("username"), name))
	if resp := b.load("log in", chromedp.Click(chromedp.ID("login"))); resp.Status != 200 {
		b.t.Fatalf("log in: status %d", resp.Status)
	}
	if got, want := b.text("whoami"), "Logged in as "+name; got != want {
		b.t.Fatalf("after login: %q, want %q", got, want)
	}
}

// crossSiteLogin serves a page on 127.0.0.1, another site than the app's
// localhost, that posts a login form to the app as soon as it loads.
func (b *browser) crossSiteLogin() {
	t := b.t
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><title>evil</title>
<form id="f" method="post" action="%s/login"><input name="username" value="mallory"></form>
<script>document.getElementById("f").submit()</script>`, b.app.url)
	}))
	defer evil.Close()

	ctx, cancel := b.step()
	defer cancel()
	responses := chromedp.Events(ctx, network.ResponseReceived) // subscribe first
	if err := chromedp.Do(ctx, chromedp.Navigate(evil.URL)); err != nil {
		t.Fatalf("open the cross-site page: %v", err)
	}
	var status int64
	for ev, err := range responses {
		if err != nil {
			t.Fatalf("no response from the app's /login to the cross-site post: %v", err)
		}
		if ev.Response.URL == b.app.url+"/login" {
			status = ev.Response.Status
			break
		}
	}
	if status != http.StatusForbidden {
		t.Fatalf("cross-site POST /login: status %d, want 403", status)
	}
	if resp := b.load("open the app", chromedp.Navigate(b.app.url+"/")); resp.Status != 200 {
		t.Fatalf("GET /: %d", resp.Status)
	}
	b.expectLoggedOut("after the cross-site post")
	if names := b.sessionCookies(); len(names) != 0 {
		t.Fatalf("the cross-site post set cookies: %v", names)
	}
	t.Log("cross-site login refused with 403")
}

func (b *browser) loginAndReload() {
	t := b.t
	name := `alice <b>&amp;</b>` // shown as text, not markup
	b.login(name)
	if resp := b.load("reload", chromedp.Reload()); resp.Status != 200 {
		t.Fatalf("reload: %d", resp.Status)
	}
	if got := b.text("whoami"); got != "Logged in as "+name {
		t.Fatalf("after reload: %q", got)
	}
	if dc := run(b, "read document.cookie", chromedp.Evaluate[string]("document.cookie")); strings.Contains(dc, "session") {
		t.Fatalf("document.cookie shows the session: %q", dc)
	}
	cookies := b.cookies()
	if len(cookies) != 1 || cookies[0].Name != "session" {
		t.Fatalf("cookies after login: %v", cookieNames(cookies))
	}
	if c := cookies[0]; !c.HTTPOnly || c.SameSite != network.CookieSameSiteLax || c.Path != "/" || c.Session {
		t.Fatalf("session cookie attributes: httpOnly=%v sameSite=%q path=%q session=%v", c.HTTPOnly, c.SameSite, c.Path, c.Session)
	}
	t.Log("logged in; still logged in after reload; document.cookie has no session")
}

func cookieNames(cs []*network.Cookie) []string {
	var names []string
	for _, c := range cs {
		names = append(names, c.Name)
	}
	return names
}

// fillCart adds items of 150 characters until the cart is full: through the
// form until the session spans two cookies, then, to keep the test fast,
// with fetch() from the page (the same POST, cookies and redirect, without
// rendering each page), and the last one through the form again.
func (b *browser) fillCart() {
	t := b.t
	items := make([]string, 200)
	for i := range items {
		items[i] = fmt.Sprintf("item %03d: ", i)
		items[i] += strings.Repeat("tokensession ", 12)[:150-len(items[i])]
	}

	var added []string
	for len(b.sessionCookies()) < 2 {
		if len(added) == 40 {
			t.Fatalf("%d items and still one cookie: %v", len(added), b.sessionCookies())
		}
		if full := b.addThroughForm(items[len(added)]); full {
			t.Fatalf("cart full after %d items", len(added))
		}
		added = append(added, items[len(added)])
	}
	b.checkCookieNames(2)
	b.load("reload", chromedp.Reload())
	if got := b.cart(); !slices.Equal(got, added) {
		t.Fatalf("after reload with 2 cookies: %d items listed, want %d", len(got), len(added))
	}
	t.Logf("%d items span 2 cookies; reload lists them all", len(added))

	type result struct {
		Added int  `json:"added"`
		Full  bool `json:"full"`
	}
	rest, err := json.Marshal(items[len(added):])
	if err != nil {
		t.Fatal(err)
	}
	// The app's Content-Security-Policy (connect-src 'none') forbids
	// fetch() from its pages; lift it for this tab while filling the cart.
	b.bypassCSP(true)
	b.load("reload without CSP", chromedp.Reload())
	res := run(b, "add items with fetch", chromedp.Evaluate[result](`(async items => {
	for (let i = 0; i < items.length; i++) {
		const r = await fetch("/cart", {method: "POST", body: new URLSearchParams({item: items[i]})});
		if (r.status === 409) return {added: i, full: true};
		if (r.status !== 200) throw new Error("POST /cart: status " + r.status);
	}
	return {added: items.length, full: false};
})(`+string(rest)+`)`, chromedp.EvalAwaitPromise))
	if !res.Full {
		t.Fatalf("%d items and the cart is not full", len(added)+res.Added)
	}
	added = append(added, items[len(added):len(added)+res.Added]...)
	b.bypassCSP(false)
	b.checkCookieNames(2)
	b.load("reload", chromedp.Navigate(b.app.url+"/"))
	if got := b.cart(); !slices.Equal(got, added) || b.has("full") {
		t.Fatalf("after filling the cart: %d items listed, want %d", len(got), len(added))
	}

	if full := b.addThroughForm(items[len(added)]); !full {
		t.Fatal("one more item: no full message")
	}
	if got := b.text("full"); !strings.Contains(got, "Your cart is full") {
		t.Fatalf("full cart message: %q", got)
	}
	if got := b.cart(); !slices.Equal(got, added) {
		t.Fatalf("with the full message: %d items listed, want the %d added before", len(got), len(added))
	}
	if !strings.HasPrefix(b.text("whoami"), "Logged in as alice") {
		t.Fatal("logged out by the full cart")
	}
	b.checkCookieNames(2)
	if path := os.Getenv("E2E_SCREENSHOT"); path != "" {
		png := run(b, "screenshot", chromedp.FullScreenshot(100))
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot of the full cart: %s", path)
	}
	b.load("reload", chromedp.Navigate(b.app.url+"/"))
	if got := b.cart(); !slices.Equal(got, added) || b.has("full") {
		t.Fatalf("after reload: %d items listed, want %d", len(got), len(added))
	}
	t.Logf("cart full after %d items of 150 characters in 2 cookies; all still listed", len(added))
}

// bypassCSP turns the tab's bypass of Content-Security-Policy on or off,
// from the next page load on.
func (b *browser) bypassCSP(on bool) {
	b.t.Helper()
	run(b, "set CSP bypass", func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, tg, page.SetBypassCSP, page.SetBypassCSPParams{Enabled: on})
		return chromedp.Void{}, err
	})
}

// addThroughForm types item into the form and submits it. It reports
// whether the app answered that the cart is full.
func (b *browser) addThroughForm(item string) (full bool) {
	t := b.t
	t.Helper()
	b.do("type an item", chromedp.SetValue(chromedp.ID("item"), item))
	resp := b.load("add an item", chromedp.Click(chromedp.ID("add")))
	// A full cart answers 409 with the cart as it was and a note.
	if resp.Status != 200 && resp.Status != 409 {
		t.Fatalf("add an item: status %d", resp.Status)
	}
	full = resp.Status == 409
	if full != b.has("full") {
		t.Fatalf("%s: status %d, full message shown: %v", resp.URL, resp.Status, !full)
	}
	return full
}

// checkCookieNames expects the session in n chunks: session.0 … session.n-1.
func (b *browser) checkCookieNames(n int) {
	b.t.Helper()
	names := b.sessionCookies()
	ok := len(names) == n
	for i := 0; ok && i < n; i++ {
		ok = names[i] == fmt.Sprintf("session.%d", i)
	}
	if !ok {
		b.t.Fatalf("session cookies %v, want %d chunks", names, n)
	}
}

func (b *browser) logout() {
	t := b.t
	if resp := b.load("log out", chromedp.Click(chromedp.ID("logout"))); resp.Status != 200 {
		t.Fatalf("log out: %d", resp.Status)
	}
	b.expectLoggedOut("after logout")
	if got := b.cart(); len(got) != 0 {
		t.Fatalf("cart after logout: %d items", len(got))
	}
	if names := b.sessionCookies(); len(names) != 0 {
		t.Fatalf("cookies after logout: %v", names)
	}
	t.Log("logout removed every session cookie")
}

// tamperedCookie logs in, changes one character of the token in the
// browser's cookie jar, and expects the logged-out page.
func (b *browser) tamperedCookie() {
	t := b.t
	b.login("bob")
	cookies := b.cookies()
	if len(cookies) != 1 || cookies[0].Name != "session" {
		t.Fatalf("cookies after login: %v", cookieNames(cookies))
	}
	v := cookies[0].Value
	i := len("v4.local.") + 40 // inside the encrypted payload
	flip := "A"
	if v[i] == 'A' {
		flip = "B"
	}
	forged := v[:i] + flip + v[i+1:]
	run(b, "set the forged cookie", func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, tg, network.SetCookie, network.SetCookieParams{
			URL:      b.app.url + "/", // host-only, replaces the real one
			Name:     "session",
			Value:    forged,
			Path:     "/",
			HTTPOnly: ptr(true),
			SameSite: network.CookieSameSiteLax,
		})
		return chromedp.Void{}, err
	})
	if cs := b.cookies(); len(cs) != 1 || cs[0].Value != forged {
		t.Fatalf("forged cookie not in place: %v", cookieNames(cs))
	}
	resp := b.load("open the app with the forged cookie", chromedp.Navigate(b.app.url+"/"))
	if resp.Status != 200 {
		t.Fatalf("forged cookie: status %d, want 200", resp.Status)
	}
	b.expectLoggedOut("with a forged cookie")
	if names := b.sessionCookies(); len(names) != 0 {
		t.Fatalf("the forged cookie was not expired: %v", names)
	}
	t.Log("forged cookie: logged-out page (200), cookie expired")
}

func ptr[T any](v T) *T { return &v }

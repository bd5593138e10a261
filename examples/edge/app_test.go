package main

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/printer"
	"go/token"
	"html/template"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tokensession/tokensession"
)

// basicSource parses examples/basic/main.go, the origin this example must
// match.
func basicSource(t *testing.T) *ast.File {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "../basic/main.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestPageMatchesBasic renders examples/basic's page template, read from
// its source, and this example's hand-written page for the same data, and
// requires the same bytes, so that the two pages cannot drift apart.
func TestPageMatchesBasic(t *testing.T) {
	basic := basicPage(t)
	awkward := `<b>"Tom" & 'Jerry'</b> +1 ` + "\x00 é 🛒"
	for _, d := range []pageData{
		{},
		{Full: true},
		{Cart: []string{}},
		{User: "alice"},
		{User: "alice", Cart: []string{"apple", "pear"}},
		{User: awkward, Cart: []string{awkward, "", "x"}, Full: true},
		{Cart: []string{"left behind"}},
		{Unavailable: true},
		{User: awkward, Cart: []string{awkward}, Full: true, Unavailable: true},
	} {
		comparePages(t, basic, d)
	}
}

// FuzzPageMatchesBasic: whatever a session holds, the hand-written page
// escapes it as examples/basic's template does.
func FuzzPageMatchesBasic(f *testing.F) {
	f.Add("alice", "apple", false)
	f.Add(`<script>"'&+`, "\x00\xff</li>", true)
	f.Add("", "", false)
	basic := basicPage(f)
	f.Fuzz(func(t *testing.T, user, item string, full bool) {
		comparePages(t, basic, pageData{User: user, Cart: []string{item, user}, Full: full})
	})
}

// basicPage parses examples/basic's page template out of its source.
func basicPage(t testing.TB) *template.Template {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "../basic/main.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var src string
	ast.Inspect(f, func(n ast.Node) bool {
		lit, ok := n.(*ast.BasicLit)
		if ok && lit.Kind == token.STRING && strings.HasPrefix(lit.Value, "`<!doctype html>") {
			src, _ = strconv.Unquote(lit.Value)
		}
		return src == ""
	})
	if src == "" {
		t.Fatal("examples/basic/main.go: page template not found")
	}
	return template.Must(template.New("page").Parse(src))
}

func comparePages(t *testing.T, basic *template.Template, d pageData) {
	t.Helper()
	var want, got bytes.Buffer
	if err := basic.Execute(&want, d); err != nil {
		t.Fatal(err)
	}
	if err := renderPage(&got, d); err != nil {
		t.Fatal(err)
	}
	if got.String() != want.String() {
		t.Errorf("page for %+v differs from examples/basic's\n got: %q\nwant: %q", d, got.String(), want.String())
	}
}

// TestSessionTypeMatchesBasic compares the Session struct, field names,
// types and JSON tags, with examples/basic's.
func TestSessionTypeMatchesBasic(t *testing.T) {
	var fields []string
	ast.Inspect(basicSource(t), func(n ast.Node) bool {
		ts, ok := n.(*ast.TypeSpec)
		if !ok || ts.Name.Name != "Session" {
			return true
		}
		for _, f := range ts.Type.(*ast.StructType).Fields.List {
			for _, name := range f.Names {
				fields = append(fields, name.Name+" "+types(f.Type)+" "+f.Tag.Value)
			}
		}
		return false
	})
	var mine []string
	st := reflect.TypeFor[Session]()
	for i := range st.NumField() {
		f := st.Field(i)
		mine = append(mine, f.Name+" "+f.Type.String()+" `"+string(f.Tag)+"`")
	}
	if !reflect.DeepEqual(mine, fields) {
		t.Errorf("Session fields\n got: %q\nwant (examples/basic): %q", mine, fields)
	}
}

func types(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name
	case *ast.ArrayType:
		return "[]" + types(e.Elt)
	}
	return "?"
}

// frozenClock is the clock of a Worker: it stands still while a request
// runs and moves only between requests (in Workers, across I/O).
type frozenClock struct{ t time.Time }

func (c *frozenClock) now() time.Time { return c.t }

type edgeApp struct {
	*app
	h     http.Handler
	clock *frozenClock
	logs  *bytes.Buffer
}

func newTestApp(t *testing.T, ring *tokensession.Keyring, start time.Time) *edgeApp {
	t.Helper()
	clock := &frozenClock{start}
	logs := new(bytes.Buffer)
	a, err := newApp(ring, options{insecure: true, now: clock.now}, log.New(logs, "", 0))
	if err != nil {
		t.Fatal(err)
	}
	return &edgeApp{a, a.routes(), clock, logs}
}

func testRing(t *testing.T) *tokensession.Keyring {
	t.Helper()
	ring, err := tokensession.NewKeyring(tokensession.KeyringEntry{Key: tokensession.GenerateKey()})
	if err != nil {
		t.Fatal(err)
	}
	return ring
}

// do serves one request at the clock's current instant, sending cookie
// lines ("name=value") as the Cookie header.
func (e *edgeApp) do(method, path string, form url.Values, cookies []string) *httptest.ResponseRecorder {
	var body *strings.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	} else {
		body = strings.NewReader("")
	}
	r := httptest.NewRequest(method, "http://edge.test"+path, body)
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if len(cookies) > 0 {
		r.Header.Set("Cookie", strings.Join(cookies, "; "))
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	return w
}

// info opens the session carried by cookies at the clock's instant.
func (e *edgeApp) info(t *testing.T, cookies []string) (tokensession.Info, bool) {
	t.Helper()
	var info tokensession.Info
	var ok bool
	h := e.sessions.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info, ok = e.sessions.FromContext(r.Context()).Info()
	}))
	r := httptest.NewRequest("GET", "http://edge.test/", nil)
	r.Header.Set("Cookie", strings.Join(cookies, "; "))
	h.ServeHTTP(httptest.NewRecorder(), r)
	return info, ok
}

// cookieJar keeps the name=value of each Set-Cookie line, as a browser
// would: Max-Age=0 deletes.
func update(jar []string, w *httptest.ResponseRecorder) []string {
	for _, line := range w.Result().Header.Values("Set-Cookie") {
		c, err := http.ParseSetCookie(line)
		if err != nil {
			continue
		}
		next := jar[:0:0]
		for _, kv := range jar {
			if !strings.HasPrefix(kv, c.Name+"=") {
				next = append(next, kv)
			}
		}
		if c.MaxAge >= 0 {
			next = append(next, c.Name+"="+c.Value)
		}
		jar = next
	}
	return jar
}

// TestFrozenClock drives the shop with a Worker's clock: each request
// sees one instant, the instant of its start. iat, exp, refresh near
// expiry, expiry with leeway and the absolute lifetime all follow that
// instant, whatever the request's own duration.
func TestFrozenClock(t *testing.T) {
	t0 := time.Date(2026, 11, 17, 9, 0, 0, 400e6, time.UTC) // not a whole second
	e := newTestApp(t, testRing(t), t0)
	whole := t0.Truncate(time.Second)

	w := e.do("POST", "/login", url.Values{"username": {"alice"}}, nil)
	if w.Code != http.StatusSeeOther {
		t.Fatalf("login: %d", w.Code)
	}
	jar := update(nil, w)
	login, ok := e.info(t, jar)
	if !ok {
		t.Fatal("no session after login")
	}
	if !login.IssuedAt.Equal(whole) || !login.Created.Equal(t0) || !login.Expires.Equal(whole.Add(30*time.Minute)) {
		t.Errorf("login at %v: iat %v created %v exp %v", t0, login.IssuedAt, login.Created, login.Expires)
	}
	if got := w.Result().Header.Get("Set-Cookie"); !strings.Contains(got, "; Max-Age=1800;") {
		t.Errorf("login Set-Cookie %q: want Max-Age=1800", got)
	}

	// 14 minutes later 16 remain, more than the refresh window (15): a
	// read sends no cookie.
	e.clock.t = t0.Add(14 * time.Minute)
	w = e.do("GET", "/", nil, jar)
	if !strings.Contains(w.Body.String(), "Logged in as alice") || w.Result().Header.Get("Set-Cookie") != "" {
		t.Fatalf("fresh read: Set-Cookie %q, body has login: %v", w.Result().Header.Get("Set-Cookie"), strings.Contains(w.Body.String(), "alice"))
	}

	// At 16 minutes, 14 remain: the read refreshes, with iat and exp
	// from this request's instant, the same ID and creation.
	e.clock.t = t0.Add(16 * time.Minute)
	w = e.do("GET", "/", nil, jar)
	if w.Result().Header.Get("Set-Cookie") == "" {
		t.Fatal("no refresh 14 minutes before expiry")
	}
	old := jar
	jar = update(jar, w)
	fresh, ok := e.info(t, jar)
	if !ok || fresh.ID != login.ID || !fresh.Created.Equal(t0) ||
		!fresh.IssuedAt.Equal(whole.Add(16*time.Minute)) || !fresh.Expires.Equal(whole.Add(46*time.Minute)) {
		t.Errorf("refreshed: %+v (ok %v); login %+v", fresh, ok, login)
	}

	// The old token: still accepted within the 30 s leeway past its
	// expiry, refused after it, and then expired in the response.
	e.clock.t = whole.Add(30*time.Minute + 29*time.Second)
	if w = e.do("GET", "/", nil, old); !strings.Contains(w.Body.String(), "Logged in as alice") {
		t.Error("old token refused within the leeway")
	}
	e.clock.t = whole.Add(30*time.Minute + 31*time.Second)
	w = e.do("GET", "/", nil, old)
	if !strings.Contains(w.Body.String(), "You are not logged in") {
		t.Error("old token accepted 31 s past expiry")
	}
	if got := w.Result().Header.Get("Set-Cookie"); !strings.HasPrefix(got, "session=; Path=/; Max-Age=0;") {
		t.Errorf("expired cookie not deleted: %q", got)
	}
	if !strings.Contains(e.logs.String(), "expired") {
		t.Errorf("expiry not reported to the error handler; log: %q", e.logs.String())
	}
}

// TestFrozenClockAbsoluteLifetime: near the end of the absolute lifetime a
// read does not refresh, since no new token could outlive the old one, and
// the session ends at created + 24 h.
func TestFrozenClockAbsoluteLifetime(t *testing.T) {
	t0 := time.Date(2026, 11, 17, 9, 0, 0, 0, time.UTC)
	e := newTestApp(t, testRing(t), t0)
	jar := update(nil, e.do("POST", "/login", url.Values{"username": {"bob"}}, nil))
	// Keep the session alive every 20 minutes, as a busy user would.
	for at := 20 * time.Minute; at < 24*time.Hour; at += 20 * time.Minute {
		e.clock.t = t0.Add(at)
		jar = update(jar, e.do("GET", "/", nil, jar))
	}
	info, ok := e.info(t, jar)
	if !ok || !info.Expires.Equal(t0.Add(24*time.Hour)) {
		t.Fatalf("after a day of refreshes: %+v (ok %v), want expiry at created + 24h", info, ok)
	}
	e.clock.t = t0.Add(24*time.Hour + 31*time.Second)
	if w := e.do("GET", "/", nil, jar); !strings.Contains(w.Body.String(), "You are not logged in") {
		t.Error("session outlived its absolute lifetime")
	}
}

// TestCrossOriginPost: a cross-site POST is refused before it touches the
// session.
func TestCrossOriginPost(t *testing.T) {
	e := newTestApp(t, testRing(t), time.Now())
	r := httptest.NewRequest("POST", "http://edge.test/login", strings.NewReader("username=mallory"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Sec-Fetch-Site", "cross-site")
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	if w.Code != http.StatusForbidden || w.Result().Header.Get("Set-Cookie") != "" {
		t.Errorf("cross-site login: %d, Set-Cookie %q", w.Code, w.Result().Header.Get("Set-Cookie"))
	}
}

// TestNewHandlerConfig: the keys come from the bindings by the library's
// rule, as at the origin; a bad configuration answers 500 and its log
// names the binding and the problem, never the value.
func TestNewHandlerConfig(t *testing.T) {
	key := tokensession.GenerateKey().UnsafeExportPASERK()
	doc := `{"keys":[{"key":"` + key + `"}]}`
	for _, tc := range []struct {
		name     string
		env      map[string]string
		wantCode int
		wantLog  string
	}{
		{"keys", map[string]string{"SESSION_KEYS": " " + key + "\n"}, 200, ""},
		{"keyring JSON", map[string]string{"SESSION_KEYRING": doc}, 200, ""},
		{"keyring JSON after white space", map[string]string{"SESSION_KEYRING": "\n  " + doc}, 200, ""},
		{"none", map[string]string{}, 500, "no keys: set SESSION_KEYS or SESSION_KEYRING"},
		{"both", map[string]string{"SESSION_KEYS": key, "SESSION_KEYRING": doc}, 500, "both SESSION_KEYS and SESSION_KEYRING are set"},
		{"both, keyring a path", map[string]string{"SESSION_KEYS": key, "SESSION_KEYRING": "/run/secrets/session-keyring"}, 500, "both SESSION_KEYS and SESSION_KEYRING are set"},
		{"empty keys", map[string]string{"SESSION_KEYS": " "}, 500, "SESSION_KEYS is set but empty"},
		{"empty keyring", map[string]string{"SESSION_KEYRING": ""}, 500, "SESSION_KEYRING is set but empty"},
		{"bad key", map[string]string{"SESSION_KEYS": key + " " + key[:len(key)-2]}, 500, "SESSION_KEYS: keyring entry 1: wrong key length"},
		{"bad JSON", map[string]string{"SESSION_KEYRING": doc[:len(doc)-1]}, 500, "SESSION_KEYRING: "},
		{"keyring path", map[string]string{"SESSION_KEYRING": "/run/secrets/session-keyring"}, 500, "SESSION_KEYRING: a Worker reads no files"},
		// A key pasted where the keyring belongs reads as a path.
		{"key as keyring", map[string]string{"SESSION_KEYRING": key}, 500, "SESSION_KEYRING: a Worker reads no files"},
		{"old name", map[string]string{"SESSION_KEYRING_JSON": doc}, 500, "no keys: set SESSION_KEYS or SESSION_KEYRING"},
		{"credentials directory", map[string]string{"CREDENTIALS_DIRECTORY": t.TempDir()}, 500, "no keys: set SESSION_KEYS or SESSION_KEYRING"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			lookup := func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok }
			h := newHandler(lookup, log.New(&logs, "", 0))
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest("GET", "http://edge.test/", nil))
			if w.Code != tc.wantCode || !strings.Contains(logs.String(), tc.wantLog) {
				t.Errorf("code %d, log %q; want %d and %q", w.Code, logs.String(), tc.wantCode, tc.wantLog)
			}
			if strings.Contains(logs.String()+w.Body.String(), key[len("k4.local."):len("k4.local.")+20]) {
				t.Error("key material in the log or the response")
			}
			if strings.Contains(logs.String(), "/run/secrets") {
				t.Error("the binding's value in the log")
			}
		})
	}
}

// configLiteral returns the keyed fields of the one tokensession.Config
// composite literal in the Go file at path, each as its source text.
func configLiteral(t *testing.T, path string) map[string]string {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	source := func(e ast.Expr) string {
		var b strings.Builder
		if err := printer.Fprint(&b, fset, e); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	var fields map[string]string
	ast.Inspect(f, func(n ast.Node) bool {
		lit, ok := n.(*ast.CompositeLit)
		if !ok {
			return true
		}
		idx, ok := lit.Type.(*ast.IndexExpr)
		if !ok || source(idx.X) != "tokensession.Config" {
			return true
		}
		if fields != nil {
			t.Fatalf("%s: more than one tokensession.Config literal", path)
		}
		fields = map[string]string{}
		for _, e := range lit.Elts {
			kv, ok := e.(*ast.KeyValueExpr)
			if !ok {
				t.Fatalf("%s: tokensession.Config literal without field names", path)
			}
			fields[source(kv.Key)] = source(kv.Value)
		}
		return false
	})
	if fields == nil {
		t.Fatalf("%s: no tokensession.Config literal", path)
	}
	return fields
}

// TestConfigMatchesBasic compares the manager's configuration with
// examples/basic's, field by field, as written in the two sources: every
// field of tokensession.Config that decides what a cookie looks like or
// whether a token opens (cookie name, purpose, timeouts, chunk count and
// size, codec, cookie attributes, revocation) must be set to the same
// expression, or left to the same default, on both sides. A field added to
// the Config later is compared too, unless it is listed here as belonging
// to one instance.
func TestConfigMatchesBasic(t *testing.T) {
	perInstance := map[string]string{
		"Keyring":        "each side loads its own, from the same keys",
		"Now":            "the clock; the origin shifts its own only in tests",
		"Leeway":         "clock-skew tolerance; the origin sets it only in tests, else both keep the default",
		"ErrorHandler":   "where each side logs",
		"OpenCacheBytes": "each process's own memory",
	}
	basic, edge := configLiteral(t, "../basic/main.go"), configLiteral(t, "app.go")
	if basic["MaxChunks"] == "" {
		t.Fatalf("examples/basic's Config sets no MaxChunks: %q", basic)
	}
	cfg := reflect.TypeFor[tokensession.Config[Session]]()
	for name := range perInstance {
		if _, ok := cfg.FieldByName(name); !ok {
			t.Errorf("tokensession.Config has no field %s: update this test", name)
		}
	}
	for i := range cfg.NumField() {
		name := cfg.Field(i).Name
		if _, skip := perInstance[name]; skip {
			continue
		}
		if basic[name] != edge[name] {
			t.Errorf("Config.%s: examples/edge has %q, examples/basic %q (\"\": the default)", name, edge[name], basic[name])
		}
	}
}

// unknownKeyReply finds, in examples/basic's source, how it answers a cart
// write refused for an unknown key: the Retry-After value and the text of
// its 503.
func unknownKeyReply(t *testing.T) (retryAfter, text string) {
	t.Helper()
	ast.Inspect(basicSource(t), func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok || len(call.Args) < 2 {
			return true
		}
		fun, ok := call.Fun.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		str := func(e ast.Expr) string {
			lit, ok := e.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return ""
			}
			s, _ := strconv.Unquote(lit.Value)
			return s
		}
		switch {
		case fun.Sel.Name == "Set" && str(call.Args[0]) == "Retry-After":
			retryAfter = str(call.Args[1])
		case fun.Sel.Name == "Error" && len(call.Args) == 3:
			if code, ok := call.Args[2].(*ast.SelectorExpr); ok && code.Sel.Name == "StatusServiceUnavailable" {
				text = str(call.Args[1])
			}
		}
		return true
	})
	if retryAfter == "" || text == "" {
		t.Fatalf("examples/basic/main.go: no 503 with Retry-After found (Retry-After %q, text %q)", retryAfter, text)
	}
	return retryAfter, text
}

// TestUnknownKey: a cookie sealed by a key this Worker does not have yet
// (a key rollout reached the origin first) is left as it is. The page and
// a login answer 503 with Retry-After and examples/basic's "temporarily
// unavailable" page, with no login form that would invite the user to
// replace the session; a cart write answers 503 with Retry-After, as
// examples/basic does; none of them sets a cookie, and the origin still
// shows the login and the cart. A logout is honoured.
func TestUnknownKey(t *testing.T) {
	t0 := time.Date(2026, 11, 17, 9, 0, 0, 0, time.UTC)
	origin := newTestApp(t, testRing(t), t0) // a key the edge lacks
	edge := newTestApp(t, testRing(t), t0)
	jar := update(nil, origin.do("POST", "/login", url.Values{"username": {"alice"}}, nil))
	jar = update(jar, origin.do("POST", "/cart", url.Values{"item": {"apple"}}, jar))
	if len(jar) != 1 {
		t.Fatalf("origin cookies: %q", jar)
	}
	originIntact := func(after string) {
		t.Helper()
		if _, ok := origin.info(t, jar); !ok {
			t.Errorf("after the %s, the origin no longer reads the session", after)
		}
		if page := origin.do("GET", "/", nil, jar).Body.String(); !strings.Contains(page, "Logged in as alice") || !strings.Contains(page, ">apple</li>") || strings.Contains(page, "pear") || strings.Contains(page, "bob") {
			t.Errorf("origin page after the %s: %q", after, page)
		}
	}

	retryAfter, text := unknownKeyReply(t)
	var unavailable bytes.Buffer
	if err := basicPage(t).Execute(&unavailable, pageData{Unavailable: true}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(unavailable.String(), "temporarily unavailable") || strings.Contains(unavailable.String(), "<form") {
		t.Fatalf("examples/basic's unavailable page: %q", unavailable.String())
	}
	for _, req := range []struct {
		method, path string
		form         url.Values
	}{
		{"GET", "/", nil},
		{"POST", "/login", url.Values{"username": {"bob"}}},
	} {
		what := req.method + " " + req.path
		w := edge.do(req.method, req.path, req.form, jar)
		h := w.Result().Header
		if w.Code != http.StatusServiceUnavailable || h.Get("Retry-After") != retryAfter {
			t.Errorf("%s: %d, Retry-After %q; want 503, %q", what, w.Code, h.Get("Retry-After"), retryAfter)
		}
		if w.Body.String() != unavailable.String() {
			t.Errorf("%s: page differs from examples/basic's unavailable page\n got: %q\nwant: %q", what, w.Body.String(), unavailable.String())
		}
		if h.Get("Content-Type") != "text/html; charset=utf-8" || h.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: headers %q", what, h)
		}
		if got := h.Values("Set-Cookie"); len(got) != 0 {
			t.Errorf("%s: %d Set-Cookie lines; the cookie must be left alone", what, len(got))
		}
		jar = update(jar, w) // as a browser would
		originIntact(what)
	}

	w := edge.do("POST", "/cart", url.Values{"item": {"pear"}}, jar)
	if w.Code != http.StatusServiceUnavailable || w.Result().Header.Get("Retry-After") != retryAfter || w.Body.String() != text+"\n" {
		t.Errorf("cart write: %d, Retry-After %q, body %q; want 503, %q, %q", w.Code, w.Result().Header.Get("Retry-After"), w.Body.String(), retryAfter, text+"\n")
	}
	if got := w.Result().Header.Values("Set-Cookie"); len(got) != 0 {
		t.Errorf("cart write: %d Set-Cookie lines; the cookie must be left alone", len(got))
	}
	originIntact("cart write")

	// A logout is an explicit Destroy: it expires the cookie.
	w = edge.do("POST", "/logout", url.Values{}, jar)
	if w.Code != http.StatusSeeOther {
		t.Errorf("logout: %d, want 303", w.Code)
	}
	if jar = update(jar, w); len(jar) != 0 {
		t.Errorf("cookies after logout: %q", jar)
	}
}

// TestFullCart: an item that would take the cart past two cookies is
// refused with 409 and examples/basic's page (the cart as it was, and the
// "cart is full" note); the session keeps the cart it had.
func TestFullCart(t *testing.T) {
	e := newTestApp(t, testRing(t), time.Date(2026, 11, 17, 9, 0, 0, 0, time.UTC))
	jar := update(nil, e.do("POST", "/login", url.Values{"username": {"alice"}}, nil))
	item := strings.Repeat("pear ", 39) + "x" // 196 bytes
	var w *httptest.ResponseRecorder
	for n := 0; n < 100; n++ {
		if w = e.do("POST", "/cart", url.Values{"item": {item}}, jar); w.Code != http.StatusSeeOther {
			break
		}
		jar = update(jar, w)
	}
	if w.Code != http.StatusConflict {
		t.Fatalf("after 100 items: %d", w.Code)
	}
	if len(jar) != 2 {
		t.Errorf("a full cart in %d cookies, want 2: %q", len(jar), jar)
	}
	var cart []string
	for range strings.Count(e.do("GET", "/", nil, jar).Body.String(), "<li id=") {
		cart = append(cart, item)
	}
	if len(cart) < 20 {
		t.Errorf("a full cart of %d items", len(cart))
	}
	// The response may seal the cart it had again (the handler sets the
	// old value back), never the refused item.
	after := update(jar, w)
	if n := strings.Count(e.do("GET", "/", nil, after).Body.String(), "<li id="); n != len(cart) {
		t.Errorf("after the 409 the cart has %d items, before it %d", n, len(cart))
	}
	// The 409 page is examples/basic's page for the cart as it was.
	var want bytes.Buffer
	if err := basicPage(t).Execute(&want, pageData{User: "alice", Cart: cart, Full: true}); err != nil {
		t.Fatal(err)
	}
	if w.Body.String() != want.String() {
		t.Errorf("409 page differs from examples/basic's\n got: %q\nwant: %q", w.Body.String(), want.String())
	}
	h := w.Result().Header
	if h.Get("Content-Type") != "text/html; charset=utf-8" || h.Get("Cache-Control") != "no-store" {
		t.Errorf("409 headers: %q", h)
	}
}

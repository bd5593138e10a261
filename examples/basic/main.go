// Command basic is a small shop page whose login and shopping cart live
// entirely in a tokensession cookie: no database, no server-side store.
//
//	go run ./examples/basic
//
// Environment:
//
//	ADDR              listen address (default 127.0.0.1:8080)
//	SESSION_KEYS      k4.local keys separated by white space, the first one
//	                  seals
//	SESSION_KEYRING   inline keyring JSON if it starts with "{"; otherwise
//	                  the path of a keyring file, or of a directory holding
//	                  session-keyring or session-keys. A file is re-read on
//	                  SIGHUP and when it changes (checked every second)
//	CREDENTIALS_DIRECTORY  systemd's credentials, used when neither of the
//	                  above is set: session-keyring or session-keys in it
//
// Setting both SESSION_KEYS and SESSION_KEYRING, or either to an empty
// value, is an error. With no keys set at all it makes up a key, and every
// session is lost when it restarts.
//
// Logging in takes any user name: this example shows sessions, not
// authentication.
package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"html/template"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/tokensession/tokensession"
)

// Session is what the cookie carries.
type Session struct {
	User string   `json:"user"`
	Cart []string `json:"cart"`
}

const (
	maxUserLen   = 64
	maxItemLen   = 200
	maxFormBytes = 8 << 10
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.LookupEnv, log.Default()); err != nil {
		log.Fatal(err)
	}
}

// run serves until ctx is done.
func run(ctx context.Context, lookupEnv func(string) (string, bool), logger *log.Logger) error {
	keys, ring, err := loadKeys(lookupEnv, logger)
	if err != nil {
		return err
	}

	addr, _ := lookupEnv("ADDR")
	ln, err := net.Listen("tcp", cmp.Or(addr, "127.0.0.1:8080"))
	if err != nil {
		return err
	}
	defer ln.Close()

	// Plain http carries the cookie in clear, which is acceptable only
	// between a browser and a server on the same machine. Behind TLS (a
	// reverse proxy terminating https, or ListenAndServeTLS), leave
	// UnsafeAllowHTTP false: the cookie is then named __Host-session and
	// carries Secure, so the browser never sends it over http, and no
	// subdomain can set or overwrite it. CrossOriginProtection needs no
	// change, as long as the proxy passes the Host header through.
	opts := options{insecure: isLoopback(ln.Addr()), madeUpKey: keys == (tokensession.KeySource{})}
	if testHooks != nil {
		if err := testHooks(lookupEnv, &opts); err != nil {
			return err
		}
	}
	if !opts.insecure {
		logger.Print("cookies are Secure (__Host-session): serve this behind https")
	}

	a, err := newApp(ring, opts, logger)
	if err != nil {
		return err
	}
	if keys != (tokensession.KeySource{}) {
		// Keep the keys current: reload on SIGHUP, and when the file
		// changes. A reload that fails keeps the keys in use.
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		defer signal.Stop(hup)
		w := &tokensession.KeyringWatcher{
			Source: keys,
			Target: a.sessions,
			Reload: hup,
			Logger: slog.New(slog.NewTextHandler(logger.Writer(), nil)),
		}
		ctx, cancel := context.WithCancel(ctx)
		watching := make(chan struct{})
		go func() { defer close(watching); w.Run(ctx) }()
		defer func() { cancel(); <-watching }()
	}

	srv := &http.Server{
		Handler:           a.routes(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          logger,
	}
	logger.Printf("listening on http://%s/", ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shutdown)
}

// loadKeys reads the keys the environment names. With none named it makes
// up a key, and returns the zero KeySource.
func loadKeys(lookupEnv func(string) (string, bool), logger *log.Logger) (tokensession.KeySource, *tokensession.Keyring, error) {
	keys, err := tokensession.EnvKeySource(lookupEnv)
	if errors.Is(err, tokensession.ErrNoKeySource) {
		logger.Printf("WARNING: %v: using a random key, so sessions will not survive a restart", err)
		ring, err := tokensession.NewKeyring(tokensession.KeyringEntry{Key: tokensession.GenerateKey()})
		return tokensession.KeySource{}, ring, err
	}
	if err != nil {
		return keys, nil, err
	}
	ring, err := keys.Load()
	if err != nil {
		return keys, nil, err
	}
	logger.Printf("keys from %v: %v", keys, ring)
	return keys, ring, nil
}

func isLoopback(addr net.Addr) bool {
	tcp, ok := addr.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}

// options are what differs between a deployment and a test.
type options struct {
	insecure bool             // plain-http cookies: on a loopback address
	leeway   time.Duration    // Config.Leeway; 0: the default
	now      func() time.Time // Config.Now; nil: time.Now
	// madeUpKey: the key was made up at start, so no instance will ever
	// read a cookie sealed before it.
	madeUpKey bool
}

// testHooks, when set, adjusts the options from the environment. Only
// test builds set it (testhooks.go, -tags testhooks).
var testHooks func(lookupEnv func(string) (string, bool), o *options) error

type app struct {
	sessions  *tokensession.Manager[Session]
	logger    *log.Logger
	madeUpKey bool
}

func newApp(ring *tokensession.Keyring, opts options, logger *log.Logger) (*app, error) {
	a := &app{logger: logger, madeUpKey: opts.madeUpKey}
	var err error
	a.sessions, err = tokensession.New(tokensession.Config[Session]{
		Keyring:         ring,
		UnsafeAllowHTTP: opts.insecure, // cookie "session", no Secure: see run
		// A full cart spans two cookies of at most 3584 bytes: a Cookie
		// header of about 7.2 KB, under the 8 KB that clients and proxies
		// accept (curl, nginx and Apache stop near 8190 bytes), with room
		// for the site's other cookies. A client that drops a cookie
		// beyond that budget would lose the whole session; a cart that
		// does not fit is refused instead (see addToCart).
		MaxChunks:     2,
		MaxCookieSize: 3584,
		Leeway:        opts.leeway,
		Now:           opts.now,
		// The library's errors name the cause, never a token, a key or the
		// session's contents, so they are safe to log.
		ErrorHandler: func(r *http.Request, err error) {
			logger.Printf("session: %s %s: %v", r.Method, r.URL.Path, err)
		},
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// routes returns the whole application. CrossOriginProtection refuses
// cross-site POSTs (403), so another site cannot log a visitor in or out or
// fill their cart; the SameSite=Lax cookie alone would not stop a
// cross-site login, which needs no cookie. The session middleware is
// outermost, and opens the cookie only for the handlers that use it.
func (a *app) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", a.home)
	mux.HandleFunc("POST /login", a.login)
	mux.HandleFunc("POST /cart", a.addToCart)
	mux.HandleFunc("POST /logout", a.logout)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok"))
	})
	return a.sessions.Handler(http.NewCrossOriginProtection().Handler(securityHeaders(mux)))
}

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}

var page = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tokensession shop</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 48rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.4; color: #222; }
form { margin: .6rem 0; }
input { padding: .3rem; width: 26rem; max-width: 65%; }
button { padding: .3rem .8rem; }
.note { background: #fff3cd; border: 1px solid #e0c36c; padding: .5rem .8rem; border-radius: 4px; }
#cart li { overflow-wrap: anywhere; margin: .15rem 0; }
#count { color: #666; }
</style>
</head>
<body>
<h1>tokensession shop</h1>
{{if .Unavailable}}
<p id="unavailable" class="note">Your session is temporarily unavailable; try again in a few seconds.</p>
<p><a id="retry" href="/">Try again</a></p>
{{else}}{{if .User}}
<p id="whoami">Logged in as {{.User}}</p>
<form method="post" action="/logout"><button id="logout" type="submit">Log out</button></form>
{{else}}
<p id="anonymous">You are not logged in</p>
<form method="post" action="/login">
<label for="username">User name</label>
<input id="username" name="username" required maxlength="64" autocomplete="username">
<button id="login" type="submit">Log in</button>
</form>
{{end}}
<h2>Cart</h2>
{{if .Full}}<p id="full" class="note">Your cart is full: that item was not added, and everything else is still here.</p>{{end}}
{{with .Cart}}<ol id="cart">
{{range $i, $item := .}}<li id="item-{{$i}}">{{$item}}</li>
{{end}}</ol>{{else}}<p id="empty">Your cart is empty.</p>{{end}}
<p id="count">{{len .Cart}} item(s)</p>
<form method="post" action="/cart">
<label for="item">Item</label>
<input id="item" name="item" required maxlength="200">
<button id="add" type="submit">Add to cart</button>
</form>
{{end}}</body>
</html>
`))

type pageData struct {
	User string
	Cart []string
	Full bool
	// Unavailable: the page says only that the session cannot be read
	// here for now (see unavailable), with no form.
	Unavailable bool
}

func (a *app) home(w http.ResponseWriter, r *http.Request) {
	if a.unavailable(w, r) {
		return
	}
	s, _ := a.sessions.FromContext(r.Context()).Get()
	a.render(w, http.StatusOK, pageData{User: s.User, Cart: s.Cart})
}

// unavailable answers 503 with Retry-After and a page without forms when
// the request's cookie was sealed by a key this instance does not have
// yet, and reports whether it did. During a key rollout another instance
// may hold that key, and the cookie is the user's login and cart there.
// Shown the anonymous page, the user would log in again, and the login
// (Renew) would replace that cookie with an empty session. The next
// request, most likely on another instance or on this one with the new
// keys, shows the session as it was.
func (a *app) unavailable(w http.ResponseWriter, r *http.Request) bool {
	if !a.unreadable(a.sessions.FromContext(r.Context())) {
		return false
	}
	w.Header().Set("Retry-After", "5")
	a.render(w, http.StatusServiceUnavailable, pageData{Unavailable: true})
	return true
}

// unreadable reports whether s came in a cookie sealed by a key this
// instance does not have. With a key made up at start no instance ever
// will: the cookie is dropped instead, and s is no session.
func (a *app) unreadable(s *tokensession.Session[Session]) bool {
	if !errors.Is(s.Err(), tokensession.ErrUnknownKey) {
		return false
	}
	if a.madeUpKey {
		s.Destroy()
		return false
	}
	return true
}

func (a *app) render(w http.ResponseWriter, code int, data pageData) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	// The page shows the session's contents: keep it out of every cache,
	// and out of the back button after logout.
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	if err := page.Execute(w, data); err != nil {
		a.logger.Printf("render: %v", err)
	}
}

func (a *app) login(w http.ResponseWriter, r *http.Request) {
	// The login would replace (Renew) a session this instance cannot
	// read but others can, and its cart with it: answer as home does.
	if a.unavailable(w, r) {
		return
	}
	name, ok := formField(w, r, "username", "user name", maxUserLen)
	if !ok {
		return
	}
	s := a.sessions.FromContext(r.Context())
	s.Renew() // a new session ID at every login, against session fixation
	s.Update(func(v *Session) { v.User = name })
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (a *app) addToCart(w http.ResponseWriter, r *http.Request) {
	item, ok := formField(w, r, "item", "item", maxItemLen)
	if !ok {
		return
	}
	s := a.sessions.FromContext(r.Context())
	a.unreadable(s) // drops a cookie no instance will read; Save refuses others
	old, _ := s.Get()
	next := old
	next.Cart = slices.Concat(old.Cart, []string{item}) // a copy: old stays intact
	s.Set(next)
	// Save seals now, so that a cart too large for MaxChunks cookies is an
	// error here instead of a cookie that silently fails to be written.
	switch err := s.Save(); {
	case errors.Is(err, tokensession.ErrTooLarge):
		s.Set(old) // the browser keeps the cart it had
		a.render(w, http.StatusConflict, pageData{User: old.User, Cart: old.Cart, Full: true})
		return
	case errors.Is(err, tokensession.ErrUnknownKey):
		// The cookie was sealed by a key this instance does not have yet
		// (a key rollout in progress): leave it for an instance that can
		// read it, and ask the client to try again shortly.
		w.Header().Set("Retry-After", "5")
		http.Error(w, "Please try again in a few seconds.", http.StatusServiceUnavailable)
		return
	case err != nil:
		a.logger.Printf("cart: %v", err)
		http.Error(w, "could not save the cart", http.StatusInternalServerError)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// logout ends the session, even one sealed by a key this instance does
// not have yet: unlike a login, a logout loses nothing the user means to
// keep (the cart goes with it on every instance), and a user who leaves a
// shared computer after a refused logout would leave the session behind.
func (a *app) logout(w http.ResponseWriter, r *http.Request) {
	a.sessions.FromContext(r.Context()).Destroy() // expires every session cookie
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// formField returns the named field of a POSTed form, trimmed and checked:
// not empty, at most max bytes of valid UTF-8 without control characters.
// Otherwise it answers 400 (413 for an oversized body) and returns false.
func formField(w http.ResponseWriter, r *http.Request, field, what string, max int) (string, bool) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "form too large", http.StatusRequestEntityTooLarge)
		} else {
			http.Error(w, "bad form", http.StatusBadRequest)
		}
		return "", false
	}
	v := strings.TrimSpace(r.PostForm.Get(field))
	var problem string
	switch {
	case v == "":
		problem = "is empty"
	case len(v) > max:
		problem = fmt.Sprintf("is longer than %d bytes", max)
	case !utf8.ValidString(v):
		problem = "is not valid UTF-8"
	case strings.ContainsFunc(v, unicode.IsControl):
		problem = "contains control characters"
	default:
		return v, true
	}
	http.Error(w, "The "+what+" "+problem+".", http.StatusBadRequest)
	return "", false
}

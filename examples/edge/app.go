package main

// This file is the shop itself, the same as examples/basic's: the session
// type, the cookie and the page (page.go) match, so that a user moves
// between the origin and the edge with one login and one cart. It builds
// on every platform, so that its tests run with the repository's
// go test ./...; worker.go and bridge.go connect it to a Worker.

import (
	"errors"
	"fmt"
	"log"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/tokensession/tokensession"
)

// Session is what the cookie carries: examples/basic's type, field for
// field, so both sides read each other's sessions.
type Session struct {
	User string   `json:"user"`
	Cart []string `json:"cart"`
}

const (
	maxUserLen   = 64
	maxItemLen   = 200
	maxFormBytes = 8 << 10
)

type options struct {
	// insecure drops Secure and names the cookie "session", for plain
	// http on a developer's machine, as examples/basic does on loopback.
	insecure bool
	now      func() time.Time // nil: time.Now
}

type app struct {
	sessions *tokensession.Manager[Session]
	logger   *log.Logger
}

// newApp configures the manager exactly as examples/basic does: the cookie
// name (and so the purpose, which defaults to it), the chunk count and
// size and the timeouts must agree for the two to share sessions (a test
// compares the two Config literals).
func newApp(ring *tokensession.Keyring, opts options, logger *log.Logger) (*app, error) {
	a := &app{logger: logger}
	var err error
	a.sessions, err = tokensession.New(tokensession.Config[Session]{
		Keyring:         ring,
		UnsafeAllowHTTP: opts.insecure,
		// A full cart spans two cookies of at most 3584 bytes, as at the
		// origin: a Cookie header of about 7.2 KB, under the 8 KB that
		// clients and proxies accept. A cart that does not fit is refused
		// (see addToCart).
		MaxChunks:     2,
		MaxCookieSize: 3584,
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

// routes returns the whole application: a plain ServeMux, the session
// middleware outermost, CrossOriginProtection refusing cross-site POSTs.
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
// the request's cookie was sealed by a key this Worker does not have yet,
// and reports whether it did, as examples/basic does. During a key
// rollout the origin may hold that key, and the cookie is the user's
// login and cart there. Shown the anonymous page, the user would log in
// again, and the login (Renew) would replace that cookie with an empty
// session. Once the Worker has the key, the session is there as it was.
func (a *app) unavailable(w http.ResponseWriter, r *http.Request) bool {
	if !errors.Is(a.sessions.FromContext(r.Context()).Err(), tokensession.ErrUnknownKey) {
		return false
	}
	w.Header().Set("Retry-After", "5")
	a.render(w, http.StatusServiceUnavailable, pageData{Unavailable: true})
	return true
}

func (a *app) render(w http.ResponseWriter, code int, data pageData) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	// The page shows the session's contents: keep it out of every cache,
	// and out of the back button after logout.
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	if err := renderPage(w, data); err != nil {
		a.logger.Printf("render: %v", err)
	}
}

func (a *app) login(w http.ResponseWriter, r *http.Request) {
	// The login would replace (Renew) a session this Worker cannot read
	// but the origin can, and its cart with it: answer as home does.
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
		// The cookie was sealed by a key this Worker does not have yet (a
		// key rollout in progress): leave it for an instance that can read
		// it, and ask the client to try again shortly.
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

// logout ends the session, even one sealed by a key this Worker does not
// have yet, as examples/basic does: unlike a login, a logout loses nothing
// the user means to keep (the cart goes with it everywhere), and a user
// who leaves a shared computer after a refused logout would leave the
// session behind.
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

// measureRoutes is set only in the measurement build (baseline.go).
var measureRoutes func(a *app, shop http.Handler) http.Handler

// newHandler builds the shop from the bindings; lookup reads one as
// os.LookupEnv reads a variable. A bad configuration answers every request
// with 500 and logs why: the message names the binding and the problem,
// never key material.
func newHandler(lookup func(string) (string, bool), logger *log.Logger) http.Handler {
	ring, err := loadKeys(lookup)
	var a *app
	if err == nil {
		insecure, _ := lookup("INSECURE_COOKIES")
		a, err = newApp(ring, options{insecure: insecure == "1"}, logger)
	}
	if err != nil {
		logger.Printf("edge: not configured: %v", err)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "server not configured", http.StatusInternalServerError)
		})
	}
	h := a.routes()
	if measureRoutes != nil { // -tags edgebench only: baseline.go
		h = measureRoutes(a, h)
	}
	return h
}

// loadKeys reads the keyring from the bindings by the library's rule
// (tokensession.EnvKeySource), as examples/basic reads its environment:
// SESSION_KEYS holds keys separated by white space, SESSION_KEYRING a
// keyring's JSON, and setting both is an error. A Worker has no files, so
// SESSION_KEYRING must hold the JSON itself, not a path, and no
// credentials directory is consulted. Unlike examples/basic it never
// makes up a key: each isolate would have its own, and no session would
// survive from one request to the next.
func loadKeys(lookup func(string) (string, bool)) (*tokensession.Keyring, error) {
	src, err := tokensession.EnvKeySource(func(name string) (string, bool) {
		if name != "SESSION_KEYS" && name != "SESSION_KEYRING" {
			return "", false // CREDENTIALS_DIRECTORY: a Worker has no files
		}
		return lookup(name)
	})
	if err != nil {
		return nil, err
	}
	if src.String() == "SESSION_KEYRING" {
		if v, _ := lookup("SESSION_KEYRING"); !strings.HasPrefix(strings.TrimSpace(v), "{") {
			return nil, errors.New("SESSION_KEYRING: a Worker reads no files: set it to the keyring JSON itself, not a path")
		}
	}
	return src.Load()
}

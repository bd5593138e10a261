// Command api issues and checks bearer tokens with tokensession, for
// clients that send an Authorization header instead of a cookie.
//
//	go run ./examples/api
//	curl -d username=alice http://127.0.0.1:8081/token
//	curl -H "Authorization: Bearer v4.local.…" http://127.0.0.1:8081/me
//
// Environment: ADDR (default 127.0.0.1:8081), and the keys as for
// examples/basic: SESSION_KEYS (k4.local keys separated by white space, the
// first one seals); or SESSION_KEYRING (inline keyring JSON if it starts
// with "{", otherwise the path of a keyring file or of a directory holding
// session-keyring or session-keys); or, with neither, systemd's
// CREDENTIALS_DIRECTORY. The keys are read at start (see examples/basic for
// reloading them while serving). A variable set but empty is an error. With
// no keys set it makes up a key, and every token is void when it restarts.
//
// The tokens use the purpose "api-bearer", so a token issued here does not
// open as a cookie session even under the same keys, and a cookie does not
// pass as a bearer token.
//
// POST /token takes any user name: this example shows tokens, not
// authentication.
package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"mime"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/tokensession/tokensession"
)

// Session is what a token carries.
type Session struct {
	User string `json:"user"`
}

const (
	maxUserLen   = 64
	maxBodyBytes = 8 << 10
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.LookupEnv, log.Default()); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, lookupEnv func(string) (string, bool), logger *log.Logger) error {
	ring, err := loadKeys(lookupEnv, logger)
	if err != nil {
		return err
	}
	a, err := newApp(ring, time.Now, logger)
	if err != nil {
		return err
	}
	addr, _ := lookupEnv("ADDR")
	ln, err := net.Listen("tcp", cmp.Or(addr, "127.0.0.1:8081"))
	if err != nil {
		return err
	}
	defer ln.Close()
	srv := &http.Server{
		Handler:           a.routes(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
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

// loadKeys reads the keys the environment names, once; examples/basic also
// reloads a file.
func loadKeys(lookupEnv func(string) (string, bool), logger *log.Logger) (*tokensession.Keyring, error) {
	keys, err := tokensession.EnvKeySource(lookupEnv)
	if errors.Is(err, tokensession.ErrNoKeySource) {
		logger.Printf("WARNING: %v: using a random key, so tokens will not survive a restart", err)
		return tokensession.NewKeyring(tokensession.KeyringEntry{Key: tokensession.GenerateKey()})
	}
	if err != nil {
		return nil, err
	}
	return keys.Load()
}

type app struct {
	tokens *tokensession.Manager[Session]
	logger *log.Logger
}

func newApp(ring *tokensession.Keyring, now func() time.Time, logger *log.Logger) (*app, error) {
	m, err := tokensession.New(tokensession.Config[Session]{
		Keyring: ring,
		Purpose: "api-bearer",
		Now:     now,
		// IdleTimeout (30 minutes) is each token's lifetime; POST /refresh
		// extends it up to AbsoluteTimeout (24 hours) after POST /token.
	})
	if err != nil {
		return nil, err
	}
	return &app{tokens: m, logger: logger}, nil
}

// routes needs no CrossOriginProtection: browsers never attach an
// Authorization header on their own, so another site cannot borrow a
// token, and it cannot read a token this API hands out (no CORS).
func (a *app) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", a.issue)
	mux.HandleFunc("POST /refresh", a.refresh)
	mux.HandleFunc("GET /me", a.me)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok"))
	})
	return mux
}

type tokenResponse struct {
	Token   string    `json:"token"`
	Expires time.Time `json:"expires"`
}

// issue answers POST /token with a new token for the username in the form
// or JSON body.
func (a *app) issue(w http.ResponseWriter, r *http.Request) {
	name, err := readUsername(w, r)
	if err != nil {
		var tooBig *http.MaxBytesError
		code := http.StatusBadRequest
		if errors.As(err, &tooBig) {
			code = http.StatusRequestEntityTooLarge
		}
		writeJSON(w, code, map[string]string{"error": err.Error()})
		return
	}
	tok, info, err := a.tokens.Seal(Session{User: name})
	if err != nil {
		a.serverError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, tokenResponse{tok, info.Expires})
}

// refresh answers POST /refresh with a new token of the same session: same
// ID and creation time, a fresh idle expiry, until the absolute lifetime.
func (a *app) refresh(w http.ResponseWriter, r *http.Request) {
	v, info, ok := a.authenticate(w, r)
	if !ok {
		return
	}
	tok, info, err := a.tokens.Reseal(v, info)
	if errors.Is(err, tokensession.ErrExpired) {
		// Within the leeway past the absolute lifetime: it opened, but
		// cannot be extended.
		a.logger.Printf("refresh refused: %v", err)
		unauthorized(w, true)
		return
	}
	if err != nil {
		a.serverError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, tokenResponse{tok, info.Expires})
}

// me answers GET /me with the token's session value.
func (a *app) me(w http.ResponseWriter, r *http.Request) {
	v, _, ok := a.authenticate(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// authenticate opens the request's bearer token, or answers 401. The client
// learns only that its token is missing or invalid; the reason (malformed,
// forged, expired, …) goes to the log. A token sealed by a key this
// instance does not know is answered 503 with Retry-After instead.
func (a *app) authenticate(w http.ResponseWriter, r *http.Request) (Session, tokensession.Info, bool) {
	tainted, present := bearerToken(r)
	if tainted != "" {
		v, info, err := a.tokens.Open(tainted)
		if err == nil {
			return v, info, true
		}
		if errors.Is(err, tokensession.ErrUnknownKey) {
			// Sealed by a key this instance does not have yet (a key
			// rollout in progress): the token may well be valid, so the
			// client should retry rather than drop it.
			a.logger.Printf("bearer token deferred: %s %s: %v", r.Method, r.URL.Path, err)
			w.Header().Set("Retry-After", "5")
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "try again shortly"})
			return Session{}, tokensession.Info{}, false
		}
		a.logger.Printf("bearer token rejected: %s %s: %v", r.Method, r.URL.Path, err)
	}
	unauthorized(w, present)
	return Session{}, tokensession.Info{}, false
}

// unauthorized answers 401 with the same generic body whatever the reason.
func unauthorized(w http.ResponseWriter, hadToken bool) {
	// RFC 6750, section 3: no error code when the request had no token.
	challenge := `Bearer realm="api"`
	if hadToken {
		challenge += `, error="invalid_token"`
	}
	w.Header().Set("WWW-Authenticate", challenge)
	writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "missing or invalid bearer token"})
}

// bearerToken returns the token of an "Authorization: Bearer" header, and
// whether the request had an Authorization header at all.
func bearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, tok, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", h != ""
	}
	return strings.TrimSpace(tok), true
}

// readUsername reads "username" from a JSON body ({"username": …}) or a
// form, and checks it: not empty, at most maxUserLen bytes of valid UTF-8
// without control characters.
func readUsername(w http.ResponseWriter, r *http.Request) (string, error) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
	var name string
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/json" {
		var body struct {
			Username string `json:"username"`
		}
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&body); err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				return "", err
			}
			return "", errors.New(`body must be {"username": "…"}`)
		}
		name = body.Username
	} else {
		if err := r.ParseForm(); err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				return "", err
			}
			return "", errors.New("bad form")
		}
		name = r.PostForm.Get("username")
	}
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return "", errors.New("username is empty")
	case len(name) > maxUserLen:
		return "", fmt.Errorf("username is longer than %d bytes", maxUserLen)
	case !utf8.ValidString(name):
		return "", errors.New("username is not valid UTF-8")
	case strings.ContainsFunc(name, unicode.IsControl):
		return "", errors.New("username contains control characters")
	}
	return name, nil
}

func (a *app) serverError(w http.ResponseWriter, err error) {
	a.logger.Printf("token: %v", err)
	writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "internal error"})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store") // tokens and session data: never cache
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

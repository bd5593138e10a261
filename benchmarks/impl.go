// Package benchmarks compares tokensession with gorilla/sessions and with
// hand-rolled go-paseto on the same in-process net/http request: cookie in,
// read (or modify) the session, Set-Cookie out.
//
// It is a nested module so that the peer libraries never become
// requirements of tokensession itself. Run ./compare.sh for the
// benchstat comparison and `go run ./load` for the loopback load test.
package benchmarks

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/gob"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"aidanwoods.dev/go-paseto"
	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
	"github.com/tokensession/tokensession"
)

// Value is the session value every implementation stores: who the user
// is, a CSRF token, a few preferences, and for the bigger sizes a cart. It
// is the same shape as the root package's benchmark value.
type Value struct {
	UserID int64    `json:"uid"`
	Email  string   `json:"email"`
	Roles  []string `json:"roles"`
	CSRF   string   `json:"csrf"`
	Prefs  Prefs    `json:"prefs"`
	Cart   []Item   `json:"cart,omitempty"`
}

// Prefs are a few user preferences.
type Prefs struct {
	Theme    string `json:"theme"`
	Lang     string `json:"lang"`
	TZ       string `json:"tz"`
	PageSize int    `json:"page_size"`
}

// Item is one line of a shopping cart.
type Item struct {
	SKU   string `json:"sku"`
	Name  string `json:"name"`
	Qty   int    `json:"qty"`
	Cents int64  `json:"cents"`
}

func init() {
	// gorilla/sessions gob-encodes session.Values, a map of interfaces.
	gob.Register(Value{})
}

// Sizes are the target JSON sizes of the session value.
var Sizes = []struct {
	Name string
	Size int
}{
	{"200B", 200},
	{"1KiB", 1024},
	{"3KiB", 3 * 1024},
}

// MakeValue returns a session value whose JSON encoding is within 5% of
// size bytes, and that length.
func MakeValue(size int) (Value, int, error) {
	v := Value{
		UserID: 90210417,
		Email:  "ada.lovelace@example.org",
		Roles:  []string{"user", "editor"},
		CSRF:   "o8Kx3vQ1tZpR7mWc2yLhN5fJ0aUeGdBs9iTkXqV4w6M",
		Prefs:  Prefs{Theme: "dark", Lang: "en-GB", TZ: "Europe/London", PageSize: 50},
	}
	n := jsonLen(v)
	for i := 1; n < size-40; i++ {
		v.Cart = append(v.Cart, Item{
			SKU:   fmt.Sprintf("SKU-%06d", 100000+i*7919%900000),
			Name:  fmt.Sprintf("Catalogue item %d, blue, size M", i),
			Qty:   1 + i%3,
			Cents: int64(499 + i*250),
		})
		n = jsonLen(v)
	}
	if d := n - size; d*20 > size || -d*20 > size {
		return Value{}, 0, fmt.Errorf("MakeValue(%d): JSON is %d bytes, not within 5%%", size, n)
	}
	return v, n, nil
}

func jsonLen(v Value) int {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return len(b)
}

// An Impl is one session implementation as net/http handlers.
type Impl struct {
	Name string
	// Read serves a request that reads the session and writes its theme.
	Read http.Handler
	// Modify serves a request that changes one field and saves.
	Modify http.Handler
	// Login returns the Cookie header a browser would send after v was
	// saved.
	Login func(v Value) (string, error)
	// Unseen means every measured request must bring a cookie the
	// implementation has never seen, each from its own Login: Login mints
	// it on another manager with the same keys, so that the cache of
	// opened tokens misses on every request.
	Unseen bool
	// CacheBytes is the bound of the implementation's cache of opened
	// tokens, or 0 if it has none. The benchmark fills the cache before
	// measuring an Unseen implementation, so that it runs with a full
	// cache, as a busy instance does.
	CacheBytes int
}

// cacheBytes is the bound the cached cases set explicitly: the package's
// default at the time of writing, so that these cases keep measuring a
// cache of this size whatever the default becomes.
const cacheBytes = 4 << 20

// extraImpls are implementations that exist only in some builds (see
// impl_jsonv2.go); Impls appends them.
var extraImpls []func() (Impl, error)

// Impls returns the implementations, gorilla first and the hand-rolled
// go-paseto floor second: compare.sh takes ratios against both.
//
//   - gorilla: gorilla/sessions' CookieStore.
//   - paseto: go-paseto used by hand with tokensession's claims, footer and
//     implicit assertion, and nothing else: the floor of the engine.
//   - tokensession: the middleware with its cache of opened tokens on,
//     every request bringing a cookie the cache already holds (opened
//     twice before): a cache hit.
//   - tokensession-miss: the same cache, full, every request bringing a
//     cookie it has never seen: a cache miss.
//   - tokensession-nocache: the cache off.
//   - tokensession-nocache-unseen: the cache off, every request bringing a
//     cookie it has never seen, as for tokensession-miss: the control that
//     shows what preparing those cookies costs the measurement (nothing,
//     if it matches tokensession-nocache).
//
// Builds with GOEXPERIMENT=jsonv2 add tokensession-jsonv2: the cache hit
// with [tokensession.JSONv2Codec] for the value.
func Impls() ([]Impl, error) {
	ctors := []func() (Impl, error){
		Gorilla,
		Paseto,
		func() (Impl, error) { return Tokensession("tokensession", cacheHit, nil) },
		func() (Impl, error) { return Tokensession("tokensession-miss", cacheMiss, nil) },
		func() (Impl, error) { return Tokensession("tokensession-nocache", cacheOff, nil) },
		func() (Impl, error) { return Tokensession("tokensession-nocache-unseen", cacheOffUnseen, nil) },
	}
	var impls []Impl
	for _, f := range append(ctors, extraImpls...) {
		im, err := f()
		if err != nil {
			return nil, err
		}
		impls = append(impls, im)
	}
	return impls, nil
}

const cookieName = "session"

var errNoSession = errors.New("benchmarks: no session")

func writeRead(w http.ResponseWriter, v Value) { io.WriteString(w, v.Prefs.Theme) }

func writeOK(w http.ResponseWriter) { io.WriteString(w, "ok") }

// Gorilla is gorilla/sessions' CookieStore with its defaults: a 64-byte
// HMAC-SHA256 hash key, a 32-byte AES-256 block key, gob encoding, 30-day
// MaxAge. Only its 4096-byte MaxLength is raised, so that the 3 KiB value
// fits (in a cookie browsers would drop).
func Gorilla() (Impl, error) {
	store := sessions.NewCookieStore(securecookie.GenerateRandomKey(64), securecookie.GenerateRandomKey(32))
	for _, c := range store.Codecs {
		c.(*securecookie.SecureCookie).MaxLength(64 << 10)
	}
	get := func(r *http.Request) (*sessions.Session, Value, error) {
		s, err := store.Get(r, cookieName)
		if err != nil {
			return nil, Value{}, err
		}
		v, ok := s.Values["data"].(Value)
		if !ok {
			return nil, Value{}, errNoSession
		}
		return s, v, nil
	}
	im := Impl{Name: "gorilla"}
	im.Read = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, v, err := get(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		writeRead(w, v)
	})
	im.Modify = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, v, err := get(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		v.Prefs.PageSize++
		s.Values["data"] = v
		if err := s.Save(r, w); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		writeOK(w)
	})
	im.Login = func(v Value) (string, error) {
		return login(func(w http.ResponseWriter, r *http.Request) error {
			s, _ := store.Get(r, cookieName)
			s.Values["data"] = v
			return s.Save(r, w)
		})
	}
	return im, nil
}

// Paseto is go-paseto used by hand, as an application would without
// tokensession, carrying the same token: claims "data", "exp", "iat",
// "created" and "sid", the footer {"kid":"k4.lid.…"}, the implicit
// assertion "tokensession/v1:__Host-session", a 30-minute idle expiry and
// 24-hour lifetime checked on every read, and the same cookie name and
// attributes. It does only what that needs, through go-paseto's public API:
// one key, no footer lookup, no chunking (its 3 KiB cookie is over the
// browsers' 4096-byte limit), no cache. It is the floor of the engine.
func Paseto() (Impl, error) {
	const (
		name     = "__Host-session"
		idle     = 30 * time.Minute
		lifetime = 24 * time.Hour
	)
	implicit := []byte("tokensession/v1:" + name)
	key := paseto.NewV4SymmetricKey()
	footer := []byte(`{"kid":"` + tokensession.GenerateKey().ID() + `"}`)
	parser := paseto.NewParserWithoutExpiryCheck()
	type claims struct {
		sid          string
		created, exp time.Time
	}
	get := func(r *http.Request) (Value, claims, error) {
		var c claims
		ck, err := r.Cookie(name)
		if err != nil {
			return Value{}, c, err
		}
		t, err := parser.ParseV4Local(key, ck.Value, implicit)
		if err != nil {
			return Value{}, c, err
		}
		if c.exp, err = t.GetTime("exp"); err != nil {
			return Value{}, c, err
		}
		if _, err = t.GetTime("iat"); err != nil {
			return Value{}, c, err
		}
		if c.created, err = t.GetTime("created"); err != nil {
			return Value{}, c, err
		}
		if c.sid, err = t.GetString("sid"); err != nil {
			return Value{}, c, err
		}
		now := time.Now()
		if !now.Before(c.exp) || !now.Before(c.created.Add(lifetime)) {
			return Value{}, c, errNoSession
		}
		var v Value
		if err := t.Get("data", &v); err != nil {
			return Value{}, c, err
		}
		return v, c, nil
	}
	save := func(w http.ResponseWriter, v Value, c claims) error {
		now := time.Now().UTC().Truncate(time.Second)
		exp := now.Add(idle)
		if end := c.created.Add(lifetime); end.Before(exp) {
			exp = end
		}
		t := paseto.NewToken()
		if err := t.Set("data", v); err != nil {
			return err
		}
		// To the nanosecond, as tokensession writes it.
		t.SetString("created", c.created.Format(time.RFC3339Nano))
		t.SetTime("exp", exp)
		t.SetTime("iat", now)
		t.SetString("sid", c.sid)
		t.SetFooter(footer)
		http.SetCookie(w, &http.Cookie{
			Name:     name,
			Value:    t.V4Encrypt(key, implicit),
			Path:     "/",
			MaxAge:   int(exp.Sub(now) / time.Second),
			Secure:   true,
			HttpOnly: true,
			SameSite: http.SameSiteLaxMode,
		})
		return nil
	}
	im := Impl{Name: "paseto"}
	im.Read = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, _, err := get(r)
		if err != nil {
			http.Error(w, "no session", http.StatusUnauthorized)
			return
		}
		writeRead(w, v)
	})
	im.Modify = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, c, err := get(r)
		if err != nil {
			http.Error(w, "no session", http.StatusUnauthorized)
			return
		}
		v.Prefs.PageSize++
		if err := save(w, v, c); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		writeOK(w)
	})
	im.Login = func(v Value) (string, error) {
		sid := make([]byte, 16)
		rand.Read(sid)
		c := claims{
			sid:     base64.RawURLEncoding.EncodeToString(sid),
			created: time.Now().UTC(),
		}
		return login(func(w http.ResponseWriter, r *http.Request) error { return save(w, v, c) })
	}
	return im, nil
}

type cacheMode int

const (
	cacheOff       cacheMode = iota
	cacheHit                 // the cache on, cookies it already holds
	cacheMiss                // the cache on, a cookie never seen on every request
	cacheOffUnseen           // the cache off, a cookie never seen on every request
)

// Tokensession is tokensession's middleware with its defaults (the
// __Host-session cookie, 30-minute idle timeout, real clock) except
// MaxChunks 4, which lets the 3 KiB value span two cookies, the cache of
// opened tokens, which is set to 4 MiB or turned off, and codec, if not
// nil.
func Tokensession(name string, mode cacheMode, codec tokensession.Codec) (Impl, error) {
	ring, err := tokensession.NewKeyring(tokensession.KeyringEntry{Key: tokensession.GenerateKey()})
	if err != nil {
		return Impl{}, err
	}
	cfg := tokensession.Config[Value]{Keyring: ring, MaxChunks: 4, Codec: codec}
	im := Impl{Name: name}
	if mode == cacheOff || mode == cacheOffUnseen {
		cfg.OpenCacheBytes = -1
	} else {
		cfg.OpenCacheBytes = cacheBytes
		im.CacheBytes = cacheBytes
	}
	m, err := tokensession.New(cfg)
	if err != nil {
		return Impl{}, err
	}
	im.Read = m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, ok := m.FromContext(r.Context()).Get()
		if !ok {
			http.Error(w, "no session", http.StatusUnauthorized)
			return
		}
		writeRead(w, v)
	}))
	im.Modify = m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := m.FromContext(r.Context())
		if _, ok := s.Get(); !ok {
			http.Error(w, "no session", http.StatusUnauthorized)
			return
		}
		s.Update(func(v *Value) { v.Prefs.PageSize++ })
		if err := s.Save(); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		writeOK(w)
	}))
	// For misses, cookies come from a second manager with the same keys
	// and no cache, so that the measuring manager never saw them.
	sealer := m
	if mode == cacheMiss || mode == cacheOffUnseen {
		im.Unseen = true
		cfg.OpenCacheBytes = -1
		if sealer, err = tokensession.New(cfg); err != nil {
			return Impl{}, err
		}
	}
	im.Login = func(v Value) (string, error) {
		h := sealer.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			sealer.FromContext(r.Context()).Set(v)
		}))
		return login(func(w http.ResponseWriter, r *http.Request) error {
			h.ServeHTTP(w, r)
			return nil
		})
	}
	return im, nil
}

// login runs one request through h and returns the Cookie header that
// sends its Set-Cookie lines back.
func login(h func(http.ResponseWriter, *http.Request) error) (string, error) {
	rec := httptest.NewRecorder()
	if err := h(rec, httptest.NewRequest("GET", "/", nil)); err != nil {
		return "", err
	}
	return CookieHeader(rec.Header()["Set-Cookie"])
}

// CookieHeader turns Set-Cookie lines into the Cookie header that sends
// them back.
func CookieHeader(setCookie []string) (string, error) {
	if len(setCookie) == 0 {
		return "", errNoSession
	}
	parts := make([]string, len(setCookie))
	for i, l := range setCookie {
		parts[i], _, _ = strings.Cut(l, ";")
	}
	return strings.Join(parts, "; "), nil
}

// Package benchmarks compares tokensession with gorilla/sessions and with
// hand-rolled go-paseto on the same in-process net/http request: cookie in,
// read (or modify) the session, Set-Cookie out.
//
// It is a nested module so that the peer libraries never become
// requirements of tokensession itself. Run ./compare.sh for the
// benchstat comparison and `go run ./load` for the loopback load test.
package benchmarks

import (
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
}

// Impls returns the implementations, gorilla first: benchstat compares
// against the first column. "tokensession" has the package defaults; a
// fourth, "tokensession-nocache", has its cache of opened tokens
// (Config.OpenCacheBytes) turned off, so that every request pays for
// decryption as a session's first request on an instance does.
func Impls() ([]Impl, error) {
	g, err := Gorilla()
	if err != nil {
		return nil, err
	}
	p, err := Paseto()
	if err != nil {
		return nil, err
	}
	t, err := Tokensession(true)
	if err != nil {
		return nil, err
	}
	nc, err := Tokensession(false)
	if err != nil {
		return nil, err
	}
	impls := []Impl{g, p, t, nc}
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

// Paseto is go-paseto used directly, as an application would without
// tokensession: claims "data" and "exp", no footer, no implicit assertion,
// the parser's default expiry check.
func Paseto() (Impl, error) {
	key := paseto.NewV4SymmetricKey()
	parser := paseto.NewParser()
	get := func(r *http.Request) (Value, error) {
		c, err := r.Cookie(cookieName)
		if err != nil {
			return Value{}, err
		}
		t, err := parser.ParseV4Local(key, c.Value, nil)
		if err != nil {
			return Value{}, err
		}
		var v Value
		if err := t.Get("data", &v); err != nil {
			return Value{}, err
		}
		return v, nil
	}
	save := func(w http.ResponseWriter, v Value) error {
		t := paseto.NewToken()
		if err := t.Set("data", v); err != nil {
			return err
		}
		t.SetExpiration(time.Now().Add(30 * time.Minute))
		http.SetCookie(w, &http.Cookie{
			Name:     cookieName,
			Value:    t.V4Encrypt(key, nil),
			Path:     "/",
			MaxAge:   30 * 60,
			Secure:   true,
			HttpOnly: true,
			SameSite: http.SameSiteLaxMode,
		})
		return nil
	}
	im := Impl{Name: "paseto"}
	im.Read = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, err := get(r)
		if err != nil {
			http.Error(w, "no session", http.StatusUnauthorized)
			return
		}
		writeRead(w, v)
	})
	im.Modify = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, err := get(r)
		if err != nil {
			http.Error(w, "no session", http.StatusUnauthorized)
			return
		}
		v.Prefs.PageSize++
		if err := save(w, v); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		writeOK(w)
	})
	im.Login = func(v Value) (string, error) {
		return login(func(w http.ResponseWriter, r *http.Request) error { return save(w, v) })
	}
	return im, nil
}

// Tokensession is tokensession's middleware with its defaults (the
// __Host-session cookie, 30-minute idle timeout, real clock) except
// MaxChunks 4, which lets the 3 KiB value span two cookies, and, unless
// cache, the cache of opened tokens, which is turned off.
func Tokensession(cache bool) (Impl, error) {
	ring, err := tokensession.NewKeyring(tokensession.KeyringEntry{Key: tokensession.GenerateKey()})
	if err != nil {
		return Impl{}, err
	}
	cfg := tokensession.Config[Value]{Keyring: ring, MaxChunks: 4}
	name := "tokensession"
	if !cache {
		cfg.OpenCacheBytes = -1
		name += "-nocache"
	}
	m, err := tokensession.New(cfg)
	if err != nil {
		return Impl{}, err
	}
	im := Impl{Name: name}
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
	im.Login = func(v Value) (string, error) {
		h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			m.FromContext(r.Context()).Set(v)
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

package tokensession_test

import (
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/tokensession/tokensession"
)

// Cart is an application's session value: any type its codec (JSON by
// default) can encode.
type Cart struct {
	User  string   `json:"user"`
	Items []string `json:"items"`
}

// A complete program: a keyring from the environment, a manager, and the
// middleware around a mux. The handlers read and change the typed session
// through FromContext; the middleware writes the cookie.
func Example() {
	// In production: tokensession.ParseKeyringEnv(os.Getenv("SESSION_KEYS")),
	// with keys made by `go run ./cmd/tokensession keygen`.
	ring, err := tokensession.ParseKeyringEnv("k4.local.cHFyc3R1dnd4eXp7fH1-f4CBgoOEhYaHiImKi4yNjo8")
	if err != nil {
		log.Fatal(err)
	}
	sessions, err := tokensession.New(tokensession.Config[Cart]{Keyring: ring})
	if err != nil {
		log.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		s := sessions.FromContext(r.Context())
		s.Renew() // new session ID at login
		s.Set(Cart{User: r.FormValue("user")})
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	mux.HandleFunc("POST /cart", func(w http.ResponseWriter, r *http.Request) {
		s := sessions.FromContext(r.Context())
		s.Update(func(c *Cart) { c.Items = append(c.Items, r.FormValue("item")) })
		if err := s.Save(); errors.Is(err, tokensession.ErrTooLarge) {
			http.Error(w, "cart is full", http.StatusRequestEntityTooLarge)
			return
		}
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		sessions.FromContext(r.Context()).Destroy()
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		cart, ok := sessions.FromContext(r.Context()).Get()
		if !ok {
			fmt.Fprintln(w, "not logged in")
			return
		}
		fmt.Fprintf(w, "%s has %d items\n", cart.User, len(cart.Items))
	})
	handler := sessions.Handler(mux) // http.ListenAndServe(addr, handler)

	// What a browser would do, without the network:
	var cookies []*http.Cookie
	send := func(method, target string) {
		req := httptest.NewRequest(method, target, nil)
		for _, c := range cookies {
			req.AddCookie(c)
		}
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		if got := rec.Result().Cookies(); len(got) > 0 {
			cookies = got
		}
		fmt.Printf("%s %s: %d, %d Set-Cookie", method, target, rec.Code, len(rec.Result().Cookies()))
		if rec.Code == http.StatusOK {
			fmt.Printf(", %q", strings.TrimSpace(rec.Body.String()))
		}
		fmt.Println()
	}
	send("POST", "/login?user=alice")
	send("POST", "/cart?item=tea")
	send("GET", "/")
	send("POST", "/logout")
	// Output:
	// POST /login?user=alice: 303, 1 Set-Cookie
	// POST /cart?item=tea: 303, 1 Set-Cookie
	// GET /: 200, 0 Set-Cookie, "alice has 1 items"
	// POST /logout: 303, 1 Set-Cookie
}

// Seal and Open give the same tokens without cookies: for an
// Authorization: Bearer header, a WebSocket handshake or a job queue.
func ExampleManager_Seal() {
	ring, err := tokensession.ParseKeyringEnv("k4.local.cHFyc3R1dnd4eXp7fH1-f4CBgoOEhYaHiImKi4yNjo8")
	if err != nil {
		log.Fatal(err)
	}
	tokens, err := tokensession.New(tokensession.Config[Cart]{Keyring: ring, Purpose: "api"})
	if err != nil {
		log.Fatal(err)
	}

	token, _, err := tokens.Seal(Cart{User: "alice"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(strings.HasPrefix(token, "v4.local."))

	cart, info, err := tokens.Open(token)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(cart.User, info.KeyID, info.Expires.Sub(info.IssuedAt))

	_, _, err = tokens.Open(token[:len(token)-5] + "AAAAA")
	fmt.Println(errors.Is(err, tokensession.ErrMalformed) || errors.Is(err, tokensession.ErrUnknownKey))
	// Output:
	// true
	// alice k4.lid.iVtYQDjr5gEijCSjJC3fQaJm7nCeQSeaty0Jixy8dbsk 30m0s
	// true
}

// Staged rotation: the new key is listed first with an activation time.
// Every instance that loads this keyring opens the new key's tokens at once
// and starts sealing with it at the same instant.
func ExampleParseKeyringJSON() {
	ring, err := tokensession.ParseKeyringJSON([]byte(`{"keys": [
		{"key": "k4.local.cHFyc3R1dnd4eXp7fH1-f4CBgoOEhYaHiImKi4yNjpA", "not_before": "2026-12-01T10:00:00Z"},
		{"key": "k4.local.cHFyc3R1dnd4eXp7fH1-f4CBgoOEhYaHiImKi4yNjo8", "not_after": "2026-12-02T10:00:00Z"}
	]}`))
	if err != nil {
		log.Fatal(err)
	}
	for _, at := range []string{"2026-12-01T09:59:59Z", "2026-12-01T10:00:00Z", "2026-12-02T10:00:00Z"} {
		now, _ := time.Parse(time.RFC3339, at)
		fmt.Print(at)
		for _, state := range ring.States(now) {
			fmt.Print(" ", state)
		}
		fmt.Println()
	}
	// Output:
	// 2026-12-01T09:59:59Z staged sealing
	// 2026-12-01T10:00:00Z sealing opening
	// 2026-12-02T10:00:00Z sealing retired
}

// Keys print as their PASERK ID, never as their secret.
func ExampleKey() {
	key, err := tokensession.ParseKey("k4.local.cHFyc3R1dnd4eXp7fH1-f4CBgoOEhYaHiImKi4yNjo8")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(key)
	fmt.Printf("%#v\n", key)

	_, err = tokensession.ParseKey("k3.local.cHFyc3R1dnd4eXp7fH1-f4CBgoOEhYaHiImKi4yNjo8")
	fmt.Println(err)
	// Output:
	// tokensession.Key(k4.lid.iVtYQDjr5gEijCSjJC3fQaJm7nCeQSeaty0Jixy8dbsk)
	// tokensession.Key(k4.lid.iVtYQDjr5gEijCSjJC3fQaJm7nCeQSeaty0Jixy8dbsk)
	// tokensession: invalid key: wrong PASERK version "k3", want k4.local.
}

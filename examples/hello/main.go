// Command hello is the smallest complete tokensession program: a login,
// a cart and a logout, all kept in the session cookie. The README shows it
// whole.
//
//	SESSION_KEYS=$(go run ./cmd/tokensession keygen) go run ./examples/hello
package main

import (
	"errors"
	"fmt"
	"log"
	"net/http"

	"github.com/tokensession/tokensession"
)

type Cart struct {
	User  string   `json:"user"`
	Items []string `json:"items"`
}

func main() {
	// SESSION_KEYS (k4.local keys, the first seals) or SESSION_KEYRING
	// (a keyring file). Make a key with: go run ./cmd/tokensession keygen
	source, err := tokensession.EnvKeySource(nil)
	if err != nil {
		log.Fatal(err)
	}
	ring, err := source.Load()
	if err != nil {
		log.Fatal(err)
	}
	sessions, err := tokensession.New(tokensession.Config[Cart]{
		Keyring:         ring,
		UnsafeAllowHTTP: true, // plain http on localhost; remove behind TLS
	})
	if err != nil {
		log.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		s := sessions.FromContext(r.Context())
		s.Renew() // a new session ID at login
		s.Set(Cart{User: r.FormValue("user")})
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	mux.HandleFunc("POST /cart", func(w http.ResponseWriter, r *http.Request) {
		s := sessions.FromContext(r.Context())
		s.Update(func(c *Cart) { c.Items = append(c.Items, r.FormValue("item")) })
		switch err := s.Save(); {
		case errors.Is(err, tokensession.ErrTooLarge):
			http.Error(w, "cart is full", http.StatusRequestEntityTooLarge)
			return
		case err != nil: // ErrUnknownKey: sealed by a key not here (yet?)
			w.Header().Set("Retry-After", "5")
			http.Error(w, "try again shortly, or log in again", http.StatusServiceUnavailable)
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

	// Refuse cross-origin form posts (CSRF), then open sessions.
	csrf := http.NewCrossOriginProtection()
	log.Print("listening on http://127.0.0.1:8080/")
	log.Fatal(http.ListenAndServe("127.0.0.1:8080", csrf.Handler(sessions.Handler(mux))))
}

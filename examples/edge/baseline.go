//go:build edgebench

package main

// The measurement build (-tags edgebench, used by the benchmarks of the
// repository's edge/ module) also serves the shop's two handlers without
// the session middleware, under /_baseline/, for a fixed session value:
// the work a request does when the session costs nothing.

import (
	"net/http"
	"slices"
)

func init() { measureRoutes = baselineRoutes }

func baselineRoutes(a *app, shop http.Handler) http.Handler {
	fixed := Session{User: "alice", Cart: []string{"apple", "pear", "plum"}}
	bare := http.NewServeMux()
	bare.HandleFunc("GET /_baseline/{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		renderPage(w, pageData{User: fixed.User, Cart: fixed.Cart})
	})
	bare.HandleFunc("POST /_baseline/cart", func(w http.ResponseWriter, r *http.Request) {
		item, ok := formField(w, r, "item", "item", maxItemLen)
		if !ok {
			return
		}
		_ = slices.Concat(fixed.Cart, []string{item})
		http.Redirect(w, r, "/_baseline/", http.StatusSeeOther)
	})
	mux := http.NewServeMux()
	mux.Handle("/_baseline/", http.NewCrossOriginProtection().Handler(securityHeaders(bare)))
	mux.Handle("/", shop)
	return mux
}

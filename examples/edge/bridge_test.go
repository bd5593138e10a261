//go:build js && wasm

package main

import (
	"io"
	"log"
	"net/http"
	"reflect"
	"strings"
	"syscall/js"
	"testing"
)

// These tests run the bridge under Node.js, whose Request, Response and
// Headers follow the same Fetch standard as a Worker's:
//
//	GOOS=js GOARCH=wasm go test -exec="$(go env GOROOT)/lib/wasm/go_js_wasm_exec" ./examples/edge

func newJSRequest(url string, init map[string]any) js.Value {
	return js.Global().Get("Request").New(url, init)
}

// serve runs h on req through the bridge and waits for the Response.
func serve(t *testing.T, h http.Handler, req js.Value) js.Value {
	t.Helper()
	resp, err := await(serveJS(h, req))
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func text(t *testing.T, resp js.Value) string {
	t.Helper()
	s, err := await(resp.Call("text"))
	if err != nil {
		t.Fatal(err)
	}
	return s.String()
}

// TestBridgeRoundTrip: method, URL, Host, headers and body reach the
// handler; status, headers, every Set-Cookie line on its own, and body
// reach the Response.
func TestBridgeRoundTrip(t *testing.T) {
	var got struct {
		method, url, host, requestURI, body string
		header                              http.Header
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got.method, got.url, got.host, got.requestURI, got.body = r.Method, r.URL.String(), r.Host, r.RequestURI, string(b)
		got.header = r.Header
		w.Header().Add("Set-Cookie", "a=1; Path=/; Max-Age=60; HttpOnly; SameSite=Lax")
		w.Header().Add("Set-Cookie", "b=2; Path=/; Max-Age=0")
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, "made")
	})
	req := newJSRequest("https://edge.test:8443/cart?x=1&y=%2F", map[string]any{
		"method": "POST",
		"headers": map[string]any{
			"Content-Type": "application/x-www-form-urlencoded",
			"Cookie":       "session.0=abc; session.1=def",
			"X-Many":       "one",
		},
		"body": "item=apple+pie",
	})
	resp := serve(t, h, req)

	if got.method != "POST" || got.url != "https://edge.test:8443/cart?x=1&y=%2F" || got.host != "edge.test:8443" || got.requestURI != "/cart?x=1&y=%2F" {
		t.Errorf("request line: %q %q host %q uri %q", got.method, got.url, got.host, got.requestURI)
	}
	if got.body != "item=apple+pie" {
		t.Errorf("body %q", got.body)
	}
	if got.header.Get("Cookie") != "session.0=abc; session.1=def" || got.header.Get("X-Many") != "one" ||
		got.header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		t.Errorf("headers %v", got.header)
	}
	if s := resp.Get("status").Int(); s != http.StatusCreated {
		t.Errorf("status %d", s)
	}
	var cookies []string
	lines := resp.Get("headers").Call("getSetCookie")
	for i := range lines.Length() {
		cookies = append(cookies, lines.Index(i).String())
	}
	want := []string{"a=1; Path=/; Max-Age=60; HttpOnly; SameSite=Lax", "b=2; Path=/; Max-Age=0"}
	if !reflect.DeepEqual(cookies, want) {
		t.Errorf("Set-Cookie lines %q, want %q", cookies, want)
	}
	if ct := resp.Get("headers").Call("get", "content-type").String(); ct != "text/plain" {
		t.Errorf("Content-Type %q", ct)
	}
	if b := text(t, resp); b != "made" {
		t.Errorf("body %q", b)
	}
}

// TestBridgeBodyLimit: a handler that limits its body reads only what it
// allows of a large streamed body, and answers 413.
func TestBridgeBodyLimit(t *testing.T) {
	// The shop itself, with its 8 KiB form limit.
	a, err := newApp(testRing(t), options{insecure: true}, log.New(io.Discard, "", 0))
	if err != nil {
		t.Fatal(err)
	}
	req := newJSRequest("http://edge.test/cart", map[string]any{
		"method":  "POST",
		"headers": map[string]any{"Content-Type": "application/x-www-form-urlencoded"},
		"body":    "item=" + strings.Repeat("x", 1<<20),
	})
	resp := serve(t, a.routes(), req)
	if s := resp.Get("status").Int(); s != http.StatusRequestEntityTooLarge {
		t.Errorf("status %d, want 413", s)
	}
}

// TestBridgeInformational: a 1xx status (103 Early Hints) cannot cross a
// Worker, and does not stand in for the final one.
func TestBridgeInformational(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, "later")
	})
	resp := serve(t, h, newJSRequest("http://edge.test/", map[string]any{}))
	if s := resp.Get("status").Int(); s != http.StatusAccepted {
		t.Errorf("status %d, want 202", s)
	}
	if b := text(t, resp); b != "later" {
		t.Errorf("body %q", b)
	}
}

// TestBridgePanic: a handler that panics answers 500.
func TestBridgePanic(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { panic("bug") })
	resp := serve(t, h, newJSRequest("http://edge.test/", map[string]any{}))
	if s := resp.Get("status").Int(); s != http.StatusInternalServerError {
		t.Errorf("status %d, want 500", s)
	}
}

// TestBridgeNoBody: a handler that writes nothing answers 200 with an
// empty body, and a 204 carries none.
func TestBridgeNoBody(t *testing.T) {
	for _, code := range []int{0, http.StatusNoContent, http.StatusSeeOther} {
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if code != 0 {
				w.WriteHeader(code)
			}
		})
		resp := serve(t, h, newJSRequest("http://edge.test/", map[string]any{}))
		want := code
		if code == 0 {
			want = http.StatusOK
		}
		if s := resp.Get("status").Int(); s != want {
			t.Errorf("status %d, want %d", s, want)
		}
		if !resp.Get("body").IsNull() {
			t.Errorf("status %d: body %q, want none", want, text(t, resp))
		}
	}
}

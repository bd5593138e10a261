//go:build js && wasm

package main

// The bridge between a Worker's fetch event and net/http: a JavaScript
// Request becomes an *http.Request, the handler writes to a buffering
// http.ResponseWriter, and that becomes a JavaScript Response. It is small
// on purpose: copy it.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"syscall/js"
)

// serveJS runs h for the Worker Request req and returns a
// Promise<Response>. The work happens on a goroutine, because reading the
// body waits for JavaScript promises, and a Go function called from
// JavaScript must not block.
func serveJS(h http.Handler, req js.Value) js.Value {
	return newPromise(func() js.Value {
		w := &responseWriter{header: http.Header{}}
		r, err := toHTTPRequest(req)
		if err != nil { // a method or URL net/http does not accept
			http.Error(w, "bad request", http.StatusBadRequest)
		} else {
			h.ServeHTTP(w, r)
		}
		return w.toResponse()
	})
}

// toHTTPRequest converts a Worker Request: method, URL (which also gives
// Host), headers and a streaming body.
func toHTTPRequest(req js.Value) (*http.Request, error) {
	var body io.Reader = http.NoBody
	if b := req.Get("body"); !b.IsNull() {
		body = &streamReader{reader: b.Call("getReader")}
	}
	r, err := http.NewRequestWithContext(context.Background(), req.Get("method").String(), req.Get("url").String(), body)
	if err != nil {
		return nil, err
	}
	// A Headers object iterates as [name, value] pairs, names in lower
	// case; http.Header.Add canonicalises them.
	pairs := js.Global().Get("Array").Call("from", req.Get("headers"))
	for i := range pairs.Length() {
		p := pairs.Index(i)
		r.Header.Add(p.Index(0).String(), p.Index(1).String())
	}
	r.RequestURI = r.URL.RequestURI()
	return r, nil
}

// streamReader reads a ReadableStream's chunks as the handler asks for
// them, so a handler that limits its body (http.MaxBytesReader) never
// buffers more than it allows.
type streamReader struct {
	reader js.Value // ReadableStreamDefaultReader
	rest   []byte   // of the last chunk, not yet read
	done   bool
}

func (s *streamReader) Read(p []byte) (int, error) {
	for len(s.rest) == 0 {
		if s.done {
			return 0, io.EOF
		}
		res, err := await(s.reader.Call("read"))
		if err != nil {
			return 0, err
		}
		if res.Get("done").Bool() {
			s.done = true
			continue
		}
		chunk := res.Get("value") // a Uint8Array
		s.rest = make([]byte, chunk.Length())
		js.CopyBytesToGo(s.rest, chunk)
	}
	n := copy(p, s.rest)
	s.rest = s.rest[n:]
	return n, nil
}

// responseWriter buffers a response: a Worker returns the whole Response
// at once. (httptest.ResponseRecorder would do, but links in the test
// certificates and more.)
type responseWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *responseWriter) Header() http.Header { return w.header }

// WriteHeader records the first final status. A Worker cannot send
// informational (1xx) responses, so they are dropped.
func (w *responseWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
}

func (w *responseWriter) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(b)
}

// toResponse builds the JavaScript Response. Each header value is
// appended on its own, so every Set-Cookie stays a separate line: joined
// with commas they would be one broken cookie.
func (w *responseWriter) toResponse() js.Value {
	w.WriteHeader(http.StatusOK)
	headers := js.Global().Get("Headers").New()
	for name, values := range w.header {
		for _, v := range values {
			headers.Call("append", name, v)
		}
	}
	body := js.Null() // 101, 204, 205 and 304 must not have a body
	if w.body.Len() > 0 && w.status != 204 && w.status != 205 && w.status != 304 {
		body = js.Global().Get("Uint8Array").New(w.body.Len())
		js.CopyBytesToJS(body, w.body.Bytes())
	}
	init := map[string]any{"status": w.status, "headers": headers}
	return js.Global().Get("Response").New(body, init)
}

// newPromise runs fn on a goroutine and returns a Promise of its result.
// A panic (a bug) answers 500 instead of leaving the request hanging.
func newPromise(fn func() js.Value) js.Value {
	executor := js.FuncOf(func(this js.Value, args []js.Value) any {
		resolve := args[0]
		go func() {
			defer func() {
				if p := recover(); p != nil {
					fmt.Fprintln(os.Stderr, "edge: panic:", p)
					resolve.Invoke(js.Global().Get("Response").New("internal error", map[string]any{"status": 500}))
				}
			}()
			resolve.Invoke(fn())
		}()
		return nil
	})
	defer executor.Release() // the Promise constructor calls it at once
	return js.Global().Get("Promise").New(executor)
}

// await blocks the calling goroutine (never the one JavaScript called
// into) until the promise settles.
func await(promise js.Value) (js.Value, error) {
	type result struct {
		v   js.Value
		err error
	}
	done := make(chan result, 1)
	onResolve := js.FuncOf(func(this js.Value, args []js.Value) any {
		done <- result{v: args[0]}
		return nil
	})
	defer onResolve.Release()
	onReject := js.FuncOf(func(this js.Value, args []js.Value) any {
		done <- result{err: errors.New(js.Global().Get("String").Invoke(args[0]).String())}
		return nil
	})
	defer onReject.Release()
	promise.Call("then", onResolve, onReject)
	res := <-done
	return res.v, res.err
}

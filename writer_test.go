package tokensession_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"testing"

	"github.com/tokensession/tokensession"
)

// TestWriterCommitsBeforeHeaders checks, over a real connection, that the
// cookie reaches the client however the handler first writes.
func TestWriterCommitsBeforeHeaders(t *testing.T) {
	e := newMWEnv(t, nil)
	cases := []struct {
		name  string
		write func(w http.ResponseWriter)
	}{
		{"WriteHeader", func(w http.ResponseWriter) { w.WriteHeader(http.StatusAccepted) }},
		{"Write", func(w http.ResponseWriter) { w.Write([]byte("body")) }},
		{"WriteString", func(w http.ResponseWriter) { io.WriteString(w, "body") }},
		{"io.Copy", func(w http.ResponseWriter) { io.Copy(w, strings.NewReader(strings.Repeat("z", 1<<16))) }},
		{"Flush", func(w http.ResponseWriter) { w.(http.Flusher).Flush(); w.Write([]byte("late body")) }},
		{"ResponseController.Flush", func(w http.ResponseWriter) {
			if err := http.NewResponseController(w).Flush(); err != nil {
				t.Errorf("Flush: %v", err)
			}
		}},
		{"return without writing", func(w http.ResponseWriter) {}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				e.m.FromContext(r.Context()).Set(mwValue{User: "alice"})
				tc.write(w)
			})))
			defer srv.Close()
			resp, err := srv.Client().Get(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			cs := resp.Cookies()
			if len(cs) != 1 || cs[0].Name != "__Host-session" {
				t.Fatalf("cookies %v", cs)
			}
			if v, _ := e.openCookie(cs[0]); v.User != "alice" {
				t.Errorf("value %+v", v)
			}
			if errs := e.errs.take(); len(errs) != 0 {
				t.Errorf("errors reported: %v", errs)
			}
		})
	}
}

func TestWriterInformationalDoesNotCommit(t *testing.T) {
	e := newMWEnv(t, nil)
	srv := httptest.NewServer(e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		e.m.FromContext(r.Context()).Set(mwValue{User: "alice"})
		w.Write([]byte("ok"))
	})))
	defer srv.Close()
	var got1xx []int
	trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, _ textproto.MIMEHeader) error {
		got1xx = append(got1xx, code)
		return nil
	}}
	req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(t.Context(), trace), "GET", srv.URL, nil)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(got1xx) != 1 || got1xx[0] != http.StatusEarlyHints {
		t.Errorf("1xx responses %v, want [103]", got1xx)
	}
	if resp.StatusCode != http.StatusOK || len(resp.Cookies()) != 1 {
		t.Errorf("final response %d with cookies %v", resp.StatusCode, resp.Cookies())
	}
}

func TestWriterChangeAfterWriteReported(t *testing.T) {
	e := newMWEnv(t, nil)
	var saveErr error
	srv := httptest.NewServer(e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := e.m.FromContext(r.Context())
		s.Get()
		w.Write([]byte("headers gone"))
		s.Set(mwValue{User: "too late"})
		saveErr = s.Save()
	})))
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(resp.Cookies()) != 0 {
		t.Errorf("late change produced cookies %v", resp.Cookies())
	}
	if !errors.Is(saveErr, tokensession.ErrHeadersWritten) {
		t.Errorf("Save = %v, want ErrHeadersWritten", saveErr)
	}
	// Save returned it: the ErrorHandler does not get it a second time.
	if errs := e.errs.take(); len(errs) != 0 {
		t.Errorf("ErrorHandler got %v as well", errs)
	}
}

func TestWriterHijackPassesThrough(t *testing.T) {
	e := newMWEnv(t, nil)
	// A change pending at Hijack is reported when the handler returns.
	returned := make(chan struct{})
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(returned)
		h.ServeHTTP(w, r)
	}))
	h = e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.m.FromContext(r.Context()).Set(mwValue{User: "pending"})
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("Hijack: %v", err)
			return
		}
		defer conn.Close()
		brw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\nhijacked")
		brw.Flush()
	}))
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "hijacked" {
		t.Errorf("body %q", body)
	}
	<-returned
	if !e.errs.has(tokensession.ErrHeadersWritten) {
		t.Error("change pending at Hijack not reported")
	}
}

func TestWriterUnwrap(t *testing.T) {
	e := newMWEnv(t, nil)
	rec := httptest.NewRecorder()
	var inner http.ResponseWriter
	e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inner = w.(interface{ Unwrap() http.ResponseWriter }).Unwrap()
	})).ServeHTTP(rec, mwRequest("/"))
	if inner != rec {
		t.Errorf("Unwrap returned %T, want the recorder", inner)
	}
}

// A session first reached after the headers went out knows it is too late.
func TestWriterSessionFirstUsedAfterWrite(t *testing.T) {
	e := newMWEnv(t, nil)
	var saveErr error
	rec := httptest.NewRecorder()
	e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("headers gone"))
		s := e.m.FromContext(r.Context())
		s.Set(mwValue{User: "too late"})
		saveErr = s.Save()
	})).ServeHTTP(rec, mwRequest("/"))
	if !errors.Is(saveErr, tokensession.ErrHeadersWritten) {
		t.Errorf("Save = %v, want ErrHeadersWritten", saveErr)
	}
	if errs := e.errs.take(); len(errs) != 0 {
		t.Errorf("ErrorHandler got %v as well", errs)
	}
	if got := rec.Result().Header["Set-Cookie"]; len(got) != 0 {
		t.Errorf("late change wrote %q", got)
	}
}

package benchmarks

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The benchmarks are named Benchmark{Read,Modify}/size=…/impl=… so that
// benchstat can line the implementations up (compare.sh does this):
//
//	go test -run='^$' -bench=. -count=10 -benchmem > new.txt
//	benchstat -col /impl new.txt
//
// The size is the outer level so that the three implementations of one
// size run back to back: on a shared, noisy machine their ratio drifts
// less than if each implementation ran all its sizes in turn.
//
// Each iteration is one in-process request through the implementation's
// handler: the Cookie header in, the session read (or one field changed
// and saved), the body and any Set-Cookie out. cookie-bytes is the length
// of the Cookie header a browser sends back on every request, names
// included ("session" for gorilla and go-paseto, "__Host-session" for
// tokensession). cpu-ns/op is the process's CPU time per request (see
// processCPU): prefer it to sec/op when the machine is busy.

func BenchmarkRead(b *testing.B)   { benchmarkImpls(b, false) }
func BenchmarkModify(b *testing.B) { benchmarkImpls(b, true) }

func benchmarkImpls(b *testing.B, modify bool) {
	impls, err := Impls()
	if err != nil {
		b.Fatal(err)
	}
	for _, sz := range Sizes {
		v, n, err := MakeValue(sz.Size)
		if err != nil {
			b.Fatal(err)
		}
		b.Run("size="+sz.Name, func(b *testing.B) {
			for _, im := range impls {
				b.Run("impl="+im.Name, func(b *testing.B) {
					cookie, err := im.Login(v)
					if err != nil {
						b.Fatal(err)
					}
					h := im.Read
					if modify {
						h = im.Modify
					}
					tmpl := httptest.NewRequest("GET", "/", nil)
					tmpl.Header.Set("Cookie", cookie)
					check(b, h, tmpl, modify)

					r := new(http.Request)
					rec := newRecorder()
					b.SetBytes(int64(n))
					b.ReportAllocs()
					cpu0, cpuOK := processCPU()
					for b.Loop() {
						// gorilla/sessions caches the decoded session in
						// the request's context, replacing *r; start
						// every iteration from the same request.
						*r = *tmpl
						rec.reset()
						h.ServeHTTP(rec, r)
					}
					if cpu1, ok := processCPU(); ok && cpuOK {
						b.ReportMetric(float64(cpu1-cpu0)/float64(b.N), "cpu-ns/op")
					}
					b.ReportMetric(float64(len(cookie)), "cookie-bytes")
				})
			}
		})
	}
}

// check serves one request outside the timed loop and fails unless it
// succeeded, with a Set-Cookie exactly when modify.
func check(b *testing.B, h http.Handler, tmpl *http.Request, modify bool) {
	b.Helper()
	r := *tmpl
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, &r)
	if rec.Code != http.StatusOK {
		b.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	want := "dark"
	if modify {
		want = "ok"
	}
	if got := rec.Body.String(); got != want {
		b.Fatalf("body %q, want %q", got, want)
	}
	sc := rec.Header()["Set-Cookie"]
	if modify && len(sc) == 0 {
		b.Fatal("modify set no cookie")
	}
	if !modify && len(sc) != 0 {
		b.Fatalf("read set cookies: %q", strings.Join(sc, "\n"))
	}
}

// recorder is an httptest.ResponseRecorder reset between iterations rather
// than reallocated, so that allocations are the implementation's.
type recorder struct {
	httptest.ResponseRecorder
	hdr  http.Header
	body bytes.Buffer
}

func newRecorder() *recorder {
	r := &recorder{hdr: make(http.Header)}
	r.reset()
	return r
}

func (r *recorder) reset() {
	clear(r.hdr)
	r.body.Reset()
	r.ResponseRecorder = httptest.ResponseRecorder{HeaderMap: r.hdr, Body: &r.body, Code: http.StatusOK}
}

// TestValues checks that every implementation round-trips every size.
func TestValues(t *testing.T) {
	impls, err := Impls()
	if err != nil {
		t.Fatal(err)
	}
	for _, im := range impls {
		for _, sz := range Sizes {
			v, _, err := MakeValue(sz.Size)
			if err != nil {
				t.Fatal(err)
			}
			cookie, err := im.Login(v)
			if err != nil {
				t.Fatalf("%s/%s: %v", im.Name, sz.Name, err)
			}
			for _, h := range []http.Handler{im.Read, im.Modify} {
				r := httptest.NewRequest("GET", "/", nil)
				r.Header.Set("Cookie", cookie)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, r)
				if rec.Code != http.StatusOK {
					t.Errorf("%s/%s: status %d: %s", im.Name, sz.Name, rec.Code, rec.Body)
				}
			}
		}
	}
}

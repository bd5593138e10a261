package benchmarks

import (
	"bytes"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
)

// BenchmarkCompare runs every implementation (see Impls) on the same
// in-process request, in interleaved rounds:
//
//	Compare/round=R/size=S/path=P/impl=I
//
// Each round runs every size; each size runs both paths; each path runs
// every implementation back to back. Only the implementations of one path
// and size are compared, and they run seconds apart in every round, so a
// change in the machine's load hits them alike. benchstat pools the rounds
// (compare.sh):
//
//	go test -run='^$' -bench=Compare -benchtime=200ms -cpu=1 -rounds=6 > new.txt
//	benchstat -ignore round -col /impl -row /path,/size new.txt
//
// One iteration is one request through the implementation's handler, the
// requests taking turns among many sessions (distinctCookies): the
// Cookie header in, the session read (path=read) or one field changed and
// saved (path=modify), the body and any Set-Cookie out. Metrics:
//
//   - sec/op: wall time per request.
//   - cpu-ns/op: the process's CPU time per request (processCPU), which
//     does not grow while other processes hold the CPU: on a busy machine,
//     compare this one.
//   - cookie-bytes: the Cookie header a browser sends back on every
//     request, names included.
//   - allocs/op, B/op.
//
// For tokensession-miss every request brings a cookie minted by another
// manager and never seen by this one, all prepared before the timer starts
// (the control, tokensession-nocache-unseen, shows what that preparation
// does to the figures); before any case of a size is measured, the cache
// is filled with twice its capacity of such sessions, so that every case
// of the size runs in a process that holds a full cache, as a busy
// instance's does (BenchmarkCacheHeap measures what holding one costs the
// process's other work). The cache takes a token
// on its second open and hits from the third, so none of these requests
// can hit; for the same reason every other case opens each of its cookies
// twice before the timer starts, so that the cache-hit case hits on every
// timed request.
func BenchmarkCompare(b *testing.B) {
	impls, err := Impls()
	if err != nil {
		b.Fatal(err)
	}
	states := make([]implState, len(impls))
	for i := range impls {
		states[i].Impl = impls[i]
	}
	warmUp(b, states)
	inRounds(b, func(b *testing.B, v Value, n int) {
		// Fill the caches of the miss cases before any case of this size
		// runs, so that every case runs with the same heap: a full cache
		// in the process.
		for i := range states {
			if st := &states[i]; st.Unseen && st.CacheBytes > 0 && st.filledN != n {
				st.fill(b, v, n)
			}
		}
	}, func(b *testing.B, _ int, v Value, n int, modify bool) {
		for i := range states {
			st := &states[i]
			b.Run("impl="+st.Name, func(b *testing.B) { st.bench(b, v, n, modify) })
		}
	})
}

// inRounds runs the rounds of a benchmark, each over every size and both
// paths: before(b, v, n), if not nil, at the start of each size, of value
// v encoded in n bytes, and run(b, r, v, n, modify) as the sub-benchmark
// round=R/size=S/path=P.
func inRounds(b *testing.B, before func(b *testing.B, v Value, n int), run func(b *testing.B, r int, v Value, n int, modify bool)) {
	for r := range *rounds {
		b.Run(fmt.Sprintf("round=%d", *round0+r), func(b *testing.B) {
			for _, sz := range Sizes {
				v, n, err := MakeValue(sz.Size)
				if err != nil {
					b.Fatal(err)
				}
				b.Run("size="+sz.Name, func(b *testing.B) {
					if before != nil {
						before(b, v, n)
					}
					for _, path := range []string{"read", "modify"} {
						b.Run("path="+path, func(b *testing.B) { run(b, r, v, n, path == "modify") })
					}
				})
			}
		})
	}
}

var (
	rounds = flag.Int("rounds", 3, "BenchmarkCompare: how many rounds of every case to run")
	round0 = flag.Int("round", 0, "BenchmarkCompare: the index of the first round, in benchmark names")
)

// distinctCookies returns how many sessions, each with its own cookie of
// about cookieLen bytes, the requests of a case take turns among. Parsing
// and checking a token branches on its bytes, and a CPU that sees the same
// few tokens again and again learns those branches: checking that a 3 KiB
// token is base64 ran 6 times faster on one repeated token than on
// distinct ones, and a 200 B token's check was learned across 8 tokens
// taking turns but not across 64. Servers see many sessions, so the
// benchmark cycles through about 64 KiB of cookies: 102 at 200 B, 38 at 1
// KiB, 14 at 3 KiB. The cache holds all of them: a save does not add its
// new token to the cache, and the requests keep bringing the cookies
// minted before the timer, so the cache-hit case hits on both paths.
func distinctCookies(cookieLen int) int { return max(8, (64<<10)/cookieLen) }

// warmUp serves every case of states, untimed, before the first round.
// The first cases measured in a fresh process ran measurably slower than
// the same cases later (heap and pacer still growing): 1.08–1.22× the
// floor at 200 B with one round per process, 1.02–1.04× with five.
func warmUp(b *testing.B, states []implState) {
	for _, sz := range Sizes {
		v, _, err := MakeValue(sz.Size)
		if err != nil {
			b.Fatal(err)
		}
		for _, modify := range []bool{false, true} {
			for i := range states {
				if err := states[i].warm(v, modify, *warmup); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	runtime.GC()
}

var warmup = flag.Int("warmup", 500, "requests per case served, untimed, before the first round")

// warm serves n requests of one session through the case, untimed.
func (st *implState) warm(v Value, modify bool, n int) error {
	h := st.Read
	if modify {
		h = st.Modify
	}
	cookie, err := st.Login(v)
	if err != nil {
		return err
	}
	tmpl := httptest.NewRequest("GET", "/", nil)
	r := new(http.Request)
	rec := newRecorder()
	for range n {
		*r = *tmpl
		r.Header = http.Header{"Cookie": {cookie}}
		rec.reset()
		h.ServeHTTP(rec, r)
	}
	return nil
}

// implState is an implementation and what the benchmark keeps about it
// across rounds.
type implState struct {
	Impl
	filledN int // the size of the value whose sessions last filled the cache
}

func (st *implState) bench(b *testing.B, v Value, n int, modify bool) {
	h := st.Read
	if modify {
		h = st.Modify
	}
	cookie, err := st.Login(v)
	if err != nil {
		b.Fatal(err)
	}
	tmpl := httptest.NewRequest("GET", "/", nil)
	tmpl.Header.Set("Cookie", cookie)
	check(b, h, tmpl, modify)

	// The requests take turns among distinctSessions cookies, each of its
	// own session; for Unseen, every request has a cookie of its own. All
	// are minted before the timer starts, and the garbage of minting them
	// is collected, so that none of it is collected on the timed requests'
	// account.
	// The check above opened tmpl's cookie, so Unseen cannot reuse it.
	cookies := []string{cookie}
	k := distinctCookies(len(cookie))
	if st.Unseen {
		cookies, k = cookies[:0], b.N
	}
	for len(cookies) < k {
		c, err := st.Login(v)
		if err != nil {
			b.Fatal(err)
		}
		cookies = append(cookies, c)
	}
	// The open cache takes a token on its second open: open every cookie
	// twice now, so that the timed requests of the cache-hit case all hit.
	// Unseen cookies must stay unseen.
	if !st.Unseen {
		for range 2 {
			for _, c := range cookies {
				serve(st.Read, c)
			}
		}
	}
	runtime.GC()

	r := new(http.Request)
	rec := newRecorder()
	b.SetBytes(int64(n))
	b.ReportAllocs()
	b.ResetTimer()
	cpu0, cpuOK := processCPU()
	for i := range b.N {
		// gorilla/sessions caches the decoded session in the request's
		// context, replacing *r; start every iteration from the same
		// request.
		*r = *tmpl
		// A header map of its own, as net/http gives every request.
		j := i % len(cookies)
		r.Header = http.Header{"Cookie": cookies[j : j+1 : j+1]}
		rec.reset()
		h.ServeHTTP(rec, r)
	}
	b.StopTimer()
	if cpu1, ok := processCPU(); ok && cpuOK {
		b.ReportMetric(float64(cpu1-cpu0)/float64(b.N), "cpu-ns/op")
	}
	b.ReportMetric(float64(len(cookie)), "cookie-bytes")
}

// fill serves two reads of each of many unseen sessions of value v, whose
// encoding is n bytes, so that the cache, which takes a token on its
// second open, takes in twice the entries it holds. An entry costs at
// least the token and the value's bytes.
func (st *implState) fill(b *testing.B, v Value, n int) {
	b.Helper()
	cookie, err := st.Login(v)
	if err != nil {
		b.Fatal(err)
	}
	entries := 2 * st.CacheBytes / (len(cookie) + n)
	for range entries {
		c, err := st.Login(v)
		if err != nil {
			b.Fatal(err)
		}
		serve(st.Read, c)
		serve(st.Read, c)
	}
	st.filledN = n
}

// serve serves one request with the Cookie header cookie, outside the
// timed loop.
func serve(h http.Handler, cookie string) {
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Cookie", cookie)
	h.ServeHTTP(httptest.NewRecorder(), r)
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

// recorder is a ResponseWriter reset between iterations rather than
// reallocated, so that allocations are the implementation's.
type recorder struct {
	hdr   http.Header
	body  bytes.Buffer
	code  int
	wrote bool
}

func newRecorder() *recorder { return &recorder{hdr: make(http.Header)} }

func (r *recorder) reset() {
	clear(r.hdr)
	r.body.Reset()
	r.code, r.wrote = 0, false
}

func (r *recorder) Header() http.Header { return r.hdr }

func (r *recorder) WriteHeader(code int) {
	if !r.wrote {
		r.code, r.wrote = code, true
	}
}

func (r *recorder) Write(p []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.body.Write(p)
}

// TestValues checks that every implementation round-trips every size, on
// both paths.
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

// TestFloorSameToken checks that the hand-rolled go-paseto token carries
// what tokensession's does: with the same claims, footer shape and value,
// the two tokens have the same length, give or take the few bytes that
// "created" loses when its nanoseconds end in zeros (RFC 3339 trims them).
func TestFloorSameToken(t *testing.T) {
	impls, err := Impls()
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]Impl{}
	for _, im := range impls {
		byName[im.Name] = im
	}
	for _, sz := range Sizes[:2] { // single-cookie sizes
		v, _, err := MakeValue(sz.Size)
		if err != nil {
			t.Fatal(err)
		}
		floor, err := byName["paseto"].Login(v)
		if err != nil {
			t.Fatal(err)
		}
		ts, err := byName["tokensession-nocache"].Login(v)
		if err != nil {
			t.Fatal(err)
		}
		if d := len(floor) - len(ts); d < -4 || d > 4 || !strings.HasPrefix(floor, "__Host-session=v4.local.") {
			t.Errorf("%s: hand-rolled cookie %d bytes (%.24s…), tokensession's %d (%.24s…)", sz.Name, len(floor), floor, len(ts), ts)
		}
	}
}

package edge

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tokensession/tokensession"
)

// The figures in examples/edge/README.md come from these benchmarks (see
// doc.go for the commands; workerd must be installed in examples/edge).
// Every request crosses loopback HTTP into workerd and the Go bridge; the
// ratios compare the shop with and without the session middleware in the
// same isolate, measured alternately in one run.

// median of ds, which it sorts.
func median(ds []time.Duration) time.Duration {
	slices.Sort(ds)
	return ds[len(ds)/2]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// timed sends one request and returns how long the response took, body
// read, after checking its status.
func timed(b *testing.B, base, method, path, cookie string, form url.Values, want int) time.Duration {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, base+path, body)
	if err != nil {
		b.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if cookie != "" {
		req.Header.Set("Cookie", "session="+cookie)
	}
	t0 := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	d := time.Since(t0)
	if err != nil || resp.StatusCode != want {
		b.Fatalf("%s %s: %v %d, want %d", method, path, err, resp.StatusCode, want)
	}
	return d
}

func benchKeys(b *testing.B) (string, *tokensession.Manager[Session]) {
	k := tokensession.GenerateKey().UnsafeExportPASERK()
	ring, err := tokensession.ParseKeyringEnv(k)
	if err != nil {
		b.Fatal(err)
	}
	return "SESSION_KEYS=" + k, opener(b, ring)
}

func seal(b *testing.B, m *tokensession.Manager[Session]) string {
	tok, _, err := m.Seal(Session{User: "alice", Cart: []string{"apple", "pear", "plum"}})
	if err != nil {
		b.Fatal(err)
	}
	return tok
}

// BenchmarkEdgeRequest measures, alternately in each iteration, the shop's
// page and cart handlers under workerd with the session middleware and
// without it (the edgebench build's /_baseline/ routes, same page and form
// work for a fixed session), and reports medians and their ratios:
//
//	read        GET / with a session this isolate has opened before (the
//	            open cache answers)
//	read-new    GET / with a session sealed elsewhere, never seen here
//	            (decrypted)
//	modify      POST /cart: open, add an item, seal, Set-Cookie
func BenchmarkEdgeRequest(b *testing.B) {
	needWorkerd(b)
	keys, m := benchKeys(b)
	edge := startEdge(b, "edge", keys, "GOFLAGS=-tags=edgebench")
	known := seal(b, m)
	form := url.Values{"item": {"fig"}}
	kinds := []string{"baseline read", "read", "read-new", "baseline modify", "modify"}
	run := func(kind string) time.Duration {
		switch kind {
		case "baseline read":
			return timed(b, edge.base, "GET", "/_baseline/", known, nil, 200)
		case "read":
			return timed(b, edge.base, "GET", "/", known, nil, 200)
		case "read-new":
			return timed(b, edge.base, "GET", "/", seal(b, m), nil, 200)
		case "baseline modify":
			return timed(b, edge.base, "POST", "/_baseline/cart", known, form, 303)
		default:
			return timed(b, edge.base, "POST", "/cart", known, form, 303)
		}
	}
	for range 20 { // warm the isolate and the connection
		for _, k := range kinds {
			run(k)
		}
	}
	times := map[string][]time.Duration{}
	b.ResetTimer()
	for i := range b.N {
		for j := range kinds { // rotate the order, so no kind always goes first
			k := kinds[(i+j)%len(kinds)]
			times[k] = append(times[k], run(k))
		}
	}
	b.StopTimer()
	med := map[string]time.Duration{}
	for _, k := range kinds {
		med[k] = median(times[k])
		b.ReportMetric(us(med[k]), "µs/"+strings.ReplaceAll(k, " ", "-"))
	}
	b.ReportMetric(float64(med["read"])/float64(med["baseline read"]), "read/baseline")
	b.ReportMetric(float64(med["read-new"])/float64(med["baseline read"]), "read-new/baseline")
	b.ReportMetric(float64(med["modify"])/float64(med["baseline modify"]), "modify/baseline")
}

// BenchmarkEdgeColdStart starts a fresh workerd for each iteration (the
// wasm built once beforehand) and measures the first request, which
// instantiates the Go program in a new isolate, parses the keys and
// serves a page with a session; then a second request with another
// session, for comparison. Readiness is a TCP connect, which starts no
// isolate.
func BenchmarkEdgeColdStart(b *testing.B) {
	needWorkerd(b)
	keys, m := benchKeys(b)
	dir := filepath.Join(repoRoot(b), "examples", "edge")
	build := exec.Command("bash", "serve.sh", "build")
	build.Dir = dir
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("serve.sh build: %v\n%s", err, out)
	}
	var listen, first, second []time.Duration
	b.ResetTimer()
	for range b.N {
		addr := freeAddr(b)
		t0 := time.Now()
		p := launch(b, "edge", addr, []string{keys, "INSECURE_COOKIES=1"},
			filepath.Join(dir, "node_modules", ".bin", "workerd"), "serve", filepath.Join(dir, "workerd.capnp"), "--socket-addr", "http="+addr)
		if err := dialUntil(addr, p, time.Minute); err != nil {
			b.Fatalf("workerd: %v\n%s", err, p.logs())
		}
		listen = append(listen, time.Since(t0))
		first = append(first, timed(b, p.base, "GET", "/", seal(b, m), nil, 200))
		second = append(second, timed(b, p.base, "GET", "/", seal(b, m), nil, 200))
		p.stop()
	}
	b.StopTimer()
	b.ReportMetric(ms(median(listen)), "ms/listening")
	b.ReportMetric(ms(median(first)), "ms/first-request")
	b.ReportMetric(ms(median(second)), "ms/second-request")
}

// dialUntil polls addr with TCP connects until one succeeds, the process
// exits, or bound passes.
func dialUntil(addr string, p *process, bound time.Duration) error {
	deadline := time.Now().Add(bound)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("exited: %v", p.cmd.ProcessState)
		case <-tick.C:
			if time.Now().After(deadline) {
				return fmt.Errorf("not listening after %v: %v", bound, err)
			}
		}
	}
}

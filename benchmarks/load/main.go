// Command load is a bounded loopback load comparison of the three session
// implementations of package benchmarks (gorilla/sessions, hand-rolled
// go-paseto, tokensession).
//
// For each implementation it starts a server as a subprocess on
// 127.0.0.1 (its own process, so that neither the client's nor another
// server's garbage collector runs in it), serving GET / that reads a
// session of about -size bytes of JSON. It then sends requests carrying
// that session's cookie from -c concurrent keep-alive connections for -d,
// after a -warmup, and reports requests per second, latency percentiles,
// and the server process's CPU time per request. With -rounds > 1 the
// servers take turns, in rotating order, and the median round (median
// server CPU) is reported, which damps a noisy machine.
//
// Client and servers share the machine, and the HTTP client costs more
// CPU than any of the servers, so req/s differences are diluted; server
// CPU/req is the number that isolates the session implementation (plus
// net/http's own server cost, the same for all three).
//
// Each client sends one cookie, so tokensession's open cache, which takes
// a token on its second open, answers every request after the first two,
// all in the warm-up: its figures are the cache hit's.
//
//	go run ./load                    # 5 s per server, 32 connections
//	go run ./load -d 10s -rounds 3
//
// It only ever connects to 127.0.0.1, and stops by itself: each phase has
// a deadline, a server exits when its stdin closes (when this process
// ends), and a watchdog kills the whole run if it overstays.
package main

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/tokensession/tokensession/benchmarks"
)

func main() {
	var (
		dur     = flag.Duration("d", 5*time.Second, "measured duration per server and round")
		warmup  = flag.Duration("warmup", time.Second, "unmeasured warm-up per server and round")
		conc    = flag.Int("c", 32, "concurrent connections")
		size    = flag.Int("size", 200, "session value size in bytes of JSON")
		rounds  = flag.Int("rounds", 1, "rounds; servers take turns and the median round is reported")
		serve   = flag.String("serve", "", "internal: run as the server for this implementation")
		maxLife = flag.Duration("maxlife", 10*time.Minute, "internal: a server exits after this long")
	)
	flag.Parse()
	if *serve != "" {
		if err := runServer(*serve, *size, *maxLife); err != nil {
			fmt.Fprintln(os.Stderr, "load: server:", err)
			os.Exit(1)
		}
		return
	}
	impls, err := benchmarks.Impls()
	if err != nil {
		fatal(err)
	}
	// Implementations that need a new cookie on every request (the cache
	// miss) are left to the benchmarks: here each client sends one cookie.
	var names []string
	for _, im := range impls {
		if !im.Unseen {
			names = append(names, im.Name)
		}
	}

	budget := time.Duration(*rounds)*time.Duration(len(names))*(*dur+*warmup+5*time.Second) + 30*time.Second
	time.AfterFunc(budget, func() {
		fmt.Fprintf(os.Stderr, "load: watchdog: run exceeded %v, exiting\n", budget)
		os.Exit(2)
	})

	fmt.Printf("loopback load: GET / reading a %d-byte session, %d connections, %v per server (after %v warm-up), %d round(s), GOMAXPROCS=%s, client and servers share this machine\n\n",
		*size, *conc, *dur, *warmup, *rounds, orDefault(os.Getenv("GOMAXPROCS"), "default"))

	results := make(map[string][]result)
	for round := 0; round < *rounds; round++ {
		for k := range names {
			name := names[(k+round)%len(names)]
			res, err := measure(name, *size, *conc, *warmup, *dur)
			if err != nil {
				fatal(fmt.Errorf("%s: %w", name, err))
			}
			fmt.Fprintf(os.Stderr, "round %d %-21s %8.0f req/s  p50 %-9v p99 %-9v server CPU/req %-9v errors %d\n",
				round+1, name, res.rps, res.p50.Round(time.Microsecond), res.p99.Round(time.Microsecond), res.serverCPU.Round(100*time.Nanosecond), res.errors)
			results[name] = append(results[name], res)
		}
	}

	med := make(map[string]result)
	for _, name := range names {
		rs := results[name]
		slices.SortFunc(rs, func(a, b result) int { return cmp.Compare(a.rps, b.rps) })
		med[name] = rs[len(rs)/2]
	}
	base := med[names[0]]
	var baseCPU time.Duration
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "impl\treq/s\tvs "+names[0]+"\tp50\tp99\tp99 vs "+names[0]+"\tserver CPU/req\tvs "+names[0]+"\terrors\t")
	for _, name := range names {
		r := med[name]
		cpus := make([]time.Duration, len(results[name]))
		for i, x := range results[name] {
			cpus[i] = x.serverCPU
		}
		slices.Sort(cpus)
		cpu := cpus[len(cpus)/2]
		if name == names[0] {
			baseCPU = cpu
		}
		fmt.Fprintf(tw, "%s\t%.0f\t%.2fx\t%v\t%v\t%.2fx\t%v\t%.2fx\t%d\t\n", name, r.rps, r.rps/base.rps,
			r.p50.Round(time.Microsecond), r.p99.Round(time.Microsecond), float64(r.p99)/float64(base.p99),
			cpu.Round(100*time.Nanosecond), float64(cpu)/float64(baseCPU), r.errors)
	}
	tw.Flush()
}

type result struct {
	rps      float64
	p50, p99 time.Duration
	errors   int
	// serverCPU is the server process's CPU time (user and system) per
	// request served, warm-up included. Unlike req/s it does not depend
	// on how much CPU the client and other processes took.
	serverCPU time.Duration
}

// measure starts the named server, loads it, and stops it.
func measure(name string, size, conc int, warmup, dur time.Duration) (result, error) {
	exe, err := os.Executable()
	if err != nil {
		return result{}, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), warmup+dur+30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, "-serve", name, "-size", fmt.Sprint(size))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return result{}, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return result{}, err
	}
	if err := cmd.Start(); err != nil {
		return result{}, err
	}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			stdin.Close() // the server exits when its stdin closes
			cmd.Wait()
		}
	}
	defer stop()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		return result{}, fmt.Errorf("server did not start: %w", err)
	}
	addr, cookie, ok := strings.Cut(strings.TrimSpace(line), " ")
	if !ok {
		return result{}, errors.New("server sent a bad address line")
	}

	tr := &http.Transport{
		MaxIdleConns:        conc,
		MaxIdleConnsPerHost: conc,
		MaxConnsPerHost:     conc,
		DisableCompression:  true,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	url := "http://" + addr + "/"

	_, warm, _, _ := run(ctx, client, url, cookie, conc, warmup, false)
	lat, n, errs, elapsed := run(ctx, client, url, cookie, conc, dur, true)
	if len(lat) == 0 {
		return result{}, fmt.Errorf("no successful requests (%d errors)", errs)
	}
	tr.CloseIdleConnections()
	stop()
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	res := result{
		rps:    float64(len(lat)) / elapsed.Seconds(),
		p50:    pct(0.50),
		p99:    pct(0.99),
		errors: errs,
	}
	if ps := cmd.ProcessState; ps != nil {
		res.serverCPU = (ps.UserTime() + ps.SystemTime()) / time.Duration(warm+n+errs)
	}
	return res, nil
}

// run sends requests from conc goroutines for d and returns the latencies
// of the successful ones (if record), their number, the number of
// failures, and the time taken.
func run(ctx context.Context, client *http.Client, url, cookie string, conc int, d time.Duration, record bool) ([]time.Duration, int, int, time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var (
		mu   sync.Mutex
		all  []time.Duration
		ok   int
		errs int
		wg   sync.WaitGroup
	)
	start := time.Now()
	for range conc {
		wg.Go(func() {
			var lat []time.Duration
			if record {
				lat = make([]time.Duration, 0, 1<<14)
			}
			nok, nerr := 0, 0
			for ctx.Err() == nil {
				req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
				if err != nil {
					panic(err)
				}
				req.Header.Set("Cookie", cookie)
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					if ctx.Err() == nil {
						nerr++
					}
					continue
				}
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != http.StatusOK {
					if ctx.Err() == nil {
						nerr++
					}
					continue
				}
				nok++
				if record {
					lat = append(lat, time.Since(t0))
				}
			}
			mu.Lock()
			all = append(all, lat...)
			ok += nok
			errs += nerr
			mu.Unlock()
		})
	}
	wg.Wait()
	return all, ok, errs, time.Since(start)
}

// runServer serves the named implementation's read handler on a loopback
// port, prints "addr cookie" on stdout, and exits when stdin closes or
// after maxLife.
func runServer(name string, size int, maxLife time.Duration) error {
	impls, err := benchmarks.Impls()
	if err != nil {
		return err
	}
	i := slices.IndexFunc(impls, func(im benchmarks.Impl) bool { return im.Name == name })
	if i < 0 {
		return fmt.Errorf("unknown implementation %q", name)
	}
	im := impls[i]
	v, _, err := benchmarks.MakeValue(size)
	if err != nil {
		return err
	}
	cookie, err := im.Login(v)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: im.Read, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		io.Copy(io.Discard, os.Stdin)
		srv.Close()
	}()
	time.AfterFunc(maxLife, func() { srv.Close() })
	fmt.Printf("%s %s\n", ln.Addr(), cookie)
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "load:", err)
	os.Exit(1)
}

// Command cachemem measures the memory tokensession's cache of opened
// tokens adds in its steady state, when it sees many more sessions than it
// holds: the case of a fleet instance whose cache mostly misses.
//
// For each value size it runs a child process with the cache off and one
// with it on (each its own process, so that neither inherits the other's
// heap). A child opens -requests tokens of -sessions distinct sessions,
// taken in turn, then collects garbage and reports the Go heap in use
// (runtime/metrics /memory/classes/heap/objects:bytes) and the process's
// resident set (VmRSS). The difference between the two children is what
// the cache costs.
//
//	go run ./cachemem
//	go run ./cachemem -sizes 3072 -sessions 100000 -requests 200000
//
// Each request's token is sealed just before it is opened, by another
// manager with the same key and no cache, opened -opens times, and then
// dropped: holding 100k tokens of 3 KiB sessions would take more memory
// than the cache, and a session's token would miss anyway, since the cache
// holds far fewer entries than there are sessions. The cache takes a token
// on its second open, so with -opens 2 (the default) every token goes in
// and the cache stays full at its bound, overwriting, the most it holds;
// with -opens 1 nothing goes in and the cache adds only its table of
// first sightings.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/tokensession/tokensession"
	"github.com/tokensession/tokensession/benchmarks"
)

func main() {
	var (
		sizes    = flag.String("sizes", "200,1024,3072", "comma-separated session value sizes, in bytes of JSON")
		sessions = flag.Int("sessions", 100000, "distinct sessions, taken in turn")
		requests = flag.Int("requests", 200000, "tokens opened")
		cacheMiB = flag.Int("cache", 4, "the cache's bound in MiB (Config.OpenCacheBytes)")
		opens    = flag.Int("opens", 2, "times each token is opened (the cache takes a token on its second)")
		child    = flag.String("child", "", "internal: measure one configuration, \"on\" or \"off\", at -sizes")
	)
	flag.Parse()
	if *child != "" {
		size, err := strconv.Atoi(*sizes)
		if err != nil {
			fatal(err)
		}
		heap, rss, err := measure(*child == "on", size, *sessions, *requests, *opens, *cacheMiB<<20)
		if err != nil {
			fatal(err)
		}
		fmt.Println(heap, rss)
		return
	}

	fmt.Printf("%d tokens over %d sessions, each opened %d times, cache bound %d MiB, %s\n", *requests, *sessions, *opens, *cacheMiB, runtime.Version())
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "value\theap off\theap on\theap added\tRSS off\tRSS on\tRSS added\t")
	for _, s := range strings.Split(*sizes, ",") {
		var heap, rss [2]int64
		for i, mode := range []string{"off", "on"} {
			out, err := exec.Command(os.Args[0], "-child", mode, "-sizes", s,
				"-sessions", strconv.Itoa(*sessions), "-requests", strconv.Itoa(*requests),
				"-cache", strconv.Itoa(*cacheMiB), "-opens", strconv.Itoa(*opens)).Output()
			if err != nil {
				fatal(fmt.Errorf("child %s %s: %w", mode, s, err))
			}
			if _, err := fmt.Sscan(string(out), &heap[i], &rss[i]); err != nil {
				fatal(fmt.Errorf("child %s %s: %q: %w", mode, s, out, err))
			}
		}
		fmt.Fprintf(tw, "%s B\t%s\t%s\t%s\t%s\t%s\t%s\t\n", s,
			mib(heap[0]), mib(heap[1]), mib(heap[1]-heap[0]), mib(rss[0]), mib(rss[1]), mib(rss[1]-rss[0]))
	}
	tw.Flush()
}

// measure opens requests tokens of sessions distinct sessions of about
// size bytes, each token opens times, and returns the heap in use and the
// resident set afterwards.
func measure(cache bool, size, sessions, requests, opens, cacheBytes int) (heap, rss int64, err error) {
	ring, err := tokensession.NewKeyring(tokensession.KeyringEntry{Key: tokensession.GenerateKey()})
	if err != nil {
		return 0, 0, err
	}
	cfg := tokensession.Config[benchmarks.Value]{Keyring: ring, MaxChunks: 4, OpenCacheBytes: -1}
	sealer, err := tokensession.New(cfg)
	if err != nil {
		return 0, 0, err
	}
	if cache {
		cfg.OpenCacheBytes = cacheBytes
	}
	m, err := tokensession.New(cfg)
	if err != nil {
		return 0, 0, err
	}
	v, _, err := benchmarks.MakeValue(size)
	if err != nil {
		return 0, 0, err
	}
	for i := range requests {
		v.UserID = int64(i % sessions) // session i's value
		tok, _, err := sealer.Seal(v)
		if err != nil {
			return 0, 0, err
		}
		for range opens {
			if _, _, err := m.Open(tok); err != nil {
				return 0, 0, err
			}
		}
	}
	runtime.GC()
	debug.FreeOSMemory()
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	runtime.KeepAlive(m)
	return int64(s[0].Value.Uint64()), vmRSS(), nil
}

// vmRSS returns the process's resident set in bytes, or 0 where
// /proc/self/status is not available.
func vmRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if kb, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(kb), " kB"), 10, 64)
			return n << 10
		}
	}
	return 0
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "cachemem:", err)
	os.Exit(1)
}

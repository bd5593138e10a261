package fleet

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tokensession/tokensession"
)

// repoRoot is the root module, one directory up from this nested module.
func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "examples", "basic", "main.go")); err != nil {
		t.Fatalf("not the tokensession repository: %v", err)
	}
	return dir
}

func goTool(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	p := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(p); err != nil {
		t.Fatal("no go command in PATH or GOROOT")
	}
	return p
}

// build compiles the root module's package pkg (like "./examples/basic")
// into dir and returns the binary's path.
func build(t testing.TB, dir, pkg string, extra ...string) string {
	t.Helper()
	bin := filepath.Join(dir, filepath.Base(pkg))
	args := append([]string{"build", "-o", bin}, extra...)
	args = append(args, pkg)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goTool(t), args...)
	cmd.Dir = repoRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return bin
}

// cli runs the tokensession command and returns its stdout.
func cli(t testing.TB, bin string, args ...string) string {
	t.Helper()
	return cliAt(t, bin, time.Time{}, args...)
}

// cliAt runs the tokensession command with its clock set to now (through
// TOKENSESSION_NOW; the zero time: the system clock) and returns its
// stdout. The drills use it to stand for a command run later, instead of
// waiting.
func cliAt(t testing.TB, bin string, now time.Time, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "TOKENSESSION_NOW=") })
	if !now.IsZero() {
		cmd.Env = append(cmd.Env, "TOKENSESSION_NOW="+now.UTC().Format(time.RFC3339))
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("tokensession %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// keyLine is one line of 'tokensession keyring list'.
type keyLine struct {
	ID, State string
	NotBefore time.Time // zero when "-"
	NotAfter  time.Time
}

func listKeys(t testing.TB, bin, file string) []keyLine {
	t.Helper()
	var keys []keyLine
	for _, line := range strings.Split(strings.TrimSpace(cli(t, bin, "keyring", "list", "-file", file)), "\n") {
		// Position, ID, state, not_before=, not_after=, then a
		// description for people.
		f := strings.Fields(line)
		if len(f) < 5 {
			t.Fatalf("keyring list: unexpected line %q", line)
		}
		k := keyLine{ID: f[1], State: f[2]}
		for _, kv := range f[3:5] {
			name, v, _ := strings.Cut(kv, "=")
			if v == "-" {
				continue
			}
			tm, err := time.Parse(time.RFC3339, v)
			if err != nil {
				t.Fatalf("keyring list: %q: %v", line, err)
			}
			switch name {
			case "not_before":
				k.NotBefore = tm
			case "not_after":
				k.NotAfter = tm
			}
		}
		keys = append(keys, k)
	}
	return keys
}

// instance is one running examples/basic process.
type instance struct {
	name string
	env  []string
	cmd  *exec.Cmd
	pid  int
	base *url.URL // http://127.0.0.1:PORT

	exited  chan struct{}
	waitErr error

	inflight atomic.Int64 // client requests in progress
	// lacksKey is set while another instance seals with a key this one
	// has not loaded: it is set before that starts and cleared only once
	// this instance has logged the reload that brings the key, so a
	// request that starts while it is clear meets an instance with the key.
	lacksKey atomic.Bool
	retired  atomic.Bool // no new requests may start
	requests atomic.Int64

	mu      sync.Mutex
	lines   []string // the last maxLogLines lines of stderr
	nLines  int
	reloads []string // "keyring reloaded" lines, in order
	panics  []string
	races   int

	gcs        []gcLine // GODEBUG=gctrace=1 lines, when enabled
	goroutines int      // "goroutine N … [state]:" headers: a SIGQUIT dump
	gTops      []string // "[state] top function" of each goroutine dumped
	gHeader    string   // the last header, until its first frame is read
}

// gcLine is one GODEBUG=gctrace=1 line.
type gcLine struct {
	at                  time.Time // when the test read it
	n                   int
	heapStart, heapLive int // MB: heap at GC start, live heap after
	goal, stacks        int // MB
}

// gcRE matches the parts of a gctrace line the soak uses:
// "gc 12 @1.2s 3%: … ms cpu, 4->5->1 MB, 5 MB goal, 0 MB stacks, …".
var (
	gcRE        = regexp.MustCompile(`^gc (\d+) @.* (\d+)->\d+->(\d+) MB, (\d+) MB goal, (\d+) MB stacks`)
	waitTimeRE  = regexp.MustCompile(`, \d+ minutes`)
	goroutineRE = regexp.MustCompile(`^goroutine [1-9]\d* (?:\S+=\S+ )*\[.*\]:$`) // not goroutine 0 (g0)
)

const maxLogLines = 2000

// startInstance starts bin with env added to a minimal environment and
// waits (bounded) for its "listening on" line.
func startInstance(t testing.TB, name, bin string, env ...string) *instance {
	t.Helper()
	cmd := exec.Command(bin)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, env...)
	cmd.Stdout = io.Discard
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	in := &instance{name: name, env: env, cmd: cmd, pid: cmd.Process.Pid, exited: make(chan struct{})}
	listening := make(chan string, 1)
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		for sc.Scan() {
			in.logLine(sc.Text(), listening)
			progress.fire()
		}
		io.Copy(io.Discard, stderr)
	}()
	go func() {
		<-scanned // Wait closes the pipe: read it all first
		in.waitErr = cmd.Wait()
		close(in.exited)
		progress.fire()
	}()
	t.Cleanup(func() { in.stop(t, syscall.SIGKILL) })
	select {
	case u := <-listening:
		in.base, err = url.Parse(strings.TrimSuffix(u, "/"))
		if err != nil {
			t.Fatalf("%s: bad listening URL %q", name, u)
		}
		if h := in.base.Hostname(); h != "127.0.0.1" {
			t.Fatalf("%s: listening on %s, want loopback 127.0.0.1", name, h)
		}
	case <-in.exited:
		t.Fatalf("%s exited before listening: %v\n%s", name, in.waitErr, in.log())
	case <-time.After(15 * time.Second):
		t.Fatalf("%s: no 'listening on' line within 15s\n%s", name, in.log())
	}
	return in
}

var listenRE = regexp.MustCompile(`listening on (http://\S+)`)

func (in *instance) logLine(line string, listening chan string) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.nLines++
	if len(in.lines) >= maxLogLines {
		in.lines = in.lines[1:]
	}
	in.lines = append(in.lines, line)
	if m := gcRE.FindStringSubmatch(line); m != nil {
		a := func(i int) int { n, _ := strconv.Atoi(m[i]); return n }
		in.gcs = append(in.gcs, gcLine{time.Now(), a(1), a(2), a(3), a(4), a(5)})
		return
	}
	if in.gHeader != "" {
		// The first frame outside the runtime names the goroutine.
		fn := line
		if i := strings.LastIndex(fn, "("); i > 0 {
			fn = fn[:i]
		}
		fn = strings.TrimPrefix(fn, "created by ")
		if i := strings.Index(fn, " in goroutine "); i > 0 {
			fn = fn[:i]
		}
		switch {
		case line == "" || goroutineRE.MatchString(line):
			in.gTops = append(in.gTops, in.gHeader+" runtime")
			in.gHeader = ""
		case strings.HasPrefix(line, "\t"), strings.HasPrefix(fn, "runtime."), strings.HasPrefix(fn, "internal/"):
		default:
			in.gTops = append(in.gTops, in.gHeader+" "+fn)
			in.gHeader = ""
		}
	}
	if goroutineRE.MatchString(line) {
		in.goroutines++
		in.gHeader = waitTimeRE.ReplaceAllString(line[strings.LastIndex(line, "["):strings.LastIndex(line, "]")+1], "")
	}
	switch {
	case strings.Contains(line, "keyring reloaded"), strings.Contains(line, "keyring reload failed"):
		in.reloads = append(in.reloads, line)
	case strings.Contains(line, "panic"):
		in.panics = append(in.panics, line)
	case strings.Contains(line, "WARNING: DATA RACE"):
		in.races++
	}
	if m := listenRE.FindStringSubmatch(line); m != nil {
		select {
		case listening <- m[1]:
		default:
		}
	}
}

func (in *instance) log() string {
	in.mu.Lock()
	defer in.mu.Unlock()
	return strings.Join(in.lines, "\n")
}

func (in *instance) reloadCount() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return len(in.reloads)
}

// waitReload waits (bounded) until the instance logs a keyring reload
// after the first n ones whose text satisfies ok, and returns it.
func (in *instance) waitReload(t testing.TB, n int, ok func(string) bool) string {
	t.Helper()
	var found string
	await(t, 5*time.Second, in.name+": a matching keyring reload", func() bool {
		in.mu.Lock()
		defer in.mu.Unlock()
		for _, l := range in.reloads[min(n, len(in.reloads)):] {
			if ok(l) {
				found = l
				return true
			}
		}
		return false
	}, func() string { return fmt.Sprintf("reloads: %q", in.reloadLines()) })
	return found
}

func (in *instance) reloadLines() []string {
	in.mu.Lock()
	defer in.mu.Unlock()
	return slices.Clone(in.reloads)
}

// progress is broadcast whenever something a test may be waiting for can
// have happened: an instance logged a line or exited, an HTTP exchange or
// a user action finished. Waiters re-check their condition on each event
// instead of polling on a timer.
var progress events

// events is a broadcast: every channel handed out by next is closed by the
// following fire.
type events struct {
	mu sync.Mutex
	ch chan struct{}
}

// next returns a channel closed by the next fire.
func (e *events) next() <-chan struct{} {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ch == nil {
		e.ch = make(chan struct{})
	}
	return e.ch
}

func (e *events) fire() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ch != nil {
		close(e.ch)
		e.ch = nil
	}
}

// await returns once cond holds, re-checking it on every progress event,
// and fails the test if bound passes first. detail, if not nil, adds to
// the failure message.
func await(t testing.TB, bound time.Duration, what string, cond func() bool, detail func() string) {
	t.Helper()
	timeout := time.NewTimer(bound)
	defer timeout.Stop()
	for {
		ev := progress.next() // before cond, so no event is missed
		if cond() {
			return
		}
		select {
		case <-ev:
		case <-timeout.C:
			msg := fmt.Sprintf("timed out after %v waiting for %s", bound, what)
			if detail != nil {
				msg += "; " + detail()
			}
			t.Fatal(msg)
		}
	}
}

// stop signals the process and waits (bounded) for it to exit; after 5s
// it is killed.
func (in *instance) stop(t testing.TB, sig syscall.Signal) {
	select {
	case <-in.exited:
		return
	default:
	}
	_ = in.cmd.Process.Signal(sig)
	select {
	case <-in.exited:
	case <-time.After(5 * time.Second):
		t.Errorf("%s: still running 5s after %v; killing it", in.name, sig)
		_ = in.cmd.Process.Kill()
		<-in.exited
	}
}

func (in *instance) url(path string) string { return in.base.String() + path }

// procStatus reads a "Name:  value kB" field of /proc/PID/status, in bytes
// for kB fields, as a plain number otherwise.
// waitNoConns waits (bounded) until the instance has closed every
// connection, its listener being the only socket it still holds. /proc has
// no event for that, so the count is read every 10 ms.
func (in *instance) waitNoConns(t testing.TB, bound time.Duration) {
	t.Helper()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	timeout := time.NewTimer(bound)
	defer timeout.Stop()
	for {
		n, err := socketCount(in.pid)
		if err != nil {
			t.Fatalf("%s: counting its sockets: %v", in.name, err)
		}
		if n <= 1 {
			return
		}
		select {
		case <-tick.C:
		case <-timeout.C:
			t.Fatalf("%s: %d sockets still open %v after its clients closed their connections", in.name, n, bound)
		}
	}
}

// socketCount returns how many sockets process pid has open.
func socketCount(pid int) (int, error) {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	fds, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, fd := range fds {
		// An fd closed since ReadDir has no link: not a socket any more.
		if l, err := os.Readlink(filepath.Join(dir, fd.Name())); err == nil && strings.HasPrefix(l, "socket:") {
			n++
		}
	}
	return n, nil
}

func procStatus(pid int, field string) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		name, rest, ok := strings.Cut(line, ":")
		if !ok || name != field {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			break
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, err
		}
		if len(f) > 1 && f[1] == "kB" {
			n *= 1024
		}
		return n, nil
	}
	return 0, fmt.Errorf("/proc/%d/status: no %s", pid, field)
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// --- tokens and cookies

// cookieName is the example's session cookie over plain http on loopback.
const cookieName = "session"

// sessionToken reassembles the session token from name/value pairs: the
// plain cookie, or the chunks session.0 … session.n-1 concatenated in
// order. Deleted cookies (empty values) are skipped.
func sessionToken(cookies []*http.Cookie) string {
	chunks := map[int]string{}
	for _, c := range cookies {
		if c.Value == "" || c.MaxAge < 0 {
			continue
		}
		if c.Name == cookieName {
			return c.Value
		}
		if s, ok := strings.CutPrefix(c.Name, cookieName+"."); ok {
			if i, err := strconv.Atoi(s); err == nil && i >= 0 && i < 64 {
				chunks[i] = c.Value
			}
		}
	}
	var b strings.Builder
	for i := 0; ; i++ {
		c, ok := chunks[i]
		if !ok {
			break
		}
		b.WriteString(c)
	}
	return b.String()
}

// tokenKID returns the k4.lid key ID from a token's footer: the last
// dot-separated segment, base64url of {"kid":"k4.lid.…"}.
func tokenKID(tok string) (string, error) {
	if !strings.HasPrefix(tok, "v4.local.") {
		return "", errors.New("not a v4.local token")
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 4 {
		return "", fmt.Errorf("%d dot-separated parts, want 4", len(parts))
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[3])
	if err != nil {
		return "", fmt.Errorf("footer: %v", err)
	}
	var f struct {
		KID string `json:"kid"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return "", fmt.Errorf("footer %q: %v", raw, err)
	}
	if !strings.HasPrefix(f.KID, "k4.lid.") {
		return "", fmt.Errorf("footer kid %q", f.KID)
	}
	return f.KID, nil
}

// --- pages

var (
	whoamiRE = regexp.MustCompile(`<p id="whoami">Logged in as (.*?)</p>`)
	anonRE   = regexp.MustCompile(`<p id="anonymous">You are not logged in</p>`)
	itemRE   = regexp.MustCompile(`<li id="item-(\d+)">(.*?)</li>`)
	countRE  = regexp.MustCompile(`<p id="count">(\d+) item\(s\)</p>`)
	fullRE   = regexp.MustCompile(`<p id="full"`)
)

// unavailableRE is the message of the page a 503 shows when the session
// was sealed by a key the instance does not have.
var unavailableRE = regexp.MustCompile(`<p id="unavailable" class="note">Your session is temporarily unavailable; try again in a few seconds.</p>`)

// isUnavailablePage reports whether body is the "unavailable" page: its
// message once, and no form (a login there would replace the session).
func isUnavailablePage(body string) bool {
	return len(unavailableRE.FindAllString(body, -1)) == 1 && !strings.Contains(body, "<form") &&
		!whoamiRE.MatchString(body) && !anonRE.MatchString(body)
}

// page is what the shop page shows.
type page struct {
	LoggedIn bool
	User     string
	Cart     []string
	Full     bool
}

// parsePage reads the example's home page. It checks the page's own
// consistency: one of the two login states, items numbered 0…n-1, and the
// count line agreeing with the list.
func parsePage(body string) (page, error) {
	var p page
	who := whoamiRE.FindAllStringSubmatch(body, -1)
	anon := anonRE.FindAllString(body, -1)
	switch {
	case len(who) == 1 && len(anon) == 0:
		p.LoggedIn, p.User = true, html.UnescapeString(who[0][1])
	case len(who) == 0 && len(anon) == 1:
	default:
		return p, fmt.Errorf("page shows %d whoami and %d anonymous markers", len(who), len(anon))
	}
	for i, m := range itemRE.FindAllStringSubmatch(body, -1) {
		if m[1] != strconv.Itoa(i) {
			return p, fmt.Errorf("cart item %d has id item-%s", i, m[1])
		}
		p.Cart = append(p.Cart, html.UnescapeString(m[2]))
	}
	c := countRE.FindStringSubmatch(body)
	if c == nil {
		return p, errors.New("page has no item count")
	}
	if c[1] != strconv.Itoa(len(p.Cart)) {
		return p, fmt.Errorf("page counts %s items but lists %d", c[1], len(p.Cart))
	}
	p.Full = fullRE.MatchString(body)
	return p, nil
}

// errorList keeps a count of errors and the first few messages.
type errorList struct {
	mu    sync.Mutex
	n     int
	first []string
	kinds map[string]int
}

func (e *errorList) add(kind, format string, args ...any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.n++
	if e.kinds == nil {
		e.kinds = map[string]int{}
	}
	e.kinds[kind]++
	if len(e.first) < 20 {
		e.first = append(e.first, kind+": "+fmt.Sprintf(format, args...))
	}
}

func (e *errorList) count() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.n
}

func (e *errorList) String() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var kinds []string
	for k, n := range e.kinds {
		kinds = append(kinds, fmt.Sprintf("%s=%d", k, n))
	}
	sort.Strings(kinds)
	return fmt.Sprintf("%d errors (%s)\n  %s", e.n, strings.Join(kinds, " "), strings.Join(e.first, "\n  "))
}

// shopSession is examples/basic's session value.
type shopSession struct {
	User string   `json:"user"`
	Cart []string `json:"cart"`
}

// keyfileOpener returns a manager that opens examples/basic's tokens with
// the keyring file at keyfile: the drills' own check, through the library
// alone, of what the instances sealed.
func keyfileOpener(t *testing.T, keyfile string) *tokensession.Manager[shopSession] {
	t.Helper()
	data, err := os.ReadFile(keyfile)
	if err != nil {
		t.Fatal(err)
	}
	ring, err := tokensession.ParseKeyringJSON(data)
	if err != nil {
		t.Fatal(err)
	}
	m, err := tokensession.New(tokensession.Config[shopSession]{Keyring: ring, UnsafeAllowHTTP: true, MaxChunks: 4, Leeway: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

package edge

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tokensession/tokensession"
)

// Session is examples/basic's (and examples/edge's) session type.
type Session struct {
	User string   `json:"user"`
	Cart []string `json:"cart"`
}

// repoRoot is the root module, one directory up.
func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "examples", "edge", "serve.sh")); err != nil {
		t.Fatalf("not the tokensession repository: %v", err)
	}
	return dir
}

// needWorkerd skips, or under CI=true fails, when workerd is not
// installed in examples/edge (npm ci there, as .ci/edge.sh does).
func needWorkerd(t testing.TB) {
	t.Helper()
	bin := filepath.Join(repoRoot(t), "examples", "edge", "node_modules", ".bin", "workerd")
	_, err := os.Stat(bin)
	if _, nerr := exec.LookPath("node"); nerr != nil && err == nil {
		err = nerr
	}
	if err == nil {
		return
	}
	msg := fmt.Sprintf("workerd is not installed (run npm ci in examples/edge, or bash .ci/edge.sh): %v", err)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// build compiles the root module's package pkg into dir, with the given
// go build flags.
func build(t testing.TB, dir, pkg string, flags ...string) string {
	t.Helper()
	bin := filepath.Join(dir, filepath.Base(pkg))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	args := append(append([]string{"build"}, flags...), "-o", bin, pkg)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = repoRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, out)
	}
	return bin
}

// process is a server the test started: examples/basic, examples/api or
// workerd (through serve.sh).
type process struct {
	name string
	base string // http://127.0.0.1:PORT
	cmd  *exec.Cmd
	done chan struct{}

	mu  sync.Mutex
	log bytes.Buffer
}

func (p *process) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.Write(b)
}

func (p *process) logs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// freeAddr returns a loopback address with a port free at the moment.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// start runs argv with env added to a minimal environment, in its own
// process group, listening on addr; it stops (the whole group) when the
// test ends. It returns once GET /healthz answers 200, polling with a
// bound, or fails the test.
func start(t testing.TB, name, addr string, env []string, argv ...string) *process {
	t.Helper()
	p := launch(t, name, addr, env, argv...)
	if err := p.waitReady(2 * time.Minute); err != nil {
		t.Fatalf("%s: %v\n%s", name, err, p.logs())
	}
	return p
}

// launch starts argv as start does, without waiting for it.
func launch(t testing.TB, name, addr string, env []string, argv ...string) *process {
	t.Helper()
	p := &process{name: name, base: "http://" + addr, done: make(chan struct{})}
	p.cmd = exec.Command(argv[0], argv[1:]...)
	p.cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		"GOCACHE=" + goEnv(t, "GOCACHE"), "GOPATH=" + goEnv(t, "GOPATH"), "GOFLAGS=" + os.Getenv("GOFLAGS"),
		"ADDR=" + addr,
	}, env...)
	p.cmd.Stdout, p.cmd.Stderr = p, p
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	t.Cleanup(p.stop)
	return p
}

// stop kills the process group and waits for the process; it may be
// called again.
func (p *process) stop() {
	syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
}

var client = &http.Client{
	Timeout: 30 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse // the test looks at each 303
	},
}

func (p *process) waitReady(bound time.Duration) error {
	deadline := time.Now().Add(bound)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		resp, err := client.Get(p.base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = errors.New(resp.Status)
		}
		select {
		case <-p.done:
			return fmt.Errorf("exited before it was ready: %v", p.cmd.ProcessState)
		case <-tick.C:
			if time.Now().After(deadline) {
				return fmt.Errorf("not ready after %v: %v", bound, err)
			}
		}
	}
}

var goEnvCache sync.Map

func goEnv(t testing.TB, name string) string {
	if v, ok := goEnvCache.Load(name); ok {
		return v.(string)
	}
	out, err := exec.Command("go", "env", name).Output()
	if err != nil {
		t.Fatalf("go env %s: %v", name, err)
	}
	v := strings.TrimSpace(string(out))
	goEnvCache.Store(name, v)
	return v
}

// startEdge serves examples/edge under workerd with serve.sh, the way a
// user does, with the given key environment.
func startEdge(t testing.TB, name string, env ...string) *process {
	t.Helper()
	return start(t, name, freeAddr(t), env, "bash", filepath.Join(repoRoot(t), "examples", "edge", "serve.sh"))
}

// buildBasic compiles examples/basic into dir with its test hooks
// (CLOCK_OFFSET, SESSION_LEEWAY, INSECURE_COOKIES), which only a build
// with the tag testhooks reads.
func buildBasic(t testing.TB, dir string) string {
	t.Helper()
	return build(t, dir, "./examples/basic", "-tags=testhooks")
}

// startBasic runs a built examples/basic on loopback (plain-http cookies
// named "session", as on any loopback address).
func startBasic(t testing.TB, name, bin string, env ...string) *process {
	t.Helper()
	return start(t, name, freeAddr(t), env, bin)
}

// browser keeps cookies as a browser does for one host: cookies ignore
// ports, so the origin and the edge on 127.0.0.1 share them.
type browser struct {
	cookies map[string]string
}

func newBrowser() *browser { return &browser{cookies: map[string]string{}} }

func (b *browser) clone() *browser {
	c := newBrowser()
	for k, v := range b.cookies {
		c.cookies[k] = v
	}
	return c
}

func (b *browser) header() string {
	var kv []string
	for k, v := range b.cookies {
		kv = append(kv, k+"="+v)
	}
	sort.Strings(kv)
	return strings.Join(kv, "; ")
}

// reply is one response, its body read.
type reply struct {
	status    int
	header    http.Header
	body      string
	setCookie []string
}

// do sends one request as b, with form as a urlencoded body when not nil,
// and stores the cookies the response sets.
func (b *browser) do(t testing.TB, p *process, method, path string, form url.Values, header ...string) reply {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, p.base+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if c := b.header(); c != "" {
		req.Header.Set("Cookie", c)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s %s: %v\n%s", p.name, method, path, err, p.logs())
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := reply{status: resp.StatusCode, header: resp.Header, body: string(data), setCookie: resp.Header.Values("Set-Cookie")}
	for _, line := range r.setCookie {
		c, err := http.ParseSetCookie(line)
		if err != nil {
			t.Fatalf("%s: bad Set-Cookie %q: %v", p.name, line, err)
		}
		if c.MaxAge < 0 {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c.Value
		}
	}
	return r
}

// token is the session token b carries: the plain cookie or the chunks
// joined in order.
func (b *browser) token() string {
	if v, ok := b.cookies["session"]; ok {
		return v
	}
	var s string
	for i := 0; ; i++ {
		v, ok := b.cookies[fmt.Sprintf("session.%d", i)]
		if !ok {
			return s
		}
		s += v
	}
}

var (
	whoRE   = regexp.MustCompile(`<p id="whoami">Logged in as ([^<]*)</p>`)
	itemRE  = regexp.MustCompile(`<li id="item-\d+">([^<]*)</li>`)
	countRE = regexp.MustCompile(`<p id="count">(\d+) item\(s\)</p>`)
)

// page is what the shop's page shows.
type page struct {
	user  string // "" on the anonymous page
	cart  []string
	count string
	full  bool // the "cart is full" note
}

// parsePage reads a page answered with 200.
func parsePage(t testing.TB, r reply) page {
	t.Helper()
	return parsePageCode(t, r, http.StatusOK)
}

// parsePageCode reads a page answered with the status code.
func parsePageCode(t testing.TB, r reply, code int) page {
	t.Helper()
	if r.status != code {
		t.Fatalf("page: %d %q, want %d", r.status, r.body, code)
	}
	p := page{full: strings.Contains(r.body, `<p id="full" class="note">`)}
	if m := whoRE.FindStringSubmatch(r.body); m != nil {
		p.user = m[1]
	} else if !strings.Contains(r.body, `<p id="anonymous">You are not logged in</p>`) {
		t.Fatalf("neither logged in nor anonymous: %q", r.body)
	}
	for _, m := range itemRE.FindAllStringSubmatch(r.body, -1) {
		p.cart = append(p.cart, m[1])
	}
	if m := countRE.FindStringSubmatch(r.body); m != nil {
		p.count = m[1]
	}
	return p
}

// opener opens tokens as the shop does, to read iat and the key ID.
func opener(t testing.TB, ring *tokensession.Keyring) *tokensession.Manager[Session] {
	t.Helper()
	m, err := tokensession.New(tokensession.Config[Session]{Keyring: ring, UnsafeAllowHTTP: true, MaxChunks: 2, MaxCookieSize: 3584})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

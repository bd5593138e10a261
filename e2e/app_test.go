package e2e

import (
	"bufio"
	"context"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokensession/tokensession"
)

// findChromium returns the browser's path, or skips the test without one
// (fails under CI=true).
func findChromium(t *testing.T) string {
	for _, p := range []string{os.Getenv("CHROMIUM"), "/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"} {
		if p == "" {
			continue
		}
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium not found, and CI=true: run e2e/run.sh, which installs it (apt-get install chromium)")
	}
	t.Skip("chromium not found: run e2e/run.sh as root to install it (apt-get install chromium), or set CHROMIUM")
	return ""
}

// buildExample builds examples/basic of the enclosing module.
func buildExample(ctx context.Context, t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	bin := filepath.Join(t.TempDir(), "basic")
	cmd := exec.CommandContext(ctx, goBin, "build", "-o", bin, "./examples/basic")
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./examples/basic: %v\n%s", err, out)
	}
	return bin
}

type app struct {
	t    *testing.T
	url  string // http://localhost:PORT, the origin the browser uses
	mu   sync.Mutex
	logs []string
}

func (a *app) log() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.logs)
}

// startApp starts the example on a free loopback port, reads the URL it
// prints and waits until /healthz answers.
func startApp(t *testing.T, bin string) *app {
	t.Helper()
	cmd := exec.Command(bin)
	// The example refuses a key variable that is set but empty, or two
	// key sources: drop the caller's.
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		name, _, _ := strings.Cut(kv, "=")
		return name == "SESSION_KEYRING" || name == "SESSION_KEYS" || name == "CREDENTIALS_DIRECTORY" || name == "ADDR"
	})
	cmd.Env = append(env,
		"ADDR=127.0.0.1:0",
		"SESSION_KEYS="+tokensession.GenerateKey().UnsafeExportPASERK(),
	)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	a := &app{t: t}
	listening := make(chan string, 1)
	exited := make(chan struct{})
	go func() {
		lines := bufio.NewScanner(stderr)
		for lines.Scan() {
			line := lines.Text()
			a.mu.Lock()
			a.logs = append(a.logs, line)
			a.mu.Unlock()
			if _, u, ok := strings.Cut(line, "listening on "); ok {
				select {
				case listening <- u:
				default:
				}
			}
		}
		cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("app log:\n%s", strings.Join(a.log(), "\n"))
		}
	})

	var printed string
	select {
	case printed = <-listening:
	case <-exited:
		t.Fatalf("app exited:\n%s", strings.Join(a.log(), "\n"))
	case <-time.After(10 * time.Second):
		t.Fatal("app printed no URL within 10s")
	}
	u, err := url.Parse(printed)
	if err != nil || u.Port() == "" {
		t.Fatalf("app printed %q", printed)
	}
	// The browser uses localhost, so that 127.0.0.1 is another site.
	a.url = "http://localhost:" + u.Port()

	// The app prints its URL once it is listening, so one request will do.
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: nil}}
	resp, err := c.Get("http://127.0.0.1:" + u.Port() + "/healthz")
	if err != nil {
		t.Fatalf("/healthz: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/healthz answered %s", resp.Status)
	}
	return a
}

func (a *app) checkLogs() {
	t := a.t
	t.Helper()
	all := strings.Join(a.log(), "\n")
	if strings.Contains(all, "k4.local.") || strings.Contains(all, "v4.local.") {
		t.Errorf("the app logged a key or a token:\n%s", all)
	}
	if !strings.Contains(all, "not authentic") {
		t.Errorf("the forged cookie was not reported to the ErrorHandler:\n%s", all)
	}
}

package tokensession_test

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/tokensession/tokensession"
)

// A serverless cold start only parses keys: New does no I/O and starts no
// goroutine, as its doc says. These tests measure that, and show that each
// measurement fails on code that breaks the promise. They do not run in
// parallel with other tests, which would disturb the counts.

// coldStart parses a keyring in both forms and builds managers from them,
// 64 times, and returns them so they stay alive while they are measured.
func coldStart(env string, file []byte) (any, error) {
	var ms []*tokensession.Manager[string]
	for i := range 64 {
		ring, err := tokensession.ParseKeyringEnv(env)
		if i%2 == 1 {
			ring, err = tokensession.ParseKeyringJSON(file)
		}
		if err != nil {
			return nil, err
		}
		m, err := tokensession.New(tokensession.Config[string]{Keyring: ring})
		if err != nil {
			return nil, err
		}
		ms = append(ms, m)
	}
	return ms, nil
}

func TestColdStartNoIONoGoroutine(t *testing.T) {
	k1, k2 := testKey(t, 1).UnsafeExportPASERK(), testKey(t, 2).UnsafeExportPASERK()
	env := k1 + "\n  " + k2
	file := fmt.Appendf(nil, `{"keys":[{"key":%q},{"key":%q,"not_before":"2000-01-01T00:00:00Z"}]}`, k1, k2)
	if _, err := coldStart(env, file); err != nil { // warm package-level state
		t.Fatal(err)
	}
	fn := func() (any, error) { return coldStart(env, file) }
	if err := measure(t, fn); err != nil {
		t.Error(err)
	}
}

// TestColdStartChecksDetect proves that measure can fail.
func TestColdStartChecksDetect(t *testing.T) {
	stop := make(chan struct{})
	defer close(stop)
	var files []*os.File
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	for name, fn := range map[string]func() (any, error){
		"goroutine": func() (any, error) { go func() { <-stop }(); return nil, nil },
		"open file": func() (any, error) {
			f, err := os.Open("/proc/self/stat")
			files = append(files, f)
			return f, err
		},
		"read file": func() (any, error) { return os.ReadFile("/proc/self/stat") },
	} {
		if name != "goroutine" && !procIO(t) {
			continue
		}
		if measure(t, fn) == nil {
			t.Errorf("%s: not detected", name)
		}
	}
}

// measure runs fn up to 5 times and returns nil as soon as one run starts
// no goroutine, leaves no file open and makes no read or write system
// call. Something outside fn can disturb one run (the runtime waking its
// network poller costs a write and a read); code that does I/O disturbs
// every run.
func measure(t *testing.T, fn func() (any, error)) error {
	var err error
	for range 5 {
		if err = measureOnce(t, fn); err == nil {
			return nil
		}
	}
	return err
}

func measureOnce(t *testing.T, fn func() (any, error)) error {
	check := procIO(t)
	var io0, io1, io2, io3 [2]int64
	var fds0, fds1 int
	if check {
		io0 = readProcIO(t)
		io1 = readProcIO(t) // io1-io0: what reading the counters costs
		fds0 = openFDs(t)
		io2 = readProcIO(t)
	}
	g0 := runtime.NumGoroutine()
	keep, err := fn()
	g1 := runtime.NumGoroutine()
	if check {
		io3 = readProcIO(t)
		fds1 = openFDs(t)
	}
	runtime.KeepAlive(keep)
	switch {
	case err != nil:
		t.Fatal(err)
	case g1 > g0:
		return fmt.Errorf("goroutines went from %d to %d", g0, g1)
	case fds1 > fds0:
		return fmt.Errorf("open files went from %d to %d", fds0, fds1)
	case io3[0]-io2[0] > io1[0]-io0[0] || io3[1]-io2[1] > io1[1]-io0[1]:
		return fmt.Errorf("%d read and %d write system calls", io3[0]-io2[0], io3[1]-io2[1])
	}
	return nil
}

// procIO reports whether this system counts system calls in /proc/self/io.
func procIO(*testing.T) bool {
	_, err := os.ReadFile("/proc/self/io")
	return runtime.GOOS == "linux" && err == nil
}

// readProcIO returns the process's read and write system call counts.
func readProcIO(t *testing.T) (n [2]int64) {
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		name, val, _ := strings.Cut(strings.TrimSpace(line), ": ")
		i := map[string]int{"syscr": 0, "syscw": 1}[name]
		if name == "syscr" || name == "syscw" {
			if n[i], err = strconv.ParseInt(val, 10, 64); err != nil {
				t.Fatal(err)
			}
		}
	}
	return n
}

func openFDs(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

package tokensession_test

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/tokensession/tokensession"
)

// A serverless cold start only parses keys: building a Manager from a
// keyring does no I/O and starts no goroutine (DESIGN.md §7, New's doc).
// These tests measure it: goroutines by ID before and after, and on Linux
// the process's open file descriptors and its read/write system call
// counters (/proc/self/io). TestColdStartCheckersDetect shows that each
// check does fail on code that breaks the promise.

type coldStartValue struct {
	User string `json:"user"`
}

// coldStartManagers is how many managers one measurement builds.
const coldStartManagers = 256

// coldStartAttempts bounds the retries of a measurement. Something outside
// the code under test can disturb one measurement: a goroutine or timer
// left by an earlier test, or the runtime itself (waking its network poller
// costs a write and a read on an eventfd; seen in about 1 of 70 single
// attempts here). Code that does I/O or starts goroutines disturbs every
// attempt, so one clean attempt out of a few proves the point.
const coldStartAttempts = 5

// coldStartEnv returns a keyring in the environment-variable form and in
// the JSON file form, three keys each, made before any measurement.
func coldStartEnv(t *testing.T) (env string, file []byte) {
	t.Helper()
	var keys []string
	for i := range 3 {
		b := make([]byte, tokensession.KeySize)
		for j := range b {
			b[j] = byte(0x20*i + j)
		}
		k, err := tokensession.NewKeyFromBytes(b)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k.UnsafeExportPASERK())
	}
	env = strings.Join(keys, "\n  ")
	file = fmt.Appendf(nil, `{"keys":[{"key":%q},{"key":%q,"not_before":"2000-01-01T00:00:00Z"},{"key":%q}]}`, keys[0], keys[1], keys[2])
	return env, file
}

// coldStart builds coldStartManagers managers, each from a freshly parsed
// keyring, the way a serverless function starts, and returns them so that
// they stay alive while the caller measures.
func coldStart(env string, file []byte) ([]*tokensession.Manager[coldStartValue], error) {
	ms := make([]*tokensession.Manager[coldStartValue], 0, coldStartManagers)
	for i := range coldStartManagers {
		var ring *tokensession.Keyring
		var err error
		if i%2 == 0 {
			ring, err = tokensession.ParseKeyringEnv(env)
		} else {
			ring, err = tokensession.ParseKeyringJSON(file)
		}
		if err != nil {
			return nil, err
		}
		m, err := tokensession.New(tokensession.Config[coldStartValue]{Keyring: ring})
		if err != nil {
			return nil, err
		}
		ms = append(ms, m)
	}
	return ms, nil
}

func TestColdStartNoGoroutines(t *testing.T) {
	env, file := coldStartEnv(t)
	err := retryColdStart(func() error {
		return checkNoNewGoroutines(func() (any, error) { return coldStart(env, file) })
	})
	if err != nil {
		t.Fatalf("constructing %d managers: %v", coldStartManagers, err)
	}
}

func TestColdStartNoIO(t *testing.T) {
	skipWithoutProcIO(t)
	env, file := coldStartEnv(t)
	// Warm up once: package-level lazy initialisation in the dependencies
	// is not what a cold start repeats per manager, and it does no I/O
	// either, but keep the measurement about New and the parsers.
	if _, err := coldStart(env, file); err != nil {
		t.Fatal(err)
	}
	err := retryColdStart(func() error {
		return checkNoIO(func() (any, error) { return coldStart(env, file) })
	})
	if err != nil {
		t.Fatalf("constructing %d managers: %v", coldStartManagers, err)
	}
}

// TestColdStartCheckersDetect proves the checks above can fail: each one
// reports code that starts a goroutine, keeps a file open, or reads a file.
func TestColdStartCheckersDetect(t *testing.T) {
	t.Run("goroutine", func(t *testing.T) {
		stop, done := make(chan struct{}), make(chan struct{})
		err := checkNoNewGoroutines(func() (any, error) {
			go func() { <-stop; close(done) }()
			return nil, nil
		})
		close(stop)
		<-done
		if err == nil {
			t.Fatal("checkNoNewGoroutines missed a goroutine started by the code under test")
		}
		t.Logf("detected: %.120s…", err)
	})
	t.Run("open file", func(t *testing.T) {
		skipWithoutProcIO(t)
		var f *os.File
		err := checkNoIO(func() (any, error) {
			var err error
			f, err = os.Open("/proc/self/stat")
			return f, err
		})
		if f != nil {
			f.Close()
		}
		if err == nil {
			t.Fatal("checkNoIO missed a file descriptor left open by the code under test")
		}
		t.Logf("detected: %v", err)
	})
	t.Run("read file", func(t *testing.T) {
		skipWithoutProcIO(t)
		err := checkNoIO(func() (any, error) {
			// Opened, read and closed: no descriptor is left over, so only
			// the system call counters can see it.
			return os.ReadFile("/proc/self/stat")
		})
		if err == nil {
			t.Fatal("checkNoIO missed a file read by the code under test")
		}
		t.Logf("detected: %v", err)
	})
}

// errColdStartSetup marks an error that retrying cannot cure.
var errColdStartSetup = errors.New("setup failed")

func retryColdStart(measure func() error) error {
	var err error
	for range coldStartAttempts {
		if err = measure(); err == nil || errors.Is(err, errColdStartSetup) {
			return err
		}
	}
	return fmt.Errorf("in each of %d attempts; the last: %w", coldStartAttempts, err)
}

// checkNoNewGoroutines runs fn and reports any goroutine that exists after
// it returns (while its result is still alive) and did not exist before.
func checkNoNewGoroutines(fn func() (any, error)) error {
	beforeN := runtime.NumGoroutine()
	before := goroutineStacks()
	keep, err := fn()
	if err != nil {
		return fmt.Errorf("%w: %v", errColdStartSetup, err)
	}
	afterN := runtime.NumGoroutine()
	after := goroutineStacks()
	runtime.KeepAlive(keep)

	var added []string
	for id, stack := range after {
		if _, ok := before[id]; !ok {
			added = append(added, stack)
		}
	}
	if afterN > beforeN || len(added) > 0 {
		return fmt.Errorf("goroutines went from %d to %d; new:\n%s", beforeN, afterN, strings.Join(added, "\n\n"))
	}
	return nil
}

// goroutineStacks returns the stack of every goroutine, keyed by its ID.
func goroutineStacks() map[string]string {
	buf := make([]byte, 64<<10)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	stacks := make(map[string]string)
	for _, g := range strings.Split(strings.TrimSpace(string(buf)), "\n\n") {
		// Each starts with "goroutine 7 [state]:".
		if f := strings.Fields(g); len(f) >= 2 && f[0] == "goroutine" {
			stacks[f[1]] = g
		}
	}
	return stacks
}

func skipWithoutProcIO(t *testing.T) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("file descriptor and I/O counters are read from Linux's /proc")
	}
	if _, err := readProcIO(); err != nil {
		t.Skipf("no I/O accounting here: %v", err)
	}
	if _, err := openFDs(); err != nil {
		t.Skipf("cannot list open file descriptors: %v", err)
	}
}

// procIO holds the system call counters of /proc/self/io, which count
// every read and write system call of the whole process (pread, recvmsg,
// sendfile and the like included), whatever the descriptor.
type procIO struct{ syscr, syscw int64 }

func readProcIO() (procIO, error) {
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return procIO{}, err
	}
	var io procIO
	found := 0
	for _, line := range strings.Split(string(b), "\n") {
		name, val, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(val), 10, 64)
		if err != nil {
			continue
		}
		switch name {
		case "syscr":
			io.syscr, found = n, found+1
		case "syscw":
			io.syscw, found = n, found+1
		}
	}
	if found != 2 {
		return procIO{}, errors.New("/proc/self/io has no syscr and syscw")
	}
	return io, nil
}

// openFDs returns the process's open file descriptors and what each refers to.
func openFDs() (map[string]string, error) {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return nil, err
	}
	fds := make(map[string]string, len(ents))
	for _, e := range ents {
		// The descriptor ReadDir listed the directory with is closed by
		// now, and its link no longer resolves: leave it out.
		if target, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil {
			fds[e.Name()] = target
		}
	}
	return fds, nil
}

// checkNoIO runs fn and reports any file descriptor that is open after it
// returns and was not before, and any read or write system call the
// process made while it ran.
func checkNoIO(fn func() (any, error)) error {
	// Reading the counters costs read system calls of its own: measure that
	// cost with nothing in between, then subtract it.
	io0, err := readProcIO()
	if err != nil {
		return fmt.Errorf("%w: %v", errColdStartSetup, err)
	}
	io1, err := readProcIO()
	if err != nil {
		return fmt.Errorf("%w: %v", errColdStartSetup, err)
	}
	fdsBefore, err := openFDs()
	if err != nil {
		return fmt.Errorf("%w: %v", errColdStartSetup, err)
	}
	io2, err := readProcIO()
	if err != nil {
		return fmt.Errorf("%w: %v", errColdStartSetup, err)
	}

	keep, err := fn()
	if err != nil {
		return fmt.Errorf("%w: %v", errColdStartSetup, err)
	}

	io3, err := readProcIO()
	if err != nil {
		return fmt.Errorf("%w: %v", errColdStartSetup, err)
	}
	fdsAfter, err := openFDs()
	if err != nil {
		return fmt.Errorf("%w: %v", errColdStartSetup, err)
	}
	runtime.KeepAlive(keep)

	var opened []string
	for fd, target := range fdsAfter {
		if _, ok := fdsBefore[fd]; !ok {
			opened = append(opened, fd+" -> "+target)
		}
	}
	if len(opened) > 0 {
		return fmt.Errorf("file descriptors opened: %s", strings.Join(opened, ", "))
	}
	base := procIO{io1.syscr - io0.syscr, io1.syscw - io0.syscw}
	got := procIO{io3.syscr - io2.syscr, io3.syscw - io2.syscw}
	if got.syscr > base.syscr || got.syscw > base.syscw {
		return fmt.Errorf("system calls during construction: %d reads and %d writes (reading the counters alone costs %d and %d)",
			got.syscr, got.syscw, base.syscr, base.syscw)
	}
	return nil
}

//go:build unix

package tokensession_test

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tokensession/tokensession"
)

// A named pipe is no keyring file: Load refuses it at once, without
// opening it (which would wait for a writer).
func TestKeySourceRefusesNamedPipe(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	fifo := filepath.Join(dir, "session-keyring")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	for _, src := range []tokensession.KeySource{tokensession.FileKeySource(fifo), tokensession.FileKeySource(dir)} {
		done := make(chan error, 1)
		go func() {
			_, err := src.Load()
			done <- err
		}()
		var err error
		select {
		case err = <-done:
		case <-time.After(10 * time.Second):
			// A deadline for the failure only: a writer ends the wait.
			t.Errorf("%v: Load is blocked on the named pipe", src)
			if w, err := os.OpenFile(fifo, os.O_WRONLY, 0); err == nil {
				w.Close()
			}
			err = <-done
		}
		if err == nil || !strings.Contains(err.Error(), "is a named pipe, not a regular file") || strings.Contains(err.Error(), dir) {
			t.Errorf("%v: Load: %v, want a named pipe refused", src, err)
		}
	}
}

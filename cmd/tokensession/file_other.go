//go:build !unix

package main

import (
	"io/fs"
	"os"
	"time"
)

// lockFile takes the lock at path by creating it exclusively: this
// platform has no flock.
func lockFile(path string, wait time.Duration) (unlock func(), err error) {
	return lockExclusive(path, wait)
}

// keepOwner does nothing: this platform has no Unix owner and group.
func keepOwner(f *os.File, old fs.FileInfo) error { return nil }

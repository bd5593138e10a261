//go:build unix

package benchmarks

import (
	"syscall"
	"time"
)

// processCPU returns the CPU time, user and system, that this process has
// used so far. Unlike wall time it does not grow while other processes
// hold the CPU, so on a shared machine cpu-ns/op is the steadier measure;
// it includes the garbage collector's background work.
func processCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}

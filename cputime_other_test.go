//go:build !unix

package tokensession_test

import "time"

// benchRusageCPU reports no CPU time where getrusage is missing.
func benchRusageCPU() (time.Duration, bool) { return 0, false }

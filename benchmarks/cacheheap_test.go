package benchmarks

import (
	"runtime"
	"testing"
)

// BenchmarkCacheHeap measures what a full open cache costs the rest of
// the process that holds it: the garbage collector marks the live heap on
// every cycle, and a full cache is live heap. It serves the cache-off
// case (tokensession-nocache) twice per round, interleaved:
//
//	CacheHeap/round=R/size=S/path=P/heap=none
//	CacheHeap/round=R/size=S/path=P/heap=full-cache
//
// heap=full-cache keeps alive, untouched while timed, a manager whose 4
// MiB cache was filled with twice its capacity of sessions of the same
// size (as in BenchmarkCompare's miss case); heap=none runs without it,
// collected. Each goes first in every other round. The ratio full-cache/none is the share of every
// request's cost that holding the cache adds; a cache miss costs that
// times the miss's own ratio to the cache off (BenchmarkCompare,
// tokensession-miss against tokensession-nocache-unseen). Compare
// cpu-ns/op:
//
//	go test -run='^$' -bench=CacheHeap -benchtime=300ms -cpu=1 -rounds=5 > heap.txt
//	benchstat -ignore round -col /heap -row /path,/size -filter '.unit:cpu-ns/op' heap.txt
func BenchmarkCacheHeap(b *testing.B) {
	off, err := Tokensession("tokensession-nocache", cacheOff, nil)
	if err != nil {
		b.Fatal(err)
	}
	states := []implState{{Impl: off}}
	warmUp(b, states)
	offState := &states[0]
	inRounds(b, nil, func(b *testing.B, r int, v Value, n int, modify bool) {
		none := func() {
			b.Run("heap=none", func(b *testing.B) { offState.bench(b, v, n, modify) })
		}
		full := func() {
			im, err := Tokensession("tokensession-miss", cacheMiss, nil)
			if err != nil {
				b.Fatal(err)
			}
			held := &implState{Impl: im}
			held.fill(b, v, n)
			b.Run("heap=full-cache", func(b *testing.B) { offState.bench(b, v, n, modify) })
			runtime.KeepAlive(held)
		}
		// Each goes first in every other round.
		if r%2 == 0 {
			none()
			full()
		} else {
			full()
			none()
		}
	})
}

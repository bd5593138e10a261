package cookiechunk

import (
	"slices"
	"strings"
	"testing"
)

func TestIndex(t *testing.T) {
	for _, tc := range []struct {
		suffix string
		max    int
		want   int
		ok     bool
	}{
		{".0", 4, 0, true},
		{".3", 4, 3, true},
		{".4", 4, 0, false}, // not below maxChunks
		{".15", 16, 15, true},
		{".16", 17, 0, false}, // never beyond Max
		{".01", 16, 0, false}, // leading zero
		{".-0", 16, 0, false},
		{".+1", 16, 0, false},
		{". 1", 16, 0, false},
		{".", 16, 0, false},
		{"0", 16, 0, false},
		{".100", 16, 0, false},
		{"", 16, 0, false},
	} {
		got, ok := Index(tc.suffix, tc.max)
		if got != tc.want || ok != tc.ok {
			t.Errorf("Index(%q, %d) = %d, %v; want %d, %v", tc.suffix, tc.max, got, ok, tc.want, tc.ok)
		}
	}
}

func TestScanAndCount(t *testing.T) {
	for _, tc := range []struct {
		name   string
		lines  []string
		plain  string
		chunks []string // present chunks, in index order; "" for absent
		n      int
		ok     bool
		others []string
	}{
		{"plain", []string{`a=1; s=tok; b=2`}, "tok", nil, 0, false, []string{"a", "b"}},
		{"quoted plain", []string{`s="tok"`}, "tok", nil, 0, false, nil},
		{"first of duplicates", []string{`s=first; s=second`}, "first", nil, 0, false, nil},
		{"two lines", []string{`s.1=B`, `s.0=A`}, "", []string{"A", "B"}, 2, true, nil},
		{"duplicate chunk", []string{`s.0=A; s.1=B; s.0=X`}, "", []string{"A", "B"}, 2, true, nil},
		{"lone chunk 0", []string{`s.0=A`}, "", []string{"A"}, 1, false, nil},
		{"gap", []string{`s.0=A; s.2=C`}, "", []string{"A", "", "C"}, 1, false, nil},
		{"no chunk 0", []string{`s.1=B; s.2=C`}, "", []string{"", "B", "C"}, 0, false, nil},
		{"beyond maxChunks", []string{`s.0=A; s.1=B; s.4=E`}, "", []string{"A", "B"}, 2, true, []string{"s.4"}},
		{"not chunk names", []string{`s.x=1; s.01=2; session=3; s`}, "", nil, 0, false, []string{"s.x", "s.01", "session"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s Set
			var others []string
			s.Scan(tc.lines, "s", 4, func(k string) { others = append(others, k) })
			if s.Plain != tc.plain || s.HasPlain != (tc.plain != "") {
				t.Errorf("plain = %q, %v; want %q", s.Plain, s.HasPlain, tc.plain)
			}
			for i := range Max {
				want := ""
				if i < len(tc.chunks) {
					want = tc.chunks[i]
				}
				if has := s.Present&(1<<i) != 0; has != (want != "") || s.Chunks[i] != want {
					t.Errorf("chunk %d = %q (present %v), want %q", i, s.Chunks[i], has, want)
				}
			}
			if n, ok := s.Count(); n != tc.n || ok != tc.ok {
				t.Errorf("Count() = %d, %v; want %d, %v", n, ok, tc.n, tc.ok)
			}
			if !slices.Equal(others, tc.others) {
				t.Errorf("other names = %q, want %q", others, tc.others)
			}
		})
	}
}

func TestScanBounded(t *testing.T) {
	at := strings.Repeat("x=1; ", MaxPairs-1) + "s=v"
	var s Set
	if !s.Scan([]string{at}, "s", 4, nil) || !s.HasPlain || s.Plain != "v" {
		t.Errorf("cookie at position %d lost", MaxPairs)
	}
	// Counted over all lines, as net/http counts.
	s = Set{}
	if s.Scan([]string{at, "y=2"}, "s", 4, nil) || s.HasPlain {
		t.Errorf("more than %d cookies read", MaxPairs)
	}
}

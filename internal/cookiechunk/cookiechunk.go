// Package cookiechunk reads a session cookie out of Cookie header values:
// the cookie itself, or the chunk cookies name.0, name.1, … that carry a
// token too long for one cookie. The middleware and the CLI's inspect
// share it, so both accept exactly the same cookies.
package cookiechunk

import "strings"

// Max bounds how many chunks a set may have.
const Max = 16

// MaxPairs is how many cookies net/http's Request.Cookie reads at most
// (its default GODEBUG httpcookiemaxnum): a Cookie header with more reads as
// no cookies at all, there and here alike.
const MaxPairs = 3000

// A Set is what Cookie header values hold of one session cookie.
type Set struct {
	Plain    string // the value of the cookie name itself
	HasPlain bool
	Chunks   [Max]string // the value of chunk i, if Present has bit i
	Present  uint16      // bit i: chunk i was seen
}

// Scan reads the cookie name and its chunks below maxChunks from Cookie
// header values into s. The middleware passes [Max] whatever its
// MaxChunks, so that a set longer than it writes (written by an instance
// configured for more) is recognised as one, not read as other cookies. Values in double quotes lose them. Of repeated
// names the first value counts: browsers send the most specific cookie
// first. other, if not nil, is called with the name of every other cookie.
//
// Scan reads nothing and returns false when the values hold more than
// [MaxPairs] cookies, counted as net/http counts them (one more than the
// semicolons in each value), so that a hostile header costs what it costs
// net/http.
func (s *Set) Scan(lines []string, name string, maxChunks int, other func(string)) bool {
	n := 0
	for _, line := range lines {
		n += strings.Count(line, ";") + 1
		if n > MaxPairs {
			return false
		}
	}
	for _, line := range lines {
		for len(line) > 0 {
			var part string
			part, line, _ = strings.Cut(line, ";")
			k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
			if !ok {
				continue
			}
			suffix, ours := strings.CutPrefix(k, name)
			if !ours {
				if other != nil {
					other(k)
				}
				continue
			}
			if len(v) > 1 && v[0] == '"' && v[len(v)-1] == '"' {
				v = v[1 : len(v)-1]
			}
			if suffix == "" {
				if !s.HasPlain {
					s.Plain, s.HasPlain = v, true
				}
				continue
			}
			i, ok := Index(suffix, maxChunks)
			if !ok {
				if other != nil {
					other(k)
				}
				continue
			}
			if s.Present&(1<<i) == 0 {
				s.Present |= 1 << i
				s.Chunks[i] = v
			}
		}
	}
	return true
}

// Count returns how many chunks the set has if they are a complete,
// contiguous set of two or more: chunks 0 to n-1 and nothing above. One
// cookie's worth is never chunked, so a lone chunk 0 is not a set.
func (s *Set) Count() (int, bool) {
	n := 0
	for n < Max && s.Present&(1<<n) != 0 {
		n++
	}
	return n, n >= 2 && s.Present>>n == 0
}

// Index parses the ".N" suffix of a chunk cookie's name: decimal digits
// only, no sign and no leading zero, N below maxChunks.
func Index(suffix string, maxChunks int) (int, bool) {
	if len(suffix) < 2 || len(suffix) > 3 || suffix[0] != '.' || (len(suffix) == 3 && suffix[1] == '0') {
		return 0, false
	}
	i := 0
	for _, c := range []byte(suffix[1:]) {
		if c < '0' || c > '9' {
			return 0, false
		}
		i = i*10 + int(c-'0')
	}
	if i >= maxChunks || i >= Max {
		return 0, false
	}
	return i, true
}

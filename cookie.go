package tokensession

import (
	"errors"
	"math/bits"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tokensession/tokensession/internal/cookiechunk"
)

// The session cookie: its name and attributes, its size budget, how a
// token is read back from a request's cookies, split across chunk cookies
// when it outgrows one, and expired. internal/cookiechunk parses the
// Cookie header, for the middleware and the CLI alike.

const (
	// DefaultCookieName is the default [Config.CookieName].
	DefaultCookieName = "__Host-session"

	// devCookieName is the default cookie name with UnsafeAllowHTTP, which
	// cannot use the __Host- prefix.
	devCookieName = "session"

	// maxCookieSize is the default and the largest Config.MaxCookieSize: the
	// per-cookie budget for name and value that browsers enforce (RFC
	// 6265bis, section 5.6). minCookieSize is the smallest.
	maxCookieSize = 4096
	minCookieSize = 512
)

// A sessionCookie is a manager's session cookie: the name and attributes
// every Set-Cookie line carries, validated once by [New], and the size
// budget.
type sessionCookie struct {
	template   http.Cookie             // Name and attributes; Value and MaxAge unset
	maxSize    int                     // bytes of name and value in one cookie
	maxChunks  int                     // how many chunks this manager writes
	chunkNames [cookiechunk.Max]string // Name.0, Name.1, … up to the package's bound
	maxToken   int                     // the longest token the cookies can carry
	anyToken   int                     // the longest token any configuration's cookies can carry
}

// seenCookies records which of the session's cookies a request carried:
// the plain cookie, and chunk i at bit i of chunks, as [cookiechunk.Set]
// records them.
type seenCookies struct {
	plain  bool
	chunks uint16
}

// newSessionCookie applies the defaults of the cookie fields of cfg and
// validates them.
func newSessionCookie[T any](cfg *Config[T]) (sessionCookie, error) {
	c := http.Cookie{
		Name:     cfg.CookieName,
		Path:     cfg.Path,
		Domain:   cfg.Domain,
		Secure:   !cfg.UnsafeAllowHTTP,
		HttpOnly: true,
		SameSite: cfg.SameSite,
	}
	maxSize, maxChunks := cfg.MaxCookieSize, cfg.MaxChunks
	if maxSize == 0 {
		maxSize = maxCookieSize
	}
	if maxSize < minCookieSize || maxSize > maxCookieSize {
		return sessionCookie{}, errors.New("tokensession: Config.MaxCookieSize must be between 512 and 4096")
	}
	if maxChunks == 0 {
		maxChunks = 1
	}
	if maxChunks < 1 || maxChunks > cookiechunk.Max {
		return sessionCookie{}, errors.New("tokensession: Config.MaxChunks must be between 1 and " + strconv.Itoa(cookiechunk.Max))
	}
	if c.Name == "" {
		c.Name = DefaultCookieName
		if cfg.UnsafeAllowHTTP {
			c.Name = devCookieName
		}
	}
	if c.Path == "" {
		c.Path = "/"
	}
	if c.SameSite == 0 || c.SameSite == http.SameSiteDefaultMode {
		c.SameSite = http.SameSiteLaxMode
	}
	if c.SameSite == http.SameSiteNoneMode && !c.Secure {
		return sessionCookie{}, errors.New("tokensession: SameSite=None requires Secure, which UnsafeAllowHTTP removes")
	}
	if c.Path[0] != '/' {
		return sessionCookie{}, errors.New("tokensession: Config.Path must start with '/'")
	}
	if c.Domain != "" {
		// Browsers refuse a cookie whose Domain is a public suffix. Without
		// the public suffix list this catches only a single label (a bare
		// TLD such as "com", or "localhost") and an IP address; a
		// multi-label suffix such as "co.uk" or "github.io" still passes
		// here and is refused by the browser.
		d := strings.TrimPrefix(c.Domain, ".")
		if !strings.Contains(strings.TrimSuffix(d, "."), ".") || net.ParseIP(d) != nil {
			return sessionCookie{}, errors.New("tokensession: Config.Domain must be a registrable domain such as example.com, not a top-level domain or an IP address; leave it empty for a host-only cookie")
		}
	}
	// Browsers match the prefixes in any case.
	if hasPrefixFold(c.Name, "__Host-") && (!c.Secure || c.Path != "/" || c.Domain != "") {
		return sessionCookie{}, errors.New("tokensession: a __Host- cookie requires Secure, Path=/ and no Domain")
	}
	if hasPrefixFold(c.Name, "__Secure-") && !c.Secure {
		return sessionCookie{}, errors.New("tokensession: a __Secure- cookie requires Secure")
	}
	probe := c
	probe.Value = "v"
	probe.MaxAge = 1
	if err := probe.Valid(); err != nil {
		return sessionCookie{}, errors.New("tokensession: invalid cookie settings: " + err.Error())
	}
	if len(c.Name)+lidLen+200 > maxSize {
		return sessionCookie{}, errors.New("tokensession: Config.CookieName too long for Config.MaxCookieSize")
	}
	sc := sessionCookie{template: c, maxSize: maxSize, maxChunks: maxChunks}
	for i := range sc.chunkNames {
		sc.chunkNames[i] = c.Name + "." + strconv.Itoa(i)
		sc.anyToken += maxCookieSize - len(sc.chunkNames[i])
	}
	// Opening bounds its input by the largest token the cookies can carry;
	// every token Seal returns fits the same bound.
	sc.maxToken = maxSize - len(c.Name)
	if maxChunks > 1 {
		sc.maxToken = 0
		for _, name := range sc.chunkNames[:maxChunks] {
			sc.maxToken += maxSize - len(name)
		}
	}
	return sc, nil
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// read finds the session's cookies in the request: the plain cookie, or
// chunks 0…n-1, read back only as a complete, contiguous set. It returns
// the token ("" if none), the cookies seen, and an error for a header with
// too many cookies, an incomplete chunk set or an oversized token.
//
// Chunk names are recognised up to [cookiechunk.Max] whatever MaxChunks
// is, and sizes are judged against what any configuration may write, so
// that a session written by an instance configured for larger ones (during
// a rolling change of MaxChunks or MaxCookieSize) is told apart from a bad
// cookie: read reports it as errCookieTooLarge, and the middleware leaves
// it alone rather than expire it. Only a cookie that no configuration
// writes is malformed.
//
// An empty cookie carries no part of any session: it is what a client
// that ignores Max-Age=0 keeps of a cookie the middleware expired, the
// plain cookie when a session grew into chunks, or the last chunks when it
// shrank. So an empty plain cookie does not hide the chunks, and empty
// chunks at the end of a set join as nothing and do not count against
// MaxChunks. Either way the cookies seen include them, so that the next
// write expires them again.
func (c *sessionCookie) read(r *http.Request) (string, seenCookies, error) {
	var set cookiechunk.Set
	if !set.Scan(r.Header["Cookie"], c.template.Name, cookiechunk.Max, nil) {
		return "", seenCookies{}, errTooManyCookies
	}
	seen := seenCookies{plain: set.HasPlain, chunks: set.Present}
	if set.HasPlain && (set.Plain != "" || set.Present == 0) {
		// One cookie never carries more than one cookie's worth, whatever
		// MaxChunks allows in total.
		switch n := len(c.template.Name) + len(set.Plain); {
		case n > maxCookieSize:
			return "", seen, errOversized
		case n > c.maxSize:
			return "", seen, errCookieTooLarge
		}
		return set.Plain, seen, nil
	}
	if seen.chunks == 0 {
		return "", seen, nil
	}
	n, ok := set.Count()
	if !ok {
		return "", seen, errIncompleteChunks
	}
	for n > 0 && set.Chunks[n-1] == "" {
		n--
	}
	total := 0
	for _, v := range set.Chunks[:n] {
		total += len(v)
	}
	switch {
	case total > c.anyToken:
		return "", seen, errOversized
	case n > c.maxChunks || total > c.maxToken:
		return "", seen, errCookieTooLarge
	}
	return strings.Join(set.Chunks[:n], ""), seen, nil
}

// lines splits tok into as few cookies as fit the size budget (name and
// value) and returns their Set-Cookie lines, followed by lines that expire
// the cookies seen in the request that the new ones do not replace. Seal
// bounds tokens by the total capacity of the chunks, so tok fits.
func (c *sessionCookie) lines(tok string, ttl time.Duration, seen seenCookies) ([]string, error) {
	maxAge := max(int((ttl+time.Second-1)/time.Second), 1)
	if len(c.template.Name)+len(tok) <= c.maxSize {
		line, err := c.line(c.template.Name, tok, maxAge)
		if err != nil {
			return nil, err
		}
		return append([]string{line}, c.expire(seen, seenCookies{plain: true})...), nil
	}
	lines := make([]string, 0, c.maxChunks+bits.OnesCount16(seen.chunks)+1)
	var written seenCookies
	for i := 0; len(tok) > 0; i++ {
		n := min(len(tok), c.maxSize-len(c.chunkNames[i]))
		line, err := c.line(c.chunkNames[i], tok[:n], maxAge)
		if err != nil {
			return nil, err
		}
		lines = append(lines, line)
		written.chunks |= 1 << i
		tok = tok[n:]
	}
	return append(lines, c.expire(seen, written)...), nil
}

// expire returns Set-Cookie lines that delete each cookie seen but not
// written.
func (c *sessionCookie) expire(seen, written seenCookies) []string {
	plain := seen.plain && !written.plain
	chunks := seen.chunks &^ written.chunks
	n := bits.OnesCount16(chunks)
	if plain {
		n++
	}
	if n == 0 {
		return nil
	}
	lines := make([]string, 0, n)
	if plain {
		lines = append(lines, c.deletion(c.template.Name))
	}
	for i, name := range c.chunkNames {
		if chunks&(1<<i) != 0 {
			lines = append(lines, c.deletion(name))
		}
	}
	return lines
}

// line returns the Set-Cookie line of one cookie. [http.SetCookie] would
// drop an invalid cookie silently; line reports it instead. New validated
// the name and attributes with [http.Cookie.Valid]; the value is checked
// here by finding it whole in the line, since String drops or quotes what
// a cookie value cannot carry. That costs a comparison instead of a
// second pass over every byte. A token holds only base64url and '.', so
// it does not fail in practice.
func (c *sessionCookie) line(name, value string, maxAge int) (string, error) {
	ck := c.template
	ck.Name, ck.Value, ck.MaxAge = name, value, maxAge
	line := ck.String()
	n := len(name) + 1 + len(value)
	if len(line) <= n || line[:len(name)] != name || line[len(name)] != '=' || line[len(name)+1:n] != value || line[n] != ';' {
		return "", errors.New("tokensession: session cookie value not valid")
	}
	return line, nil
}

// deletion returns the Set-Cookie line that deletes the cookie name: an
// empty value with Max-Age=0, which is always valid.
func (c *sessionCookie) deletion(name string) string {
	ck := c.template
	ck.Name, ck.MaxAge = name, -1
	return ck.String()
}

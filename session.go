package tokensession

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// A Session is one request's view of its session, reached with
// [Manager.FromContext] inside [Manager.Handler]. The cookie is opened on
// the first call of any method, so a request that never touches its
// session pays nothing for it. Changes are sealed into Set-Cookie when the
// response headers are written, or earlier by [Session.Save].
//
// A write never replaces a cookie this instance could not read for want of
// its key ([ErrUnknownKey]) or because it is larger than this instance's
// MaxChunks and MaxCookieSize allow ([ErrTooLarge]): during a key rollout
// or a rolling change of those settings another instance may read it, and
// the cookie is the user's session there. Such a request has no session
// and [Session.Err] says why; a Set or Update still changes the value the
// handler sees, but it is not sealed: [Session.Save] returns an error
// matching the same sentinel, and without Save the response leaves the
// cookie as it was and the error goes to [Config.ErrorHandler]. An explicit
// [Session.Renew] (login) or [Session.Destroy] (logout) replaces the cookie,
// and Destroy expires every chunk present.
//
// A Session is safe for concurrent use by the request's goroutines. It
// must not be used after the handler returns.
type Session[T any] struct {
	m *Manager[T]
	r *http.Request

	// once opens the cookie, on first use; load errors are reported after
	// it, outside mu.
	once sync.Once

	mu     sync.Mutex
	status status
	exists bool // a session is present: opened from the cookie, or set
	// staleKey: the token opened was sealed by a key listed after the
	// current sealing key, an older one.
	staleKey bool
	// keep, if not nil, is why a write must not replace the cookie: it
	// was sealed by a key this instance does not have, or is larger than
	// this instance reads. Only Renew or Destroy clear it.
	keep  error
	renew bool // the next seal starts a new session ID
	// done: the handler has returned, so a change is reported at once.
	done bool
	// seen is the set of this manager's cookies the request carried.
	seen seenCookies
	// committed is set, under mu, once the response headers are on their
	// way; the response writer reads it without the lock.
	committed atomic.Bool
	value     T
	info      sessionInfo
	// loadErr is why the cookie did not open, nil if it did or was absent.
	loadErr error
	// pending holds the Set-Cookie lines Save sealed (status saved).
	pending []string
}

// A status is where the session stands: not read yet, or where its
// latest change stands.
type status uint8

const (
	untouched status = iota // the handler has not called the Session
	clean                   // no change since the last seal, or none at all
	changed                 // changed, not sealed yet: the commit seals it
	saved                   // sealed by Save: the commit writes pending
	failed                  // could not be sealed or sent, already reported
)

// sessionInfo is [Info] as a Session holds it, with the times in Unix
// nanoseconds (0 for the zero time). Every request carries a Session, so
// its size is paid by the requests that never touch it; the times of a
// token that opened lie well within the range of int64 nanoseconds.
type sessionInfo struct {
	id, keyID                  string
	created, issuedAt, expires int64
}

func packInfo(i Info) sessionInfo {
	return sessionInfo{i.ID, i.KeyID, unixNano(i.Created), unixNano(i.IssuedAt), unixNano(i.Expires)}
}

func (p *sessionInfo) unpack() Info {
	return Info{ID: p.id, Created: fromUnixNano(p.created), IssuedAt: fromUnixNano(p.issuedAt), Expires: fromUnixNano(p.expires), KeyID: p.keyID}
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// fromUnixNano returns the time n in UTC: the same time.Time value, ==
// included, as the token's parsed claim or Seal's result.
func fromUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// ctxKey is the context key of one manager's sessions, so two managers
// (two cookies) can serve the same request.
type ctxKey[T any] struct{ m *Manager[T] }

// sessionContext is the request's context: it holds the request's Session
// under the key of its manager, and looks it up without side effects.
type sessionContext[T any] struct {
	context.Context
	sess Session[T]
}

func (c *sessionContext[T]) Value(key any) any {
	if k, ok := key.(ctxKey[T]); ok && k.m == c.sess.m {
		return &c.sess
	}
	return c.Context.Value(key)
}

// FromContext returns the request's Session for this manager, or nil if
// ctx does not come from a request served through m's [Manager.Handler]
// (outside the middleware, read the session with [Manager.Load]).
func (m *Manager[T]) FromContext(ctx context.Context) *Session[T] {
	s, _ := ctx.Value(ctxKey[T]{m}).(*Session[T])
	return s
}

// lock opens the cookie on first use, reports why it did not open, and
// locks s.
func (s *Session[T]) lock() {
	if s == nil {
		panic("tokensession: Session used outside Manager.Handler (FromContext returned nil)")
	}
	var err error
	var keyID string
	s.once.Do(func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		keyID, err = s.load()
	})
	if err != nil {
		s.m.reportKeyID(s.r, err, keyID)
	}
	s.mu.Lock()
}

// Get returns the session's value and whether a session exists. With no
// session (no cookie, or a cookie that did not open) it returns the zero T
// and false.
func (s *Session[T]) Get() (T, bool) {
	s.lock()
	defer s.mu.Unlock()
	return s.value, s.exists
}

// Info returns the session's metadata and whether a session exists. A
// session started in this request has an ID, creation and expiry only once
// it is sealed, by [Session.Save] or when the headers are written.
func (s *Session[T]) Info() (Info, bool) {
	s.lock()
	defer s.mu.Unlock()
	return s.info.unpack(), s.exists
}

// Set replaces the session's value, starting a session if there is none.
// The session keeps its ID and creation time; call [Session.Renew] at login
// and on privilege changes.
func (s *Session[T]) Set(v T) {
	s.mutate(func() {
		s.value = v
		s.exists = true
	})
}

// Update calls fn with a pointer to the session's value (the zero T if
// there is no session), starting a session if there is none, and marks it
// changed. fn runs under the session's lock: it must not call the Session.
func (s *Session[T]) Update(fn func(v *T)) {
	s.mutate(func() {
		fn(&s.value)
		s.exists = true
	})
}

// Renew gives the session a new ID and creation time, keeping its value.
// Call it at login and on any privilege change, so that an ID an attacker
// planted or saw before cannot follow the user in (session fixation).
func (s *Session[T]) Renew() {
	s.mutate(func() {
		s.renew, s.keep = true, nil
	})
}

// Destroy ends the session (logout): the response expires every cookie of
// the session, chunks included. A later Set starts a new session with a
// new ID.
func (s *Session[T]) Destroy() {
	s.mutate(func() {
		var zero T
		s.value = zero
		s.exists = false
		s.renew, s.keep = true, nil
	})
}

// mutate applies fn under the lock and marks the session changed. A change
// made after the response headers were written is reported by Save if the
// handler calls it, else when the handler returns, or at once if the
// handler has already returned. If fn panics, nothing is marked.
func (s *Session[T]) mutate(fn func()) {
	s.lock()
	late := func() bool {
		defer s.mu.Unlock()
		fn()
		s.status = changed
		if s.committed.Load() && s.done {
			s.status = failed
			return true
		}
		return false
	}()
	if late {
		s.m.report(s.r, ErrHeadersWritten)
	}
}

// Load opens the session that the cookies of r carry, outside
// [Manager.Handler]: it reads the cookie, or a complete set of chunk
// cookies, within the same bounds as the middleware, then opens the token
// as [Manager.Open] does. Use it where the middleware does not run, such as
// a WebSocket upgrade served by another router or a test. Load changes
// nothing: it sets no cookie and does not refresh the session.
//
// It returns [http.ErrNoCookie] when r carries no session cookie (or an
// empty one), an error matching [ErrMalformed] for chunk cookies that are
// incomplete or longer than any configuration writes, an error matching
// [ErrTooLarge] for a cookie larger than this manager's MaxChunks and
// MaxCookieSize allow, and otherwise the errors of [Manager.Open].
func (m *Manager[T]) Load(r *http.Request) (T, Info, error) {
	tok, _, err := m.cookie.read(r)
	if err == nil && tok == "" {
		err = http.ErrNoCookie
	}
	if err != nil {
		var zero T
		return zero, Info{}, err
	}
	return m.Open(tok)
}

// Err returns why the request has no session: nil when it carried no
// session cookie or the cookie opened, otherwise the reason the cookie did
// not open, which matches one of [ErrMalformed], [ErrUnknownKey],
// [ErrKeyRetired], [ErrNotAuthentic], [ErrExpired], [ErrRevoked] or
// [ErrTooLarge] with [errors.Is] and never contains token bytes. A handler
// that gets ErrUnknownKey meets a session sealed by a key this instance
// does not have yet, and one that gets ErrTooLarge a session larger than
// this instance's MaxChunks and MaxCookieSize allow, sealed by an instance
// configured otherwise; it may answer 503 with Retry-After rather than act
// anonymously.
func (s *Session[T]) Err() error {
	s.lock()
	defer s.mu.Unlock()
	return s.loadErr
}

// Save seals the session's changes now, so that errors reach the caller
// instead of [Config.ErrorHandler]: an error Save returns is not reported
// again. The Set-Cookie lines go out with the response headers. It returns
// nil when nothing changed; a [*TooLargeError] when the session does not
// fit (the client then keeps its previous cookie unless the value is
// changed again); an error matching [ErrUnknownKey] when the cookie was
// sealed by a key this instance does not have, or one matching
// [ErrTooLarge] when the cookie is larger than this instance reads, and
// must not be replaced (see [Session]); and [ErrHeadersWritten] when a
// change came after the headers were sent.
func (s *Session[T]) Save() error {
	s.lock()
	defer s.mu.Unlock()
	switch {
	case s.committed.Load():
		// What changed before the headers went out was committed with
		// them, any failure reported there.
		if s.status == changed {
			s.status = failed
			return ErrHeadersWritten
		}
		return nil
	case s.status == clean || s.status == saved:
		return nil
	}
	lines, err := s.sealLocked(s.m.now())
	if err != nil {
		s.status = failed
		return err
	}
	s.pending, s.status = lines, saved
	return nil
}

// load opens the request's cookie. It is called once, with s.mu held, and
// returns the reason a cookie present did not open and, for
// [ErrUnknownKey], the key ID that the token's footer names.
func (s *Session[T]) load() (keyID string, err error) {
	s.status = clean
	m := s.m
	tok, seen, err := m.cookie.read(s.r)
	s.seen = seen
	if err != nil {
		s.loadErr = err
		s.keep = keepError(err)
		return "", err
	}
	if tok == "" {
		return "", nil
	}
	now := m.now()
	info, ring, err := m.open(tok, now, &s.value)
	if err != nil {
		var zero T
		s.value = zero
		s.loadErr = err
		s.keep = keepError(err)
		if errors.Is(err, ErrUnknownKey) {
			keyID = footerKeyID(tok)
		}
		return keyID, err
	}
	s.exists = true
	s.info = packInfo(info)
	// Re-seal a token whose key is listed after the sealing key: it is
	// older. A token sealed by a key listed before it is newer (staged
	// here, already sealing on an instance whose clock is ahead) and is
	// left as it is.
	if i := ring.sealingIndex(now); i >= 0 && ring.byID[info.KeyID] > i {
		s.staleKey = true
	}
	return "", nil
}

// sealLocked returns the Set-Cookie lines for the session's current state:
// a new token, or the expiry of every cookie present when there is no
// session. It updates s.info on success.
func (s *Session[T]) sealLocked(now time.Time) ([]string, error) {
	m := s.m
	if !s.exists {
		return m.cookie.expire(s.seen, seenCookies{}), nil
	}
	if s.keep != nil {
		return nil, s.keep
	}
	sid, created := s.info.id, fromUnixNano(s.info.created)
	if s.renew || sid == "" {
		sid, created = newSessionID(), now
	}
	tok, info, err := m.seal(s.value, sid, created, now)
	if err != nil {
		return nil, err
	}
	lines, err := m.cookie.lines(tok, info.Expires.Sub(now), s.seen)
	if err != nil {
		return nil, err
	}
	s.info, s.renew, s.staleKey = packInfo(info), false, false
	return lines, nil
}

// commit decides, once, what the response says about the session, and
// adds it to h. It runs when the headers are about to be written, or when
// the handler returns without writing.
func (s *Session[T]) commit(h http.Header) {
	s.mu.Lock()
	if s.committed.Load() {
		s.mu.Unlock()
		return
	}
	s.committed.Store(true)
	if s.status == untouched {
		s.mu.Unlock()
		return
	}
	var lines []string
	var err error
	now := s.m.now()
	switch s.status {
	case saved:
		lines = s.pending
	case changed:
		lines, err = s.sealLocked(now)
	case clean:
		if s.exists && s.needsRefresh(now) || !s.exists && isBadCookie(s.loadErr) {
			lines, err = s.sealLocked(now)
		}
	}
	s.pending = nil
	if err != nil {
		s.status = failed
	} else if s.status != failed {
		s.status = clean
	}
	s.mu.Unlock()
	// The handler read the session: the response may depend on the
	// cookie, so caches must key it by the cookie.
	addVaryCookie(h)
	if len(lines) > 0 {
		writeSetCookie(h, lines)
	}
	if err != nil {
		s.m.report(s.r, err)
	}
}

// hijacked marks the session committed without writing: after a hijack the
// handler owns the connection. A change not yet written is late.
func (s *Session[T]) hijacked() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.committed.Load() && s.status == saved {
		s.status = changed
	}
	s.committed.Store(true)
}

// finish runs when the handler returns: a late change that Save did not
// return is reported now.
func (s *Session[T]) finish() {
	s.mu.Lock()
	late := s.committed.Load() && s.status == changed
	if late {
		s.status = failed
	}
	s.done = true
	s.mu.Unlock()
	if late {
		s.m.report(s.r, ErrHeadersWritten)
	}
}

// needsRefresh reports whether an unchanged session should be re-sealed:
// its token nears expiry and a new one would live longer, or its key no
// longer seals.
func (s *Session[T]) needsRefresh(now time.Time) bool {
	if s.staleKey {
		return true
	}
	expires := fromUnixNano(s.info.expires)
	if expires.Sub(now) >= s.m.refresh {
		return false
	}
	return s.m.expiry(fromUnixNano(s.info.created), now.Truncate(time.Second)).After(expires)
}

// isBadCookie reports whether err condemns the cookie: it can never open
// anywhere, so the response should expire it.
func isBadCookie(err error) bool {
	return err != nil && keepError(err) == nil
}

// keepError returns, for a reason the cookie did not open, the error that
// refuses a write over it, or nil if a write may replace it. An unknown
// key may be known to another instance during a rollout, and a cookie
// larger than this instance reads may have been sealed by an instance
// configured for larger sessions: those cookies are left alone.
func keepError(err error) error {
	switch {
	case errors.Is(err, ErrUnknownKey):
		return errKeepCookie
	case err == errCookieTooLarge:
		return errKeepLargeCookie
	}
	return nil
}

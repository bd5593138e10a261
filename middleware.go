package tokensession

import (
	"bufio"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Handler returns middleware that gives every request a lazily opened
// [Session], reached with [Manager.FromContext]. Its method value fits
// chi's Use and wraps any [http.Handler], [http.ServeMux] included:
//
//	mux := http.NewServeMux()
//	http.ListenAndServe(addr, m.Handler(mux))
//
// The Set-Cookie header is added just before the response headers go out,
// however the handler first writes: WriteHeader, Write, ReadFrom (io.Copy),
// Flush, or [http.ResponseController]. 1xx responses do not commit it;
// Hijack and Unwrap pass through. A response carries Set-Cookie only when
// the session changed, was renewed or destroyed, nears expiry (within
// RefreshWindow), was sealed by a key that no longer seals, or came in a
// cookie that can never open.
//
// Caching: a response whose handler read the session (called any Session
// method) carries Vary: Cookie, added unless the handler's Vary already
// names Cookie or is "*", so a cache never hands a response rendered for
// one cookie to a request with another; its Cache-Control is left to the
// handler, and a page that shows private data should say "private" itself.
// A response that carries the session's Set-Cookie must never be stored
// by a shared cache: the handler's Cache-Control lines are merged into one
// and every directive kept, except "public" and "s-maxage", which grant
// shared caches what the cookie forbids and are dropped; unless "private"
// or "no-store" is present, `private, no-cache="Set-Cookie"` is added. If
// the handler's directives do not parse (an unbalanced quote, a bad
// escape), a cache could read the added ones as part of them, so they are
// replaced by "private, no-store" instead.
//
// A bad cookie is no session, never an error response; the reason goes to
// [Config.ErrorHandler] and [Session.Err].
func (m *Manager[T]) Handler(next http.Handler) http.Handler {
	return &handler[T]{m: m, next: next}
}

type handler[T any] struct {
	m    *Manager[T]
	next http.Handler
}

func (h *handler[T]) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	st := &requestState[T]{ResponseWriter: w}
	s := &st.ctx.sess
	s.m = h.m
	st.ctx.Context = r.Context()
	s.r = r.WithContext(&st.ctx)
	h.next.ServeHTTP(st, s.r)
	s.commit(w.Header())
	s.finish()
}

// requestState is everything the middleware adds to a request but the
// request copy carrying its context, allocated at once: the response
// writer and the context holding the Session. The cookie is opened only
// when the handler first calls the Session, so a request that never
// touches its session pays for this allocation and the request copy
// alone.
//
// requestState is the response writer the handler gets: it commits the
// session before the first byte of the response header goes out.
type requestState[T any] struct {
	http.ResponseWriter
	ctx sessionContext[T]
}

func (w *requestState[T]) commit() {
	if s := &w.ctx.sess; !s.committed.Load() {
		s.commit(w.ResponseWriter.Header())
	}
}

func (w *requestState[T]) WriteHeader(code int) {
	// 1xx informational responses (103 Early Hints, 100 Continue) are
	// followed by the real one; 101 Switching Protocols is final.
	if code >= 100 && code <= 199 && code != http.StatusSwitchingProtocols {
		w.ResponseWriter.WriteHeader(code)
		return
	}
	w.commit()
	w.ResponseWriter.WriteHeader(code)
}

func (w *requestState[T]) Write(b []byte) (int, error) {
	w.commit()
	return w.ResponseWriter.Write(b)
}

func (w *requestState[T]) WriteString(s string) (int, error) {
	w.commit()
	return io.WriteString(w.ResponseWriter, s)
}

// ReadFrom keeps io.Copy on the underlying writer's fast path (sendfile).
func (w *requestState[T]) ReadFrom(r io.Reader) (int64, error) {
	w.commit()
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(writerOnly{w.ResponseWriter}, r)
}

// writerOnly hides ReadFrom so io.Copy cannot loop back into it.
type writerOnly struct{ io.Writer }

// FlushError commits the session, then flushes. [http.ResponseController]
// calls it before looking at Unwrap.
func (w *requestState[T]) FlushError() error {
	w.commit()
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Flush commits the session, then flushes.
func (w *requestState[T]) Flush() { _ = w.FlushError() }

// Hijack passes through. The handler then owns the connection, so a
// session change not yet written is reported as [ErrHeadersWritten].
func (w *requestState[T]) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil {
		w.ctx.sess.hijacked()
	}
	return c, rw, err
}

// Unwrap returns the wrapped writer, for [http.ResponseController].
func (w *requestState[T]) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// writeSetCookie adds the session's Set-Cookie lines to h, and merges the
// handler's Cache-Control lines into one that keeps shared caches from
// storing the response: see [Manager.Handler].
func writeSetCookie(h http.Header, lines []string) {
	h["Set-Cookie"] = append(h["Set-Cookie"], lines...)
	h["Cache-Control"] = []string{privateCacheControl(h["Cache-Control"])}
}

// privateCacheControl merges Cache-Control lines, dropping the directives
// that allow shared caching and adding private, no-cache="Set-Cookie"
// unless private or no-store is there. If a directive does not parse (an
// unbalanced quote, a bad escape), where it ends is anyone's guess, and a
// cache might read what follows as part of it: the lines are replaced by
// "private, no-store", the strictest answer.
func privateCacheControl(lines []string) string {
	var b strings.Builder
	closed := false
	for _, line := range lines {
		for line != "" {
			var d string
			d, line = nextDirective(line)
			if d == "" {
				continue
			}
			if !validDirective(d) {
				return "private, no-store"
			}
			name, _, qualified := strings.Cut(d, "=")
			name = strings.TrimSpace(name)
			switch {
			case strings.EqualFold(name, "public"), strings.EqualFold(name, "s-maxage"):
				continue
			// Only the bare directives close the response to shared
			// caches: private="X" restricts the named fields alone
			// (RFC 9111, section 5.2.2.7), and no-store takes no
			// argument.
			case !qualified && (strings.EqualFold(name, "private") || strings.EqualFold(name, "no-store")):
				closed = true
			}
			if b.Len() > 0 {
				b.WriteString(", ")
			}
			b.WriteString(d)
		}
	}
	if !closed {
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		b.WriteString(`private, no-cache="Set-Cookie"`)
	}
	return b.String()
}

// nextDirective returns the first comma-separated element of a
// Cache-Control value, trimmed, and the rest. A comma inside a quoted
// string (no-cache="Set-Cookie, X") does not separate.
func nextDirective(s string) (d, rest string) {
	quoted := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case c == ',' && !quoted:
			return strings.TrimSpace(s[:i]), s[i+1:]
		}
	}
	return strings.TrimSpace(s), ""
}

// validDirective reports whether d is a Cache-Control directive as RFC
// 9111 section 5.2 writes it: a token, optionally followed by "=" and a
// token or a quoted string (RFC 9110 section 5.6).
func validDirective(d string) bool {
	name, arg, hasArg := strings.Cut(d, "=")
	switch {
	case !isToken(name):
		return false
	case !hasArg:
		return true
	case len(arg) == 0 || arg[0] != '"':
		return isToken(arg)
	}
	// A quoted string: qdtext and quoted-pairs, then the closing quote
	// and nothing after it.
	for i := 1; i < len(arg); i++ {
		switch c := arg[i]; {
		case c == '"':
			return i == len(arg)-1
		case c == '\\':
			i++
			if i == len(arg) || !isQuotedText(arg[i]) && arg[i] != '"' && arg[i] != '\\' {
				return false
			}
		case !isQuotedText(c):
			return false
		}
	}
	return false
}

// isToken reports whether s is an RFC 9110 token: one or more tchars.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// isQuotedText reports whether c may stand unescaped in an RFC 9110 quoted
// string: tab, space, or a visible or obs-text byte other than '"' and '\'.
func isQuotedText(c byte) bool {
	return c == '\t' || c == ' ' || c >= 0x21 && c != '"' && c != '\\' && c != 0x7f
}

// addVaryCookie adds Vary: Cookie to h unless a Vary line already names
// Cookie (in any case) or is "*".
func addVaryCookie(h http.Header) {
	for _, line := range h["Vary"] {
		for v := range strings.SplitSeq(line, ",") {
			v = strings.TrimSpace(v)
			if v == "*" || strings.EqualFold(v, "Cookie") {
				return
			}
		}
	}
	h["Vary"] = append(h["Vary"], "Cookie")
}

// report hands err to the ErrorHandler, or by default logs it through
// [slog.Default]: see [Config.ErrorHandler].
func (m *Manager[T]) report(r *http.Request, err error) { m.reportKeyID(r, err, "") }

// reportKeyID is report with, for [ErrUnknownKey], the key ID that the
// token's footer names, which the default log shows: a PASERK ID is
// public, and the footer parsed as one before the key was looked up.
func (m *Manager[T]) reportKeyID(r *http.Request, err error, keyID string) {
	if m.errorHandler != nil {
		m.errorHandler(r, err)
		return
	}
	if !errors.Is(err, ErrUnknownKey) {
		keyID = ""
	}
	level := m.logLevel(err, keyID)
	ctx := r.Context()
	l := slog.Default()
	if !l.Enabled(ctx, level) {
		return
	}
	attrs := []slog.Attr{
		slog.String("cookie", m.cookie.template.Name),
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
	}
	msg := logMessage(err)
	if keyID != "" {
		msg = "session cookie sealed by an unknown key: an instance seals with a key this one lacks: give every instance the same keyring"
		attrs = append(attrs, slog.String("key_id", keyID))
	}
	// Every error of this package has a fixed message: no token bytes.
	attrs = append(attrs, slog.String("err", err.Error()))
	l.LogAttrs(ctx, level, "tokensession: "+msg, attrs...)
}

// logLevel ranks err for the default log. Problems of the server (a
// change lost, a session too large, a codec failure, no sealing key) are
// errors; a write refused during a key rollout or a rolling change of the
// cookie settings is a warning; the opening errors any client can cause at
// will are debug, except three that usually point at a problem of the
// deployment, shown at most once a minute and otherwise at debug: a
// cookie of an unknown key, a warning per key ID (keyID, if not empty,
// names it); a cookie larger than this instance's settings allow, a
// warning per manager; and an incomplete chunk set, which usually means a
// client or proxy dropped a cookie, info per manager.
func (m *Manager[T]) logLevel(err error, keyID string) slog.Level {
	switch {
	case err == errKeepCookie, err == errKeepLargeCookie:
		return slog.LevelWarn
	case err == errIncompleteChunks:
		if onceAMinute(&m.chunksHintAt, m.now()) {
			return slog.LevelInfo
		}
		return slog.LevelDebug
	case err == errCookieTooLarge:
		if onceAMinute(&m.sizeHintAt, m.now()) {
			return slog.LevelWarn
		}
		return slog.LevelDebug
	case keyID != "":
		if m.keyHints.warn(keyID, m.now().UnixNano()) {
			return slog.LevelWarn
		}
		return slog.LevelDebug
	case errors.Is(err, ErrMalformed), errors.Is(err, ErrUnknownKey),
		errors.Is(err, ErrKeyRetired), errors.Is(err, ErrNotAuthentic),
		errors.Is(err, ErrExpired), errors.Is(err, ErrRevoked):
		return slog.LevelDebug
	}
	return slog.LevelError
}

// onceAMinute reports whether a minute has passed since *last (UnixNano of
// the manager's clock), and if so sets it to now.
func onceAMinute(last *atomic.Int64, now time.Time) bool {
	n, l := now.UnixNano(), last.Load()
	return n-l >= int64(time.Minute) && last.CompareAndSwap(l, n)
}

// keyHints remembers when the default log last warned of an unknown key
// ID, for a few IDs: any client can name as many IDs as it likes, so the
// warnings are bounded per ID and in total.
type keyHints struct {
	mu  sync.Mutex
	ids [8]string
	at  [8]int64 // UnixNano of the manager's clock
}

// warn reports whether to warn of the key ID id at now: at most once a
// minute per ID, and for at most len(h.ids) IDs a minute.
func (h *keyHints) warn(id string, now int64) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	free := -1
	for i, seen := range h.ids {
		switch {
		case seen == id:
			if now-h.at[i] < int64(time.Minute) {
				return false
			}
			h.at[i] = now
			return true
		case free < 0 && (seen == "" || now-h.at[i] >= int64(time.Minute)):
			free = i
		}
	}
	if free < 0 {
		return false
	}
	h.ids[free], h.at[free] = id, now
	return true
}

func logMessage(err error) string {
	switch {
	case errors.Is(err, ErrHeadersWritten):
		return "session change lost: made after the response headers were written"
	case err == errKeepCookie:
		return "session change not saved: the cookie was sealed by a key this instance does not have"
	case err == errKeepLargeCookie:
		return "session change not saved: the cookie is larger than this instance's MaxChunks and MaxCookieSize allow, and is kept"
	case err == errCookieTooLarge:
		return "session cookie larger than this instance's MaxChunks and MaxCookieSize allow: an instance seals larger sessions than this one reads: give every instance the same MaxChunks and MaxCookieSize"
	case err == errIncompleteChunks:
		return "session cookie chunks incomplete: the client or a proxy may have dropped a cookie"
	case errors.Is(err, ErrTooLarge):
		return "session change not saved: too large"
	case errors.Is(err, ErrMalformed), errors.Is(err, ErrUnknownKey),
		errors.Is(err, ErrKeyRetired), errors.Is(err, ErrNotAuthentic),
		errors.Is(err, ErrExpired), errors.Is(err, ErrRevoked):
		return "session cookie did not open"
	}
	return "session not saved"
}

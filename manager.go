package tokensession

import (
	"errors"
	"net/http"
	"sync/atomic"
	"time"
)

const (
	// DefaultIdleTimeout is the default [Config.IdleTimeout].
	DefaultIdleTimeout = 30 * time.Minute
	// DefaultAbsoluteTimeout is the default [Config.AbsoluteTimeout].
	DefaultAbsoluteTimeout = 24 * time.Hour
	// DefaultLeeway is the default [Config.Leeway].
	DefaultLeeway = 30 * time.Second
)

// Config configures a [Manager]. The zero value of every field except
// Keyring is a secure default, documented on the field. [New] validates the
// whole Config once.
type Config[T any] struct {
	// Keyring holds the keys that seal and open tokens. Required. Replace it
	// while serving with [Manager.SetKeyring].
	Keyring *Keyring

	// CookieName is the session cookie's name. Default "__Host-session"
	// (or "session" with UnsafeAllowHTTP). The __Host- prefix makes
	// browsers require Secure, Path=/ and no Domain, so no subdomain can
	// plant or overwrite the cookie. Without it a sibling subdomain can set
	// cookies of the same name, or of its chunk names, that hide or spoil
	// the session: the request then has no session until they expire. A
	// session split across several cookies uses CookieName+".0",
	// CookieName+".1", and so on, up to ".15".
	CookieName string

	// Purpose binds tokens to one use: it is authenticated as the PASETO
	// implicit assertion "tokensession/v1:"+Purpose, so a token minted for
	// one purpose fails to open under any other. Default CookieName.
	Purpose string

	// IdleTimeout is how long a session lives without being used: each
	// token expires IdleTimeout after it was sealed. Default 30 minutes.
	IdleTimeout time.Duration

	// AbsoluteTimeout caps a session's life from its creation (login),
	// however often it is refreshed. Default 24 hours.
	AbsoluteTimeout time.Duration

	// RefreshWindow: the middleware re-seals a session it reads when less
	// than RefreshWindow remains before the token expires. Default half of
	// IdleTimeout. It must not exceed IdleTimeout.
	RefreshWindow time.Duration

	// Leeway tolerates clock skew between instances: a token is accepted
	// until Leeway past its expiry and a key until Leeway past its
	// retirement. Default 30 seconds; a negative value means none.
	Leeway time.Duration

	// Now returns the current time. Default [time.Now]. Tests inject a
	// clock here.
	Now func() time.Time

	// Codec turns session values into bytes. Default [JSONCodec].
	Codec Codec

	// RevokedBefore revokes every session created before it: set it to
	// the current time to log everyone out. A session created at or after
	// it opens, even within the same second: creation times are kept to
	// the nanosecond. [New] refuses a RevokedBefore more than Leeway ahead
	// of Now, which would also revoke the sessions sealed until then; the
	// Leeway lets an instance whose clock is slightly behind start. Default:
	// none.
	RevokedBefore time.Time

	// IsRevoked, if set, is called for every authentic, unexpired token
	// with its metadata and value; returning true rejects the token with
	// [ErrRevoked]. Use it to revoke single sessions by ID or users by a
	// field of the value. It must be safe for concurrent use.
	IsRevoked func(info Info, value T) bool

	// ErrorHandler receives every error the middleware meets that no
	// caller receives: bad cookies (with their reason, an opening error),
	// sessions that could not be sealed (too large, no sealing key, a codec
	// failure, a cookie of an unknown key that a write must not replace),
	// and changes made after the response headers were written. Each error
	// goes to exactly one place: the caller of [Session.Save] when Save
	// returned it, otherwise ErrorHandler. A late change is reported by Save
	// if the handler calls it, else when the handler returns. The client
	// never sees these errors, and none contains token bytes.
	//
	// Default: log through [slog.Default], as net/http logs its handlers'
	// mistakes. Server-side failures log at [slog.LevelError] (a write
	// refused during a key rollout or a rolling change of MaxChunks or
	// MaxCookieSize at [slog.LevelWarn]); the opening errors any client
	// can cause (malformed, forged, expired…) at [slog.LevelDebug], so
	// they cannot flood the log at the default level. Three of them
	// usually point at the deployment and show above debug at most once a
	// minute: a cookie of an unknown key, at [slog.LevelWarn] once per key
	// ID (for at most 8 IDs a minute), naming the key ID and hinting that
	// every instance needs the same keyring; a cookie larger than this
	// instance's MaxChunks and MaxCookieSize allow, at [slog.LevelWarn];
	// and an incomplete chunk set, usually a cookie dropped by a client or
	// proxy over its Cookie header limit, at [slog.LevelInfo]. Lines name
	// the cookie, the method, the path and the error, never the token.
	ErrorHandler func(r *http.Request, err error)

	// Path is the cookie's Path. Default "/". It must start with '/', and
	// be "/" with the __Host- prefix.
	Path string

	// Domain is the cookie's Domain. Default none (host-only). Must be
	// empty with the __Host- prefix (matched in any case, as browsers do;
	// likewise __Secure- requires Secure). [New] refuses a Domain that is
	// a single label, such as a bare top-level domain, or an IP address;
	// it has no public suffix list, so a suffix such as "co.uk" passes New
	// and is then refused by browsers.
	Domain string

	// SameSite is the cookie's SameSite attribute. Default
	// [http.SameSiteLaxMode]. [http.SameSiteNoneMode] requires Secure,
	// and so cannot be combined with UnsafeAllowHTTP.
	SameSite http.SameSite

	// UnsafeAllowHTTP drops the Secure attribute so that sessions work over
	// plain http, for development on localhost only. It also changes the
	// default CookieName to "session", since __Host- requires Secure. Over
	// plain http anyone on the path can read and replay the cookie.
	UnsafeAllowHTTP bool

	// MaxCookieSize is the most bytes of name and value one cookie may
	// carry. Default 4096, the limit browsers enforce, which is also the
	// largest allowed; the smallest is 512.
	MaxCookieSize int

	// OpenCacheBytes bounds the memory of the cache of tokens this manager
	// has already authenticated and decrypted, so that a token read on
	// request after request is decrypted twice per instance, not every
	// time: a token is cached on its second open, so a fleet whose
	// instances rarely see a token twice pays next to nothing for the
	// cache. A cache hit requires the whole token to match; the key's
	// presence and retirement, expiry, absolute lifetime, revocation and
	// decoding are still checked on every hit. The cache's memory holds
	// no pointers, so a full cache adds nothing to garbage collection.
	// Default 4 MiB (once full, about 4.1–4.3 MiB of heap, 4.55 MiB with
	// the smallest tokens, and 4.5–4.6 MiB of RSS, allocated as tokens
	// come in); values above 32 GiB count as
	// 32 GiB; a negative value disables the cache.
	OpenCacheBytes int

	// MaxChunks is how many cookies one session may span. Default 1: a
	// session that outgrows one cookie fails to save with a
	// [*TooLargeError] and the client keeps its previous cookie. Raise it
	// (up to 16) to split larger sessions across CookieName.0,
	// CookieName.1, …; mind proxies' limits on the whole Cookie header
	// (nginx allows 8 KiB by default).
	//
	// Cookies named CookieName.0 to CookieName.15 are chunks whatever
	// MaxChunks is. A session in more chunks, or more bytes, than this
	// manager's MaxChunks and MaxCookieSize allow (sealed by an instance
	// configured for larger ones, during a rolling change of these
	// settings) does not open here: [Session.Err] reports [ErrTooLarge],
	// and the middleware leaves its cookies alone unless the handler
	// renews or destroys the session. Lower these settings only once no
	// live session exceeds them, or raise them everywhere first.
	MaxChunks int
}

// Info describes one session token.
type Info struct {
	// ID is the session ID: 128 random bits, base64url. Stable across
	// refreshes; new after [Session.Renew].
	ID string
	// Created is when the session started. It bounds the absolute
	// lifetime and survives refreshes.
	Created time.Time
	// IssuedAt is when this token was sealed.
	IssuedAt time.Time
	// Expires is when this token stops being valid (leeway aside).
	Expires time.Time
	// KeyID is the k4.lid ID of the key that sealed the token.
	KeyID string
}

// A Manager seals and opens session tokens of type T and, through
// [Manager.Handler], keeps them in cookies. Create one with [New]; a
// Manager is safe for concurrent use.
type Manager[T any] struct {
	keyring atomic.Pointer[Keyring]

	now    func() time.Time
	codec  Codec
	isJSON bool

	implicit      []byte
	idle          time.Duration
	absolute      time.Duration
	refresh       time.Duration
	leeway        time.Duration
	revokedBefore time.Time
	isRevoked     func(Info, T) bool
	errorHandler  func(*http.Request, error)
	maxTokenSize  int
	cache         *openCache
	cookie        sessionCookie
	// chunksHintAt and sizeHintAt are when the default log last showed
	// the incomplete-chunks and the cookie-too-large hints above debug
	// level, in UnixNano of the manager's clock; keyHints, the
	// unknown-key hints.
	chunksHintAt atomic.Int64
	sizeHintAt   atomic.Int64
	keyHints     keyHints
}

// New validates cfg and returns a Manager. It does no I/O and starts no
// goroutine, so a serverless cold start costs only the key parsing already
// done for cfg.Keyring.
func New[T any](cfg Config[T]) (*Manager[T], error) {
	m := &Manager[T]{
		now:           cfg.Now,
		codec:         cfg.Codec,
		idle:          cfg.IdleTimeout,
		absolute:      cfg.AbsoluteTimeout,
		refresh:       cfg.RefreshWindow,
		leeway:        cfg.Leeway,
		revokedBefore: cfg.RevokedBefore,
		isRevoked:     cfg.IsRevoked,
		errorHandler:  cfg.ErrorHandler,
	}
	if cfg.Keyring == nil {
		return nil, errors.New("tokensession: Config.Keyring is required")
	}
	if m.now == nil {
		m.now = time.Now
	}
	if m.codec == nil {
		m.codec = JSONCodec{}
	}
	m.isJSON = codecIsJSON(m.codec)
	if m.idle == 0 {
		m.idle = DefaultIdleTimeout
	}
	if m.absolute == 0 {
		m.absolute = DefaultAbsoluteTimeout
	}
	switch {
	case m.idle < time.Second:
		return nil, errors.New("tokensession: Config.IdleTimeout must be at least one second")
	case m.absolute < time.Second:
		return nil, errors.New("tokensession: Config.AbsoluteTimeout must be at least one second")
	case m.idle > m.absolute:
		return nil, errors.New("tokensession: Config.IdleTimeout exceeds Config.AbsoluteTimeout")
	}
	if m.refresh == 0 {
		m.refresh = m.idle / 2
	}
	if m.refresh < 0 || m.refresh > m.idle {
		return nil, errors.New("tokensession: Config.RefreshWindow must be between zero and Config.IdleTimeout")
	}
	switch {
	case m.leeway == 0:
		m.leeway = DefaultLeeway
	case m.leeway < 0:
		m.leeway = 0
	}
	if m.revokedBefore.After(m.now().Add(m.leeway)) {
		return nil, errors.New("tokensession: Config.RevokedBefore is in the future: it would revoke the sessions sealed until then")
	}
	switch {
	case cfg.OpenCacheBytes == 0:
		m.cache = newOpenCache(defaultOpenCacheBytes)
	case cfg.OpenCacheBytes > 0:
		m.cache = newOpenCache(cfg.OpenCacheBytes)
	}
	var err error
	if m.cookie, err = newSessionCookie(&cfg); err != nil {
		return nil, err
	}
	m.maxTokenSize = m.cookie.maxToken
	purpose := cfg.Purpose
	if purpose == "" {
		purpose = m.cookie.template.Name
	}
	m.implicit = []byte("tokensession/v1:" + purpose)
	if err := m.SetKeyring(cfg.Keyring); err != nil {
		return nil, err
	}
	return m, nil
}

// SetKeyring replaces the manager's keyring. It is safe to call while
// requests are being served: in-flight requests finish with the keyring
// they started with, and the swap takes no lock on the request path.
//
// It fails with [ErrNoSealingKey] if no key of r can seal at the manager's
// current time, and leaves the previous keyring in place. It panics if r is
// nil.
func (m *Manager[T]) SetKeyring(r *Keyring) error {
	if r == nil {
		panic("tokensession: SetKeyring with nil Keyring")
	}
	if r.sealingIndex(m.now()) < 0 {
		return ErrNoSealingKey
	}
	m.keyring.Store(r)
	return nil
}

// Keyring returns the keyring in use.
func (m *Manager[T]) Keyring() *Keyring { return m.keyring.Load() }

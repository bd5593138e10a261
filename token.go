package tokensession

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"time"

	"aidanwoods.dev/go-paseto"

	"github.com/tokensession/tokensession/internal/format"
	"github.com/tokensession/tokensession/internal/keyaccess"
)

// The token format (version 1) is in internal/format; FORMAT.md in the
// repository specifies it in full.

// Seal starts a new session holding v and returns its token and metadata:
// a new session ID, created now, expiring after the idle timeout. Use it
// where a cookie does not fit: an Authorization: Bearer header, a WebSocket
// handshake, a queued job. [Manager.Open] reads the token back.
//
// Seal fails with [ErrNoSealingKey] if no key can seal now and with a
// [*TooLargeError] if the token exceeds the size the manager opens
// (MaxChunks × MaxCookieSize, less cookie names).
func (m *Manager[T]) Seal(v T) (string, Info, error) {
	now := m.now()
	return m.seal(v, newSessionID(), now, now)
}

// Reseal seals v as a new token of the existing session described by prev,
// keeping its ID and creation time, with a fresh idle expiry. It is how a
// bearer-token service refreshes a token. It fails with [ErrExpired] once
// the session's absolute lifetime is over, and with an error when prev is
// not the Info of a session that could have opened: an ID that is not 1 to
// 64 base64url characters, or a creation time later than now (with the
// leeway) or outside the years 0 to 9999, which no token can carry. So a
// token Reseal returns opens alike here, with or without the open cache,
// and on other instances with the key.
func (m *Manager[T]) Reseal(v T, prev Info) (string, Info, error) {
	if prev.ID == "" || prev.Created.IsZero() {
		return "", Info{}, errors.New("tokensession: Reseal needs the Info of an opened session")
	}
	return m.seal(v, prev.ID, prev.Created, m.now())
}

// Errors of seal for a session that no token could carry.
var (
	errSealSessionID = errors.New("tokensession: cannot seal: the session ID is not 1 to 64 base64url characters")
	errSealCreated   = errors.New("tokensession: cannot seal: the session's creation time is in the future or outside the years 0 to 9999")
)

// seal seals v as a token of session sid, created at created, at now. It
// refuses what opening would refuse as malformed, so that a token it
// returns (and puts in the open cache, which skips those checks) opens
// alike with or without the cache, on any instance with the key.
func (m *Manager[T]) seal(v T, sid string, created, now time.Time) (string, Info, error) {
	if !format.IsSessionID(sid) {
		return "", Info{}, errSealSessionID
	}
	ring := m.keyring.Load()
	i := ring.sealingIndex(now)
	if i < 0 {
		return "", Info{}, ErrNoSealingKey
	}
	key := ring.entries[i].Key.k

	// created keeps its fractional seconds, so that RevokedBefore tells
	// apart sessions created within one second; iat and exp are whole
	// seconds.
	created = created.UTC()
	iat := now.UTC().Truncate(time.Second)
	// Opening refuses a created it cannot parse (RFC 3339 has four-digit
	// years) and one later than iat with the leeway, as format.CheckTimes
	// does.
	if y := created.Year(); y < 0 || y > 9999 || created.Truncate(time.Second).After(iat.Add(m.leeway)) {
		return "", Info{}, errSealCreated
	}
	exp := m.expiry(created, iat)
	if !exp.After(iat) {
		return "", Info{}, errAbsoluteExpiry
	}

	// The claims are set one by one: go-paseto marshals them (sorted by
	// name) into the payload.
	t := paseto.NewToken()
	if err := setData(&t, m.codec, m.isJSON, v); err != nil {
		return "", Info{}, &CodecError{err}
	}
	t.SetString("created", created.Format(time.RFC3339Nano))
	t.SetTime("exp", exp)
	t.SetTime("iat", iat)
	t.SetString("sid", sid)
	t.SetFooter(key.footer)
	tok := t.V4Encrypt(*key.secret, m.implicit)
	if len(tok) > m.maxTokenSize {
		return "", Info{}, &TooLargeError{Size: len(tok), Limit: m.maxTokenSize}
	}
	// The open cache does not take the token: see openCache.
	return tok, Info{ID: sid, Created: created, IssuedAt: iat, Expires: exp, KeyID: key.id}, nil
}

// Open opens a token made by [Manager.Seal] (or by the middleware) and
// returns its session value and metadata. Steps, in order: bound the size;
// split off the footer without decoding the payload and look the key up by
// its ID; decrypt and authenticate with the purpose; check expiry, absolute
// lifetime and revocation against the manager's clock with its leeway;
// decode the value.
//
// A token expires at its "exp" claim or, if sooner, IdleTimeout after it
// was sealed or AbsoluteTimeout after its session was created, with the
// timeouts this manager has now: a token sealed under longer timeouts
// opens until the current ones end it, and Info.Expires reports that
// instant, so the middleware refreshes it in time.
//
// Every failure matches one of [ErrMalformed], [ErrUnknownKey],
// [ErrKeyRetired], [ErrNotAuthentic], [ErrExpired] or [ErrRevoked], and
// never quotes the input. Open never panics, whatever tainted holds.
func (m *Manager[T]) Open(tainted string) (T, Info, error) {
	var v T
	info, _, err := m.open(tainted, m.now(), &v)
	if err != nil {
		var zero T
		return zero, Info{}, err
	}
	return v, info, nil
}

// open opens tainted into *v, which must hold the zero value. It also
// returns the keyring it used, so the caller can tell whether the sealing
// key has changed.
func (m *Manager[T]) open(tainted string, now time.Time, v *T) (Info, *Keyring, error) {
	switch {
	case tainted == "":
		return Info{}, nil, errEmpty
	case len(tainted) > m.maxTokenSize:
		return Info{}, nil, errOversized
	}
	payload, footer, err := format.Split(tainted)
	if err != nil {
		return Info{}, nil, formatError(err)
	}
	if !format.PayloadShape(payload) {
		return Info{}, nil, errPayload
	}

	ring := m.keyring.Load()
	entry, ok := ring.lookupFooter(footer)
	retired := ok && !entry.NotAfter.IsZero() && !now.Before(entry.NotAfter.Add(m.leeway))
	if !ok || retired {
		// Decryption, which decodes the payload strictly, does not run:
		// a mangled payload is still malformed first.
		switch {
		case !format.CanonicalPayload(payload):
			return Info{}, nil, errPayload
		case !ok:
			if _, err := format.FooterKeyID(footer); err != nil {
				return Info{}, nil, errFooterShape
			}
			return Info{}, nil, ErrUnknownKey
		}
		return Info{}, nil, ErrKeyRetired
	}

	d, err := m.decrypt(entry, tainted, payload)
	if err != nil {
		return Info{}, nil, err
	}
	info := d.info
	if info.Expires, err = m.checkTimes(info, now); err != nil {
		return Info{}, nil, err
	}
	if err := decodeData(m.codec, m.isJSON, &d, v); err != nil {
		if !d.cached && d.claims.Get("data", new(json.RawMessage)) != nil {
			return Info{}, nil, errClaims // missing
		}
		return Info{}, nil, errData
	}
	if m.isRevoked != nil && m.isRevoked(info, *v) {
		return Info{}, nil, errRevokedHook
	}
	return info, ring, nil
}

// decrypted is what decrypting a token gives: its metadata, and its
// data claim either in the claims go-paseto parsed (claims, when the token
// was decrypted here) or as the raw JSON the open cache kept (data, on a
// hit).
type decrypted struct {
	info   Info
	cached bool
	claims paseto.Token
	data   []byte
}

// decrypt is decryptToken, memoised by the open cache if there is one: a
// hit gives what the miss gave.
func (m *Manager[T]) decrypt(entry *KeyringEntry, tainted, payload string) (decrypted, error) {
	if m.cache == nil {
		return decryptToken(entry, tainted, m.implicit)
	}
	at := m.cache.locate(payload)
	if info, data, ok := m.cache.get(at, tainted); ok {
		info.KeyID = entry.Key.k.id
		return decrypted{info: info, cached: true, data: data}, nil
	}
	d, err := decryptToken(entry, tainted, m.implicit)
	if err == nil {
		m.cache.offer(at, tainted, d.info, d.claims)
	}
	return d, err
}

// decryptToken authenticates and decrypts tainted with the key of entry.
// It returns the token's metadata, read from its claims and checked for
// shape, and the claims as go-paseto parsed them, each still raw JSON, for
// decodeData to decode "data" from. It depends on nothing but its
// arguments, so its result may be remembered.
func decryptToken(entry *KeyringEntry, tainted string, implicit []byte) (decrypted, error) {
	c, err := format.Open(entry.Key.k.secret, tainted, implicit)
	if err != nil {
		return decrypted{}, formatError(err)
	}
	info := Info{ID: c.SessionID, Created: c.Created, IssuedAt: c.IssuedAt, Expires: c.Expires, KeyID: entry.Key.k.id}
	return decrypted{info: info, claims: c.Token}, nil
}

func init() {
	// The tokensession command decrypts with a Key through this, so that
	// it never needs the secret itself.
	keyaccess.Register(func(key any, tainted string, implicit []byte) (*paseto.Token, error) {
		k, ok := key.(Key)
		if !ok || !k.IsValid() {
			return nil, errors.New("tokensession: internal error: not a valid Key")
		}
		return format.Decrypt(k.k.secret, tainted, implicit)
	})
}

// footerKeyID returns the key ID that the footer of tainted names, or ""
// unless the footer is a valid one, naming a k4.lid key ID.
func footerKeyID(tainted string) string {
	_, footer, err := format.Split(tainted)
	if err != nil {
		return ""
	}
	id, err := format.FooterKeyID(footer)
	if err != nil {
		return ""
	}
	return id
}

// formatError returns the error of this package for an error of package
// format.
func formatError(err error) error {
	switch err {
	case format.ErrHeader:
		return errHeader
	case format.ErrNoFooter:
		return errNoFooter
	case format.ErrPayload:
		return errPayload
	case format.ErrFooter:
		return errFooterShape
	case format.ErrClaims:
		return errClaims
	case format.ErrTime:
		return errTime
	case format.ErrSessionID:
		return errSessionID
	case format.ErrIdleExpired:
		return errIdleExpired
	case format.ErrAbsoluteExpired:
		return errAbsoluteExpiry
	case format.ErrFuture:
		return errFuture
	case format.ErrRevoked:
		return errRevokedBefore
	}
	return ErrNotAuthentic
}

// checkTimes checks a token's metadata against now, the manager's
// timeouts and leeway, and RevokedBefore, and returns when the token
// expires under the current timeouts: its exp claim, but no later than
// IdleTimeout after it was sealed and AbsoluteTimeout after its session
// was created. A token sealed under longer timeouts (before an operator
// lowered them, or by an instance that still runs the old ones during a
// deploy) is not refused: it lives as long as the current timeouts allow,
// and, since the middleware refreshes a session by its Info.Expires, it
// is re-sealed when that comes near. The rules are format.CheckTimes,
// which the tokensession command applies too.
func (m *Manager[T]) checkTimes(info Info, now time.Time) (time.Time, error) {
	times := format.Times{Expires: info.Expires, IssuedAt: info.IssuedAt, Created: info.Created}
	limits := format.Limits{Idle: m.idle, Absolute: m.absolute, Leeway: m.leeway, RevokedBefore: m.revokedBefore}
	exp, err := format.CheckTimes(&times, now, &limits)
	if err != nil {
		return time.Time{}, formatError(err)
	}
	return exp, nil
}

// expiry returns when a token sealed at now, of a session created at
// created, expires: IdleTimeout after now, but never past the absolute
// lifetime, in whole seconds.
func (m *Manager[T]) expiry(created, now time.Time) time.Time {
	exp := now.Add(m.idle)
	if limit := created.Add(m.absolute); limit.Before(exp) {
		exp = limit
	}
	return exp.Truncate(time.Second)
}

// newSessionID returns 128 random bits, base64url.
func newSessionID() string {
	var b [16]byte
	rand.Read(b[:])
	return b64.EncodeToString(b[:])
}

package tokensession

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"aidanwoods.dev/go-paseto"
)

// Token format version 1 (see the README for the full specification):
//
//	v4.local.<base64url(nonce || ciphertext || tag)>.<base64url(footer)>
//
// footer:             {"kid":"k4.lid.…"} exactly
// implicit assertion: "tokensession/v1:" + purpose
// claims:             {"created":…,"data":…,"exp":…,"iat":…,"sid":…}
const tokenHeader = "v4.local."

// A reasonError is a fixed, allocation-free error that adds a reason to one
// of the sentinels.
type reasonError struct {
	sentinel error
	reason   string
}

func (e *reasonError) Error() string { return e.sentinel.Error() + ": " + e.reason }
func (e *reasonError) Unwrap() error { return e.sentinel }

var (
	errEmpty          = &reasonError{ErrMalformed, "empty token"}
	errOversized      = &reasonError{ErrMalformed, "token exceeds the size limit"}
	errHeader         = &reasonError{ErrMalformed, "not a v4.local token"}
	errNoFooter       = &reasonError{ErrMalformed, "token has no footer"}
	errPayload        = &reasonError{ErrMalformed, "payload is not canonical base64url of a v4.local payload"}
	errFooterShape    = &reasonError{ErrMalformed, "footer is not exactly {\"kid\":\"k4.lid.…\"}"}
	errClaims         = &reasonError{ErrMalformed, "claims are missing or have the wrong type"}
	errData           = &reasonError{ErrMalformed, "session data does not decode into the session type"}
	errFuture         = &reasonError{ErrMalformed, "token issued in the future"}
	errIdleExpired    = &reasonError{ErrExpired, "past its idle expiry"}
	errAbsoluteExpiry = &reasonError{ErrExpired, "past the session's absolute lifetime"}
	errRevokedBefore  = &reasonError{ErrRevoked, "session created before RevokedBefore"}
	errRevokedHook    = &reasonError{ErrRevoked, "rejected by IsRevoked"}
	errCodec          = errors.New("tokensession: codec failed to encode the session value")
)

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
// the session's absolute lifetime is over.
func (m *Manager[T]) Reseal(v T, prev Info) (string, Info, error) {
	if prev.ID == "" || prev.Created.IsZero() {
		return "", Info{}, errors.New("tokensession: Reseal needs the Info of an opened session")
	}
	return m.seal(v, prev.ID, prev.Created, m.now())
}

func (m *Manager[T]) seal(v T, sid string, created, now time.Time) (string, Info, error) {
	ring := m.keyring.Load()
	i := ring.sealingIndex(now)
	if i < 0 {
		return "", Info{}, ErrNoSealingKey
	}
	key := ring.entries[i].Key.k

	now = now.UTC().Truncate(time.Second)
	created = created.UTC().Truncate(time.Second)
	exp := m.expiry(created, now)
	if !exp.After(now) {
		return "", Info{}, errAbsoluteExpiry
	}

	// The claims are set one by one: go-paseto marshals them (sorted by
	// name) into the payload. encoding/json marshals the value straight
	// into its claim; any other codec's output, already checked, goes in
	// as raw JSON.
	t := paseto.NewToken()
	var data []byte
	if m.direct {
		if err := t.Set("data", v); err != nil {
			return "", Info{}, errCodec
		}
	} else {
		var err error
		if data, err = encodeData(m.codec, m.isJSON, v); err != nil {
			return "", Info{}, errCodec
		}
		if err := t.Set("data", json.RawMessage(data)); err != nil {
			return "", Info{}, errCodec
		}
	}
	t.SetTime("created", created)
	t.SetTime("exp", exp)
	t.SetTime("iat", now)
	t.SetString("sid", sid)
	t.SetFooter(key.footer)
	tok := t.V4Encrypt(*key.secret, m.implicit)
	if len(tok) > m.maxTokenSize {
		return "", Info{}, &TooLargeError{Size: len(tok), Limit: m.maxTokenSize}
	}
	info := Info{ID: sid, Created: created, IssuedAt: now, Expires: exp, KeyID: key.id}
	if m.cache != nil {
		// The next request brings this token back: let it skip decryption.
		payload := tok[len(tokenHeader) : len(tok)-1-len(key.encFooter)]
		m.cache.put(tok, payload, info, data)
	}
	return tok, info, nil
}

// Open opens a token made by [Manager.Seal] (or by the middleware) and
// returns its session value and metadata. Steps, in order: bound the size;
// split off the footer without decoding the payload and look the key up by
// its ID; decrypt and authenticate with the purpose; check expiry, absolute
// lifetime and revocation against the manager's clock with its leeway;
// decode the value.
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

var parser = paseto.NewParserWithoutExpiryCheck()

// open opens tainted into *v. It also returns the keyring it used, so the
// caller can tell whether the sealing key has changed.
func (m *Manager[T]) open(tainted string, now time.Time, v *T) (Info, *Keyring, error) {
	if tainted == "" {
		return Info{}, nil, errEmpty
	}
	if len(tainted) > m.maxTokenSize {
		return Info{}, nil, errOversized
	}
	if !strings.HasPrefix(tainted, tokenHeader) {
		return Info{}, nil, errHeader
	}
	body := tainted[len(tokenHeader):]
	dot := strings.IndexByte(body, '.')
	if dot < 0 {
		return Info{}, nil, errNoFooter
	}
	payload, footer := body[:dot], body[dot+1:]
	if !canonicalPayload(payload) {
		return Info{}, nil, errPayload
	}

	ring := m.keyring.Load()
	entry, ok := ring.lookupFooter(footer)
	if !ok {
		return Info{}, nil, classifyFooter(footer)
	}
	if !entry.NotAfter.IsZero() && !now.Before(entry.NotAfter.Add(m.leeway)) {
		return Info{}, nil, ErrKeyRetired
	}

	var info Info
	var raw []byte       // the data claim, or nil if only tok has it
	var tok paseto.Token // the parsed token, if not cached
	cached := false
	if m.cache != nil {
		var e *cachedToken
		if e, cached = m.cache.get(tainted, payload); cached {
			info, raw = e.info, e.data
		}
	}
	if !cached {
		var err error
		if info, tok, err = decrypt(entry, tainted, m.implicit); err != nil {
			return Info{}, nil, err
		}
		// Unless the claim goes straight into the value, the cache or
		// the codec needs its bytes.
		if !m.direct {
			if err := tok.Get("data", (*json.RawMessage)(&raw)); err != nil {
				return Info{}, nil, errClaims
			}
		}
	}

	switch {
	case !now.Before(info.Expires.Add(m.leeway)):
		return Info{}, nil, errIdleExpired
	case !now.Before(info.Created.Add(m.absolute).Add(m.leeway)):
		return Info{}, nil, errAbsoluteExpiry
	// Instances' clocks differ by up to the leeway, so a session created on
	// a fast instance may be re-sealed by a slower one with iat < created.
	case info.IssuedAt.After(now.Add(m.leeway)) || info.Created.After(info.IssuedAt.Add(m.leeway)):
		return Info{}, nil, errFuture
	case info.Created.Before(m.revokedBefore):
		return Info{}, nil, errRevokedBefore
	}
	if raw != nil {
		if err := decodeData(m.codec, m.isJSON, raw, v); err != nil {
			return Info{}, nil, errData
		}
	} else if err := tok.Get("data", v); err != nil {
		// Missing, or present and not decodable into T.
		if tok.Get("data", new(json.RawMessage)) != nil {
			return Info{}, nil, errClaims
		}
		return Info{}, nil, errData
	}
	if m.isRevoked != nil && m.isRevoked(info, *v) {
		return Info{}, nil, errRevokedHook
	}
	if m.cache != nil && !cached {
		m.cache.put(tainted, payload, info, raw)
	}
	return info, ring, nil
}

// decrypt authenticates and decrypts tainted with the key of entry, and
// reads its claims but for "data".
func decrypt(entry *KeyringEntry, tainted string, implicit []byte) (Info, paseto.Token, error) {
	t, err := parser.ParseV4Local(*entry.Key.k.secret, tainted, implicit)
	if err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		if errors.As(err, &se) || errors.As(err, &te) {
			// Authentic (only a key holder can get here) but not a JSON
			// object of claims.
			return Info{}, paseto.Token{}, errClaims
		}
		return Info{}, paseto.Token{}, ErrNotAuthentic
	}
	info := Info{KeyID: entry.Key.k.id}
	if info.Expires, err = t.GetTime("exp"); err != nil {
		return Info{}, paseto.Token{}, errClaims
	}
	if info.IssuedAt, err = t.GetTime("iat"); err != nil {
		return Info{}, paseto.Token{}, errClaims
	}
	if info.Created, err = t.GetTime("created"); err != nil {
		return Info{}, paseto.Token{}, errClaims
	}
	if info.ID, err = t.GetString("sid"); err != nil || info.ID == "" || len(info.ID) > 64 {
		return Info{}, paseto.Token{}, errClaims
	}
	return info, *t, nil
}

// canonicalPayload reports whether s is canonical unpadded base64url of a
// v4.local payload (32-byte nonce, ciphertext, 32-byte tag), without
// decoding it. go-paseto decodes strictly too; checking first lets a
// mangled payload count as malformed rather than not authentic.
func canonicalPayload(s string) bool {
	if len(s)%4 == 1 || len(s)*6/8 <= 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isB64URL(s[i]) {
			return false
		}
	}
	// The unused low bits of the last character must be zero.
	last := b64Value(s[len(s)-1])
	switch len(s) % 4 {
	case 2:
		return last&0x0f == 0
	case 3:
		return last&0x03 == 0
	}
	return true
}

func b64Value(c byte) byte {
	switch {
	case 'A' <= c && c <= 'Z':
		return c - 'A'
	case 'a' <= c && c <= 'z':
		return c - 'a' + 26
	case '0' <= c && c <= '9':
		return c - '0' + 52
	case c == '-':
		return 62
	}
	return 63
}

// classifyFooter tells a footer of the right shape naming a key this ring
// lacks (ErrUnknownKey) from any other footer (ErrMalformed).
func classifyFooter(footer string) error {
	const n = len(`{"kid":""}`) + lidLen
	if len(footer) != b64.EncodedLen(n) {
		return errFooterShape
	}
	var buf [n]byte
	if k, err := b64.Decode(buf[:], []byte(footer)); err != nil || k != n {
		return errFooterShape
	}
	f := string(buf[:])
	if !strings.HasPrefix(f, `{"kid":"`) || !strings.HasSuffix(f, `"}`) || !isKeyID(f[len(`{"kid":"`):n-2]) {
		return errFooterShape
	}
	return ErrUnknownKey
}

// expiry returns when a token sealed at now, of a session created at
// created, expires: IdleTimeout after now, but never past the absolute
// lifetime.
func (m *Manager[T]) expiry(created, now time.Time) time.Time {
	exp := now.Add(m.idle)
	if limit := created.Add(m.absolute); limit.Before(exp) {
		return limit
	}
	return exp
}

// newSessionID returns 128 random bits, base64url.
func newSessionID() string {
	var b [16]byte
	rand.Read(b[:])
	return b64.EncodeToString(b[:])
}

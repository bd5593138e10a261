package tokensession

import (
	"errors"
	"strconv"

	"github.com/tokensession/tokensession/internal/cookiechunk"
	"github.com/tokensession/tokensession/internal/format"
)

// Sentinel errors, one per cause an operator acts on differently. Check them
// with [errors.Is]. Their messages are fixed: no error from this package ever
// contains token bytes, claims, session values or key material.
//
// The middleware answers every opening error as "no session"; the reason
// goes to [Config.ErrorHandler] and never to the client.
var (
	// ErrMalformed reports input that is not a token of this package's
	// format: wrong header, bad encoding, a footer of the wrong shape,
	// oversized input, or claims that do not parse.
	ErrMalformed = errors.New("tokensession: malformed token")

	// ErrUnknownKey reports a well-formed token whose key ID is not in the
	// keyring. During a rolling deploy another instance may know the key, so
	// the middleware leaves such a cookie untouched, on reads and on writes
	// alike: see [Session].
	ErrUnknownKey = errors.New("tokensession: unknown key ID")

	// ErrKeyRetired reports a token sealed by a key whose retirement time
	// (not_after) has passed.
	ErrKeyRetired = errors.New("tokensession: key retired")

	// ErrNotAuthentic reports a token that failed authentication: it was
	// forged, altered, or minted for another purpose.
	ErrNotAuthentic = errors.New("tokensession: token not authentic")

	// ErrExpired reports an authentic token past its idle expiry or its
	// session's absolute lifetime.
	ErrExpired = errors.New("tokensession: token expired")

	// ErrRevoked reports an authentic token rejected by
	// [Config.RevokedBefore] or [Config.IsRevoked].
	ErrRevoked = errors.New("tokensession: session revoked")

	// ErrTooLarge reports a session that does not fit in the configured
	// size. Sealing fails with a [*TooLargeError]. [Session.Err] and
	// [Manager.Load] report with another error matching ErrTooLarge a
	// session cookie larger than this manager's MaxChunks and
	// MaxCookieSize allow but not larger than some configuration writes:
	// during a rolling change of those settings another instance may have
	// sealed it, so the middleware leaves such a cookie untouched, on
	// reads and on writes alike, as it does a cookie of an unknown key.
	ErrTooLarge = errors.New("tokensession: session too large")

	// ErrNoSealingKey reports a keyring with no key able to seal at the
	// current time: every key is staged for later or retired.
	ErrNoSealingKey = errors.New("tokensession: no key can seal now")

	// ErrInvalidKey reports bad key material. The concrete error is a
	// [*KeyError] that names the entry, never its bytes.
	ErrInvalidKey = errors.New("tokensession: invalid key")

	// ErrHeadersWritten reports a session change made after the response
	// headers were sent, too late for its cookie to reach the client.
	ErrHeadersWritten = errors.New("tokensession: session changed after response headers were written")
)

// A TooLargeError reports a session whose token does not fit. It matches
// [ErrTooLarge] with [errors.Is].
type TooLargeError struct {
	// Size is the length of the token the session needed, from
	// [Manager.Seal] and the middleware alike.
	Size int
	// Limit is the longest token the manager's cookies can carry:
	// MaxChunks × MaxCookieSize, less the cookie names.
	Limit int
}

func (e *TooLargeError) Error() string {
	return "tokensession: session too large: " + strconv.Itoa(e.Size) + " bytes, limit " + strconv.Itoa(e.Limit)
}

// Is reports whether target is [ErrTooLarge].
func (e *TooLargeError) Is(target error) bool { return target == ErrTooLarge }

// A KeyError reports bad key material or a bad keyring entry. It names the
// entry by position (and by ID where the key itself parsed), never by its
// bytes. It matches [ErrInvalidKey] with [errors.Is].
type KeyError struct {
	// Index is the zero-based position of the entry in the keyring source,
	// or -1 when the error concerns a single key outside a keyring.
	Index int
	// Reason says what is wrong, in words safe to log.
	Reason string
}

func (e *KeyError) Error() string {
	if e.Index < 0 {
		return "tokensession: invalid key: " + e.Reason
	}
	return "tokensession: keyring entry " + strconv.Itoa(e.Index) + ": " + e.Reason
}

// Is reports whether target is [ErrInvalidKey].
func (e *KeyError) Is(target error) bool { return target == ErrInvalidKey }

func keyError(index int, reason string) error {
	return &KeyError{Index: index, Reason: reason}
}

// A CodecError reports that a session value could not be encoded: the
// [Codec] failed, or a codec that states it encodes JSON returned something
// other than one JSON value. [Manager.Seal], [Manager.Reseal] and
// [Session.Save] return it, and the middleware reports it. Its message is
// fixed, since the codec's own message may quote the value; [errors.As]
// and [errors.Unwrap] reach the codec's error, to diagnose it.
type CodecError struct {
	err error
}

func (e *CodecError) Error() string {
	return "tokensession: codec failed to encode the session value"
}

// Unwrap returns the codec's error.
func (e *CodecError) Unwrap() error { return e.err }

// A reasonError is a fixed, allocation-free error that adds a reason to one
// of the sentinels: reporting one allocates nothing.
type reasonError struct {
	sentinel error
	reason   string
}

func (e *reasonError) Error() string { return e.sentinel.Error() + ": " + e.reason }
func (e *reasonError) Unwrap() error { return e.sentinel }

// Reasons a token does not open.
var (
	errEmpty          = &reasonError{ErrMalformed, "empty token"}
	errOversized      = &reasonError{ErrMalformed, "token exceeds the size limit"}
	errHeader         = &reasonError{ErrMalformed, format.ErrHeader.Error()}
	errNoFooter       = &reasonError{ErrMalformed, format.ErrNoFooter.Error()}
	errPayload        = &reasonError{ErrMalformed, format.ErrPayload.Error()}
	errFooterShape    = &reasonError{ErrMalformed, format.ErrFooter.Error()}
	errClaims         = &reasonError{ErrMalformed, format.ErrClaims.Error()}
	errTime           = &reasonError{ErrMalformed, format.ErrTime.Error()}
	errSessionID      = &reasonError{ErrMalformed, format.ErrSessionID.Error()}
	errData           = &reasonError{ErrMalformed, "session data does not decode into the session type"}
	errFuture         = &reasonError{ErrMalformed, "token issued in the future"}
	errIdleExpired    = &reasonError{ErrExpired, "past its idle expiry"}
	errAbsoluteExpiry = &reasonError{ErrExpired, "past the session's absolute lifetime"}
	errRevokedBefore  = &reasonError{ErrRevoked, "session created before RevokedBefore"}
	errRevokedHook    = &reasonError{ErrRevoked, "rejected by IsRevoked"}
)

// Reasons the middleware cannot read or write the session cookie.
var (
	// errKeepCookie refuses to seal over a cookie sealed by a key this
	// instance does not have.
	errKeepCookie = &reasonError{ErrUnknownKey, "session cookie sealed by a key this instance does not have is kept; only Renew or Destroy replaces it"}
	// errCookieTooLarge is why a session cookie did not open: it is
	// larger than this instance's settings allow, but not than others'.
	errCookieTooLarge = &reasonError{ErrTooLarge, "session cookie has more chunks or bytes than this instance's MaxChunks and MaxCookieSize allow; an instance configured for larger sessions may have sealed it"}
	// errKeepLargeCookie refuses to seal over such a cookie.
	errKeepLargeCookie  = &reasonError{ErrTooLarge, "session cookie larger than this instance reads is kept; only Renew or Destroy replaces it"}
	errIncompleteChunks = &reasonError{ErrMalformed, "incomplete or non-contiguous cookie chunks: the client or a proxy may have dropped a cookie (for example a Cookie header over about 8 KB)"}
	errTooManyCookies   = &reasonError{ErrMalformed, "the Cookie header holds more cookies than net/http reads (" + strconv.Itoa(cookiechunk.MaxPairs) + ")"}
)

package format

import (
	"errors"
	"time"
)

// Why an authentic token is not valid at a given instant. The messages
// are fixed.
var (
	ErrIdleExpired     = errors.New("past its idle expiry")
	ErrAbsoluteExpired = errors.New("past the session's absolute lifetime")
	ErrFuture          = errors.New("token issued in the future")
	ErrRevoked         = errors.New("session created before the revocation instant")
)

// Times are the time claims of a token.
type Times struct {
	Expires  time.Time // "exp"
	IssuedAt time.Time // "iat"
	Created  time.Time // "created"
}

// Limits are an opener's settings that decide whether a token's times
// make it valid.
type Limits struct {
	Idle     time.Duration // a token expires Idle after its "iat"
	Absolute time.Duration // and Absolute after its session's "created"
	Leeway   time.Duration // tolerated clock skew, zero or more
	// RevokedBefore revokes the sessions created before it; the zero
	// time revokes none.
	RevokedBefore time.Time
}

// Expiry returns when a token with times t expires under l: its "exp",
// but no later than l.Idle after it was sealed and l.Absolute after its
// session was created. A token sealed under longer timeouts (before an
// operator lowered them, or by an instance that still runs the old ones
// during a deploy) is not refused: it lives as long as the current
// timeouts allow.
func (l *Limits) Expiry(t *Times) time.Time {
	exp := t.Expires
	if idle := t.IssuedAt.Add(l.Idle); idle.Before(exp) {
		exp = idle
	}
	if limit := t.Created.Add(l.Absolute); limit.Before(exp) {
		exp = limit
	}
	return exp
}

// CheckTimes decides whether a token with times t is valid at now under
// l. It returns the token's expiry, [Limits.Expiry], and an error:
// [ErrIdleExpired] or [ErrAbsoluteExpired] once now reaches that expiry
// plus the leeway, [ErrFuture] for an "iat" later than now or a "created"
// later than "iat" by more than the leeway, and [ErrRevoked] for a session
// created before l.RevokedBefore, checked in that order.
func CheckTimes(t *Times, now time.Time, l *Limits) (time.Time, error) {
	exp := l.Expiry(t)
	limit := t.Created.Add(l.Absolute)
	switch {
	// exp is capped at limit: an expiry that reaches it is the absolute
	// lifetime's.
	case !now.Before(exp.Add(l.Leeway)) && exp.Before(limit):
		return exp, ErrIdleExpired
	case !now.Before(limit.Add(l.Leeway)):
		return exp, ErrAbsoluteExpired
	// Instances' clocks differ by up to the leeway, so a session created on
	// a fast instance may be re-sealed by a slower one with iat < created.
	// iat is in whole seconds, created is not: compare them to the second.
	case t.IssuedAt.After(now.Add(l.Leeway)) ||
		t.Created.Truncate(time.Second).After(t.IssuedAt.Add(l.Leeway)):
		return exp, ErrFuture
	case t.Created.Before(l.RevokedBefore):
		return exp, ErrRevoked
	}
	return exp, nil
}

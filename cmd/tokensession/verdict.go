package main

import (
	"errors"
	"strconv"
	"time"

	"aidanwoods.dev/go-paseto"

	"github.com/tokensession/tokensession"
	"github.com/tokensession/tokensession/internal/format"
	"github.com/tokensession/tokensession/internal/keyaccess"
)

// This file gives inspect's verdict as Manager.Open gives it, with the
// token format's own code (internal/format) and a Key's decryption
// (internal/keyaccess), so that inspect needs neither a Manager, which
// insists on a key able to seal now, nor a key's secret.

// cookieSize is the largest, and the default, Config.MaxCookieSize: the
// bytes of name and value that browsers keep in one cookie.
// minCookieSize is the smallest Config.MaxCookieSize. defaultMaxChunks
// is the default Config.MaxChunks: one cookie, no chunks.
const (
	cookieSize       = 4096
	minCookieSize    = 512
	defaultMaxChunks = 1
)

// maxTokenSize returns the longest token a Manager opens with this
// cookie name, MaxChunks and MaxCookieSize (size): what its cookies can
// carry, less their names.
func maxTokenSize(name string, maxChunks, size int) int {
	if maxChunks == 1 {
		return size - len(name)
	}
	n := 0
	for i := range maxChunks {
		n += size - len(name) - len(".") - len(strconv.Itoa(i))
	}
	return n
}

// A verifier opens tokens as a Manager configured alike would, whatever
// keys of its keyring can seal.
type verifier struct {
	ring     *tokensession.Keyring
	implicit []byte
	limits   format.Limits // with Config.RevokedBefore; Config.IsRevoked is not applied
	maxToken int
}

// An opening is what inspect learns of a token.
type opening struct {
	kid    string // the key ID its footer names, or ""
	kidErr error  // why there is none
	index  int    // the position of that key in the keyring, or -1
	// claims are the decrypted claims, unchecked, when the keyring
	// holds the key, whatever the time and the key's retirement; else
	// decryptErr says why not.
	claims     *paseto.Token
	decryptErr error
	// times are the claims' exp, iat and created, if they parse.
	times *format.Times
	// verdict is nil for a token valid now, else why it is not, in the
	// words of Manager.Open.
	verdict error
}

// errNoSession is the class of the verdict on a Cookie header from which
// the middleware reads no session, and no error: Manager.Load reports
// http.ErrNoCookie, and Session.Err nil.
var errNoSession = errors.New("no session")

// A verdict is why a token is not valid now: an error of the library
// (its class) and the reason that Manager.Open adds to it, if any.
type verdict struct {
	class  error
	reason string
}

func (v *verdict) Error() string {
	if v.reason == "" {
		return libMessage(v.class)
	}
	return libMessage(v.class) + ": " + v.reason
}

// Unwrap returns the verdict's class, for errors.Is.
func (v *verdict) Unwrap() error { return v.class }

// formatVerdict returns the verdict of Manager.Open on a token that fails
// with err, an error of package format: the library classes format's
// errors this way, with format's words as the reason.
func formatVerdict(err error) error {
	switch err {
	case format.ErrNotAuthentic:
		return &verdict{tokensession.ErrNotAuthentic, ""}
	case format.ErrIdleExpired, format.ErrAbsoluteExpired:
		return &verdict{tokensession.ErrExpired, err.Error()}
	case format.ErrRevoked:
		// Manager.Open names the setting.
		return &verdict{tokensession.ErrRevoked, "session created before RevokedBefore"}
	}
	return &verdict{tokensession.ErrMalformed, err.Error()}
}

// open opens tainted at now, in the order Manager.Open takes: bound the
// size, split off the footer, check the payload's shape, look the key up
// by the footer's ID and check its retirement (with the leeway), decrypt,
// read the claims, check the times with format.CheckTimes, and require
// the data. It decrypts whenever the keyring holds the key, retired or
// not, so that the report can show the claims of any token.
func (v *verifier) open(tainted string, now time.Time) opening {
	o := opening{index: -1}
	payload, footer, splitErr := format.Split(tainted)
	if splitErr != nil {
		o.kidErr = splitErr
	} else if o.kid, o.kidErr = format.FooterKeyID(footer); o.kidErr == nil {
		o.index = indexOf(v.ring.Entries(), o.kid)
	}
	var entry tokensession.KeyringEntry
	if o.index >= 0 {
		entry = v.ring.Entries()[o.index]
		o.claims, o.decryptErr = keyaccess.Decrypt(entry.Key, tainted, v.implicit)
		if o.decryptErr == nil {
			o.times = readTimes(o.claims)
		}
	}

	retired := o.index >= 0 && !entry.NotAfter.IsZero() && !now.Before(entry.NotAfter.Add(v.limits.Leeway))
	switch {
	case tainted == "":
		o.verdict = &verdict{tokensession.ErrMalformed, "empty token"}
	case len(tainted) > v.maxToken:
		o.verdict = &verdict{tokensession.ErrMalformed, "token exceeds the size limit"}
	case splitErr != nil:
		o.verdict = formatVerdict(splitErr)
	case !format.PayloadShape(payload):
		o.verdict = formatVerdict(format.ErrPayload)
	// Without the key, or with a retired one, nothing is decrypted: a
	// mangled payload is malformed first.
	case (o.index < 0 || retired) && !format.CanonicalPayload(payload):
		o.verdict = formatVerdict(format.ErrPayload)
	case o.kidErr != nil:
		o.verdict = formatVerdict(o.kidErr)
	case o.index < 0:
		o.verdict = &verdict{tokensession.ErrUnknownKey, ""}
	case retired:
		o.verdict = &verdict{tokensession.ErrKeyRetired, ""}
	case o.decryptErr != nil:
		o.verdict = formatVerdict(o.decryptErr)
	default:
		o.verdict = v.check(o.claims, now)
	}
	return o
}

// check checks the claims of an authentic token at now.
func (v *verifier) check(t *paseto.Token, now time.Time) error {
	c, err := format.ReadClaims(t)
	if err != nil {
		return formatVerdict(err)
	}
	if _, err := format.CheckTimes(&c.Times, now, &v.limits); err != nil {
		return formatVerdict(err)
	}
	if _, err := c.Data(); err != nil {
		return formatVerdict(err)
	}
	return nil
}

// readTimes returns the time claims of t, or nil if any is missing or
// not a time claim of the format.
func readTimes(t *paseto.Token) *format.Times {
	var times format.Times
	for _, c := range []struct {
		name string
		to   *time.Time
	}{{"exp", &times.Expires}, {"iat", &times.IssuedAt}, {"created", &times.Created}} {
		s, err := t.GetString(c.name)
		if err != nil {
			return nil
		}
		if *c.to, err = format.ParseTime(s); err != nil {
			return nil
		}
	}
	return &times
}

package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"aidanwoods.dev/go-paseto"

	"github.com/tokensession/tokensession"
	"github.com/tokensession/tokensession/internal/cookiechunk"
	"github.com/tokensession/tokensession/internal/format"
)

// TestVerdictMatchesOpen gives inspect's verifier and a Manager configured
// alike the same tokens at the same instants, under several timeouts and
// leeways, and requires the same verdict in the same words.
func TestVerdictMatchesOpen(t *testing.T) {
	key, other, retired := fuzzKey(t), tokensession.GenerateKey(), tokensession.GenerateKey()
	ring, err := tokensession.NewKeyring(
		tokensession.KeyringEntry{Key: key},
		tokensession.KeyringEntry{Key: retired, NotAfter: t0.Add(time.Minute)},
	)
	if err != nil {
		t.Fatal(err)
	}
	raw := make([]byte, tokensession.KeySize)
	for i := range raw {
		raw[i] = byte(i)
	}
	sk, err := paseto.V4SymmetricKeyFromBytes(raw)
	if err != nil {
		t.Fatal(err)
	}
	implicit := format.Implicit(tokensession.DefaultCookieName)
	// foreign seals claims with key as another implementation could.
	foreign := func(claims string) string {
		tok, err := paseto.NewTokenFromClaimsJSON([]byte(claims), format.Footer(key.ID()))
		if err != nil {
			t.Fatal(err)
		}
		return tok.V4Encrypt(sk, implicit)
	}

	clock := t0
	cfg := tokensession.Config[json.RawMessage]{MaxChunks: 4, OpenCacheBytes: -1}
	m := newManager(t, ring, &clock, cfg)
	seal := func(m *tokensession.Manager[json.RawMessage], at time.Duration) string {
		t.Helper()
		clock = t0.Add(at)
		defer func() { clock = t0 }()
		tok, _, err := m.Seal(json.RawMessage(`{"user":"alice"}`))
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	tok := seal(m, 0)
	first := seal(m, -70*time.Minute)
	clock = t0.Add(-70 * time.Minute)
	_, info, err := m.Open(first)
	if err != nil {
		t.Fatal(err)
	}
	clock = t0.Add(-10 * time.Minute)
	refreshed, _, err := m.Reseal(json.RawMessage(`1`), info)
	if err != nil {
		t.Fatal(err)
	}
	clock = t0
	retiredRing, _ := tokensession.NewKeyring(tokensession.KeyringEntry{Key: retired})
	otherRing, _ := tokensession.NewKeyring(tokensession.KeyringEntry{Key: other})
	footer := strings.LastIndexByte(tok, '.')
	tokens := map[string]string{
		"valid":                  tok,
		"refreshed":              refreshed,
		"retired key":            seal(newManager(t, retiredRing, &clock, cfg), -50*time.Minute),
		"unknown key":            seal(newManager(t, otherRing, &clock, cfg), 0),
		"other purpose":          seal(newManager(t, ring, &clock, tokensession.Config[json.RawMessage]{Purpose: "api"}), 0),
		"tampered":               tamper(tok, len(format.Header)+40),
		"mangled last character": tok[:footer-1] + "_" + tok[footer:],
		"unknown key, mangled":   withFooter(tok[:footer-1]+"_"+tok[footer:], other.ID()),
		"bad footer":             tok[:footer+1] + "e30",
		"no footer":              tok[:footer],
		"short payload":          "v4.local.AAAA." + tok[footer+1:],
		"not a token":            "hello",
		"empty":                  "",
		"oversized":              tok + strings.Repeat("A", 20000),
		"missing data":           foreign(`{"exp":"2026-03-01T12:30:00Z","iat":"2026-03-01T12:00:00Z","created":"2026-03-01T12:00:00Z","sid":"abc"}`),
		"null data":              foreign(`{"exp":"2026-03-01T12:30:00Z","iat":"2026-03-01T12:00:00Z","created":"2026-03-01T12:00:00Z","sid":"abc","data":null}`),
		"created after iat":      foreign(`{"exp":"2026-03-01T12:30:00Z","iat":"2026-03-01T12:00:00Z","created":"2026-03-01T12:01:00Z","sid":"abc","data":1}`),
		"exp beyond the timeout": foreign(`{"exp":"2026-03-02T12:00:00Z","iat":"2026-03-01T12:00:00Z","created":"2026-03-01T12:00:00Z","sid":"abc","data":1}`),
		"time without Z":         foreign(`{"exp":"2026-03-01T12:30:00+00:00","iat":"2026-03-01T12:00:00Z","created":"2026-03-01T12:00:00Z","sid":"abc","data":1}`),
		"bad sid":                foreign(`{"exp":"2026-03-01T12:30:00Z","iat":"2026-03-01T12:00:00Z","created":"2026-03-01T12:00:00Z","sid":"a b","data":1}`),
		"sid not a string":       foreign(`{"exp":"2026-03-01T12:30:00Z","iat":"2026-03-01T12:00:00Z","created":"2026-03-01T12:00:00Z","sid":7,"data":1}`),
	}
	offsets := []time.Duration{-2 * time.Minute, -30 * time.Second, -29 * time.Second, 0, time.Minute + 29*time.Second, time.Minute + 30*time.Second,
		29 * time.Minute, 30 * time.Minute, 30*time.Minute + 30*time.Second, 50 * time.Minute, 25 * time.Hour}
	verdicts := make(map[string]bool)
	for _, limits := range []format.Limits{
		{Idle: 30 * time.Minute, Absolute: 24 * time.Hour, Leeway: 30 * time.Second},
		{Idle: 30 * time.Minute, Absolute: time.Hour, Leeway: 0},
		{Idle: 20 * time.Minute, Absolute: time.Hour, Leeway: 30 * time.Second},
		// Revokes the sessions created before 11:30, an hour and ten
		// minutes before t0 (first, refreshed) and not those of t0.
		{Idle: 30 * time.Minute, Absolute: 24 * time.Hour, Leeway: 30 * time.Second, RevokedBefore: t0.Add(-30 * time.Minute)},
	} {
		cfg := cfg
		cfg.IdleTimeout, cfg.AbsoluteTimeout, cfg.Leeway = limits.Idle, limits.Absolute, limits.Leeway
		cfg.RevokedBefore = limits.RevokedBefore
		if cfg.Leeway == 0 {
			cfg.Leeway = -1
		}
		m := newManager(t, ring, &clock, cfg)
		v := verifier{ring: ring, implicit: implicit, limits: limits, maxToken: maxTokenSize(tokensession.DefaultCookieName, cfg.MaxChunks, cookieSize)}
		for name, tok := range tokens {
			for _, d := range offsets {
				clock = t0.Add(d)
				want := "valid now"
				if _, _, err := m.Open(tok); err != nil {
					want = libMessage(err)
				}
				got := "valid now"
				if o := v.open(tok, clock); o.verdict != nil {
					got = o.verdict.Error()
				}
				if got != want {
					t.Errorf("%s at t0%+v, %+v: inspect says %q, Open %q", name, d, limits, got, want)
				}
				verdicts[want] = true
			}
		}
	}
	clock = t0
	// The tokens cover every verdict inspect can give.
	for _, want := range []string{
		"valid now",
		"malformed token: empty token",
		"malformed token: token exceeds the size limit",
		"malformed token: not a v4.local token",
		"malformed token: token has no footer",
		"malformed token: " + format.ErrPayload.Error(),
		"malformed token: " + format.ErrFooter.Error(),
		"malformed token: " + format.ErrClaims.Error(),
		"malformed token: " + format.ErrTime.Error(),
		"malformed token: " + format.ErrSessionID.Error(),
		"malformed token: " + format.ErrFuture.Error(),
		"unknown key ID",
		"key retired",
		"token not authentic",
		"token expired: " + format.ErrIdleExpired.Error(),
		"token expired: " + format.ErrAbsoluteExpired.Error(),
		"session revoked: session created before RevokedBefore",
	} {
		if !verdicts[want] {
			t.Errorf("no token gave the verdict %q", want)
		}
	}
}

// TestMaxTokenSize checks inspect's bound on tokens against the one a
// Manager opens, for each MaxChunks, two cookie names and three
// MaxCookieSizes.
func TestMaxTokenSize(t *testing.T) {
	ring, _ := tokensession.NewKeyring(tokensession.KeyringEntry{Key: tokensession.GenerateKey()})
	clock := t0
	for _, name := range []string{tokensession.DefaultCookieName, "s"} {
		for _, size := range []int{minCookieSize, 1000, cookieSize} {
			for n := 1; n <= cookiechunk.Max; n++ {
				m := newManager(t, ring, &clock, tokensession.Config[json.RawMessage]{CookieName: name, MaxChunks: n, MaxCookieSize: size})
				max := maxTokenSize(name, n, size)
				_, _, errAt := m.Open(strings.Repeat("v", max))
				_, _, errOver := m.Open(strings.Repeat("v", max+1))
				const oversized = "token exceeds the size limit"
				if strings.Contains(errAt.Error(), oversized) || !strings.Contains(errOver.Error(), oversized) {
					t.Errorf("cookie %s, MaxChunks %d, MaxCookieSize %d: bound %d: Open says %q at it and %q above", name, n, size, max, errAt, errOver)
				}
			}
		}
	}
}

package format_test

import (
	"testing"
	"time"

	"github.com/tokensession/tokensession/internal/format"
)

// TestCheckTimes walks each rule of CheckTimes to its edge, with and
// without the leeway, and checks the expiry it reports.
func TestCheckTimes(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	const (
		idle     = 30 * time.Minute
		absolute = 2 * time.Hour
		leeway   = 30 * time.Second
	)
	std := format.Limits{Idle: idle, Absolute: absolute, Leeway: leeway}
	noLeeway, shorter, revoked, revokedAt := std, std, std, std
	noLeeway.Leeway = 0
	shorter.Idle, shorter.Absolute = 3*time.Hour, 70*time.Minute
	revoked.RevokedBefore = t0.Add(-time.Hour + 1)
	revokedAt.RevokedBefore = t0.Add(-time.Hour)
	// A token sealed at t0 of a session created an hour earlier: its exp
	// claim is the idle expiry, t0+30m, and its absolute limit t0+1h.
	fresh := format.Times{Expires: t0.Add(idle), IssuedAt: t0, Created: t0.Add(-time.Hour)}
	// Sealed at t0 under an idle timeout of 3h: capped at both limits.
	long := format.Times{Expires: t0.Add(3 * time.Hour), IssuedAt: t0, Created: t0.Add(-time.Hour)}
	// Sealed at t0 near the end of its session: exp is the absolute limit.
	late := format.Times{Expires: t0.Add(10 * time.Minute), IssuedAt: t0, Created: t0.Add(-110 * time.Minute)}

	for _, tc := range []struct {
		name    string
		times   format.Times
		now     time.Time
		limits  format.Limits
		wantExp time.Time
		wantErr error
	}{
		{name: "fresh", times: fresh, now: t0, wantExp: t0.Add(idle)},
		{name: "just before idle expiry plus leeway", times: fresh, now: t0.Add(idle + leeway - 1), wantExp: t0.Add(idle)},
		{name: "at idle expiry plus leeway", times: fresh, now: t0.Add(idle + leeway), wantExp: t0.Add(idle), wantErr: format.ErrIdleExpired},
		{name: "at idle expiry without leeway", times: fresh, now: t0.Add(idle), limits: noLeeway, wantExp: t0.Add(idle), wantErr: format.ErrIdleExpired},
		{name: "exp capped by the current idle timeout", times: long, now: t0.Add(idle + leeway), wantExp: t0.Add(idle), wantErr: format.ErrIdleExpired},
		{name: "exp capped by the current absolute lifetime", times: long, now: t0.Add(5 * time.Minute), limits: shorter, wantExp: t0.Add(10 * time.Minute)},
		{name: "absolute lifetime reached", times: late, now: t0.Add(10*time.Minute + leeway), wantExp: t0.Add(10 * time.Minute), wantErr: format.ErrAbsoluteExpired},
		{name: "absolute lifetime within leeway", times: late, now: t0.Add(10*time.Minute + leeway - 1), wantExp: t0.Add(10 * time.Minute)},
		{name: "iat in the future within leeway", times: fresh, now: t0.Add(-leeway), wantExp: t0.Add(idle)},
		{name: "iat in the future", times: fresh, now: t0.Add(-leeway - 1), wantExp: t0.Add(idle), wantErr: format.ErrFuture},
		{
			name:  "created after iat within leeway, to the second",
			times: format.Times{Expires: t0.Add(idle), IssuedAt: t0, Created: t0.Add(leeway + 999*time.Millisecond)},
			now:   t0, wantExp: t0.Add(idle),
		},
		{
			name:  "created after iat beyond leeway",
			times: format.Times{Expires: t0.Add(idle), IssuedAt: t0, Created: t0.Add(leeway + time.Second)},
			now:   t0, wantExp: t0.Add(idle), wantErr: format.ErrFuture,
		},
		{name: "revoked", times: fresh, now: t0, limits: revoked, wantExp: t0.Add(idle), wantErr: format.ErrRevoked},
		{name: "created at RevokedBefore", times: fresh, now: t0, limits: revokedAt, wantExp: t0.Add(idle)},
		// An expired token is expired first, whatever else is wrong.
		{name: "expired and revoked", times: fresh, now: t0.Add(time.Hour), limits: revoked, wantExp: t0.Add(idle), wantErr: format.ErrIdleExpired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := tc.limits
			if l == (format.Limits{}) {
				l = std
			}
			exp, err := format.CheckTimes(&tc.times, tc.now, &l)
			if err != tc.wantErr || !exp.Equal(tc.wantExp) {
				t.Errorf("CheckTimes = %v, %v; want %v, %v", exp, err, tc.wantExp, tc.wantErr)
			}
		})
	}
}

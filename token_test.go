package tokensession_test

import (
	"bytes"
	"encoding/base64"
	"encoding/gob"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tokensession/tokensession"
)

func TestSealOpenRoundTrip(t *testing.T) {
	key := testKey(t, 1)
	now := time.Date(2026, 5, 4, 3, 2, 1, 500, time.UTC)
	m := mustNew(t, tokensession.Config[account]{
		Keyring: mustRing(t, tokensession.KeyringEntry{Key: key}),
		Now:     func() time.Time { return now },
	})
	in := account{User: "ada", Roles: []string{"admin", "ops"}}
	tok, _, err := m.Seal(in)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok, "v4.local.") {
		t.Errorf("token %q does not start with v4.local.", tok)
	}
	out, info, err := m.Open(tok)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(in, out); diff != "" {
		t.Errorf("value mismatch (-sealed +opened):\n%s", diff)
	}
	sec := now.Truncate(time.Second)
	want := tokensession.Info{
		ID:       info.ID,
		Created:  now, // to the nanosecond, for RevokedBefore
		IssuedAt: sec,
		Expires:  sec.Add(tokensession.DefaultIdleTimeout),
		KeyID:    key.ID(),
	}
	if diff := cmp.Diff(want, info); diff != "" {
		t.Errorf("Info mismatch (-want +got):\n%s", diff)
	}
	if len(info.ID) != 22 {
		t.Errorf("session ID %q is not 22 characters", info.ID)
	}

	// Every Seal starts a new session with a new ID and a new nonce.
	tok2, _, err := m.Seal(in)
	if err != nil {
		t.Fatal(err)
	}
	_, info2, err := m.Open(tok2)
	if err != nil {
		t.Fatal(err)
	}
	if tok2 == tok || info2.ID == info.ID {
		t.Error("two Seals gave the same token or session ID")
	}
}

func TestReseal(t *testing.T) {
	c := newFakeClock(fixedT0)
	m := mustNew(t, tokensession.Config[account]{
		Keyring: mustRing(t, tokensession.KeyringEntry{Key: testKey(t, 1)}),
		Now:     c.Now,
	})
	tok, _, err := m.Seal(account{User: "ada"})
	if err != nil {
		t.Fatal(err)
	}
	c.Set(fixedT0.Add(10 * time.Minute))
	_, info, err := m.Open(tok)
	if err != nil {
		t.Fatal(err)
	}
	tok2, info2, err := m.Reseal(account{User: "ada", Roles: []string{"admin"}}, info)
	if err != nil {
		t.Fatal(err)
	}
	if info2.ID != info.ID || !info2.Created.Equal(fixedT0) {
		t.Errorf("Reseal changed the session: ID %q→%q, Created %v→%v", info.ID, info2.ID, info.Created, info2.Created)
	}
	if !info2.IssuedAt.Equal(fixedT0.Add(10*time.Minute)) || !info2.Expires.Equal(fixedT0.Add(40*time.Minute)) {
		t.Errorf("Reseal Info = %+v, want issued at +10m, expiring at +40m", info2)
	}
	v, opened, err := m.Open(tok2)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(info2, opened); diff != "" {
		t.Errorf("Open of the resealed token: Info mismatch (-Reseal +Open):\n%s", diff)
	}
	if len(v.Roles) != 1 || v.Roles[0] != "admin" {
		t.Errorf("resealed value = %+v", v)
	}

	if _, _, err := m.Reseal(account{}, tokensession.Info{}); err == nil {
		t.Error("Reseal with a zero Info succeeded")
	}
}

// Reseal seals only what opening accepts: a token it returns opens alike
// with the open cache on (which remembers the tokens its manager seals)
// and off, as on any other instance with the key.
func TestResealRefusesWhatDoesNotOpen(t *testing.T) {
	c := newFakeClock(fixedT0.Add(123 * time.Millisecond))
	ring := mustRing(t, tokensession.KeyringEntry{Key: testKey(t, 1)})
	cached := mustNew(t, tokensession.Config[account]{Keyring: ring, Now: c.Now})
	uncached := mustNew(t, tokensession.Config[account]{Keyring: ring, Now: c.Now, OpenCacheBytes: -1})
	_, info, err := cached.Seal(account{User: "ada"})
	if err != nil {
		t.Fatal(err)
	}
	with := func(id string, created time.Time) tokensession.Info {
		i := info
		i.ID, i.Created = id, created
		return i
	}
	leeway := tokensession.DefaultLeeway
	for _, tc := range []struct {
		name string
		prev tokensession.Info
		ok   bool
	}{
		{"opened", info, true},
		{"64-character ID", with(strings.Repeat("a", 64), info.Created), true},
		{"created at the leeway", with(info.ID, fixedT0.Add(leeway+999*time.Millisecond)), true},
		{"path in the ID", with("../evil path", info.Created), false},
		{"65-character ID", with(strings.Repeat("a", 65), info.Created), false},
		{"100-character ID", with(strings.Repeat("a", 100), info.Created), false},
		{"non-ASCII ID", with("é", info.Created), false},
		{"padded ID", with("YWJj=", info.Created), false},
		{"created past the leeway", with(info.ID, fixedT0.Add(leeway+time.Second)), false},
		{"created in year 10000", with(info.ID, time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)), false},
		{"created in year -1", with(info.ID, time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, sealer := range []*tokensession.Manager[account]{cached, uncached} {
				tok, sealed, err := sealer.Reseal(account{User: "ada"}, tc.prev)
				if (err == nil) != tc.ok {
					t.Fatalf("Reseal: err = %v, want success %v", err, tc.ok)
				}
				if err != nil {
					if isSentinel(err) || strings.Contains(err.Error(), tc.prev.ID) && tc.prev.ID != info.ID {
						t.Errorf("Reseal error %q: want one of its own, not quoting the ID", err)
					}
					continue
				}
				_, onCached, errCached := cached.Open(tok)
				_, onUncached, errUncached := uncached.Open(tok)
				if errCached != nil || errUncached != nil || onCached != sealed || onUncached != sealed {
					t.Errorf("Open with the cache: %+v, %v; without: %+v, %v; sealed %+v", onCached, errCached, onUncached, errUncached, sealed)
				}
			}
		})
	}
}

func TestAbsoluteLifetime(t *testing.T) {
	c := newFakeClock(fixedT0)
	m := mustNew(t, tokensession.Config[account]{
		Keyring:         mustRing(t, tokensession.KeyringEntry{Key: testKey(t, 1)}),
		Now:             c.Now,
		IdleTimeout:     30 * time.Minute,
		AbsoluteTimeout: time.Hour,
	})
	tok, _, err := m.Seal(account{User: "ada"})
	if err != nil {
		t.Fatal(err)
	}
	// Refresh every 25 minutes: the idle expiry moves, capped at fixedT0+1h.
	for _, at := range []time.Duration{25 * time.Minute, 50 * time.Minute} {
		c.Set(fixedT0.Add(at))
		v, info, err := m.Open(tok)
		if err != nil {
			t.Fatalf("at +%v: %v", at, err)
		}
		if tok, info, err = m.Reseal(v, info); err != nil {
			t.Fatalf("Reseal at +%v: %v", at, err)
		}
		want := fixedT0.Add(at + 30*time.Minute)
		if cap := fixedT0.Add(time.Hour); want.After(cap) {
			want = cap
		}
		if !info.Expires.Equal(want) {
			t.Errorf("Reseal at +%v: Expires = %v, want %v", at, info.Expires, want)
		}
	}
	// The cap plus the default leeway of 30 s.
	end := fixedT0.Add(time.Hour + tokensession.DefaultLeeway)
	c.Set(end.Add(-time.Nanosecond))
	v, info, err := m.Open(tok)
	if err != nil {
		t.Fatalf("just before the absolute lifetime and leeway end: %v", err)
	}
	c.Set(end)
	if _, _, err := m.Open(tok); !errors.Is(err, tokensession.ErrExpired) {
		t.Errorf("at the absolute lifetime + leeway: err = %v, want ErrExpired", err)
	}
	// No Reseal at or after the cap.
	c.Set(fixedT0.Add(time.Hour))
	if _, _, err := m.Reseal(v, info); !errors.Is(err, tokensession.ErrExpired) {
		t.Errorf("Reseal at the absolute lifetime: err = %v, want ErrExpired", err)
	}
	c.Set(fixedT0.Add(time.Hour - time.Second))
	if _, info, err := m.Reseal(v, info); err != nil || !info.Expires.Equal(fixedT0.Add(time.Hour)) {
		t.Errorf("Reseal 1 s before the absolute lifetime: %v, Expires %v", err, info.Expires)
	}
}

func TestExpiryLeeway(t *testing.T) {
	cases := []struct {
		name   string
		leeway time.Duration
		want   time.Duration // tolerance past exp
	}{
		{"default", 0, 30 * time.Second},
		{"custom", 5 * time.Minute, 5 * time.Minute},
		{"none", -1, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newFakeClock(fixedT0)
			m := mustNew(t, tokensession.Config[account]{
				Keyring: mustRing(t, tokensession.KeyringEntry{Key: testKey(t, 1)}),
				Now:     c.Now,
				Leeway:  tc.leeway,
			})
			tok, _, err := m.Seal(account{User: "ada"})
			if err != nil {
				t.Fatal(err)
			}
			end := fixedT0.Add(tokensession.DefaultIdleTimeout + tc.want)
			c.Set(end.Add(-time.Nanosecond))
			if _, _, err := m.Open(tok); err != nil {
				t.Errorf("1 ns before exp+leeway: %v", err)
			}
			c.Set(end)
			if _, _, err := m.Open(tok); !errors.Is(err, tokensession.ErrExpired) || !isSentinel(err) {
				t.Errorf("at exp+leeway: err = %v, want ErrExpired", err)
			}
		})
	}
}

// A token sealed under a longer idle timeout (before an operator lowered
// it, or by an instance still running the old setting during a deploy)
// opens under the shorter one until that ends it, reports that expiry,
// and is refreshed by the middleware like any token near its end.
func TestLoweredIdleTimeout(t *testing.T) {
	ring := mustRing(t, tokensession.KeyringEntry{Key: testKey(t, 1)})
	c := newFakeClock(fixedT0)
	long := mustNew(t, tokensession.Config[account]{Keyring: ring, Now: c.Now, IdleTimeout: 30 * time.Minute, OpenCacheBytes: -1})
	tok, sealed, err := long.Seal(account{User: "ada"})
	if err != nil {
		t.Fatal(err)
	}
	if want := fixedT0.Add(30 * time.Minute); !sealed.Expires.Equal(want) {
		t.Fatalf("sealed Expires = %v, want %v", sealed.Expires, want)
	}
	end := fixedT0.Add(15 * time.Minute)
	for _, cacheBytes := range []int{0, -1} {
		c.Set(fixedT0)
		short := mustNew(t, tokensession.Config[account]{Keyring: ring, Now: c.Now, IdleTimeout: 15 * time.Minute, OpenCacheBytes: cacheBytes})
		for range 3 { // with the cache: a miss, a miss that caches it, a hit
			v, info, err := short.Open(tok)
			if err != nil || v.User != "ada" || !info.Expires.Equal(end) || info.ID != sealed.ID {
				t.Fatalf("cache %d: Open = %+v, %+v, %v; want Expires %v", cacheBytes, v, info, err, end)
			}
		}
		c.Set(end.Add(tokensession.DefaultLeeway - time.Nanosecond))
		if _, _, err := short.Open(tok); err != nil {
			t.Errorf("cache %d: 1 ns before iat+15m+leeway: %v", cacheBytes, err)
		}
		c.Set(end.Add(tokensession.DefaultLeeway))
		if _, _, err := short.Open(tok); !errors.Is(err, tokensession.ErrExpired) || !isSentinel(err) {
			t.Errorf("cache %d: at iat+15m+leeway: err = %v, want ErrExpired", cacheBytes, err)
		}
	}

	// Ten minutes in, five remain of the shorter timeout, inside its
	// 7.5-minute refresh window: a read re-seals the session.
	now := fixedT0.Add(10 * time.Minute)
	c.Set(now)
	short := mustNew(t, tokensession.Config[account]{Keyring: ring, Now: c.Now, IdleTimeout: 15 * time.Minute})
	h := short.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if v, ok := short.FromContext(r.Context()).Get(); !ok || v.User != "ada" {
			t.Errorf("handler: session %+v, %v", v, ok)
		}
	}))
	rec := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "https://example.com/", nil)
	r.AddCookie(&http.Cookie{Name: tokensession.DefaultCookieName, Value: tok})
	h.ServeHTTP(rec, r)
	cs := rec.Result().Cookies()
	if len(cs) != 1 || cs[0].Name != tokensession.DefaultCookieName {
		t.Fatalf("read near the capped expiry: cookies %v, want one refreshed", cs)
	}
	v, info, err := short.Open(cs[0].Value)
	if err != nil || v.User != "ada" || info.ID != sealed.ID || !info.Expires.Equal(now.Add(15*time.Minute)) {
		t.Errorf("refreshed token: %+v, %+v, %v; want session %q expiring %v", v, info, err, sealed.ID, now.Add(15*time.Minute))
	}
}

func TestIssuedInTheFuture(t *testing.T) {
	ring := mustRing(t, tokensession.KeyringEntry{Key: testKey(t, 1)})
	ahead := mustNew(t, tokensession.Config[account]{Keyring: ring, Now: func() time.Time { return fixedT0.Add(time.Minute) }})
	tok, _, err := ahead.Seal(account{User: "ada"})
	if err != nil {
		t.Fatal(err)
	}
	within := mustNew(t, tokensession.Config[account]{Keyring: ring, Now: func() time.Time { return fixedT0.Add(30 * time.Second) }})
	if _, _, err := within.Open(tok); err != nil {
		t.Errorf("iat 30 s ahead (within the leeway): %v", err)
	}
	behind := mustNew(t, tokensession.Config[account]{Keyring: ring, Now: func() time.Time { return fixedT0 }})
	if _, _, err := behind.Open(tok); !errors.Is(err, tokensession.ErrMalformed) {
		t.Errorf("iat 60 s ahead: err = %v, want ErrMalformed", err)
	}
}

func TestTamper(t *testing.T) {
	key := testKey(t, 1)
	calls := 0
	m := mustNew(t, tokensession.Config[account]{
		Keyring: mustRing(t, tokensession.KeyringEntry{Key: key}, tokensession.KeyringEntry{Key: testKey(t, 2)}),
		Now:     func() time.Time { return fixedT0 },
		IsRevoked: func(tokensession.Info, account) bool {
			calls++ // only ever called from this goroutine
			return false
		},
	})
	tok, _, err := m.Seal(account{User: "ada", Roles: []string{"admin"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := m.Open(tok); err != nil || calls != 1 {
		t.Fatalf("the untampered token: %v (IsRevoked calls %d)", err, calls)
	}
	calls = 0

	messages := map[string]bool{}
	check := func(what, tainted string) {
		t.Helper()
		v, info, err := m.Open(tainted)
		if err == nil {
			t.Fatalf("%s: opened", what)
		}
		if !isSentinel(err) {
			t.Fatalf("%s: %v is not exactly one sentinel", what, err)
		}
		if v.User != "" || v.Roles != nil || info != (tokensession.Info{}) {
			t.Fatalf("%s: Open returned a value or Info with its error", what)
		}
		messages[err.Error()] = true
	}

	// Every single-byte change at every position.
	b := []byte(tok)
	for i := range b {
		orig := b[i]
		for r := 0; r < 256; r++ {
			if byte(r) == orig {
				continue
			}
			b[i] = byte(r)
			check("byte change", string(b))
		}
		b[i] = orig
	}
	// Every truncation, and every one-byte extension.
	for i := range tok {
		check("truncation", tok[:i])
	}
	for r := 0; r < 256; r++ {
		check("extension", tok+string([]byte{byte(r)}))
	}
	if calls != 0 {
		t.Errorf("IsRevoked was called %d times for tampered tokens", calls)
	}
	for msg := range messages {
		if leaksToken(msg, tok) || !strings.HasPrefix(msg, "tokensession: ") {
			t.Errorf("error message %q quotes the token or lacks the package prefix", msg)
		}
	}
}

func TestWrongKeyID(t *testing.T) {
	a, b := testKey(t, 1), testKey(t, 2)
	ring := mustRing(t, tokensession.KeyringEntry{Key: a}, tokensession.KeyringEntry{Key: b})
	m := mustNew(t, tokensession.Config[account]{Keyring: ring, Now: func() time.Time { return fixedT0 }})
	tok, _, err := m.Seal(account{User: "ada"})
	if err != nil {
		t.Fatal(err)
	}
	payload, footer := splitToken(t, tok)
	if footer != encodedFooter(a) {
		t.Fatalf("sealed with the wrong key: footer %s", footer)
	}
	// The footer names the other key of the ring: authenticated under a,
	// so it fails under b.
	if _, _, err := m.Open("v4.local." + payload + "." + encodedFooter(b)); !errors.Is(err, tokensession.ErrNotAuthentic) {
		t.Errorf("footer naming another key of the ring: err = %v, want ErrNotAuthentic", err)
	}
	// A well-formed footer naming a key outside the ring.
	if _, _, err := m.Open("v4.local." + payload + "." + encodedFooter(testKey(t, 3))); !errors.Is(err, tokensession.ErrUnknownKey) {
		t.Errorf("footer naming an unknown key: err = %v, want ErrUnknownKey", err)
	}
}

func TestUnknownKey(t *testing.T) {
	other := mustNew(t, tokensession.Config[account]{
		Keyring: mustRing(t, tokensession.KeyringEntry{Key: testKey(t, 9)}),
		Now:     func() time.Time { return fixedT0 },
	})
	tok, _, err := other.Seal(account{User: "ada"})
	if err != nil {
		t.Fatal(err)
	}
	m := mustNew(t, tokensession.Config[account]{
		Keyring: mustRing(t, tokensession.KeyringEntry{Key: testKey(t, 1)}),
		Now:     func() time.Time { return fixedT0 },
	})
	if _, _, err := m.Open(tok); !errors.Is(err, tokensession.ErrUnknownKey) || !isSentinel(err) {
		t.Errorf("token of a key outside the ring: err = %v, want ErrUnknownKey", err)
	}
}

func TestPurposeBinding(t *testing.T) {
	ring := mustRing(t, tokensession.KeyringEntry{Key: testKey(t, 1)})
	now := func() time.Time { return fixedT0 }
	web := mustNew(t, tokensession.Config[account]{Keyring: ring, Now: now})
	api := mustNew(t, tokensession.Config[account]{Keyring: ring, Now: now, Purpose: "api"})
	other := mustNew(t, tokensession.Config[account]{Keyring: ring, Now: now, CookieName: "__Host-other"})
	tok, _, err := web.Seal(account{User: "ada"})
	if err != nil {
		t.Fatal(err)
	}
	for name, m := range map[string]*tokensession.Manager[account]{"purpose api": api, "other cookie": other} {
		if _, _, err := m.Open(tok); !errors.Is(err, tokensession.ErrNotAuthentic) {
			t.Errorf("%s: err = %v, want ErrNotAuthentic", name, err)
		}
	}
	apiTok, _, err := api.Seal(account{User: "ada"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := web.Open(apiTok); !errors.Is(err, tokensession.ErrNotAuthentic) {
		t.Errorf("api token opened by the cookie manager: err = %v, want ErrNotAuthentic", err)
	}
	if _, _, err := api.Open(apiTok); err != nil {
		t.Errorf("api token opened by its own manager: %v", err)
	}
}

func TestRetiredKey(t *testing.T) {
	for _, tc := range []struct {
		name   string
		leeway time.Duration
		grace  time.Duration
	}{{"default leeway", 0, tokensession.DefaultLeeway}, {"no leeway", -1, 0}} {
		t.Run(tc.name, func(t *testing.T) {
			old, cur := testKey(t, 1), testKey(t, 2)
			retire := fixedT0.Add(time.Hour)
			c := newFakeClock(fixedT0)
			m := mustNew(t, tokensession.Config[account]{
				Keyring: mustRing(t,
					tokensession.KeyringEntry{Key: old, NotAfter: retire},
					tokensession.KeyringEntry{Key: cur}),
				Now:         c.Now,
				IdleTimeout: 2 * time.Hour,
				Leeway:      tc.leeway,
			})
			tok, _, err := m.Seal(account{User: "ada"})
			if err != nil {
				t.Fatal(err)
			}
			if _, info, err := m.Open(tok); err != nil || info.KeyID != old.ID() {
				t.Fatalf("Open = %v, KeyID %q; want sealed by the old key", err, info.KeyID)
			}
			c.Set(retire.Add(tc.grace - time.Nanosecond))
			if _, _, err := m.Open(tok); err != nil {
				t.Errorf("just before retirement + leeway: %v", err)
			}
			c.Set(retire.Add(tc.grace))
			if _, _, err := m.Open(tok); !errors.Is(err, tokensession.ErrKeyRetired) || !isSentinel(err) {
				t.Errorf("at retirement + leeway: err = %v, want ErrKeyRetired", err)
			}
			// New tokens now use the current key.
			tok2, _, err := m.Seal(account{User: "ada"})
			if err != nil {
				t.Fatal(err)
			}
			if _, info, err := m.Open(tok2); err != nil || info.KeyID != cur.ID() {
				t.Errorf("after retirement: Open = %v, KeyID %q; want the current key", err, info.KeyID)
			}
		})
	}
}

func TestStagedKeyOpens(t *testing.T) {
	staged, cur := testKey(t, 1), testKey(t, 2)
	activate := fixedT0.Add(time.Hour)
	ring := mustRing(t,
		tokensession.KeyringEntry{Key: staged, NotBefore: activate},
		tokensession.KeyringEntry{Key: cur})
	// An instance whose clock has reached NotBefore seals with the new key;
	// one 10 s behind still seals with the current key but opens both.
	ahead := mustNew(t, tokensession.Config[account]{Keyring: ring, Now: func() time.Time { return activate }})
	behindNow := activate.Add(-10 * time.Second)
	behind := mustNew(t, tokensession.Config[account]{Keyring: ring, Now: func() time.Time { return behindNow }})

	if s := keyStates(ring, behindNow)[0]; s != tokensession.KeyStaged {
		t.Fatalf("State(0) before NotBefore = %v, want staged", s)
	}
	tok, _, err := ahead.Seal(account{User: "ada"})
	if err != nil {
		t.Fatal(err)
	}
	_, info, err := behind.Open(tok)
	if err != nil {
		t.Fatalf("a staged key's token: %v", err)
	}
	if info.KeyID != staged.ID() {
		t.Errorf("KeyID = %q, want the staged key %q", info.KeyID, staged.ID())
	}
	tok2, _, err := behind.Seal(account{User: "ada"})
	if err != nil {
		t.Fatal(err)
	}
	if _, info, err := ahead.Open(tok2); err != nil || info.KeyID != cur.ID() {
		t.Errorf("the older instance's token: %v, KeyID %q, want %q", err, info.KeyID, cur.ID())
	}
}

func TestMalformed(t *testing.T) {
	key := testKey(t, 1)
	m := mustNew(t, tokensession.Config[account]{
		Keyring: mustRing(t, tokensession.KeyringEntry{Key: key}),
		Now:     func() time.Time { return fixedT0 },
	})
	tok, _, err := m.Seal(account{User: "ada"})
	if err != nil {
		t.Fatal(err)
	}
	payload, footer := splitToken(t, tok)
	b64 := base64.RawURLEncoding.EncodeToString
	cases := map[string]string{
		"empty":                 "",
		"oversized":             strings.Repeat("A", 5000),
		"oversized v4.local":    "v4.local." + strings.Repeat("A", 5000) + "." + footer,
		"v4.public":             "v4.public." + payload + "." + footer,
		"v2.local":              "v2.local." + payload + "." + footer,
		"v3.local":              "v3.local." + payload + "." + footer,
		"upper case header":     "V4.LOCAL." + payload + "." + footer,
		"no header":             payload + "." + footer,
		"header only":           "v4.local.",
		"no dot after header":   "v4.local",
		"no footer":             "v4.local." + payload,
		"empty footer":          "v4.local." + payload + ".",
		"empty payload":         "v4.local.." + footer,
		"short payload":         "v4.local." + payload[:80] + "." + footer,
		"padded payload":        "v4.local." + payload + "=." + footer,
		"padded footer":         tok + "=",
		"padded twice":          tok + "==",
		"multi footer":          tok + ".x",
		"trailing dot":          tok + ".",
		"newline in payload":    "v4.local." + payload[:20] + "\n" + payload[20:] + "." + footer,
		"CR in payload":         "v4.local." + payload[:20] + "\r" + payload[20:] + "." + footer,
		"newline in footer":     "v4.local." + payload + "." + footer[:10] + "\n" + footer[10:],
		"newline replacing":     "v4.local." + payload + "." + footer[:10] + "\n" + footer[11:],
		"trailing newline":      tok + "\n",
		"leading space":         " " + tok,
		"trailing space":        tok + " ",
		"standard base64":       "v4.local." + strings.NewReplacer("-", "+", "_", "/").Replace(payload) + "A+/." + footer,
		"footer not JSON":       "v4.local." + payload + "." + b64([]byte("arbitrary-string-that-isn't-json")),
		"footer extra field":    "v4.local." + payload + "." + b64([]byte(`{"kid":"`+key.ID()+`","x":1}`)),
		"footer spaced":         "v4.local." + payload + "." + b64([]byte(`{"kid": "`+key.ID()+`"}`)),
		"footer kid is k4.pid":  "v4.local." + payload + "." + b64([]byte(`{"kid":"k4.pid.`+key.ID()[7:]+`"}`)),
		"footer kid bad chars":  "v4.local." + payload + "." + b64([]byte(`{"kid":"k4.lid.`+strings.Repeat("!", 44)+`"}`)),
		"footer kid is the key": "v4.local." + payload + "." + b64([]byte(`{"kid":"`+key.UnsafeExportPASERK()+`"}`)),
	}
	for name, tainted := range cases {
		t.Run(name, func(t *testing.T) {
			_, _, err := m.Open(tainted)
			if !errors.Is(err, tokensession.ErrMalformed) || !isSentinel(err) {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
			if leaksToken(err.Error(), tok) || strings.Contains(err.Error(), key.UnsafeExportPASERK()[9:]) {
				t.Errorf("error %q quotes its input", err)
			}
		})
	}
}

func TestRevocation(t *testing.T) {
	ring := mustRing(t, tokensession.KeyringEntry{Key: testKey(t, 1)})
	c := newFakeClock(fixedT0)
	m := mustNew(t, tokensession.Config[account]{Keyring: ring, Now: c.Now})
	early, _, err := m.Seal(account{User: "ada"})
	if err != nil {
		t.Fatal(err)
	}
	c.Set(fixedT0.Add(time.Second))
	late, _, err := m.Seal(account{User: "ada"})
	if err != nil {
		t.Fatal(err)
	}
	mallory, _, err := m.Seal(account{User: "mallory"})
	if err != nil {
		t.Fatal(err)
	}
	_, lateInfo, err := m.Open(late)
	if err != nil {
		t.Fatal(err)
	}

	var seen []string
	revoking := mustNew(t, tokensession.Config[account]{
		Keyring:       ring,
		Now:           c.Now,
		RevokedBefore: fixedT0.Add(time.Second),
		IsRevoked: func(info tokensession.Info, v account) bool {
			seen = append(seen, v.User+" "+info.ID)
			return v.User == "mallory"
		},
	})
	if _, _, err := revoking.Open(early); !errors.Is(err, tokensession.ErrRevoked) || !isSentinel(err) {
		t.Errorf("created before RevokedBefore: err = %v, want ErrRevoked", err)
	}
	if _, _, err := revoking.Open(late); err != nil {
		t.Errorf("created at RevokedBefore: %v", err)
	}
	if _, _, err := revoking.Open(mallory); !errors.Is(err, tokensession.ErrRevoked) || !isSentinel(err) {
		t.Errorf("rejected by IsRevoked: err = %v, want ErrRevoked", err)
	}
	if len(seen) != 2 || seen[0] != "ada "+lateInfo.ID || !strings.HasPrefix(seen[1], "mallory ") {
		t.Errorf("IsRevoked saw %q, want the late ada session then mallory", seen)
	}
}

// gobCodec is a Codec whose output is not JSON.
type gobCodec struct{}

func (gobCodec) Marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	err := gob.NewEncoder(&buf).Encode(v)
	return buf.Bytes(), err
}

func (gobCodec) Unmarshal(data []byte, v any) error {
	return gob.NewDecoder(bytes.NewReader(data)).Decode(v)
}

type cart struct {
	Owner string
	Items map[string]int
	Note  []byte
}

func TestNonJSONCodec(t *testing.T) {
	key := testKey(t, 1)
	m := mustNew(t, tokensession.Config[cart]{
		Keyring: mustRing(t, tokensession.KeyringEntry{Key: key}),
		Now:     func() time.Time { return fixedT0 },
		Codec:   gobCodec{},
	})
	in := cart{Owner: "ada", Items: map[string]int{"apple": 3, "pear": 1}, Note: []byte{0, 0xff, '"'}}
	tok, _, err := m.Seal(in)
	if err != nil {
		t.Fatal(err)
	}
	out, _, err := m.Open(tok)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(in, out); diff != "" {
		t.Errorf("round trip mismatch (-sealed +opened):\n%s", diff)
	}

	// The data claim is the base64url string of the codec's bytes.
	msg, _, err := refDecrypt(refKeyBytes(t, key), tok, []byte("tokensession/v1:__Host-session"))
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(msg, &claims); err != nil {
		t.Fatal(err)
	}
	var s string
	if err := json.Unmarshal(claims.Data, &s); err != nil {
		t.Fatalf("data claim %s is not a JSON string", claims.Data)
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil {
		t.Fatalf("data claim is not unpadded base64url: %v", err)
	}
	var fromClaim cart
	if err := (gobCodec{}).Unmarshal(raw, &fromClaim); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(in, fromClaim); diff != "" {
		t.Errorf("data claim decodes to another value (-sealed +claim):\n%s", diff)
	}

	// A data claim that is not a base64url string is malformed.
	m2 := mustNew(t, tokensession.Config[cart]{
		Keyring: mustRing(t, tokensession.KeyringEntry{Key: key}),
		Now:     func() time.Time { return fixedT0 },
		Codec:   gobCodec{},
	})
	for _, data := range []string{`{"Owner":"ada"}`, `"not base64!"`, `"` + base64.StdEncoding.EncodeToString(raw) + `"`} {
		claims := `{"created":"2026-01-01T00:00:00Z","data":` + data + `,"exp":"2026-01-01T00:30:00Z","iat":"2026-01-01T00:00:00Z","sid":"c2Vzc2lvbi1pZC0xMjM0NQ"}`
		tainted := refSeal(refKeyBytes(t, key), []byte(claims), []byte(`{"kid":"`+key.ID()+`"}`), []byte("tokensession/v1:__Host-session"))
		if _, _, err := m2.Open(tainted); !errors.Is(err, tokensession.ErrMalformed) {
			t.Errorf("data %s: err = %v, want ErrMalformed", data, err)
		}
	}
}

// lyingCodec claims JSON output but writes whatever it is given.
type lyingCodec struct{ out string }

func (c lyingCodec) Marshal(any) ([]byte, error)      { return []byte(c.out), nil }
func (lyingCodec) Unmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }
func (lyingCodec) EncodesJSON() bool                  { return true }

// A codec that breaks its contract must not be able to write claims.
func TestCodecCannotInjectClaims(t *testing.T) {
	for _, out := range []string{
		`1,"created":"2000-01-01T00:00:00Z"`,
		`1,"sid":"attacker"`,
		`{"a":1}} `,
		`not json`,
		``,
	} {
		m := mustNew(t, tokensession.Config[int]{
			Keyring: mustRing(t, tokensession.KeyringEntry{Key: testKey(t, 1)}),
			Now:     func() time.Time { return fixedT0 },
			Codec:   lyingCodec{out},
		})
		tok, _, err := m.Seal(1)
		if err == nil {
			_, info, oerr := m.Open(tok)
			t.Errorf("codec output %q: Seal succeeded (Open: %v, %+v)", out, oerr, info)
		}
	}
}

type failingCodec struct{}

var errFailingCodec = errors.New("secret-value-in-codec-error")

func (failingCodec) Marshal(any) ([]byte, error)        { return nil, errFailingCodec }
func (failingCodec) Unmarshal(data []byte, v any) error { return nil }

// A codec failure is a *CodecError with a fixed message that unwraps to
// the codec's error, from Seal, Session.Save and the middleware alike.
func TestCodecError(t *testing.T) {
	var reported []error
	m := mustNew(t, tokensession.Config[int]{
		Keyring:      mustRing(t, tokensession.KeyringEntry{Key: testKey(t, 1)}),
		Now:          func() time.Time { return fixedT0 },
		Codec:        failingCodec{},
		ErrorHandler: func(_ *http.Request, err error) { reported = append(reported, err) },
	})
	tok, _, err := m.Seal(1)
	if err == nil || tok != "" {
		t.Fatalf("Seal with a failing codec = %q, %v", tok, err)
	}
	var saveErr error
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := m.FromContext(r.Context())
		s.Set(1)
		if r.URL.Path == "/save" {
			saveErr = s.Save()
		}
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/save", nil))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	if len(reported) != 1 {
		t.Fatalf("ErrorHandler got %v, want one error", reported)
	}
	for path, err := range map[string]error{"Seal": err, "Save": saveErr, "ErrorHandler": reported[0]} {
		var ce *tokensession.CodecError
		if !errors.As(err, &ce) || errors.Unwrap(err) != errFailingCodec || !errors.Is(err, errFailingCodec) {
			t.Errorf("%s: %#v is not a *CodecError unwrapping to the codec's error", path, err)
		}
		if err != nil && strings.Contains(err.Error(), "secret-value") {
			t.Errorf("%s: error %q repeats the codec's error, which may quote the value", path, err)
		}
	}
}

func TestTooLarge(t *testing.T) {
	for _, chunks := range []int{1, 3} {
		m := mustNew(t, tokensession.Config[string]{
			Keyring:   mustRing(t, tokensession.KeyringEntry{Key: testKey(t, 1)}),
			Now:       func() time.Time { return fixedT0 },
			MaxChunks: chunks,
		})
		limit := 0
		for i := range chunks {
			name := tokensession.DefaultCookieName
			if chunks > 1 {
				name += "." + string(rune('0'+i))
			}
			limit += 4096 - len(name) // the default MaxCookieSize
		}

		big := strings.Repeat("a", 4000*chunks)
		tok, _, err := m.Seal(big)
		var tl *tokensession.TooLargeError
		if !errors.As(err, &tl) || !errors.Is(err, tokensession.ErrTooLarge) || tok != "" {
			t.Fatalf("chunks %d: Seal of %d bytes = %v, want a *TooLargeError", chunks, len(big), err)
		}
		if tl.Size <= tl.Limit || tl.Limit != limit {
			t.Errorf("chunks %d: TooLargeError{Size: %d, Limit: %d}, want Size > Limit = %d", chunks, tl.Size, tl.Limit, limit)
		}
		if strings.Contains(err.Error(), "aaaaaaaa") {
			t.Errorf("error %q quotes the value", err)
		}

		// The largest value that seals gives a token that opens.
		lo, hi := 0, len(big) // Seal(lo) succeeds, Seal(hi) fails
		for hi-lo > 1 {
			mid := (lo + hi) / 2
			if _, _, err := m.Seal(big[:mid]); err == nil {
				lo = mid
			} else if errors.Is(err, tokensession.ErrTooLarge) {
				hi = mid
			} else {
				t.Fatal(err)
			}
		}
		tok, _, err = m.Seal(big[:lo])
		if err != nil {
			t.Fatal(err)
		}
		if len(tok) > limit || len(tok) < limit-4 {
			t.Errorf("chunks %d: largest token is %d bytes, want just under %d", chunks, len(tok), limit)
		}
		if v, _, err := m.Open(tok); err != nil || v != big[:lo] {
			t.Errorf("chunks %d: the largest token does not open: %v", chunks, err)
		}
	}
}

// A session value that encodes to JSON null (a nil map, slice or pointer,
// or "data":null from another implementation) is a session holding the
// zero value, on a cache miss, on a cache hit and with the cache off alike.
func TestOpenNullData(t *testing.T) {
	key := vectorKey(t)
	ring := mustRing(t, tokensession.KeyringEntry{Key: key})
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	foreign := refSeal(refKeyBytes(t, key), []byte(`{"created":"2026-03-01T11:00:00Z","data":null,`+
		`"exp":"2026-03-01T12:20:00Z","iat":"2026-03-01T11:50:00Z","sid":"c2Vzc2lvbi1pZC0xMjM0NQ"}`),
		[]byte(`{"kid":"`+key.ID()+`"}`), []byte("tokensession/v1:__Host-session"))
	for _, codec := range []tokensession.Codec{nil, otherJSONCodec{}, gobCodec{}} {
		for _, cacheBytes := range []int{0, -1} {
			name := fmt.Sprintf("%T/cache=%d", codec, cacheBytes)
			t.Run(name, func(t *testing.T) {
				cfg := func() tokensession.Config[map[string]string] {
					return tokensession.Config[map[string]string]{
						Keyring: ring, Now: func() time.Time { return now }, Codec: codec, OpenCacheBytes: cacheBytes,
					}
				}
				sealer := mustNew(t, cfg())
				sealed, _, err := sealer.Seal(nil)
				if err != nil {
					t.Fatal(err)
				}
				for _, tok := range []string{sealed, foreign} {
					// gob seals a nil map as an empty one, not as null.
					wantNil := tok == foreign || codec != (gobCodec{})
					// A fresh manager: the first open misses, the second hits
					// (when there is a cache).
					m := mustNew(t, cfg())
					for i := range 2 {
						v, info, err := m.Open(tok)
						if err != nil || len(v) != 0 || (v == nil) != wantNil || info.ID == "" {
							t.Fatalf("open %d: %v, %+v, %v; want a session holding nil", i+1, v, info, err)
						}
					}
				}
				// The token Seal put in its own cache opens too.
				if v, _, err := sealer.Open(sealed); err != nil || len(v) != 0 {
					t.Fatalf("open after Seal: %v, %v", v, err)
				}
			})
		}
	}
}

// A session sealed after RevokedBefore opens and one sealed before it is
// revoked, even within one second.
func TestRevokedBeforeWithinSecond(t *testing.T) {
	ring := mustRing(t, tokensession.KeyringEntry{Key: testKey(t, 1)})
	sec := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	c := newFakeClock(sec.Add(300 * time.Millisecond))
	m := mustNew(t, tokensession.Config[account]{Keyring: ring, Now: c.Now})
	before, _, err := m.Seal(account{User: "ada"})
	if err != nil {
		t.Fatal(err)
	}
	// Everyone is logged out at .500; ada logs in again at .700.
	c.Set(sec.Add(600 * time.Millisecond))
	revoking := mustNew(t, tokensession.Config[account]{Keyring: ring, Now: c.Now, RevokedBefore: sec.Add(500 * time.Millisecond)})
	c.Set(sec.Add(700 * time.Millisecond))
	after, sealed, err := revoking.Seal(account{User: "ada"})
	if err != nil {
		t.Fatal(err)
	}
	c.Set(sec.Add(800 * time.Millisecond))
	if _, info, err := revoking.Open(after); err != nil || !info.Created.Equal(sealed.Created) {
		t.Errorf("sealed after RevokedBefore, in the same second: %+v, %v", info, err)
	}
	if _, _, err := revoking.Open(before); !errors.Is(err, tokensession.ErrRevoked) {
		t.Errorf("sealed before RevokedBefore, in the same second: err = %v, want ErrRevoked", err)
	}
	// A session resealed keeps its creation time to the nanosecond, so it
	// stays on the same side of RevokedBefore.
	v, info, err := revoking.Open(after)
	if err != nil {
		t.Fatal(err)
	}
	c.Set(sec.Add(5 * time.Second))
	resealed, _, err := revoking.Reseal(v, info)
	if err != nil {
		t.Fatal(err)
	}
	if _, rinfo, err := revoking.Open(resealed); err != nil || !rinfo.Created.Equal(sec.Add(700*time.Millisecond)) {
		t.Errorf("resealed session: %+v, %v", rinfo, err)
	}
}

// New refuses a RevokedBefore further in the future than the leeway: it
// would also revoke every session sealed until then.
func TestRevokedBeforeInFuture(t *testing.T) {
	ring := mustRing(t, tokensession.KeyringEntry{Key: testKey(t, 1)})
	now := fixedT0
	for _, tc := range []struct {
		leeway, ahead time.Duration
		ok            bool
	}{
		{0, 0, true},
		{0, -time.Hour, true},
		{0, tokensession.DefaultLeeway, true},
		{0, tokensession.DefaultLeeway + time.Nanosecond, false},
		{-1, time.Nanosecond, false},
		{time.Minute, time.Minute, true},
		{time.Minute, 2 * time.Minute, false},
	} {
		_, err := tokensession.New(tokensession.Config[account]{
			Keyring: ring, Now: func() time.Time { return now }, Leeway: tc.leeway, RevokedBefore: now.Add(tc.ahead),
		})
		if (err == nil) != tc.ok {
			t.Errorf("leeway %v, RevokedBefore now%+v: err = %v, want ok = %v", tc.leeway, tc.ahead, err, tc.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "RevokedBefore is in the future") {
			t.Errorf("error %q does not name the problem", err)
		}
	}
}

// A payload that is not canonical base64url is malformed whether its key
// is known, unknown or retired: the check before decryption and the strict
// decoding inside it agree.
func TestOpenPayloadEncoding(t *testing.T) {
	key, gone := testKey(t, 1), testKey(t, 2)
	c := newFakeClock(fixedT0)
	sealer := mustNew(t, tokensession.Config[account]{
		Keyring: mustRing(t, tokensession.KeyringEntry{Key: key}, tokensession.KeyringEntry{Key: gone}), Now: c.Now,
	})
	tok, _, err := sealer.Seal(account{User: "ada"})
	if err != nil {
		t.Fatal(err)
	}
	payload, footer := splitToken(t, tok)
	// Payloads of every length modulo 4, mangled three ways.
	var mangled []string
	for _, p := range []string{payload, payload[:len(payload)-1], payload[:len(payload)-2], payload[:len(payload)-3]} {
		mid := len(p) / 2
		mangled = append(mangled,
			p[:mid]+"+"+p[mid+1:],    // standard base64
			p[:mid]+"\x00"+p[mid+1:], // not base64
			p[:mid]+"."+p[mid+1:],    // a dot splits it
		)
		if len(p)%4 == 2 || len(p)%4 == 3 {
			mangled = append(mangled, p[:len(p)-1]+"_") // unused bits set
		}
		if len(p)%4 == 0 {
			mangled = append(mangled, p+"A") // no whole byte
		}
	}
	retiring := mustRing(t, tokensession.KeyringEntry{Key: testKey(t, 3)},
		tokensession.KeyringEntry{Key: key, NotAfter: fixedT0.Add(-time.Hour)})
	managers := map[string]*tokensession.Manager[account]{
		"known":   sealer,
		"unknown": mustNew(t, tokensession.Config[account]{Keyring: mustRing(t, tokensession.KeyringEntry{Key: testKey(t, 4)}), Now: c.Now}),
		"retired": mustNew(t, tokensession.Config[account]{Keyring: retiring, Now: c.Now}),
	}
	for name, m := range managers {
		for i, p := range mangled {
			_, _, err := m.Open("v4.local." + p + "." + footer)
			if !errors.Is(err, tokensession.ErrMalformed) || !isSentinel(err) {
				t.Errorf("%s key, payload %d: err = %v, want ErrMalformed", name, i, err)
			}
		}
	}
}

// rawJSONCodec is a JSON codec whose output is fixed.
type rawJSONCodec struct{ out string }

func (c rawJSONCodec) Marshal(any) ([]byte, error)      { return []byte(c.out), nil }
func (rawJSONCodec) Unmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }
func (rawJSONCodec) EncodesJSON() bool                  { return true }

// A JSON codec's output goes into the claims only if it is one JSON value:
// anything else could add or override claims.
func TestSealJSONCodecOutput(t *testing.T) {
	ring := mustRing(t, tokensession.KeyringEntry{Key: testKey(t, 1)})
	for _, out := range []string{`1,"created":"2000-01-01T00:00:00Z"`, `{"user":"x"},"sid":"A"`, `{"user":`, ``, `{} {}`} {
		m := mustNew(t, tokensession.Config[account]{Keyring: ring, Now: func() time.Time { return fixedT0 }, Codec: rawJSONCodec{out}})
		if tok, _, err := m.Seal(account{}); err == nil || tok != "" {
			t.Errorf("codec output %q: Seal = %q, %v; want an error", out, tok, err)
		}
	}
	// White space is fine: the claim holds the value compacted.
	m := mustNew(t, tokensession.Config[account]{Keyring: ring, Now: func() time.Time { return fixedT0 }, Codec: rawJSONCodec{` { "user" : "x" } `}})
	tok, _, err := m.Seal(account{})
	if err != nil {
		t.Fatal(err)
	}
	if v, _, err := m.Open(tok); err != nil || v.User != "x" {
		t.Errorf("Open = %+v, %v", v, err)
	}
}

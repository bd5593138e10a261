package fleet

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/tokensession/tokensession"
)

// TestResealAcrossClockSkew is the minimal reproduction of what the fleet
// test meets with one instance's clock 3s ahead: a session created on the
// fast instance and re-sealed (cart change, refresh, key rotation) on a
// slow one carries created > iat, and every instance then rejects it as
// "malformed: token issued in the future", although the skew is well
// within the leeway. The user is logged out and the cookie deleted.
func TestResealAcrossClockSkew(t *testing.T) {
	ring, err := tokensession.NewKeyring(tokensession.KeyringEntry{Key: tokensession.GenerateKey()})
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	manager := func(offset time.Duration) *tokensession.Manager[string] {
		m, err := tokensession.New(tokensession.Config[string]{
			Keyring: ring,
			Leeway:  10 * time.Second,
			Now:     func() time.Time { return base.Add(offset) },
		})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	fast, slow := manager(3*time.Second), manager(0)

	tok, _, err := fast.Seal("cart") // login on the fast instance
	if err != nil {
		t.Fatal(err)
	}
	v, info, err := slow.Open(tok) // read on the slow one: fine
	if err != nil {
		t.Fatalf("slow instance opens the fast one's token: %v", err)
	}
	tok2, _, err := slow.Reseal(v+"+item", info) // cart change on the slow one
	if err != nil {
		t.Fatal(err)
	}
	for name, m := range map[string]*tokensession.Manager[string]{"slow": slow, "fast": fast} {
		if _, _, err := m.Open(tok2); err != nil {
			t.Errorf("%s instance cannot open a token re-sealed on the slow instance 3s behind (leeway 10s): %v", name, err)
		}
	}
}

// TestStagedKeyNotDowngraded is the minimal reproduction of the key
// ping-pong the fleet test counts during a staged rotation with skewed
// clocks: an instance whose clock has passed the new key's not_before seals
// with the new key; an instance still before it opens that token (staged
// keys open) but then treats the new key as stale and re-seals the session
// with the old key on a plain read, so the session flips between keys on
// every request until every clock has passed not_before. DESIGN.md §4 only
// re-seals a token "sealed with a key that is no longer the sealing key";
// a staged key is not yet the sealing key, not no longer.
func TestStagedKeyNotDowngraded(t *testing.T) {
	activation := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	newKey, oldKey := tokensession.GenerateKey(), tokensession.GenerateKey()
	ring, err := tokensession.NewKeyring(
		tokensession.KeyringEntry{Key: newKey, NotBefore: activation},
		tokensession.KeyringEntry{Key: oldKey},
	)
	if err != nil {
		t.Fatal(err)
	}
	manager := func(now time.Time) *tokensession.Manager[string] {
		m, err := tokensession.New(tokensession.Config[string]{
			Keyring: ring, UnsafeAllowHTTP: true, Leeway: 10 * time.Second,
			Now: func() time.Time { return now },
		})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	ahead := manager(activation.Add(time.Second))   // already seals with the new key
	behind := manager(activation.Add(-time.Second)) // still seals with the old key
	tok, _, err := ahead.Seal("cart")
	if err != nil {
		t.Fatal(err)
	}

	h := behind.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if v, ok := behind.FromContext(r.Context()).Get(); !ok || v != "cart" {
			t.Errorf("behind: Get = %q, %v", v, ok)
		}
	}))
	req := httptest.NewRequest("GET", "/", nil)
	req.AddCookie(&http.Cookie{Name: "session", Value: tok})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	for _, c := range rec.Result().Cookies() {
		kid, _ := tokenKID(c.Value)
		t.Errorf("a read of a fresh session sealed by the staged (newer) key set a cookie sealed by %s (old key %s, new key %s)",
			short(kid), short(oldKey.ID()), short(newKey.ID()))
	}
}

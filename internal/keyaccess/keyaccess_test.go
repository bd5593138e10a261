package keyaccess_test

import (
	"testing"
	"time"

	"github.com/tokensession/tokensession"
	"github.com/tokensession/tokensession/internal/format"
	"github.com/tokensession/tokensession/internal/keyaccess"
)

// Decrypt opens a token with a Key as the library would, whatever the
// time, and refuses anything that is not a valid Key.
func TestDecrypt(t *testing.T) {
	key := tokensession.GenerateKey()
	ring, err := tokensession.NewKeyring(tokensession.KeyringEntry{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	sealedAt := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	m, err := tokensession.New(tokensession.Config[string]{Keyring: ring, Now: func() time.Time { return sealedAt }})
	if err != nil {
		t.Fatal(err)
	}
	tok, info, err := m.Seal("ada")
	if err != nil {
		t.Fatal(err)
	}
	implicit := format.Implicit(tokensession.DefaultCookieName)
	pt, err := keyaccess.Decrypt(key, tok, implicit)
	if err != nil {
		t.Fatalf("Decrypt a token of 2001: %v", err)
	}
	if sid, err := pt.GetString("sid"); err != nil || sid != info.ID {
		t.Errorf("sid = %q, %v; want %q", sid, err, info.ID)
	}
	if _, err := keyaccess.Decrypt(tokensession.GenerateKey(), tok, implicit); err != format.ErrNotAuthentic {
		t.Errorf("another key: err = %v, want ErrNotAuthentic", err)
	}
	if _, err := keyaccess.Decrypt(key, tok, format.Implicit("other")); err != format.ErrNotAuthentic {
		t.Errorf("another purpose: err = %v, want ErrNotAuthentic", err)
	}
	for _, bad := range []any{tokensession.Key{}, nil, "k4.local.x"} {
		if _, err := keyaccess.Decrypt(bad, tok, implicit); err == nil {
			t.Errorf("Decrypt with %T accepted", bad)
		}
	}
}

package tokensession_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tokensession/tokensession"
)

func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()
	ring, _ := tokensession.NewKeyring(tokensession.KeyringEntry{Key: tokensession.GenerateKey()})
	cases := map[string]tokensession.Config[mwValue]{
		"no keyring":         {},
		"idle over absolute": {Keyring: ring, IdleTimeout: 2 * time.Hour, AbsoluteTimeout: time.Hour},
		"window over idle":   {Keyring: ring, RefreshWindow: time.Hour},
		"host prefix domain": {Keyring: ring, Domain: "example.com"},
		"host prefix path":   {Keyring: ring, Path: "/app"},
		"host prefix no TLS": {Keyring: ring, CookieName: "__Host-x", UnsafeAllowHTTP: true},
		"secure prefix":      {Keyring: ring, CookieName: "__Secure-x", UnsafeAllowHTTP: true},
		"samesite none http": {Keyring: ring, SameSite: http.SameSiteNoneMode, UnsafeAllowHTTP: true},
		"bad cookie name":    {Keyring: ring, CookieName: "a b"},
		"cookie size small":  {Keyring: ring, MaxCookieSize: 100},
		"cookie size large":  {Keyring: ring, MaxCookieSize: 5000},
		"too many chunks":    {Keyring: ring, MaxChunks: 17},
		"negative chunks":    {Keyring: ring, MaxChunks: -1},
		"negative idle":      {Keyring: ring, IdleTimeout: -time.Second},
		"negative window":    {Keyring: ring, RefreshWindow: -time.Second},
		"staged ring":        {Keyring: mustStagedRing(t)},
		// Browsers match cookie prefixes in any case.
		"host prefix lower":  {Keyring: ring, CookieName: "__host-x", UnsafeAllowHTTP: true},
		"host prefix upper":  {Keyring: ring, CookieName: "__HOST-x", Domain: "example.com"},
		"secure prefix case": {Keyring: ring, CookieName: "__secure-x", UnsafeAllowHTTP: true},
		"relative path":      {Keyring: ring, CookieName: "session", Path: "app"},
		"domain bare TLD":    {Keyring: ring, CookieName: "session", Domain: "com"},
		"domain dotted TLD":  {Keyring: ring, CookieName: "session", Domain: ".com"},
		"domain one label":   {Keyring: ring, CookieName: "session", Domain: "localhost"},
		"domain IPv4":        {Keyring: ring, CookieName: "session", Domain: "192.168.1.10"},
	}
	for name, cfg := range cases {
		t.Run(name, func(t *testing.T) {
			m, err := tokensession.New(cfg)
			if err == nil || m != nil {
				t.Fatalf("New accepted %s", name)
			}
			if !strings.HasPrefix(err.Error(), "tokensession: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
	m, err := tokensession.New(tokensession.Config[mwValue]{Keyring: ring, UnsafeAllowHTTP: true})
	if err != nil {
		t.Errorf("development config: %v", err)
	} else if name := cookieNameOf(t, m); name != "session" {
		t.Errorf("development config: cookie %q", name)
	}
	for _, cfg := range []tokensession.Config[mwValue]{
		{Keyring: ring, CookieName: "session", Domain: "example.com", Path: "/app"},
		{Keyring: ring, CookieName: "__Secure-session", Domain: ".example.co.uk"},
	} {
		if _, err := tokensession.New(cfg); err != nil {
			t.Errorf("New(Domain %q, Path %q): %v", cfg.Domain, cfg.Path, err)
		}
	}
}

func mustStagedRing(t *testing.T) *tokensession.Keyring {
	r, err := tokensession.NewKeyring(tokensession.KeyringEntry{Key: tokensession.GenerateKey(), NotBefore: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

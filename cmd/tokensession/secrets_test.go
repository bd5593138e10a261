package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/tokensession/tokensession"
)

// A key glued to other key characters, next to a '.', is still hidden by
// quoteArg and showPath, and by redact unless standard base64 splits it
// at a '/' (which redact leaves to the others, so that paths stay
// readable); a k4.lid ID, a path of ordinary names and times are shown as
// they are.
func TestSecretsHideGluedKeys(t *testing.T) {
	k, forms := slashKey(t)
	for _, v := range forms {
		for _, s := range []string{v + "xy.z", "x." + v + "xy", "/etc/keys/" + v + "-old.json"} {
			outs := map[string]string{"quoteArg": quoteArg(s), "showPath": showPath(s)}
			if !strings.Contains(v, "/") {
				outs["redact"] = redact(s)
			}
			for name, out := range outs {
				if f, leaked := leaks(out, []string{v}); leaked {
					t.Errorf("%s(%q) = %q shows %q", name, s, out, f)
				}
			}
		}
	}
	for _, s := range []string{
		k.ID(),
		"key " + k.ID() + " (sealing)",
		"/etc/keys/" + k.ID() + ".json",
		"/var/lib/app/some-long-directory-name.d/keyring.json",
		"2026-03-01T12:30:00Z (in 29m30s)",
		"token:    412 bytes, from cookie __Host-session",
	} {
		if got := redact(s); got != s {
			t.Errorf("redact(%q) = %q", s, got)
		}
		if showPath(s) != s && !strings.Contains(s, " ") {
			t.Errorf("showPath(%q) = %q", s, showPath(s))
		}
	}
}

// inspect's report passes through redact, but for the claims the keyring
// authenticated: a session's data of long base64 or "local." text is
// shown as it is, and so are the key ID and the times.
func TestInspectReportRedaction(t *testing.T) {
	key := tokensession.GenerateKey()
	ring, err := tokensession.NewKeyring(tokensession.KeyringEntry{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	clock := t0
	csrf := strings.Repeat("Ab0_", 11)[:43] // a key's length, base64url
	hash := strings.Repeat("0123456789abcdef", 4)
	data := fmt.Sprintf(`{"csrf":%q,"hash":%q,"host":"app.local.example"}`, csrf, hash)
	tok, _, err := newManager(t, ring, &clock, tokensession.Config[json.RawMessage]{}).Seal(json.RawMessage(data))
	if err != nil {
		t.Fatal(err)
	}
	r := exec(t, t0, nil, "", "inspect", "-keys", key.UnsafeExportPASERK(), tok)
	for _, want := range []string{"key ID:   " + key.ID() + "\n", csrf, hash, "app.local.example", "exp:      2026-03-01T12:30:00Z (in 30m0s)\n", "valid now\n"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "[redacted]") {
		t.Errorf("stdout has a redaction:\n%s", r.stdout)
	}

	// Anything else written to the report's writer is redacted.
	var buf bytes.Buffer
	fmt.Fprintf(redactWriter{&buf}, "note:     cookie %s is odd\n", csrf+"xy.z")
	if want := "note:     cookie [redacted].z is odd\n"; buf.String() != want {
		t.Errorf("redactWriter wrote %q, want %q", buf.String(), want)
	}
}

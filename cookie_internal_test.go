package tokensession

import "testing"

// TestCookieLineRefusesWhatStringAlters: a value that http.Cookie.String
// would drop or quote is an error, never a line without the session.
func TestCookieLineRefusesWhatStringAlters(t *testing.T) {
	c, err := newSessionCookie(&Config[int]{})
	if err != nil {
		t.Fatal(err)
	}
	if line, err := c.line("__Host-session", "v4.local.abc-_.def", 60); err != nil || line[:len("__Host-session=v4.local.abc-_.def;")] != "__Host-session=v4.local.abc-_.def;" {
		t.Fatalf("a token's characters: %q, %v", line, err)
	}
	for _, bad := range []string{"a;b", `a"b`, "a b", "a,b", "a\\b", "é", "a\x00"} {
		if line, err := c.line("__Host-session", bad, 60); err == nil {
			t.Errorf("value %q gave the line %q", bad, line)
		}
	}
}

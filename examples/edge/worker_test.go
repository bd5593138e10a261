//go:build js && wasm

package main

import (
	"syscall/js"
	"testing"
)

// TestEnvLookup: a Worker's bindings read as os.LookupEnv reads the
// environment. A binding set to "" is set (the key source then refuses
// it as empty); one that is absent or not a string is not.
func TestEnvLookup(t *testing.T) {
	env := js.Global().Get("Object").New()
	env.Set("SESSION_KEYS", "k4.local.x")
	env.Set("EMPTY", "")
	env.Set("NUMBER", 5)
	env.Set("NULL", js.Null())
	lookup := envLookup(env)
	for _, tc := range []struct {
		name, want string
		ok         bool
	}{
		{"SESSION_KEYS", "k4.local.x", true},
		{"EMPTY", "", true},
		{"NUMBER", "", false},
		{"NULL", "", false},
		{"SESSION_KEYRING", "", false},
	} {
		if v, ok := lookup(tc.name); v != tc.want || ok != tc.ok {
			t.Errorf("lookup(%q) = %q, %v; want %q, %v", tc.name, v, ok, tc.want, tc.ok)
		}
	}
}

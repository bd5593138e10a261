package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tokensession/tokensession"
)

// sealWith returns a new key and a session token it sealed at t0.
func sealWith(t *testing.T) (tokensession.Key, string) {
	t.Helper()
	key := tokensession.GenerateKey()
	ring, err := tokensession.NewKeyring(tokensession.KeyringEntry{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	clock := t0
	tok, _, err := newManager(t, ring, &clock, tokensession.Config[json.RawMessage]{}).Seal(json.RawMessage(`{"user":"admin"}`))
	if err != nil {
		t.Fatal(err)
	}
	return key, tok
}

// A curl snippet pasted as inspect's arguments may hold inspect's flags
// too: they must not replace the operator's keys or settings, nor name a
// file for inspect to open.
func TestInspectRefusesFlagsAfterPastedCurl(t *testing.T) {
	operator, _ := sealWith(t)
	attacker, forged := sealWith(t)
	opKeys, atKeys := operator.UnsafeExportPASERK(), attacker.UnsafeExportPASERK()
	env := map[string]string{"SESSION_KEYS": opKeys}
	dir := tmpDir(t)
	notes := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(notes, []byte("hello\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cookie := "Cookie: __Host-session=" + forged
	const after = "inspect's flags go before the pasted curl command"
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		flag string // named in the message
	}{
		{"-keys after -H, keys from the environment", env, []string{"-H", cookie, "-keys", atKeys}, "-keys"},
		{"-keys after -H, after the operator's -keys", nil, []string{"-keys", opKeys, "-H", cookie, "-keys", atKeys}, "-keys"},
		{"--keys= after a quoted -H", env, []string{"-H '" + cookie + "'", "--keys=" + atKeys}, "-keys"},
		{"-keys after -b", env, []string{"-b", "__Host-session=" + forged, "-keys", atKeys}, "-keys"},
		{"-keyring after -H", env, []string{"-H", cookie, "-keyring", notes}, "-keyring"},
		{"-keyring, the zero device, after -H", env, []string{"-H", cookie, "-keyring", "/dev/zero"}, "-keyring"},
		{"-idle after the word curl", env, []string{"curl", "https://example.com/", "-H", cookie, "-idle", "8760h"}, "-idle"},
		{"-revoked-before after --cookie", env, []string{"--cookie", "a=1", "-revoked-before=2020-01-01T00:00:00Z"}, "-revoked-before"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := exec(t, t0, tc.env, "", append([]string{"inspect"}, tc.args...)...)
			checkResult(t, r, 2, after+": "+tc.flag+" comes after it")
			if r.stdout != "" {
				t.Errorf("stdout: %s", r.stdout)
			}
			if strings.Contains(r.stderr, "PASERK") || strings.Contains(r.stderr, notes) {
				t.Errorf("the pasted file was opened: %s", r.stderr)
			}
			if f, leaked := leaks(r.stderr, secretForms(t, attacker)); leaked {
				t.Errorf("stderr shows %q: %s", f, r.stderr)
			}
		})
	}

	// The operator's flags before the paste still count, and "--" still
	// ends them: what follows is input.
	for name, args := range map[string][]string{
		"flags before -H":        {"-H", cookie},
		"flags before quoted -b": {"-b '__Host-session=" + forged + "'"},
		"flags before -- line":   {"--", "-H '" + cookie + "'"},
	} {
		t.Run(name, func(t *testing.T) {
			r := exec(t, t0, nil, "", slices.Concat([]string{"inspect", "-keys", atKeys, "-idle", "1h"}, args)...)
			if r.code != 0 || !strings.HasSuffix(r.stdout, "valid now\n") {
				t.Errorf("exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
			}
		})
	}
	// After "--", a flag is input, not a flag: here a second argument.
	r := exec(t, t0, env, "", "inspect", "--", "-H '"+cookie+"'", "-keys")
	checkResult(t, r, 2, "takes one token or Cookie header")
}

// A flag given twice is a usage error naming the flag, never its values:
// the last would win, and a pasted one could come last.
func TestInspectRefusesFlagGivenTwice(t *testing.T) {
	operator, tok := sealWith(t)
	attacker, _ := sealWith(t)
	opKeys, atKeys := operator.UnsafeExportPASERK(), attacker.UnsafeExportPASERK()
	for _, tc := range []struct {
		args []string
		flag string
	}{
		{[]string{"-keys", opKeys, tok, "-keys", atKeys}, "-keys"},
		{[]string{"-keys", opKeys, "--keys=" + atKeys, tok}, "-keys"},
		{[]string{"-keys", opKeys, "-idle", "17m", "-idle=23m", tok}, "-idle"},
		{[]string{"-keys", opKeys, "-cookie-name", "sess", "-cookie-name", "sess", tok}, "-cookie-name"},
	} {
		r := exec(t, t0, nil, "", append([]string{"inspect"}, tc.args...)...)
		checkResult(t, r, 2, "inspect: "+tc.flag+" is given twice")
		for _, value := range []string{"17m", "23m", "sess "} {
			if strings.Contains(r.stderr, value) {
				t.Errorf("%q: stderr shows the value %q: %s", tc.args, value, r.stderr)
			}
		}
		if f, leaked := leaks(r.stderr, append(secretForms(t, operator), secretForms(t, attacker)...)); leaked {
			t.Errorf("%q: stderr shows %q: %s", tc.args, f, r.stderr)
		}
	}
}

// inspect reads a keyring through the library, which refuses a device
// rather than read it without end.
func TestInspectRefusesDeviceKeyring(t *testing.T) {
	if _, err := os.Stat("/dev/zero"); err != nil {
		t.Skip("no /dev/zero")
	}
	r := exec(t, t0, nil, "", "inspect", "-keyring", "/dev/zero", "v4.local.x")
	checkResult(t, r, 1, "inspect: -keyring /dev/zero: keyring file: is a device, not a regular file")
	r = exec(t, t0, map[string]string{"SESSION_KEYRING": "/dev/zero"}, "", "inspect", "v4.local.x")
	checkResult(t, r, 1, "inspect: SESSION_KEYRING: is a device, not a regular file")
}

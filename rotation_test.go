package tokensession_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tokensession/tokensession"
)

// keyCmp compares Keys by their secret.
var keyCmp = cmp.Comparer(func(a, b tokensession.Key) bool { return a.Equal(b) })

func TestParseKeyringEnv(t *testing.T) {
	t.Parallel()
	k1, k2, k3 := testKey(t, 1), testKey(t, 2), testKey(t, 3)
	for _, env := range []string{
		k1.UnsafeExportPASERK() + " " + k2.UnsafeExportPASERK() + " " + k3.UnsafeExportPASERK(),
		"\n\t " + k1.UnsafeExportPASERK() + "\n" + k2.UnsafeExportPASERK() + "\t\t" + k3.UnsafeExportPASERK() + "\r\n",
	} {
		ring, err := tokensession.ParseKeyringEnv(env)
		if err != nil {
			t.Fatalf("ParseKeyringEnv(%q): %v", env, err)
		}
		want := []tokensession.KeyringEntry{{Key: k1}, {Key: k2}, {Key: k3}}
		if diff := cmp.Diff(want, ring.Entries(), keyCmp); diff != "" {
			t.Errorf("entries mismatch (-want +got):\n%s", diff)
		}
		if len(ring.Entries()) != 3 {
			t.Errorf("%d entries, want 3", len(ring.Entries()))
		}
		if k, err := sealingKey(ring, fixedT0); err != nil || !k.Equal(k1) {
			t.Errorf("SealingKey = %v, %v; want the first key", k, err)
		}
		for i := range 3 {
			want := tokensession.KeyOpening
			if i == 0 {
				want = tokensession.KeySealing
			}
			if s := keyStates(ring, fixedT0)[i]; s != want {
				t.Errorf("state of entry %d = %v, want %v", i, s, want)
			}
		}
	}
	ring, err := tokensession.ParseKeyringEnv(k2.UnsafeExportPASERK())
	if err != nil || len(ring.Entries()) != 1 {
		t.Fatalf("one key: %v", err)
	}
	// Entries is a copy.
	e := ring.Entries()
	e[0].Key = k3
	if k, _ := sealingKey(ring, fixedT0); !k.Equal(k2) {
		t.Error("changing the slice Entries returned changed the keyring")
	}
}

func TestParseKeyringJSON(t *testing.T) {
	t.Parallel()
	k1, k2 := testKey(t, 1), testKey(t, 2)
	file := `{"keys": [
		{"key": "` + k1.UnsafeExportPASERK() + `", "not_before": "2026-12-01T11:00:00+01:00"},
		{"key": "` + k2.UnsafeExportPASERK() + `", "not_after": "2026-12-02T10:00:00.5Z"}
	]}` + "\n"
	ring, err := tokensession.ParseKeyringJSON([]byte(file))
	if err != nil {
		t.Fatal(err)
	}
	activate := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	retire := time.Date(2026, 12, 2, 10, 0, 0, 500_000_000, time.UTC)
	want := []tokensession.KeyringEntry{{Key: k1, NotBefore: activate}, {Key: k2, NotAfter: retire}}
	if diff := cmp.Diff(want, ring.Entries(), keyCmp); diff != "" {
		t.Errorf("entries mismatch (-want +got):\n%s", diff)
	}
	for _, tc := range []struct {
		at     time.Time
		seal   tokensession.Key
		states [2]tokensession.KeyState
	}{
		{activate.Add(-time.Nanosecond), k2, [2]tokensession.KeyState{tokensession.KeyStaged, tokensession.KeySealing}},
		{activate, k1, [2]tokensession.KeyState{tokensession.KeySealing, tokensession.KeyOpening}},
		{retire, k1, [2]tokensession.KeyState{tokensession.KeySealing, tokensession.KeyRetired}},
	} {
		if k, err := sealingKey(ring, tc.at); err != nil || !k.Equal(tc.seal) {
			t.Errorf("at %v: SealingKey = %v, %v; want %v", tc.at, k, err, tc.seal)
		}
		for i, want := range tc.states {
			if got := keyStates(ring, tc.at)[i]; got != want {
				t.Errorf("at %v: state of entry %d = %v, want %v", tc.at, i, got, want)
			}
		}
	}
	// A missing optional field and explicit nulls mean "no bound".
	ring, err = tokensession.ParseKeyringJSON([]byte(`{"keys":[{"key":"` + k1.UnsafeExportPASERK() + `","not_before":null,"not_after":null}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if e := ring.Entries()[0]; !e.NotBefore.IsZero() || !e.NotAfter.IsZero() {
		t.Errorf("null bounds parsed as %v, %v", e.NotBefore, e.NotAfter)
	}
}

// b64Of returns the base64 part of a k4.local string.
func b64Of(k tokensession.Key) string { return strings.TrimPrefix(k.UnsafeExportPASERK(), "k4.local.") }

func TestKeyringErrors(t *testing.T) {
	t.Parallel()
	k1, k2, k3 := testKey(t, 1), testKey(t, 2), testKey(t, 3)
	p1, p2, p3 := k1.UnsafeExportPASERK(), k2.UnsafeExportPASERK(), k3.UnsafeExportPASERK()
	e1, e2, e3 := b64Of(k1), b64Of(k2), b64Of(k3)
	secrets := []string{e1, e2, e3}

	envCases := []struct {
		name, env string
		index     int
	}{
		{"empty", "", -1},
		{"white space only", " \n\t ", -1},
		{"wrong prefix", p1 + " x4.local." + e2, 1},
		{"no prefix", p1 + " " + p2 + " " + e3, 2},
		{"k3", p1 + " k3.local." + e2, 1},
		{"k4.public", "k4.public." + e1, 0},
		{"wrong length", p1 + " " + p2[:len(p2)-1], 1},
		{"too long", p1 + " " + p2 + "AAAA", 1},
		{"padding", p1 + " " + p2 + "=", 1},
		{"non-canonical", p1 + " " + p2[:len(p2)-1] + "9", 1},
		{"duplicate", p1 + " " + p2 + " " + p1, 2},
		{"comma separated", p1 + "," + p2, 0},
	}
	for _, tc := range envCases {
		t.Run("env/"+tc.name, func(t *testing.T) {
			ring, err := tokensession.ParseKeyringEnv(tc.env)
			checkKeyringError(t, ring, err, tc.index, secrets)
		})
	}

	entry := func(key string, extra ...string) string {
		return `{"key":"` + key + `"` + strings.Join(append([]string{""}, extra...), ",") + `}`
	}
	file := func(entries ...string) string { return `{"keys":[` + strings.Join(entries, ",") + `]}` }
	good := file(entry(p1), entry(p2))
	jsonCases := []struct {
		name, json string
		index      int
	}{
		{"empty input", "", -1},
		{"white space", " \n", -1},
		{"null", "null", -1},
		{"no keys", `{}`, -1},
		{"empty ring", `{"keys":[]}`, -1},
		{"keys null", `{"keys":null}`, -1},
		{"wrong prefix", file(entry(p1), entry("x4.local."+e2)), 1},
		{"k3", file(entry(p1), entry(p2), entry("k3.local."+e3)), 2},
		{"k4.public", file(entry(p3), entry("k4.public."+e1)), 1},
		{"wrong length", file(entry(p1[:len(p1)-2])), 0},
		{"padding", file(entry(p1), entry(p2+"=")), 1},
		{"missing key", file(entry(p1), `{"not_after":"2026-01-01T00:00:00Z"}`), 1},
		{"duplicate", file(entry(p1), entry(p2), entry(p1)), 2},
		{"unknown field", file(entry(p1, `"not_afer":"2026-01-01T00:00:00Z"`)), 0},
		{"unknown top-level field", `{"keys":[` + entry(p1) + `],"version":1}`, -1},
		{"secret as field name", `{"keys":[` + entry(p1) + `],"` + p2 + `":1}`, -1},
		{"bad time", file(entry(p1, `"not_before":"2026-13-01T00:00:00Z"`)), 0},
		{"time without zone", file(entry(p1, `"not_before":"2026-01-01T00:00:00"`)), 0},
		{"time as number", file(entry(p1, `"not_after":1767225600`)), 0},
		{"key as number", `{"keys":[{"key":1}]}`, 0},
		{"keys as object", `{"keys":{"key":"` + p1 + `"}}`, -1},
		{"truncated", good[:len(good)-5], -1},
		{"trailing garbage", good + " x", -1},
		{"trailing brace", good + "}", -1},
		{"trailing bracket", good + "]", -1},
		{"trailing comma", good + ",", -1},
		{"two objects", good + good, -1},
		{"not_after before not_before", file(entry(p1), entry(p2, `"not_before":"2026-01-02T00:00:00Z"`, `"not_after":"2026-01-01T00:00:00Z"`)), 1},
		{"not_after equals not_before", file(entry(p1, `"not_before":"2026-01-01T00:00:00Z"`, `"not_after":"2026-01-01T01:00:00+01:00"`)), 0},
	}
	for _, tc := range jsonCases {
		t.Run("json/"+tc.name, func(t *testing.T) {
			ring, err := tokensession.ParseKeyringJSON([]byte(tc.json))
			checkKeyringError(t, ring, err, tc.index, secrets)
		})
	}

	// The programmatic form names entries the same way.
	for _, tc := range []struct {
		name    string
		entries []tokensession.KeyringEntry
		index   int
	}{
		{"empty", nil, -1},
		{"zero Key", []tokensession.KeyringEntry{{Key: k1}, {}}, 1},
		{"duplicate", []tokensession.KeyringEntry{{Key: k1}, {Key: k2}, {Key: k2}}, 2},
		{"window", []tokensession.KeyringEntry{{Key: k1, NotBefore: fixedT0, NotAfter: fixedT0.Add(-time.Second)}}, 0},
	} {
		t.Run("NewKeyring/"+tc.name, func(t *testing.T) {
			ring, err := tokensession.NewKeyring(tc.entries...)
			checkKeyringError(t, ring, err, tc.index, secrets)
		})
	}
}

// TestKeyringJSONErrorMessages checks that a bad entry is reported by
// entry, field and expected form, without quoting the value.
func TestKeyringJSONErrorMessages(t *testing.T) {
	t.Parallel()
	p1, p2 := testKey(t, 1).UnsafeExportPASERK(), testKey(t, 2).UnsafeExportPASERK()
	const wantTime = ": want an RFC 3339 time like 2026-12-01T10:00:00Z"
	for _, tc := range []struct {
		name, entry1 string // entry1 is the second entry; the first is good
		want         string
		value        string // a value the message must not quote
	}{
		{"not_before with a space", `{"key":"` + p2 + `","not_before":"2026-12-01 10:00"}`, "keyring entry 1: not_before" + wantTime, "2026-12-01 10:00"},
		{"not_before relative", `{"key":"` + p2 + `","not_before":"+30m"}`, "keyring entry 1: not_before" + wantTime, "+30m"},
		{"not_before empty", `{"key":"` + p2 + `","not_before":""}`, "keyring entry 1: not_before" + wantTime, ""},
		{"not_before number", `{"key":"` + p2 + `","not_before":1767225600}`, "keyring entry 1: not_before" + wantTime, "1767225600"},
		{"not_after without zone", `{"key":"` + p2 + `","not_after":"2026-12-03T10:00:00"}`, "keyring entry 1: not_after" + wantTime, "2026-12-03T10:00:00"},
		{"key pasted as not_after", `{"key":"` + p2 + `","not_after":"` + p1 + `"}`, "keyring entry 1: not_after" + wantTime, p1[9:15]},
		{"key number", `{"key":12345}`, `keyring entry 1: key: want a string like "k4.local.…"`, "12345"},
		{"unknown field", `{"key":"` + p2 + `","not_afer":"2026-12-01T10:00:00Z"}`, `keyring entry 1: unknown field "not_afer": want key, not_before or not_after`, "2026-12-01T10"},
		{"secret as field name", `{"key":"` + p2 + `","` + p1 + `":1}`, `keyring entry 1: unknown field: want key, not_before or not_after`, p1[9:15]},
		{"entry not an object", `"` + p1 + `"`, `keyring entry 1: want an object like {"key":"k4.local.…"}`, p1[9:15]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tokensession.ParseKeyringJSON([]byte(`{"keys":[{"key":"` + p1 + `"},` + tc.entry1 + `]}`))
			if err == nil {
				t.Fatal("accepted")
			}
			if got := strings.TrimPrefix(err.Error(), "tokensession: "); got != tc.want {
				t.Errorf("error\n got: %s\nwant: %s", got, tc.want)
			}
			if tc.value != "" && strings.Contains(err.Error(), tc.value) {
				t.Errorf("error quotes the value %q: %s", tc.value, err)
			}
			var ke *tokensession.KeyError
			if !errors.As(err, &ke) || ke.Index != 1 {
				t.Errorf("not a *KeyError for entry 1: %#v", err)
			}
		})
	}
}

func checkKeyringError(t *testing.T, ring *tokensession.Keyring, err error, index int, secrets []string) {
	t.Helper()
	if err == nil {
		t.Fatalf("accepted: %v", ring)
	}
	if ring != nil {
		t.Error("returned a keyring with its error")
	}
	var ke *tokensession.KeyError
	if !errors.As(err, &ke) || !errors.Is(err, tokensession.ErrInvalidKey) {
		t.Fatalf("error %v is not a *KeyError matching ErrInvalidKey", err)
	}
	if ke.Index != index {
		t.Errorf("Index = %d, want %d (%v)", ke.Index, index, err)
	}
	msg := err.Error()
	if index >= 0 && !strings.Contains(msg, fmt.Sprintf("entry %d", index)) {
		t.Errorf("message %q does not name entry %d", msg, index)
	}
	if !strings.HasPrefix(msg, "tokensession: ") {
		t.Errorf("message %q lacks the package prefix", msg)
	}
	for _, s := range secrets {
		for i := 0; i+6 <= len(s); i++ {
			if strings.Contains(msg, s[i:i+6]) {
				t.Fatalf("message %q contains secret material %q", msg, s[i:i+6])
			}
		}
	}
}

func TestKeyLifecycle(t *testing.T) {
	t.Parallel()
	// One key, k, through its whole life: staged before t1, sealing from
	// t1, opening once next takes over at t2, retired at t3.
	next, k, old := testKey(t, 1), testKey(t, 2), testKey(t, 3)
	t1 := fixedT0.Add(time.Hour)
	t2 := fixedT0.Add(2 * time.Hour)
	t3 := fixedT0.Add(3 * time.Hour)
	ring := mustRing(t,
		tokensession.KeyringEntry{Key: next, NotBefore: t2},
		tokensession.KeyringEntry{Key: k, NotBefore: t1, NotAfter: t3},
		tokensession.KeyringEntry{Key: old, NotAfter: t2},
	)
	const (
		staged  = tokensession.KeyStaged
		sealing = tokensession.KeySealing
		opening = tokensession.KeyOpening
		retired = tokensession.KeyRetired
	)
	cases := []struct {
		at     time.Time
		states [3]tokensession.KeyState
		seal   tokensession.Key
	}{
		{fixedT0, [3]tokensession.KeyState{staged, staged, sealing}, old},
		{t1.Add(-time.Nanosecond), [3]tokensession.KeyState{staged, staged, sealing}, old},
		{t1, [3]tokensession.KeyState{staged, sealing, opening}, k},
		{t2.Add(-time.Nanosecond), [3]tokensession.KeyState{staged, sealing, opening}, k},
		{t2, [3]tokensession.KeyState{sealing, opening, retired}, next},
		{t3.Add(-time.Nanosecond), [3]tokensession.KeyState{sealing, opening, retired}, next},
		{t3, [3]tokensession.KeyState{sealing, retired, retired}, next},
	}
	for _, tc := range cases {
		for i, want := range tc.states {
			if got := keyStates(ring, tc.at)[i]; got != want {
				t.Errorf("at %v: state of entry %d = %v, want %v", tc.at.Sub(fixedT0), i, got, want)
			}
		}
		got, err := sealingKey(ring, tc.at)
		if err != nil || !got.Equal(tc.seal) {
			t.Errorf("at %v: SealingKey = %v, %v; want %v", tc.at.Sub(fixedT0), got, err, tc.seal)
		}
		// A manager at that instant seals with the same key.
		now := tc.at
		m := mustNew(t, tokensession.Config[account]{Keyring: ring, Now: func() time.Time { return now }})
		tok, _, err := m.Seal(account{User: "ada"})
		if err != nil {
			t.Fatal(err)
		}
		if _, info, err := m.Open(tok); err != nil || info.KeyID != tc.seal.ID() {
			t.Errorf("at %v: manager sealed with %q (%v), want %q", tc.at.Sub(fixedT0), info.KeyID, err, tc.seal.ID())
		}
	}
	// Before any key is active and after all retire, nothing seals.
	ring2 := mustRing(t, tokensession.KeyringEntry{Key: k, NotBefore: t1, NotAfter: t3})
	for _, at := range []time.Time{fixedT0, t3, t3.Add(time.Hour)} {
		if _, err := sealingKey(ring2, at); !errors.Is(err, tokensession.ErrNoSealingKey) {
			t.Errorf("at %v: SealingKey err = %v, want ErrNoSealingKey", at.Sub(fixedT0), err)
		}
	}
}

func TestKeyStateString(t *testing.T) {
	t.Parallel()
	for s, want := range map[tokensession.KeyState]string{
		tokensession.KeyStaged:  "staged",
		tokensession.KeySealing: "sealing",
		tokensession.KeyOpening: "opening",
		tokensession.KeyRetired: "retired",
		7:                       "KeyState(7)",
	} {
		if got := s.String(); got != want {
			t.Errorf("KeyState(%d).String() = %q, want %q", int(s), got, want)
		}
	}
}

func TestNoSealingKey(t *testing.T) {
	t.Parallel()
	good := mustRing(t, tokensession.KeyringEntry{Key: testKey(t, 1)})
	staged := mustRing(t, tokensession.KeyringEntry{Key: testKey(t, 2), NotBefore: fixedT0.Add(time.Hour)})
	retired := mustRing(t, tokensession.KeyringEntry{Key: testKey(t, 3), NotAfter: fixedT0})
	c := newFakeClock(fixedT0)

	for name, ring := range map[string]*tokensession.Keyring{"staged": staged, "retired": retired} {
		m, err := tokensession.New(tokensession.Config[account]{Keyring: ring, Now: c.Now})
		if !errors.Is(err, tokensession.ErrNoSealingKey) || m != nil {
			t.Errorf("New with only a %s key: %v, %v; want ErrNoSealingKey", name, m, err)
		}
	}

	m := mustNew(t, tokensession.Config[account]{Keyring: good, Now: c.Now})
	if err := m.SetKeyring(staged); !errors.Is(err, tokensession.ErrNoSealingKey) {
		t.Errorf("SetKeyring(staged): err = %v, want ErrNoSealingKey", err)
	}
	if m.Keyring() != good {
		t.Error("a failed SetKeyring replaced the keyring")
	}
	if _, _, err := m.Seal(account{}); err != nil {
		t.Errorf("Seal after a failed SetKeyring: %v", err)
	}
	c.Set(fixedT0.Add(time.Hour))
	if err := m.SetKeyring(staged); err != nil {
		t.Fatalf("SetKeyring(staged) once its key is active: %v", err)
	}
	if m.Keyring() != staged {
		t.Error("SetKeyring did not replace the keyring")
	}
	tok, _, err := m.Seal(account{})
	if err != nil {
		t.Fatal(err)
	}
	if _, info, _ := m.Open(tok); info.KeyID != testKey(t, 2).ID() {
		t.Errorf("after SetKeyring the token is sealed by %q", info.KeyID)
	}

	// The keyring's only key retires while the manager serves: Seal fails.
	c.Set(fixedT0)
	short := mustRing(t, tokensession.KeyringEntry{Key: testKey(t, 4), NotAfter: fixedT0.Add(time.Minute)})
	m2 := mustNew(t, tokensession.Config[account]{Keyring: short, Now: c.Now})
	c.Set(fixedT0.Add(time.Minute))
	if _, _, err := m2.Seal(account{}); !errors.Is(err, tokensession.ErrNoSealingKey) {
		t.Errorf("Seal with every key retired: err = %v, want ErrNoSealingKey", err)
	}

	if _, err := tokensession.New(tokensession.Config[account]{}); err == nil {
		t.Error("New without a Keyring succeeded")
	}
}

func TestSetKeyringNilPanics(t *testing.T) {
	t.Parallel()
	m := mustNew(t, tokensession.Config[account]{Keyring: mustRing(t, tokensession.KeyringEntry{Key: testKey(t, 1)})})
	defer func() {
		r := recover()
		s, ok := r.(string)
		if !ok || !strings.HasPrefix(s, "tokensession:") {
			t.Errorf("SetKeyring(nil) panicked with %#v, want a string starting tokensession:", r)
		}
	}()
	m.SetKeyring(nil)
	t.Error("SetKeyring(nil) returned")
}

func TestSetKeyringConcurrent(t *testing.T) {
	t.Parallel()
	a, b := testKey(t, 1), testKey(t, 2)
	ringAB := mustRing(t, tokensession.KeyringEntry{Key: a}, tokensession.KeyringEntry{Key: b})
	ringBA := mustRing(t, tokensession.KeyringEntry{Key: b}, tokensession.KeyringEntry{Key: a})
	m := mustNew(t, tokensession.Config[account]{Keyring: ringAB, Now: func() time.Time { return fixedT0 }})

	const workers, rounds = 8, 200
	var wg sync.WaitGroup
	done := make(chan struct{})
	swaps := 0
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			r := ringAB
			if swaps%2 == 1 {
				r = ringBA
			}
			if err := m.SetKeyring(r); err != nil {
				t.Error(err)
				return
			}
			swaps++
			// js/wasm runs goroutines on one thread without preemption:
			// let the openers run.
			runtime.Gosched()
		}
	}()
	var openers sync.WaitGroup
	byKey := make([]map[string]int, workers)
	for w := range workers {
		openers.Add(1)
		go func() {
			defer openers.Done()
			byKey[w] = map[string]int{}
			for i := range rounds {
				want := account{User: fmt.Sprint(w, "/", i)}
				tok, _, err := m.Seal(want)
				if err != nil {
					t.Error(err)
					return
				}
				got, info, err := m.Open(tok)
				if err != nil || got.User != want.User {
					t.Errorf("Open during swaps: %v, %q", err, got.User)
					return
				}
				byKey[w][info.KeyID]++
				_ = keyStates(m.Keyring(), fixedT0)
			}
		}()
	}
	openers.Wait()
	close(done)
	wg.Wait()
	total := 0
	for _, counts := range byKey {
		for id, n := range counts {
			if id != a.ID() && id != b.ID() {
				t.Errorf("token sealed by unexpected key %q", id)
			}
			total += n
		}
	}
	if total != workers*rounds || swaps == 0 {
		t.Errorf("%d tokens opened, %d swaps; want %d and some", total, swaps, workers*rounds)
	}
}

func TestUnsafeMarshalJSONRoundTrip(t *testing.T) {
	t.Parallel()
	k1, k2, k3 := testKey(t, 1), testKey(t, 2), testKey(t, 3)
	ring := mustRing(t,
		tokensession.KeyringEntry{Key: k1, NotBefore: time.Date(2026, 12, 1, 11, 0, 0, 123456789, time.FixedZone("X", 3600))},
		tokensession.KeyringEntry{Key: k2},
		tokensession.KeyringEntry{Key: k3, NotBefore: fixedT0, NotAfter: time.Date(2027, 1, 1, 0, 0, 0, 0, time.Local)},
	)
	data, err := ring.UnsafeMarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(data) {
		t.Fatalf("UnsafeMarshalJSON output is not JSON: %s", data)
	}
	for _, k := range []tokensession.Key{k1, k2, k3} {
		if !strings.Contains(string(data), `"`+k.UnsafeExportPASERK()+`"`) {
			t.Errorf("output lacks %s", k.ID())
		}
	}
	back, err := tokensession.ParseKeyringJSON(data)
	if err != nil {
		t.Fatalf("ParseKeyringJSON of UnsafeMarshalJSON output: %v\n%s", err, data)
	}
	if diff := cmp.Diff(ring.Entries(), back.Entries(), keyCmp); diff != "" {
		t.Errorf("round trip mismatch (-before +after):\n%s", diff)
	}
	again, err := back.UnsafeMarshalJSON()
	if err != nil || string(again) != string(data) {
		t.Errorf("second marshal differs:\n%s\n%s", data, again)
	}
	if strings.Contains(string(data), "not_before\":null") || strings.Count(string(data), "not_after") != 1 {
		t.Errorf("zero bounds should be omitted:\n%s", data)
	}
}

// "No sealing key" is the same error whichever path meets it: New,
// SetKeyring, Seal, Session.Save, and the middleware's ErrorHandler.
func TestNoSealingKeySameErrorEveryPath(t *testing.T) {
	t.Parallel()
	staged := mustRing(t, tokensession.KeyringEntry{Key: testKey(t, 2), NotBefore: fixedT0.Add(time.Hour)})
	c := newFakeClock(fixedT0)
	check := func(path string, err error) {
		t.Helper()
		if err != tokensession.ErrNoSealingKey {
			t.Errorf("%s: err = %#v, want ErrNoSealingKey itself", path, err)
		}
	}

	_, err := tokensession.New(tokensession.Config[account]{Keyring: staged, Now: c.Now})
	check("New", err)

	short := mustRing(t, tokensession.KeyringEntry{Key: testKey(t, 4), NotAfter: fixedT0.Add(time.Minute)})
	var reported []error
	m := mustNew(t, tokensession.Config[account]{Keyring: short, Now: c.Now,
		ErrorHandler: func(_ *http.Request, err error) { reported = append(reported, err) }})
	check("SetKeyring", m.SetKeyring(staged))

	c.Set(fixedT0.Add(time.Minute)) // the only key retires
	_, _, err = m.Seal(account{})
	check("Seal", err)

	var saveErr error
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := m.FromContext(r.Context())
		s.Set(account{User: "ada"})
		if r.URL.Path == "/save" {
			saveErr = s.Save()
		}
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/save", nil))
	check("Session.Save", saveErr)
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	if len(reported) != 1 {
		t.Fatalf("ErrorHandler got %v, want one error", reported)
	}
	check("ErrorHandler", reported[0])
}

// States yields every entry in order with its state, and stops when the
// loop does.
func TestKeyringStates(t *testing.T) {
	t.Parallel()
	k1, k2 := testKey(t, 1), testKey(t, 2)
	ring := mustRing(t,
		tokensession.KeyringEntry{Key: k1, NotBefore: fixedT0.Add(time.Hour)},
		tokensession.KeyringEntry{Key: k2})
	var ids []string
	var states []tokensession.KeyState
	for e, s := range ring.States(fixedT0) {
		ids, states = append(ids, e.Key.ID()), append(states, s)
	}
	if len(ids) != 2 || ids[0] != k1.ID() || ids[1] != k2.ID() ||
		states[0] != tokensession.KeyStaged || states[1] != tokensession.KeySealing {
		t.Errorf("States = %v %v", ids, states)
	}
	n := 0
	for range ring.States(fixedT0) {
		n++
		break
	}
	if n != 1 {
		t.Errorf("States went on after break: %d entries", n)
	}
}

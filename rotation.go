package tokensession

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"strconv"
	"strings"
	"time"
)

// A KeyringEntry is one key of a [Keyring] and the window in which it seals.
type KeyringEntry struct {
	// Key is the key itself.
	Key Key
	// NotBefore is when the key starts sealing. Until then the key is
	// staged: it opens tokens but seals none. Zero means always active.
	NotBefore time.Time
	// NotAfter is when the key is retired: from then on it neither seals
	// nor opens. Zero means never.
	NotAfter time.Time
}

// A KeyState describes what a keyring entry does at a given instant.
type KeyState int

const (
	// KeyStaged: not yet active; opens tokens, seals none.
	KeyStaged KeyState = iota
	// KeySealing: the key new tokens are sealed with.
	KeySealing
	// KeyOpening: active but listed after the sealing key; opens tokens.
	KeyOpening
	// KeyRetired: past its NotAfter; neither seals nor opens.
	KeyRetired
)

// String returns "staged", "sealing", "opening" or "retired".
func (s KeyState) String() string {
	switch s {
	case KeyStaged:
		return "staged"
	case KeySealing:
		return "sealing"
	case KeyOpening:
		return "opening"
	case KeyRetired:
		return "retired"
	}
	return "KeyState(" + fmt.Sprint(int(s)) + ")"
}

// A Keyring is an ordered, immutable list of keys. At any instant:
//
//   - the sealing key is the first listed key whose NotBefore has passed and
//     whose NotAfter has not;
//   - opening accepts any listed key whose NotAfter has not passed, staged
//     keys included, chosen by the token footer's key ID with one map lookup.
//     Keys are never tried one by one; an unknown ID fails closed.
//
// Staged rotation: list the new key first with NotBefore a little in the
// future and deploy the keyring everywhere. Every instance can open the new
// key's tokens at once, and all of them start sealing with it at NotBefore,
// with no coordination. Retire the old key with NotAfter once every session
// it sealed has been re-sealed or has expired: the idle timeout (plus the
// leeway) after the last instance started sealing with the new key, since
// the middleware re-seals an old key's session on its next request. Tokens
// that are never refreshed (bearer tokens from [Manager.Seal]) need the
// absolute lifetime instead. Keep a retired key listed until no token it
// sealed can still be live (NotAfter plus the idle timeout and the leeway,
// or the absolute lifetime for bearer tokens): while it is listed, its
// cookies are recognised as retired and deleted; once dropped, they name an
// unknown key, over which the middleware refuses to write.
//
// A Keyring is safe for concurrent use. Replace a manager's keyring with
// [Manager.SetKeyring].
type Keyring struct {
	entries []KeyringEntry
	byID    map[string]int
	// byFooter maps a key's encoded token footer to its entry, so opening
	// finds the key without decoding the footer.
	byFooter map[string]int
}

// NewKeyring returns a keyring of the given entries, in order. It fails with
// a [*KeyError] naming the first bad entry: a zero Key, a key listed twice,
// or NotAfter not after NotBefore; and when entries is empty.
//
// NewKeyring does not require a key able to seal now: [New] and
// [Manager.SetKeyring] check that against the manager's clock.
func NewKeyring(entries ...KeyringEntry) (*Keyring, error) {
	if len(entries) == 0 {
		return nil, keyError(-1, "empty keyring")
	}
	r := &Keyring{
		entries:  make([]KeyringEntry, len(entries)),
		byID:     make(map[string]int, len(entries)),
		byFooter: make(map[string]int, len(entries)),
	}
	copy(r.entries, entries)
	for i, e := range r.entries {
		if !e.Key.IsValid() {
			return nil, keyError(i, "zero Key")
		}
		if j, dup := r.byID[e.Key.ID()]; dup {
			return nil, keyError(i, fmt.Sprintf("duplicate of entry %d (%s)", j, e.Key.ID()))
		}
		if !e.NotBefore.IsZero() && !e.NotAfter.IsZero() && !e.NotAfter.After(e.NotBefore) {
			return nil, keyError(i, fmt.Sprintf("not_after is not after not_before (%s)", e.Key.ID()))
		}
		r.byID[e.Key.ID()] = i
		r.byFooter[e.Key.k.encFooter] = i
	}
	return r, nil
}

// ParseKeyringEnv parses the environment-variable form of a keyring:
// k4.local strings separated by white space, all active, the first one
// sealing. For example:
//
//	SESSION_KEYS="k4.local.NEW… k4.local.OLD…"
func ParseKeyringEnv(s string) (*Keyring, error) {
	fields := strings.Fields(s)
	entries := make([]KeyringEntry, len(fields))
	for i, f := range fields {
		k, err := parseKey(f, i)
		if err != nil {
			return nil, err
		}
		entries[i].Key = k
	}
	return NewKeyring(entries...)
}

// keyringFile is the JSON keyring file format, as written.
type keyringFile struct {
	Keys []keyringFileEntry `json:"keys"`
}

type keyringFileEntry struct {
	Key       string     `json:"key"`
	NotBefore *time.Time `json:"not_before,omitempty"`
	NotAfter  *time.Time `json:"not_after,omitempty"`
}

// keyringFileIn is the JSON keyring file format as read: each entry and
// each field stays raw until parsed on its own, so that an error can name
// the entry and the field without quoting the value.
type keyringFileIn struct {
	Keys []json.RawMessage `json:"keys"`
}

type keyringFileEntryIn struct {
	Key       json.RawMessage `json:"key"`
	NotBefore json.RawMessage `json:"not_before"`
	NotAfter  json.RawMessage `json:"not_after"`
}

// ParseKeyringJSON parses the JSON keyring file format:
//
//	{"keys": [
//	  {"key": "k4.local.NEW…", "not_before": "2026-12-01T10:00:00Z"},
//	  {"key": "k4.local.OLD…", "not_after": "2026-12-02T10:00:00Z"}
//	]}
//
// Times are RFC 3339 strings; null or an absent field means no bound.
// Unknown fields are errors, so a misspelt not_after cannot silently keep a
// key alive. An error is a [*KeyError] that names the entry and the field
// and says what form was expected, never quoting the input.
func ParseKeyringJSON(data []byte) (*Keyring, error) {
	var f keyringFileIn
	if err := decodeStrict(data, &f); err != nil {
		// The decoder's message may quote input; say only where it failed.
		return nil, keyError(-1, "keyring file is not valid JSON of the form {\"keys\":[{\"key\":…}]}"+jsonErrorWhere(err))
	}
	entries := make([]KeyringEntry, len(f.Keys))
	for i, raw := range f.Keys {
		var fe keyringFileEntryIn
		if err := decodeStrict(raw, &fe); err != nil {
			if where := jsonErrorWhere(err); strings.HasPrefix(where, " (unknown field") {
				return nil, keyError(i, where[2:len(where)-1]+": want key, not_before or not_after")
			}
			return nil, keyError(i, "want an object like {\"key\":\"k4.local.…\"}")
		}
		var s string
		if !isJSONNull(fe.Key) && json.Unmarshal(fe.Key, &s) != nil {
			return nil, keyError(i, "key: want a string like \"k4.local.…\"")
		}
		k, err := parseKey(s, i)
		if err != nil {
			return nil, err
		}
		entries[i].Key = k
		if entries[i].NotBefore, err = parseKeyringTime(fe.NotBefore, i, "not_before"); err != nil {
			return nil, err
		}
		if entries[i].NotAfter, err = parseKeyringTime(fe.NotAfter, i, "not_after"); err != nil {
			return nil, err
		}
	}
	return NewKeyring(entries...)
}

// decodeStrict decodes exactly one JSON value from data into v, refusing
// unknown fields and anything after the value.
func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	// More would miss a stray '}' or ']': only the end of input will do.
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errTrailingData
	}
	return nil
}

var errTrailingData = errors.New("data after the JSON value")

func isJSONNull(raw json.RawMessage) bool {
	return raw == nil || string(raw) == "null"
}

// parseKeyringTime parses an entry's optional time field: null or absent
// is the zero time. The error names the entry and the field, never the
// value, which might be a key pasted into the wrong field.
func parseKeyringTime(raw json.RawMessage, index int, field string) (time.Time, error) {
	var t time.Time
	if isJSONNull(raw) {
		return t, nil
	}
	var s string
	if json.Unmarshal(raw, &s) != nil || t.UnmarshalText([]byte(s)) != nil {
		return time.Time{}, keyError(index, field+": want an RFC 3339 time like 2026-12-01T10:00:00Z")
	}
	return t, nil
}

// jsonErrorWhere describes the position of a JSON error without quoting the
// input, which may hold a secret.
func jsonErrorWhere(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.Is(err, errTrailingData):
		return " (data after the JSON object)"
	case errors.As(err, &se):
		return fmt.Sprintf(" (syntax error at byte %d)", se.Offset)
	case errors.As(err, &te):
		if te.Field == "" {
			return " (wrong type)"
		}
		return fmt.Sprintf(" (wrong type for field %q)", te.Field)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		// A field name is structure, not a secret, unless it could be a
		// piece of a pasted key: name it only when it is short and made
		// of lower-case letters and underscores, as every real field is.
		name, _ := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
		if len(name) > 0 && len(name) <= 16 && strings.Trim(name, "abcdefghijklmnopqrstuvwxyz_") == "" {
			return " (unknown field " + strconv.Quote(name) + ")"
		}
		return " (unknown field)"
	case errors.Is(err, io.EOF):
		return " (empty)"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return " (truncated)"
	}
	return " (bad value)"
}

// UnsafeMarshalJSON encodes the keyring in the JSON keyring file format,
// secrets included. Write the result only to a file with mode 0600 or to a
// secret store.
func (r *Keyring) UnsafeMarshalJSON() ([]byte, error) {
	f := keyringFile{Keys: make([]keyringFileEntry, len(r.entries))}
	for i, e := range r.entries {
		f.Keys[i].Key = e.Key.UnsafeExportPASERK()
		if !e.NotBefore.IsZero() {
			t := e.NotBefore.UTC()
			f.Keys[i].NotBefore = &t
		}
		if !e.NotAfter.IsZero() {
			t := e.NotAfter.UTC()
			f.Keys[i].NotAfter = &t
		}
	}
	return json.MarshalIndent(f, "", "  ")
}

// Entries returns a copy of the keyring's entries, in order.
func (r *Keyring) Entries() []KeyringEntry {
	return append([]KeyringEntry(nil), r.entries...)
}

func (r *Keyring) sealingIndex(now time.Time) int {
	for i := range r.entries {
		e := &r.entries[i]
		if (e.NotBefore.IsZero() || !now.Before(e.NotBefore)) && (e.NotAfter.IsZero() || now.Before(e.NotAfter)) {
			return i
		}
	}
	return -1
}

// States returns an iterator over the keyring's entries, in order, each
// with what it does at instant now: the entry whose state is [KeySealing]
// is the one new tokens are sealed with, and there is none when every key
// is staged or retired. It does not apply a manager's leeway:
// [Manager.Open] still accepts a retired key's tokens for [Config.Leeway]
// after its NotAfter; drop a retired key from the ring only when no token
// it sealed can still be live (see [Keyring]).
func (r *Keyring) States(now time.Time) iter.Seq2[KeyringEntry, KeyState] {
	return func(yield func(KeyringEntry, KeyState) bool) {
		sealing := r.sealingIndex(now)
		for i, e := range r.entries {
			if !yield(e, entryState(&e, i == sealing, now)) {
				return
			}
		}
	}
}

func entryState(e *KeyringEntry, sealing bool, now time.Time) KeyState {
	switch {
	case !e.NotAfter.IsZero() && !now.Before(e.NotAfter):
		return KeyRetired
	case sealing:
		return KeySealing
	case !e.NotBefore.IsZero() && now.Before(e.NotBefore):
		return KeyStaged
	}
	return KeyOpening
}

// Format prints the keyring as its key IDs, whatever the verb, %#v
// included: a keyring never prints its secrets.
func (r *Keyring) Format(f fmt.State, verb rune) {
	f.Write([]byte(r.String()))
}

// String returns the keyring's key IDs, in order.
func (r *Keyring) String() string {
	if r == nil {
		return "tokensession.Keyring(nil)"
	}
	var b strings.Builder
	b.WriteString("tokensession.Keyring[")
	for i, e := range r.entries {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(e.Key.ID())
	}
	b.WriteByte(']')
	return b.String()
}

// lookupFooter returns the entry whose encoded token footer is encFooter.
func (r *Keyring) lookupFooter(encFooter string) (*KeyringEntry, bool) {
	i, ok := r.byFooter[encFooter]
	if !ok {
		return nil, false
	}
	return &r.entries[i], true
}

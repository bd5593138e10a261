package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	iofs "io/fs"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/tokensession/tokensession"
	"github.com/tokensession/tokensession/internal/cookiechunk"
	"github.com/tokensession/tokensession/internal/format"
)

const usageInspect = `Usage: tokensession inspect [FLAGS] [TOKEN | COOKIE-HEADER | -]

Decrypt a session token and say whether it is valid now. The input, one
argument or stdin (with no argument or "-"), is a bare token (v4.local.…)
or a Cookie header value, with or without the "Cookie:" prefix. A line
copied from a response, "Set-Cookie: NAME=VALUE; Path=/; …", gives its
cookie, the NAME=VALUE before the first ';' (several such lines give the
chunks of a large session). What curl shows or takes is read too: "> "
and "< " before a header (curl -v) are taken off, and of a curl command
(Copy as cURL), whole, in lines or as arguments, the -H and --header
options give headers and -b and --cookie cookies; of such input only
the cookies count. A command is split as bash splits it and read as
curl sends it (a -H naming Cookie drops -b's cookies, and -H 'Cookie:'
sends none); of curl -v output only the request's lines count. What it
cannot model (several commands, variables, cookie files) is refused:
paste the Cookie header itself. Given as arguments, a curl command comes after
inspect's flags: a flag of inspect's after the word "curl" or a curl
option is a usage error, not a setting (a pasted command must not
choose the keys or the limits), and so is a flag given twice. Input
that looks like a key is refused, and not repeated.

A Cookie header is read as the middleware reads it. The session cookie is
found by name, and chunk cookies NAME.0 to NAME.15 are joined only as a
complete, contiguous set; of two cookies of one name the first counts
(a note says so). An empty cookie, which a client that ignores Max-Age=0
keeps of one the middleware expired, is noted: an empty NAME gives way
to the chunks, and an empty chunk joins as nothing (at the end of a set,
it does not count against -max-chunks). A header from which the
middleware reads no session gets the verdict "invalid: no session: …"
(no cookie of the name, an empty NAME alone, a set of nothing but empty
chunks) or "invalid: malformed token: …" (an incomplete set of chunks,
or more than 3000 cookies, which net/http does not read).

Sizes, as the middleware judges them (a cookie's size is its name and
value, in bytes):
  - A cookie of more than -max-cookie-size bytes but at most 4096, or a
    set of more chunks than -max-chunks, or of more bytes than that many
    cookies of -max-cookie-size carry, is "session too large ... too
    large for this configuration": an instance configured for larger
    sessions may have written it, so the middleware leaves it alone
    (Session.Err reports ErrTooLarge, and only Renew or Destroy replace
    the cookie).
  - A cookie of more than 4096 bytes, or a set of more bytes than 16
    cookies of 4096 carry, is "malformed token: token exceeds the size
    limit": no configuration writes it, so the middleware deletes it once
    a request uses the session.
  - A bare token longer than the cookies of -max-chunks and
    -max-cookie-size carry is "malformed token: token exceeds the size
    limit", as Manager.Open says; a note says so when larger settings
    would open it.

Prints the key ID from the token's footer, whether the keyring holds that
key and its state, the decrypted claims (exp, iat, created, sid and the
data, pretty-printed) even when the token has expired, the expiry that
applies (exp, unless -idle after iat or -absolute after created comes
first, as in the library: so these must match the application's), and
the verdict, "valid now" or "invalid: REASON", as Manager.Open (for
cookies, the middleware) decides with the settings below: "valid now" is
the last line, and after "invalid: unknown key ID" hint lines give the
likely causes. Config.RevokedBefore applies as -revoked-before gives
it; Config.IsRevoked is not applied, as it is the application's code. Never prints key material or the token
itself: a run of 40 or more base64 or hex characters that the report
would repeat of the input (a cookie name, a path) is not shown, nor is
what follows "local." there; the decrypted claims, which the keyring
authenticated, are shown as they are.

The report, verdict included, goes to stdout; stderr has only warnings,
usage errors and failures to run (keys that cannot be read, input that
is neither a token nor a Cookie header). Exit status 0 when the token is
valid now, 1 when it is not or inspect fails, 2 for a usage error.

Keys (a flag wins over the environment; both flags are an error):
  -keyring PATH       a keyring file, or a directory of credentials
                      holding one (see CREDENTIALS_DIRECTORY below)
  -keys KEYS          k4.local keys separated by white space, as in
                      SESSION_KEYS (visible in the process list: prefer
                      the environment)

Without a flag, the environment names the keys by the rule the library's
EnvKeySource follows, so inspect reads what the application reads. The
variables, in order of precedence:
  SESSION_KEYS        k4.local keys separated by white space, the first
                      one sealing
  SESSION_KEYRING     inline keyring JSON when its first non-space
                      character is "{"; otherwise the path of a keyring
                      file, or of a directory holding one (as for
                      CREDENTIALS_DIRECTORY)
  CREDENTIALS_DIRECTORY
                      (set by systemd for LoadCredential=), consulted
                      only when neither variable above is set: a
                      directory holding a file named session-keyring or
                      session-keys
Setting both SESSION_KEYS and SESSION_KEYRING is an error, and so is a
variable that is set but empty or white space. A file, found by path or
in a directory, holds keyring JSON when its first non-space byte is "{",
and keys as in SESSION_KEYS otherwise. A directory must hold exactly one
of session-keyring and session-keys: Docker and Kubernetes mount secrets
as such files (a Secret with the key session-keyring, or
/run/secrets/session-keyring). No message shows a variable's value or a
path that could be a key.

Flags:
  -cookie-name NAME   session cookie name (default "__Host-session"; an
                      application with UnsafeAllowHTTP uses "session")
  -purpose P          token purpose (default: the cookie name)
  -idle D             idle timeout (default 30m, the library default)
  -absolute D         absolute session lifetime (default 24h)
  -leeway D           tolerated clock skew (default 30s; 0 for none)
  -revoked-before TIME
                      the application's Config.RevokedBefore, an RFC 3339
                      time: sessions created before it are revoked
                      (default none)
  -max-chunks N       the application's Config.MaxChunks: the most chunk
                      cookies it reads, which also bounds the token size
                      (1 to 16; default 1, the library default; give your
                      Config.MaxChunks)
  -max-cookie-size N  the application's Config.MaxCookieSize: the most
                      bytes of name and value in one cookie it reads,
                      which also bounds the token size (512 to 4096;
                      default 4096, the library default and maximum)

Environment:
  TOKENSESSION_NOW    for testing only: an RFC 3339 time used instead of
                      the system clock
`

func runInspect(c *cli, args []string) error {
	const name = "inspect"
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	keyringFile := fs.String("keyring", "", "JSON keyring file")
	keys := fs.String("keys", "", "k4.local keys")
	cookieName := fs.String("cookie-name", tokensession.DefaultCookieName, "session cookie name")
	purpose := fs.String("purpose", "", "token purpose")
	idle := fs.Duration("idle", tokensession.DefaultIdleTimeout, "idle timeout")
	absolute := fs.Duration("absolute", tokensession.DefaultAbsoluteTimeout, "absolute lifetime")
	leeway := fs.Duration("leeway", tokensession.DefaultLeeway, "clock skew tolerance")
	revokedBefore := fs.String("revoked-before", "", "Config.RevokedBefore")
	maxChunks := fs.Int("max-chunks", defaultMaxChunks, "Config.MaxChunks")
	maxCookieSize := fs.Int("max-cookie-size", cookieSize, "Config.MaxCookieSize")
	// A key written in base64 may start with "-": refuse it as a key,
	// not as an unknown flag.
	for _, a := range args {
		if a == "--" {
			break
		}
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if strings.HasPrefix(a, "-") && fs.Lookup(name) == nil && looksLikeKey(a) {
			return errorf("inspect: %v", errKey)
		}
	}
	pos, curlInput, err := c.inspectArgs(fs, args)
	if err != nil {
		return err
	}
	if curlInput != "" {
		pos = append(pos, curlInput)
	}
	switch {
	case len(pos) > 1:
		return usageErrorf("inspect: takes one token or Cookie header (quote the header) (run 'tokensession inspect -h')")
	case *cookieName == "":
		return usageErrorf("inspect: -cookie-name must not be empty")
	case *maxChunks < 1 || *maxChunks > cookiechunk.Max:
		return usageErrorf("inspect: -max-chunks must be between 1 and %d", cookiechunk.Max)
	case *maxCookieSize < minCookieSize || *maxCookieSize > cookieSize:
		return usageErrorf("inspect: -max-cookie-size must be between %d and %d", minCookieSize, cookieSize)
	case *idle < time.Second:
		return usageErrorf("inspect: -idle must be at least 1s")
	case *absolute < time.Second:
		return usageErrorf("inspect: -absolute must be at least 1s")
	case *idle > *absolute:
		return usageErrorf("inspect: -idle must not exceed -absolute")
	}
	if *purpose == "" {
		*purpose = *cookieName
	}
	var revoked time.Time
	if *revokedBefore != "" {
		// The message does not repeat the value, which could be a key.
		if revoked, err = time.Parse(time.RFC3339Nano, *revokedBefore); err != nil {
			return usageErrorf("inspect: -revoked-before: not an RFC 3339 time (for example 2026-03-01T12:00:00Z)")
		}
		// As tokensession.New refuses it.
		if revoked.After(c.now().Add(max(*leeway, 0))) {
			return usageErrorf("inspect: -revoked-before is in the future: the library refuses such a Config.RevokedBefore (it would revoke the sessions sealed until then)")
		}
	}

	flagSet := make(map[string]bool)
	fs.Visit(func(f *flag.Flag) { flagSet[f.Name] = true })
	ring, err := c.inspectKeyring(*keyringFile, *keys, flagSet)
	if err != nil {
		return err
	}
	if err := (&http.Cookie{Name: *cookieName, Value: "v"}).Valid(); err != nil {
		return usageErrorf("inspect: invalid cookie settings: -cookie-name: %v", err)
	}
	if len(*cookieName)+format.KeyIDLen+200 > *maxCookieSize {
		// As the library refuses a CookieName that leaves no room for a
		// token in a cookie of MaxCookieSize bytes.
		return usageErrorf("inspect: -cookie-name is too long to leave room for a token in a cookie of -max-cookie-size %d bytes", *maxCookieSize)
	}
	set := settings{cookieName: *cookieName, purpose: *purpose, maxChunks: *maxChunks, maxCookieSize: *maxCookieSize}
	v := verifier{
		ring:     ring,
		implicit: format.Implicit(*purpose),
		limits:   format.Limits{Idle: *idle, Absolute: *absolute, Leeway: max(*leeway, 0), RevokedBefore: revoked},
		maxToken: maxTokenSize(*cookieName, *maxChunks, *maxCookieSize),
	}

	var tainted string
	if len(pos) == 1 && pos[0] != "-" {
		tainted = pos[0]
	} else if tainted, err = c.readInput(maxInspectInput); err != nil {
		return err
	}
	in, err := parseInspectInput(tainted, *cookieName, *maxChunks, *maxCookieSize)
	if err != nil {
		return errorf("inspect: %v", err)
	}

	now := c.now()
	var o opening
	verdict := in.refused // the middleware does not open these cookies at all
	if in.token != "" {
		o = v.open(in.token, now)
		if verdict == nil {
			verdict = o.verdict
		}
	}
	report(c.stdout, in, o, &v, set, now)
	out := redactWriter{c.stdout}
	if verdict != nil {
		fmt.Fprintf(out, "invalid: %s\n", verdict)
		if verdict == o.verdict && errors.Is(verdict, tokensession.ErrUnknownKey) {
			// The key ID is public, and of the shape format checked.
			fmt.Fprintf(out, "hint:     this keyring lacks %s: it is older than the keyring that sealed the token (copy the current keyring here), or the key was pruned (the user must log in again)\n", o.kid)
			fmt.Fprintln(out, "hint:     the middleware reports ErrUnknownKey and leaves the cookie alone (the examples answer 503)")
		}
		return errInvalid
	}
	fmt.Fprintln(out, "valid now")
	return nil
}

// A redactWriter writes what it is given through redact, as a last line
// of defence against a key the user pasted reaching stdout. Each write
// must be whole lines, so that no run of key characters spans two.
type redactWriter struct{ w io.Writer }

func (r redactWriter) Write(p []byte) (int, error) {
	if _, err := io.WriteString(r.w, redact(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}

// inspectArgs parses inspect's command line with fs, and returns its
// positional arguments and the curl options that hold cookies, as lines
// of a curl command.
//
// curl's options are no flags of inspect's: "-H 'Cookie: …'" is input,
// pasted from a ticket or a browser, and what follows it may have been
// pasted too. So inspect's own flags go before the curl material (the
// word "curl", or an option that curlOption reads): a flag after it is
// a usage error, not a setting, and so is a flag given twice (the last
// one given would win). Neither message repeats a value.
func (c *cli) inspectArgs(fs *flag.FlagSet, args []string) (pos []string, curlInput string, err error) {
	var twice string // the first flag given a second time
	fs.VisitAll(func(f *flag.Flag) {
		f.Value = &onceValue{Value: f.Value, name: f.Name, twice: &twice}
	})
	start := curlStart(fs, args)
	pos, err = c.parseFlags("inspect", fs, args[:start])
	if twice != "" {
		return nil, "", usageErrorf("inspect: -%s is given twice: give each flag once (run 'tokensession inspect -h')", twice)
	}
	if err != nil {
		return nil, "", err
	}
	rest, curlInput := curlArgs(args[start:])
	for _, a := range rest {
		if a == "--" {
			break
		}
		if isFlag(fs, a) {
			return nil, "", usageErrorf("inspect: inspect's flags go before the pasted curl command: %s comes after it (run 'tokensession inspect -h')", flagName(a))
		}
	}
	more, err := c.parseFlags("inspect", fs, rest)
	if err != nil {
		return nil, "", err
	}
	return append(pos, more...), curlInput, nil
}

// curlStart returns the index in args of the first word of curl
// material: the word "curl" or an option curlOption reads, where fs
// takes a flag or an argument (not a flag's value), before any "--". It
// returns len(args) when there is none.
func curlStart(fs *flag.FlagSet, args []string) int {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return len(args)
		case a == "curl" || curlOption(a) != "":
			return i
		case isFlag(fs, a):
			name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
			if b, ok := fs.Lookup(name).Value.(interface{ IsBoolFlag() bool }); !hasValue && !(ok && b.IsBoolFlag()) {
				i++ // the flag's value
			}
		}
	}
	return len(args)
}

// isFlag reports whether a, a word of a command line, sets a flag of fs
// ("-name", "--name", "-name=value"), or asks for help.
func isFlag(fs *flag.FlagSet, a string) bool {
	if len(a) < 2 || a[0] != '-' || strings.HasPrefix(a, "---") {
		return false
	}
	name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
	return fs.Lookup(name) != nil
}

// flagName returns the name of the flag a sets, for a message: never
// its value.
func flagName(a string) string {
	name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
	return "-" + name
}

// A onceValue is a flag's value that may be set once: twice records the
// name of the first flag set again.
type onceValue struct {
	flag.Value
	name  string
	set   bool
	twice *string
}

var errTwice = errors.New("given twice")

func (v *onceValue) Set(s string) error {
	if v.set {
		if *v.twice == "" {
			*v.twice = v.name
		}
		return errTwice
	}
	v.set = true
	return v.Value.Set(s)
}

// errInvalid ends inspect with exit status 1 and no message: the report
// on stdout ends with the verdict. stderr is for usage errors and
// failures to run.
var errInvalid = &cliError{code: 1}

// inspectKeyring returns the keyring named by the flags, given as
// flagSet says, or without them by the environment, read by the
// library's rule (tokensession.EnvKeySource), so that inspect reads the
// keys the application reads.
func (c *cli) inspectKeyring(file, keys string, flagSet map[string]bool) (*tokensession.Keyring, error) {
	switch {
	case flagSet["keyring"] && flagSet["keys"]:
		return nil, usageErrorf("inspect: give -keyring or -keys, not both")
	case flagSet["keyring"] && file == "":
		return nil, usageErrorf("inspect: -keyring is empty: give the path of a keyring file or directory")
	case flagSet["keys"] && strings.TrimSpace(keys) == "":
		return nil, usageErrorf("inspect: -keys is empty: give k4.local keys separated by white space")
	case flagSet["keyring"]:
		// The library names the file "keyring file", never by its path;
		// the path the user typed is shown only if it cannot be a key.
		label := showPath(file)
		c.warnMode(label, file)
		ring, err := tokensession.FileKeySource(file).Load()
		if err != nil {
			return nil, errorf("inspect: -keyring %s: %s", label, libMessage(err))
		}
		return ring, nil
	case flagSet["keys"]:
		// The SESSION_KEYS form.
		ring, err := tokensession.ParseKeyringEnv(keys)
		if err != nil {
			return nil, errorf("inspect: -keys: %s%s", libMessage(err), separatorHint(keys, err))
		}
		return ring, nil
	}
	src, err := tokensession.EnvKeySource(c.lookupEnv)
	switch {
	case err == tokensession.ErrNoKeySource:
		// Nothing set at all. (errors.Is would also match a credentials
		// directory without keys, which the library's message explains.)
		return nil, usageErrorf("inspect: no keys: give -keyring or -keys, or set SESSION_KEYS, SESSION_KEYRING or CREDENTIALS_DIRECTORY (run 'tokensession inspect -h')")
	case errors.Is(err, tokensession.ErrNoKeySource):
		// The library says the directory holds no keys, which is also
		// what it says of one that does not exist.
		dir, _ := c.lookupEnv("CREDENTIALS_DIRECTORY")
		if _, statErr := os.Stat(dir); errors.Is(statErr, iofs.ErrNotExist) {
			return nil, usageErrorf("inspect: CREDENTIALS_DIRECTORY does not exist (its value is not shown; or name the keys with -keyring or -keys)")
		}
		return nil, usageErrorf("inspect: %s (or name the keys with -keyring or -keys)", libMessage(err))
	case err != nil:
		return nil, usageErrorf("inspect: %s (or name the keys with -keyring or -keys)", libMessage(err))
	}
	ring, err := src.Load()
	if err != nil {
		value, _ := c.lookupEnv(src.String())
		switch {
		case src.String() == "SESSION_KEYRING" && errors.Is(err, iofs.ErrNotExist) && looksLikeKey(value):
			return nil, errorf("inspect: SESSION_KEYRING looks like a key; keys go in SESSION_KEYS (its value is not shown)")
		case src.String() == "SESSION_KEYRING" && errors.Is(err, iofs.ErrNotExist):
			// Only a path can be missing: the value may be a key pasted
			// into the wrong variable, so nothing repeats it.
			return nil, errorf("inspect: %s (SESSION_KEYRING holds keyring JSON starting with '{', or the path of a keyring file or directory; its value is not shown)", libMessage(err))
		case src.String() == "SESSION_KEYS":
			return nil, errorf("inspect: %s%s", libMessage(err), separatorHint(value, err))
		}
		return nil, errorf("inspect: %s", libMessage(err))
	}
	if src.String() == "SESSION_KEYRING" {
		path, _ := c.lookupEnv("SESSION_KEYRING")
		c.warnMode("SESSION_KEYRING", path)
	}
	return ring, nil
}

// separatorHint returns, for keys in the SESSION_KEYS form that failed
// to parse with err, a hint that they are separated by white space when
// they hold commas or semicolons instead, and "" otherwise. It shows
// nothing of the keys.
func separatorHint(keys string, err error) string {
	if !errors.Is(err, tokensession.ErrInvalidKey) {
		return ""
	}
	switch {
	case strings.Contains(keys, ","):
		return " (keys are separated by white space, not commas)"
	case strings.Contains(keys, ";"):
		return " (keys are separated by white space, not semicolons)"
	}
	return ""
}

// warnMode warns, as the keyring commands do, when path is a keyring file
// that its group or others can read. It says nothing of anything else:
// inline JSON, a directory of credentials (its mounter's business), or a
// path that cannot be read (the load says why).
func (c *cli) warnMode(label, path string) {
	if st, err := os.Stat(path); err == nil && st.Mode().IsRegular() {
		c.checkMode(label, st.Mode())
	}
}

// settings are the flags that describe the application's Config.
type settings struct {
	cookieName, purpose      string
	maxChunks, maxCookieSize int
}

// report prints to raw what inspect finds in the token, opened by v, the
// verdict aside. What comes of the input (cookie names, notes, the
// purpose, errors) passes through redact; the decrypted claims, which
// the keyring authenticated and which are what inspect is for, are
// printed as they are, escaped for a terminal.
func report(raw io.Writer, in inspectInput, o opening, v *verifier, set settings, now time.Time) {
	w := redactWriter{raw}
	ring, purpose := v.ring, set.purpose
	switch {
	case in.token == "":
		fmt.Fprintln(w, "token:    none")
	case in.chunks == 1:
		fmt.Fprintf(w, "token:    %d bytes, from cookie %s.0 (1 chunk)\n", len(in.token), userText(in.cookie))
	case in.chunks > 1:
		cookie := userText(in.cookie)
		fmt.Fprintf(w, "token:    %d bytes, from cookies %s.0 … %s.%d (%d chunks)\n", len(in.token), cookie, cookie, in.chunks-1, in.chunks)
	case in.cookie != "":
		fmt.Fprintf(w, "token:    %d bytes, from cookie %s\n", len(in.token), userText(in.cookie))
	default:
		fmt.Fprintf(w, "token:    %d bytes\n", len(in.token))
	}
	for _, note := range in.notes {
		fmt.Fprintf(w, "note:     %s\n", note)
	}
	if in.token == "" {
		return
	}
	if in.cookie == "" && len(in.token) > v.maxToken && len(in.token) <= maxTokenSize(set.cookieName, cookiechunk.Max, cookieSize) {
		// Manager.Open calls it malformed, but an application with
		// larger settings opens it.
		fmt.Fprintf(w, "note:     the token has %d bytes, more than the cookies of -max-chunks %d and -max-cookie-size %d carry (%d): if the application's Config.MaxChunks or Config.MaxCookieSize is larger, set -max-chunks and -max-cookie-size to them\n",
			len(in.token), set.maxChunks, set.maxCookieSize, v.maxToken)
	}
	fmt.Fprintf(w, "purpose:  %s\n", userText(purpose))

	if o.kidErr != nil {
		fmt.Fprintf(w, "key ID:   none (%v)\n", o.kidErr)
		fmt.Fprintln(w, "claims:   not decrypted (no key ID)")
		return
	}
	fmt.Fprintf(w, "key ID:   %s\n", o.kid)
	if o.index < 0 {
		fmt.Fprintln(w, "key:      not in the keyring")
		fmt.Fprintln(w, "claims:   not decrypted (key not in the keyring)")
		return
	}
	fmt.Fprintf(w, "key:      in the keyring at position %d, %s\n", o.index, keyState(ring, o.index, now))

	if o.decryptErr == format.ErrClaims {
		fmt.Fprintln(w, "claims:   not decrypted (authentic, but the claims are not a JSON object)")
		return
	} else if o.decryptErr != nil {
		fmt.Fprintf(w, "claims:   not decrypted (%v)\n", o.decryptErr)
		return
	}
	var claims map[string]json.RawMessage
	if err := json.Unmarshal(o.claims.ClaimsJSON(), &claims); err != nil {
		fmt.Fprintln(w, "claims:   not decrypted (authentic, but the claims are not a JSON object)")
		return
	}
	for _, name := range []string{"exp", "iat", "created"} {
		fmt.Fprintf(raw, "%-10s%s\n", name+":", timeClaim(claims[name], now))
	}
	if o.times != nil {
		fmt.Fprintf(raw, "%-10s%s\n", "expiry:", expiry(o.times, &v.limits, now))
	}
	fmt.Fprintf(raw, "%-10s%s\n", "sid:", stringClaim(claims["sid"]))
	if data, ok := claims["data"]; !ok {
		fmt.Fprintln(raw, "data:     (missing)")
	} else {
		var buf bytes.Buffer
		// Indented JSON has no line breaks but its own, each followed by
		// the indent, and escapes every control character in its strings;
		// printable escapes what else a terminal could act on.
		out := ""
		if err := json.Indent(&buf, data, "  ", "  "); err == nil {
			out = printable(buf.String())
		} else {
			out = printableLine(string(data))
		}
		fmt.Fprintf(raw, "data:\n  %s\n", out)
	}
	var extra []string
	for name := range claims {
		switch name {
		case "exp", "iat", "created", "sid", "data":
		default:
			extra = append(extra, name)
		}
	}
	slices.Sort(extra)
	for _, name := range extra {
		fmt.Fprintf(raw, "other:    %s = %s\n", printableLine(name), compactJSON(claims[name]))
	}
}

// timeClaim formats an RFC 3339 claim with its distance from now.
func timeClaim(raw json.RawMessage, now time.Time) string {
	if raw == nil {
		return "(missing)"
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return compactJSON(raw) + " (not a string)"
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return printableLine(s) + " (not an RFC 3339 time)"
	}
	s = printableLine(s)
	d := t.Sub(now).Round(time.Second)
	switch {
	case d > 0:
		return fmt.Sprintf("%s (in %s)", s, d)
	case d < 0:
		return fmt.Sprintf("%s (%s ago)", s, -d)
	}
	return s + " (now)"
}

// expiry formats when a token with times t expires under l, as
// format.CheckTimes decides it: its exp claim, unless -idle after iat or
// -absolute after created comes first.
func expiry(t *format.Times, l *format.Limits, now time.Time) string {
	exp := l.Expiry(t)
	s := exp.UTC().Format(time.RFC3339Nano)
	switch d := exp.Sub(now).Round(time.Second); {
	case d > 0:
		s += fmt.Sprintf(" (in %s)", d)
	case d < 0:
		s += fmt.Sprintf(" (%s ago)", -d)
	default:
		s += " (now)"
	}
	if l.Leeway > 0 {
		s += fmt.Sprintf(", plus -leeway %s", l.Leeway)
	}
	var why string
	switch {
	case exp.Equal(t.Expires):
		return s + ": exp"
	case exp.Equal(t.Created.Add(l.Absolute)):
		why = fmt.Sprintf("created + -absolute %s", l.Absolute)
	default:
		why = fmt.Sprintf("iat + -idle %s", l.Idle)
	}
	return s + ": " + why + ", before exp; -idle and -absolute must match the application's Config.IdleTimeout and Config.AbsoluteTimeout"
}

// stringClaim formats a string claim.
func stringClaim(raw json.RawMessage) string {
	if raw == nil {
		return "(missing)"
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return compactJSON(raw) + " (not a string)"
	}
	return printableLine(s)
}

// compactJSON formats a JSON value from a token on one line. Compact JSON
// has no line breaks and its strings escape every control character;
// escape catches the rest, leaving JSON's own backslashes alone.
func compactJSON(raw json.RawMessage) string {
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return printableLine(string(raw))
	}
	return escape(buf.String(), false, false)
}

// userText returns s, which a user typed (a cookie name, a purpose), for
// one line of output: escaped, and not shown if it could be a key.
func userText(s string) string {
	if mayBeKey(s) {
		return quoteArg(s)
	}
	return printableLine(s)
}

// printable escapes what a terminal could interpret in s: control and
// other non-printing characters, and invalid UTF-8. Newlines stay, so use
// it only for text whose line breaks inspect made itself (indented JSON);
// in JSON text the escapes are valid JSON themselves.
func printable(s string) string {
	return escape(s, true, false)
}

// printableLine is printable for one line of output: it escapes line
// breaks too, and backslashes, so that nothing a token holds can end the
// line or forge another one ("valid now"), and an escape in the output
// always stands for a character that was escaped.
func printableLine(s string) string {
	return escape(s, false, true)
}

// escape escapes s for a terminal; newlines stay with keepNewline, and
// backslashes are doubled with escapeBackslash.
func escape(s string, keepNewline, escapeBackslash bool) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case escapeBackslash && r == '\\':
			b.WriteString(`\\`)
		case keepNewline && r == '\n' || unicode.IsPrint(r):
			b.WriteString(s[i : i+size])
		case r <= 0xffff:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			fmt.Fprintf(&b, `\U%08x`, r)
		}
		i += size
	}
	return b.String()
}

package main

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tokensession/tokensession"
	"github.com/tokensession/tokensession/internal/cookiechunk"
)

// This file finds the token in inspect's untrusted input; FuzzInspectInput
// exercises it.

// maxInspectInput bounds what inspect reads: a whole Cookie header with
// the largest chunked session, and room to spare.
const maxInspectInput = 128 << 10

// An inspectInput is the token found in inspect's input.
type inspectInput struct {
	token  string // "" when refused says why a Cookie header holds none
	cookie string // the cookie it came from; "" for a bare token
	// chunks is how many chunk cookies were joined, 0 for none; set is
	// how many the set has, counting the empty ones after them, which
	// are not joined.
	chunks, set int
	// refused, if not nil, is why the middleware would not open the
	// cookies at all: the verdict, whatever the token holds.
	refused error
	// notes are what the report says of the cookies, one line each.
	notes []string
}

// Why the middleware leaves alone a cookie too large for this
// configuration, and which flags describe the application's: for chunk
// cookies of more chunks than -max-chunks (leftAloneChunks, or
// leftAloneEmpty when empty chunks that no instance writes make up the
// count), or of more bytes than -max-chunks and -max-cookie-size allow
// (leftAloneBytes), and for a cookie larger than -max-cookie-size
// (leftAloneOne).
const (
	leftAloneEmpty  = "too large for this configuration, so the middleware leaves them alone (set -max-chunks to the application's Config.MaxChunks)"
	leftAloneChunks = "too large for this configuration, so the middleware leaves them alone (an instance with a larger MaxChunks may have written them; set -max-chunks to the application's Config.MaxChunks)"
	leftAloneBytes  = "too large for this configuration, so the middleware leaves them alone (an instance with a larger MaxChunks or MaxCookieSize may have written them; set -max-chunks and -max-cookie-size to the application's Config.MaxChunks and Config.MaxCookieSize)"
	leftAloneOne    = "too large for this configuration, so the middleware leaves it alone (an instance with a larger MaxCookieSize may have written it; set -max-cookie-size to the application's Config.MaxCookieSize)"
)

// emptyCookie notes what an empty cookie is.
const emptyCookie = "an empty cookie is what a client that ignores Max-Age=0 keeps of one the middleware expired"

// emptyPlainNote notes that the cookie name, present, is empty.
func emptyPlainNote(name string) string {
	return fmt.Sprintf("cookie %s is empty, so the chunks are read, as the middleware does", userText(name))
}

// errKey refuses input that looks like a key.
var errKey = errors.New("the input looks like a key, which is a secret, not a token (it is not shown): give inspect a session token (v4.local.…) or a Cookie header, and the keys with -keyring, -keys or the environment")

// devCookieName is the cookie name the library defaults to with
// UnsafeAllowHTTP, which the examples use over plain http.
const devCookieName = "session"

// parseInspectInput finds the token in tainted: a bare token, or the
// Cookie header lines of a request (see requestCookies) holding the
// cookie name or a complete, contiguous set of its chunks name.0, name.1,
// …, read as the middleware of a Manager with MaxChunks maxChunks and
// MaxCookieSize maxSize reads them. Names up to name.15 (cookiechunk.Max)
// are chunks whatever maxChunks is, and a cookie larger than maxSize, or a
// complete set of more than maxChunks chunks or more bytes than they
// carry, is read but refused (in.refused) as too large for this
// configuration: another instance, configured for larger sessions, may
// have written it. A plain cookie wins over chunks unless it is empty,
// the first of duplicate cookies wins, and empty chunks at the end of a
// set join as nothing and do not count against maxChunks, as in the
// middleware; in.notes says so of the cookies at hand.
//
// A header from which the middleware reads no session gives no token, and
// in.refused says why, in the middleware's terms: no cookie of the name,
// an empty cookie alone, a set of nothing but empty chunks (no session),
// an incomplete set of chunks, or more cookies than net/http reads
// (malformed). The error is for input that is neither a token nor a
// request's cookies, for input inspect cannot read as the request it
// stands for, and for input that looks like a key: it says so without
// repeating it.
func parseInspectInput(tainted, name string, maxChunks, maxSize int) (inspectInput, error) {
	if len(tainted) > maxInspectInput {
		return inspectInput{}, fmt.Errorf("input larger than %d bytes", maxInspectInput)
	}
	if looksLikeKey(tainted) {
		return inspectInput{}, errKey
	}
	lines, bare, err := requestCookies(tainted)
	if err != nil {
		return inspectInput{}, err
	}
	if looksLikeKey(strings.Join(lines, "; ")) { // with "Cookie:" and quotes gone
		return inspectInput{}, errKey
	}
	if bare {
		return inspectInput{token: lines[0]}, nil
	}
	in, err := readHeader(lines, name, maxChunks, maxSize)
	if note := duplicates(lines, name); note != "" && err == nil {
		in.notes = append([]string{note}, in.notes...)
	}
	return in, err
}

// requestCookies returns the Cookie header lines of the request that
// tainted stands for, as net/http presents them (Request.Header["Cookie"]:
// one value a line, white space trimmed, empty ones included, for each
// counts against net/http's limit on cookies), or, if bare, the token it
// is. tainted is one of:
//
//   - a token, alone;
//   - Cookie header lines, each with or without "Cookie:";
//   - Set-Cookie lines of a response, which give the cookies a client
//     sends back (see setCookies);
//   - curl -v output: its request's header lines ("> Cookie: …"), or, if
//     it shows no request, its responses' ("< Set-Cookie: …");
//   - a curl command, whole or its options (see curlCookies).
//
// The error says why inspect cannot tell what such a request holds.
func requestCookies(tainted string) (lines []string, bare bool, err error) {
	noCookie := errors.New("the curl command or output holds no Cookie or Set-Cookie header (nor -b with cookies): give a token or a Cookie header")
	var request, response bool
	for line := range strings.Lines(tainted) {
		line = strings.TrimSpace(line)
		request = request || curlVerbose(line, '>')
		response = response || curlVerbose(line, '<')
	}
	switch {
	case request:
		requests := 0
		for line := range strings.Lines(tainted) {
			if line = strings.TrimSpace(line); !curlVerbose(line, '>') {
				continue
			}
			line = strings.TrimSpace(line[1:])
			k, v, ok := strings.Cut(line, ":")
			switch {
			case line == "":
				// The end of the request's headers.
			case !ok || strings.ContainsAny(k, " \t"):
				requests++ // "GET / HTTP/1.1"
			case strings.EqualFold(k, "cookie"):
				lines = append(lines, strings.Trim(v, " \t"))
			}
		}
		if requests > 1 {
			return nil, false, errors.New("the curl output shows several requests: paste the lines of one (those starting with \"> \"), or its Cookie header")
		}
		if len(lines) == 0 {
			return nil, false, noCookie
		}
		return lines, false, nil
	case response:
		var sets []string
		for line := range strings.Lines(tainted) {
			if line = strings.TrimSpace(line); curlVerbose(line, '<') {
				if line = strings.TrimSpace(line[1:]); hasPrefixFold(line, "set-cookie:") {
					sets = append(sets, line[len("set-cookie:"):])
				}
			}
		}
		if len(sets) == 0 {
			return nil, false, noCookie
		}
		lines, err := setCookies(sets)
		return lines, false, err
	case isCurlCommand(tainted):
		lines, err := curlCookies(tainted)
		if err == nil && len(lines) == 0 {
			err = noCookie
		}
		return lines, false, err
	}

	var sets []string
	named := false // a line says "Cookie:"
	for line := range strings.Lines(tainted) {
		switch line = strings.TrimSpace(line); {
		case line == "":
			// Not a header line, but white space around them.
		case hasPrefixFold(line, "set-cookie:"):
			sets = append(sets, line[len("set-cookie:"):])
		case hasPrefixFold(line, "cookie:"):
			lines = append(lines, strings.TrimSpace(line[len("cookie:"):]))
			named = true
		default:
			lines = append(lines, line)
		}
	}
	switch {
	case len(sets) > 0 && len(lines) > 0:
		return nil, false, errors.New("the input has both Cookie and Set-Cookie lines: paste the Cookie header of a request, or the Set-Cookie lines of a response")
	case len(sets) > 0:
		lines, err := setCookies(sets)
		return lines, false, err
	case len(lines) == 0:
		return nil, false, errors.New("empty input: give a token or a Cookie header")
	case len(lines) == 1 && lines[0] != "" && !strings.ContainsAny(lines[0], "=;"):
		return lines, true, nil
	case len(lines) > 1 && !named && !strings.ContainsRune(strings.Join(lines, ""), '='):
		return nil, false, errors.New("input has several lines but is not a Cookie header")
	}
	return lines, false, nil
}

// curlVerbose reports whether line is one that curl -v shows of a request
// sent (dir '>') or a response received ('<').
func curlVerbose(line string, dir byte) bool {
	return len(line) > 0 && line[0] == dir && (len(line) == 1 || line[1] == ' ' || line[1] == '\t')
}

// expiredBefore is a time every clock has passed: a cookie that expires
// before it is one a server deletes (servers write 1 January 1970).
var expiredBefore = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// setCookies returns the Cookie header line of the cookies that a client
// sends after it received the Set-Cookie header values sets, in order,
// and had no cookies before: a cookie set again replaces the one before
// it, and one that a Set-Cookie deletes (Max-Age zero or less, or, with
// no Max-Age, an Expires in the past) is not sent. It refuses what
// depends on more than the lines show: the date (an Expires that may be
// in the future), or the request's URL (a cookie of one name set for
// different domains or paths).
func setCookies(sets []string) ([]string, error) {
	type cookie struct{ name, value, domain, path string }
	var jar []cookie
	for _, v := range sets {
		pair, attrs, _ := strings.Cut(v, ";")
		k, value, ok := strings.Cut(pair, "=")
		if !ok {
			return nil, errors.New("a Set-Cookie line holds no name=value before its first ';': paste the Cookie request header, or the whole Set-Cookie line of the response")
		}
		c := cookie{name: strings.TrimSpace(k), value: strings.TrimSpace(value), path: "/"}
		if c.name == "" {
			return nil, errors.New("a Set-Cookie line holds a cookie with no name: paste the Cookie header of a request")
		}
		var maxAge, expires string
		hasMaxAge := false
		for attr := range strings.SplitSeq(attrs, ";") {
			an, av, _ := strings.Cut(attr, "=")
			an, av = strings.TrimSpace(an), strings.TrimSpace(av)
			switch {
			case strings.EqualFold(an, "max-age"):
				maxAge, hasMaxAge = av, true
			case strings.EqualFold(an, "expires"):
				expires = av
			case strings.EqualFold(an, "domain"):
				c.domain = strings.ToLower(strings.TrimPrefix(av, "."))
			case strings.EqualFold(an, "path"):
				c.path = av
			}
		}
		deletes := false
		switch {
		case hasMaxAge:
			n, err := strconv.ParseInt(maxAge, 10, 64)
			if err != nil && !errors.Is(err, strconv.ErrRange) {
				return nil, fmt.Errorf("a Set-Cookie line for %s has a Max-Age that is not a number: paste the Cookie header of a request", quoteArg(c.name))
			}
			deletes = n <= 0
		case expires != "":
			t, err := http.ParseTime(expires)
			if err != nil {
				t, err = time.Parse("Mon, 02-Jan-2006 15:04:05 MST", expires)
			}
			if err != nil || !t.Before(expiredBefore) {
				return nil, fmt.Errorf("a Set-Cookie line for %s has an Expires and no Max-Age: whether a client still sends the cookie depends on the date; paste the Cookie header of a request", quoteArg(c.name))
			}
			deletes = true
		}
		i := slices.IndexFunc(jar, func(o cookie) bool { return o.name == c.name })
		switch {
		case i >= 0 && (jar[i].domain != c.domain || jar[i].path != c.path):
			return nil, fmt.Errorf("the Set-Cookie lines set %s for different Domain or Path attributes: which a client sends, and in which order, depends on the request's URL; paste the Cookie header of a request", quoteArg(c.name))
		case deletes && i >= 0:
			jar = slices.Delete(jar, i, i+1)
		case deletes:
		case i >= 0:
			jar[i] = c
		default:
			jar = append(jar, c)
		}
	}
	if len(jar) == 0 {
		return nil, errors.New("the Set-Cookie lines delete the cookies they name, so a client sends none of them: paste the Cookie header of a request")
	}
	pairs := make([]string, len(jar))
	for i, c := range jar {
		pairs[i] = c.name + "=" + c.value
	}
	return []string{strings.Join(pairs, "; ")}, nil
}

// curl's options as curl 7.88 has them (curl --help all): the long ones
// that take a value, the boolean ones (which take "--no-" too), and the
// short ones of either kind. Those that send no request as a command
// gives it (--help, --manual, --version), read more options from a file
// (--config), or send more than one (--next) are refused.
var (
	curlValueOptions = setOf(strings.Fields(`--abstract-unix-socket --alt-svc --aws-sigv4 --cacert --capath --cert --cert-type
		--ciphers --connect-timeout --connect-to --continue-at --cookie --cookie-jar --create-file-mode --crlfile --curves
		--data --data-ascii --data-binary --data-raw --data-urlencode --delegation --dns-interface --dns-ipv4-addr
		--dns-ipv6-addr --dns-servers --doh-url --dump-header --egd-file --engine --etag-compare --etag-save
		--expect100-timeout --form --form-string --ftp-account --ftp-alternative-to-user --ftp-method --ftp-port
		--ftp-ssl-ccc-mode --happy-eyeballs-timeout-ms --header --hostpubmd5 --hostpubsha256 --hsts --interface
		--json --keepalive-time --key --key-type --krb --libcurl --limit-rate --local-port --login-options
		--mail-auth --mail-from --mail-rcpt --max-filesize --max-redirs --max-time --netrc-file --noproxy
		--oauth2-bearer --output --output-dir --parallel-max --pass --pinnedpubkey --preproxy --proto
		--proto-default --proto-redir --proxy --proxy-cacert --proxy-capath --proxy-cert --proxy-cert-type
		--proxy-ciphers --proxy-crlfile --proxy-header --proxy-key --proxy-key-type --proxy-pass
		--proxy-pinnedpubkey --proxy-service-name --proxy-tls13-ciphers --proxy-tlsauthtype --proxy-tlspassword
		--proxy-tlsuser --proxy-user --proxy1.0 --pubkey --quote --random-file --range --rate --referer --request
		--request-target --resolve --retry --retry-delay --retry-max-time --sasl-authzid --service-name --socks4
		--socks4a --socks5 --socks5-gssapi-service --socks5-hostname --speed-limit --speed-time --stderr
		--telnet-option --tftp-blksize --time-cond --tls-max --tls13-ciphers --tlsauthtype --tlspassword --tlsuser
		--trace --trace-ascii --unix-socket --upload-file --url --url-query --user --user-agent --write-out`))
	curlBoolOptions = setOf(strings.Fields(`--anyauth --append --basic --cert-status --compressed --compressed-ssh
		--create-dirs --crlf --digest --disable --disable-eprt --disable-epsv --disallow-username-in-url
		--doh-cert-status --doh-insecure --fail --fail-early --fail-with-body --false-start --form-escape
		--ftp-create-dirs --ftp-pasv --ftp-pret --ftp-skip-pasv-ip --ftp-ssl-ccc --ftp-ssl-control --get --globoff
		--haproxy-protocol --head --http0.9 --http1.0 --http1.1 --http2 --http2-prior-knowledge --http3
		--http3-only --ignore-content-length --include --insecure --ipv4 --ipv6 --junk-session-cookies
		--list-only --location --location-trusted --mail-rcpt-allowfails --metalink --negotiate --netrc
		--netrc-optional --no-alpn --no-buffer --no-clobber --no-keepalive --no-npn --no-progress-meter
		--no-sessionid --ntlm --ntlm-wb --parallel --parallel-immediate --path-as-is --post301 --post302 --post303
		--progress-bar --proxy-anyauth --proxy-basic --proxy-digest --proxy-insecure --proxy-negotiate
		--proxy-ntlm --proxy-ssl-allow-beast --proxy-ssl-auto-client-cert --proxy-tlsv1 --proxytunnel --raw
		--remote-header-name --remote-name --remote-name-all --remote-time --remove-on-error --retry-all-errors
		--retry-connrefused --sasl-ir --show-error --silent --socks5-basic --socks5-gssapi --socks5-gssapi-nec
		--ssl --ssl-allow-beast --ssl-auto-client-cert --ssl-no-revoke --ssl-reqd --ssl-revoke-best-effort
		--sslv2 --sslv3 --styled-output --suppress-connect-headers --tcp-fastopen --tcp-nodelay --tftp-no-options
		--tlsv1 --tlsv1.0 --tlsv1.1 --tlsv1.2 --tlsv1.3 --tr-encoding --trace-time --use-ascii --verbose --xattr`))
	curlRefused = setOf([]string{"--help", "--manual", "--version", "--config"})
)

const (
	curlValueLetters = "ECbcdDFPHmoxUQreXYytzTuAw"
	curlBoolLetters  = "aqfGgI0ik46jlLnNZ#pJORSs231Bv"
	curlRefusedShort = "hMVK"
)

func setOf(words []string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}

// isCurlCommand reports whether tainted holds a curl command: a line of
// it starts with "curl", or with one of curl's options, or has "curl"
// after ;, & or |, as a command after another one.
func isCurlCommand(tainted string) bool {
	for line := range strings.Lines(tainted) {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if f[0] == "curl" {
			return true
		}
		for i, w := range f[1:] {
			if w == "curl" && strings.ContainsAny(f[i][len(f[i])-1:], ";&|") {
				return true // a command after another one
			}
		}
		if w, _, _ := strings.Cut(f[0], "="); strings.HasPrefix(w, "--") && (curlValueOptions[w] || curlBoolOptions[w]) {
			return true
		}
		if _, _, _, err := readCurlOption(f[0]); err == nil && len(f[0]) > 1 && f[0][0] == '-' && f[0][1] != '-' {
			return true
		}
	}
	return false
}

// errCurlRefused is the advice of the errors for curl commands inspect
// cannot model.
const errCurlRefused = "paste the Cookie header itself (curl -v shows it as \"> Cookie: …\")"

// readCurlOption reads w, a word of a curl command that starts with '-',
// as curl 7.88 does: it returns the long name of the option that takes a
// value, if one does ("" for boolean ones), and the value if w holds it
// too ("-Hvalue", "-sSHvalue"). Short options come in bundles, of boolean
// ones ending with at most one that takes a value. curl has no
// "--name=value" form, and abbreviations are refused.
func readCurlOption(w string) (name, value string, attached bool, err error) {
	if strings.HasPrefix(w, "--") {
		opt, _, eq := strings.Cut(w, "=")
		switch {
		case w == "--next":
			return "", "", false, fmt.Errorf("the curl option --next makes several requests: paste one request's Cookie header (curl -v shows it as \"> Cookie: …\")")
		case curlRefused[w]:
			return "", "", false, fmt.Errorf("the curl option %s sends no request, or not one alone: %s", w, errCurlRefused)
		case curlValueOptions[w]:
			return w, "", false, nil
		case curlBoolOptions[w], curlBoolOptions["--"+strings.TrimPrefix(w, "--no-")]:
			return "", "", false, nil
		case eq && (curlValueOptions[opt] || curlBoolOptions[opt]):
			return "", "", false, fmt.Errorf("curl has no %s=VALUE form (it stops at an unknown option): write %s 'VALUE'", opt, opt)
		}
		shown := "a curl option"
		if len(opt) <= 40 && strings.Trim(opt, "-abcdefghijklmnopqrstuvwxyz0123456789.") == "" {
			shown = "the curl option " + opt
		}
		return "", "", false, fmt.Errorf("%s is unknown or abbreviated: %s", shown, errCurlRefused)
	}
	for i := 1; i < len(w); i++ {
		c := w[i]
		switch {
		case strings.IndexByte(curlBoolLetters, c) >= 0:
		case c == 'H':
			return "--header", w[i+1:], i+1 < len(w), nil
		case c == 'b':
			return "--cookie", w[i+1:], i+1 < len(w), nil
		case strings.IndexByte(curlValueLetters, c) >= 0:
			return "-" + string(c), w[i+1:], i+1 < len(w), nil
		case c == ':':
			return "", "", false, fmt.Errorf("the curl option -: (--next) makes several requests: paste one request's Cookie header (curl -v shows it as \"> Cookie: …\")")
		case strings.IndexByte(curlRefusedShort, c) >= 0:
			return "", "", false, fmt.Errorf("the curl option -%c sends no request, or not one alone: %s", c, errCurlRefused)
		default:
			shown := "a curl option"
			if c > ' ' && c < 0x7f {
				shown = fmt.Sprintf("the curl option -%c", c)
			}
			return "", "", false, fmt.Errorf("%s is unknown: %s", shown, errCurlRefused)
		}
	}
	if len(w) == 1 {
		return "", "", false, fmt.Errorf("a curl option \"-\" alone: %s", errCurlRefused)
	}
	return "", "", false, nil
}

// curlMaxCookies is the length at which curl 7.88 sends no -b cookies at
// all: those of all -b options, joined by ';', must be shorter.
const curlMaxCookies = 4096

// curlCookies returns the Cookie header lines that the curl command in
// text sends, as bash splits it into words (see shellWords) and curl 7.88
// reads them: the headers of -H/--header named Cookie, in order, if there
// are any ("Cookie;" sends an empty one, "Cookie:" none but is one), and
// otherwise the cookies of all -b/--cookie options, joined by ';'. text
// may be the command's options only. It refuses what it cannot model:
// several commands or requests, the shell's expansions, cookies or
// headers read from files, unknown options, line breaks in headers, and
// -b cookies curl does not send for their length.
func curlCookies(text string) ([]string, error) {
	words, err := shellWords(strings.ReplaceAll(text, "\r\n", "\n"))
	if err != nil {
		return nil, err
	}
	if len(words) > 0 && words[0].text == "curl" {
		words = words[1:]
	} else if len(words) > 0 && !strings.HasPrefix(words[0].text, "-") {
		return nil, fmt.Errorf("the input is a command other than curl's: %s", errCurlRefused)
	}
	var headers, cookies []string
	cookieHeader := false // -H names Cookie: curl sends no -b cookies
	for i := 0; i < len(words); i++ {
		w := words[i]
		if w.text == "--" {
			break // the rest are URLs
		}
		if !strings.HasPrefix(w.text, "-") {
			continue // a URL
		}
		name, value, attached, err := readCurlOption(w.text)
		switch {
		case err != nil:
			return nil, err
		case w.expands:
			return nil, fmt.Errorf("a curl option the shell may expand (*, ?, [, {, ~): %s", errCurlRefused)
		case name == "" || attached:
		case i+1 == len(words):
			return nil, fmt.Errorf("the curl option %s lacks its value: %s", name, errCurlRefused)
		default:
			i++
			value = words[i].text
			if words[i].expands && (name == "--header" || name == "--cookie") {
				return nil, fmt.Errorf("the value of curl's %s is a word the shell may expand (*, ?, [, {, ~): quote it, or %s", name, errCurlRefused)
			}
		}
		switch name {
		case "--header":
			if strings.HasPrefix(value, "@") {
				return nil, fmt.Errorf("curl's -H reads headers from a file: %s", errCurlRefused)
			}
			if strings.ContainsAny(value, "\r\n") {
				return nil, fmt.Errorf("a header of curl's -H holds a line break: %s", errCurlRefused)
			}
			if !hasPrefixFold(value, "cookie") {
				continue
			}
			switch rest := value[len("cookie"):]; {
			case rest == "" || isTokenChar(rest[0]):
				// No header, or another one (Cookie2).
			case rest[0] == ':':
				cookieHeader = true
				if v := strings.Trim(rest[1:], " \t"); v != "" {
					headers = append(headers, v)
				}
			case rest[0] == ';' && strings.Trim(rest[1:], " \t") == "":
				cookieHeader = true
				headers = append(headers, "")
			default:
				return nil, fmt.Errorf("a header of curl's -H starts as Cookie but is not \"Cookie: …\" nor \"Cookie;\": %s", errCurlRefused)
			}
		case "--cookie":
			switch {
			case value == "":
				// curl's cookie engine, with no cookies.
			case strings.HasPrefix(value, "@") || !strings.Contains(value, "="):
				return nil, fmt.Errorf("curl's -b names a cookie file, whose cookies curl sends and inspect cannot see: give the cookies as -b 'name=value', or %s", errCurlRefused)
			case strings.ContainsAny(value, "\r\n"):
				return nil, fmt.Errorf("the cookies of curl's -b hold a line break: %s", errCurlRefused)
			default:
				cookies = append(cookies, value)
			}
		}
	}
	switch {
	case cookieHeader:
		return headers, nil
	case len(cookies) == 0:
		return nil, nil
	}
	joined := strings.Join(cookies, ";")
	if len(joined) >= curlMaxCookies {
		return nil, fmt.Errorf("the cookies of curl's -b come to %d bytes: curl 7.88 sends none of them at %d bytes or more (other versions differ); give them with -H 'Cookie: …', or %s", len(joined), curlMaxCookies, errCurlRefused)
	}
	return []string{strings.Trim(joined, " \t")}, nil
}

// isTokenChar reports whether c may be part of a header's name.
func isTokenChar(c byte) bool {
	return c < 0x7f && c > ' ' && !strings.ContainsRune(`"(),/:;<=>?@[\]{}`, rune(c))
}

// curlArgs takes the curl options that hold cookies out of args, the
// command line of inspect up to a "--": each as one argument, pasted in
// quotes ("-H 'Cookie: …'"), or as two, split by a shell ("-H" "Cookie:
// …"). It returns the other arguments, and the options as a curl
// command, which parseInspectInput reads; none is a flag of inspect's.
func curlArgs(args []string) (rest []string, input string) {
	var words []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		name := curlOption(a)
		switch {
		case a == "--":
			return append(rest, args[i:]...), curlCommand(words)
		case name == "":
			rest = append(rest, a)
		case a != name:
			words = append(words, shellText(a))
		case i+1 < len(args):
			i++
			words = append(words, name, shellWord(args[i]))
		default:
			rest = append(rest, a)
		}
	}
	return rest, curlCommand(words)
}

// curlCommand returns the curl command of words, or "" for none.
func curlCommand(words []string) string {
	if len(words) == 0 {
		return ""
	}
	return "curl " + strings.Join(words, " ")
}

// shellText returns a, an argument that holds shell text ("-H 'Cookie:
// …'"), for a command line of its own words: quoted anew, so that one
// ending in a backslash does not continue into the next; as it is when
// bash would refuse it or expand it, for curlCookies to refuse.
func shellText(a string) string {
	words, err := shellWords(a)
	if err != nil {
		return a
	}
	quoted := make([]string, len(words))
	for i, w := range words {
		if w.expands {
			return a
		}
		quoted[i] = shellWord(w.text)
	}
	return strings.Join(quoted, " ")
}

// curlOption returns the curl option that w, a word of a command line,
// starts with, if it is one inspect reads a cookie from: -H and --header,
// -b and --cookie, and bundles of curl's boolean short options ending in
// -H or -b ("-sSH"). A short option may hold its value ("-H'…'" reads as
// "-H…" in a shell); a long one followed by '=' is returned too, for
// curlCookies to refuse, as curl has no such form.
func curlOption(w string) string {
	for _, name := range []string{"--header", "--cookie"} {
		rest, ok := strings.CutPrefix(w, name)
		if ok && (rest == "" || rest[0] == '=' || rest[0] == ' ') {
			return name
		}
	}
	if len(w) < 2 || w[0] != '-' {
		return ""
	}
	for i := 1; i < len(w); i++ {
		c := w[i]
		if strings.IndexByte(curlBoolLetters, c) >= 0 {
			continue
		}
		if c != 'H' && c != 'b' {
			return ""
		}
		switch rest := w[i+1:]; {
		case rest == "", rest[0] == ' ', rest[0] == '\'', rest[0] == '"', rest[0] == '$':
			return w[:i+1]
		}
		return ""
	}
	return ""
}

// A cmdWord is a word of a shell command, its quotes undone.
type cmdWord struct {
	text string
	// expands is whether it holds, outside quotes, what bash may expand
	// into other words, depending on the files at hand or the user: a
	// glob (*, ?, [), a brace ({), or a ~ that starts it.
	expands bool
}

// errSeveralCommands refuses shell text of more than one command.
var errSeveralCommands = errors.New("the input holds several commands (a newline, ;, &&, || or |): paste one curl command, or the Cookie header")

// shellWords splits text, the lines of one shell command, into words as
// bash does: '…' holds text as it is; "…" too, but for a backslash before
// $ ` " \ or a newline, which escapes it; $'…' decodes C escapes (\n,
// \t, \xHH, \uHHHH, \', …); a backslash outside quotes escapes the next
// character, and a newline after it continues the command; a '#' that
// starts a word starts a comment, to the end of the line; quotes may span
// lines. What bash would run otherwise than as one command of plain words
// is refused: several commands (separated by newlines, ;, &, |),
// redirections, expansions ($NAME, $(…), `…`), a quote left open, and
// $'…' escapes that depend on the locale or end the string.
func shellWords(text string) ([]cmdWord, error) {
	var words []cmdWord
	var w strings.Builder
	inWord, expands, ended := false, false, false
	end := func() {
		if inWord {
			words = append(words, cmdWord{w.String(), expands})
			w.Reset()
			inWord, expands = false, false
		}
	}
	for i := 0; i < len(text); i++ {
		c := text[i]
		if !inWord && ended && c != ' ' && c != '\t' && c != '\n' && c != '#' {
			return nil, errSeveralCommands
		}
		switch {
		case c == ' ' || c == '\t':
			end()
		case c == '\n':
			end()
			ended = len(words) > 0
		case c == '#' && !inWord:
			if j := strings.IndexByte(text[i:], '\n'); j >= 0 {
				i += j - 1
			} else {
				i = len(text)
			}
		case c == '\\':
			switch {
			case i+1 == len(text):
				w.WriteByte(c)
				inWord = true
			case text[i+1] == '\n':
				i++
			default:
				i++
				w.WriteByte(text[i])
				inWord = true
			}
		case c == '\'':
			j := strings.IndexByte(text[i+1:], '\'')
			if j < 0 {
				return nil, errors.New("the command has a quote (') left open: paste the whole curl command")
			}
			w.WriteString(text[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == '"':
			closed := false
			for i++; i < len(text); i++ {
				d := text[i]
				switch {
				case d == '"':
					closed = true
				case d == '\\' && i+1 < len(text) && text[i+1] == '\n':
					i++
					continue
				case d == '\\' && i+1 < len(text) && strings.IndexByte("$`\"\\", text[i+1]) >= 0:
					i++
					w.WriteByte(text[i])
					continue
				case d == '$' && i+1 < len(text) && !strings.ContainsRune(" \t\n\"", rune(text[i+1])), d == '`':
					return nil, errExpansion
				default:
					w.WriteByte(d)
					continue
				}
				break
			}
			if !closed {
				return nil, errors.New("the command has a quote (\") left open: paste the whole curl command")
			}
			inWord = true
		case c == '$' && i+1 < len(text) && text[i+1] == '\'':
			s, n, err := ansiC(text[i+2:])
			if err != nil {
				return nil, err
			}
			w.WriteString(s)
			i += 2 + n
			inWord = true
		case c == '$' && i+1 < len(text) && !strings.ContainsRune(" \t\n", rune(text[i+1])), c == '`', c == '(', c == ')':
			return nil, errExpansion
		case c == ';' || c == '&' || c == '|':
			return nil, errSeveralCommands
		case c == '<' || c == '>':
			return nil, errors.New("the command has a redirection (< or >): paste the curl command without it, or the Cookie header")
		default:
			if c == '*' || c == '?' || c == '[' || c == '{' || c == '~' && !inWord {
				expands = true
			}
			w.WriteByte(c)
			inWord = true
		}
	}
	end()
	return words, nil
}

// errExpansion refuses shell text with expansions.
var errExpansion = errors.New("the command has a shell expansion ($NAME, $(…), `…`) or subshell, whose value inspect cannot know: paste the command as the shell runs it, or the Cookie header")

// ansiC decodes the text of a $'…' string up to its closing quote, as bash
// does, and returns it and how many bytes of s it took, the quote
// included. It refuses escapes whose result depends on the locale
// (non-ASCII \u and \U), \c, and a NUL, which ends the string in bash.
func ansiC(s string) (string, int, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\'' {
			return b.String(), i + 1, nil
		}
		if c != '\\' || i+1 == len(s) {
			b.WriteByte(c)
			continue
		}
		i++
		c = s[i]
		if e := strings.IndexByte(`abefnrtv\'"?E`, c); e >= 0 {
			b.WriteByte("\a\b\x1b\f\n\r\t\v\\'\"?\x1b"[e])
			continue
		}
		digits, base, max := "", 0, 0
		switch {
		case c >= '0' && c <= '7':
			digits, base, max = "01234567", 8, 3
			i-- // the digit is the first of the number
		case c == 'x':
			digits, base, max = "0123456789abcdefABCDEF", 16, 2
		case c == 'u':
			digits, base, max = "0123456789abcdefABCDEF", 16, 4
		case c == 'U':
			digits, base, max = "0123456789abcdefABCDEF", 16, 8
		case c == 'c':
			return "", 0, errors.New("the command has a $'…' string with a \\c escape: paste the Cookie header")
		default:
			b.WriteByte('\\')
			b.WriteByte(c)
			continue
		}
		j := i + 1
		for j < len(s) && j-i-1 < max && strings.IndexByte(digits, s[j]) >= 0 {
			j++
		}
		if j == i+1 { // no digits: bash keeps the escape
			b.WriteByte('\\')
			b.WriteByte(c)
			continue
		}
		n, _ := strconv.ParseUint(s[i+1:j], base, 64)
		switch {
		case n == 0:
			return "", 0, errors.New("the command has a $'…' string with a NUL escape, which ends it: paste the Cookie header")
		case n > 0xff:
			return "", 0, errors.New("the command has a $'…' string with an octal escape above \\377: paste the Cookie header")
		case (c == 'u' || c == 'U') && n >= 0x80:
			return "", 0, errors.New("the command has a $'…' string with a non-ASCII \\u escape, which bash decodes by the locale: paste the Cookie header")
		}
		b.WriteByte(byte(n))
		i = j - 1
	}
	return "", 0, errors.New("the command has a quote ($') left open: paste the whole curl command")
}

// readHeader reads the session cookie named name out of Cookie header
// lines, for parseInspectInput.
func readHeader(lines []string, name string, maxChunks, maxSize int) (inspectInput, error) {
	var set cookiechunk.Set
	var others []string
	devCookie := false // a cookie named as the library names it over plain http
	if !set.Scan(lines, name, cookiechunk.Max, func(k string) {
		if len(others) < 6 {
			others = append(others, quoteArg(k))
		}
		devCookie = devCookie || k == devCookieName || k == devCookieName+".0"
	}) {
		return inspectInput{
			cookie:  name,
			refused: &verdict{tokensession.ErrMalformed, fmt.Sprintf("the Cookie header holds more cookies than net/http reads (%d)", cookiechunk.MaxPairs)},
			notes:   []string{"net/http reads no cookie at all from a Cookie header of more cookies than that, so neither does the middleware"},
		}, nil
	}
	// An empty cookie is what a client that ignores Max-Age keeps of one
	// the middleware expired: it gives way to the chunks.
	if set.HasPlain && (set.Plain != "" || set.Present == 0) {
		if set.Plain == "" {
			return inspectInput{
				cookie:  name,
				refused: &verdict{errNoSession, fmt.Sprintf("cookie %s is empty", quoteArg(name))},
				notes:   []string{emptyCookie},
			}, nil
		}
		if looksLikeKey(set.Plain) {
			return inspectInput{}, errKey
		}
		in := inspectInput{token: set.Plain, cookie: name}
		switch size := len(name) + len(set.Plain); {
		case size > cookieSize:
			// No configuration writes it: the middleware reads it as
			// malformed.
			in.refused = &verdict{tokensession.ErrMalformed, "token exceeds the size limit"}
		case size > maxSize:
			in.refused = &verdict{tokensession.ErrTooLarge, fmt.Sprintf("cookie of %d bytes, more than -max-cookie-size %d: %s", size, maxSize, leftAloneOne)}
		}
		return in, nil
	}
	if set.Present == 0 {
		in := inspectInput{cookie: name, refused: &verdict{errNoSession, fmt.Sprintf("no cookie named %s in the Cookie header", quoteArg(name))}}
		switch {
		case devCookie && name == tokensession.DefaultCookieName:
			in.notes = []string{fmt.Sprintf("the Cookie header has one named %q, the name the library gives the session cookie over plain http (UnsafeAllowHTTP, as in the examples): add -cookie-name %s", devCookieName, devCookieName)}
		case len(others) > 0:
			in.notes = []string{fmt.Sprintf("the Cookie header has %s: if one of them is the session cookie, set -cookie-name", strings.Join(others, ", "))}
		}
		return in, nil
	}
	n, ok := set.Count()
	if !ok {
		var have []string
		for i := range cookiechunk.Max {
			if set.Present&(1<<i) != 0 {
				have = append(have, fmt.Sprintf(".%d", i))
			}
		}
		in := inspectInput{
			cookie:  name,
			refused: &verdict{tokensession.ErrMalformed, fmt.Sprintf("incomplete or non-contiguous cookie chunks: %s has %s, not a complete, contiguous set of two or more", quoteArg(name), strings.Join(have, " "))},
		}
		if set.HasPlain {
			in.notes = append(in.notes, emptyPlainNote(name), emptyCookie)
		}
		// As the library's documentation words it.
		in.notes = append(in.notes, "an incomplete chunk set is usually a cookie dropped by a client or proxy over its Cookie header limit (nginx allows 8 KiB by default); the middleware deletes the chunks once a request uses the session")
		return in, nil
	}
	// Empty chunks at the end are what a client that ignores Max-Age
	// keeps of the chunks the middleware expired as a session shrank:
	// they join as nothing, and do not count against MaxChunks.
	used := n
	for used > 0 && set.Chunks[used-1] == "" {
		used--
	}
	in := inspectInput{cookie: name, chunks: used, set: n}
	if set.HasPlain {
		in.notes = append(in.notes, emptyPlainNote(name))
	}
	var emptyCounted []string // empty chunks that count against MaxChunks
	for i, c := range set.Chunks[:n] {
		switch {
		case c != "":
		case i < used:
			emptyCounted = append(emptyCounted, userText(name)+"."+strconv.Itoa(i))
			in.notes = append(in.notes, fmt.Sprintf("chunk cookie %s.%d is empty: it joins as nothing and counts against -max-chunks, as in the middleware", userText(name), i))
		default:
			in.notes = append(in.notes, fmt.Sprintf("chunk cookie %s.%d is empty: at the end of the set it is not joined and does not count against -max-chunks, as in the middleware", userText(name), i))
		}
	}
	if set.HasPlain || used < n || len(emptyCounted) > 0 {
		in.notes = append(in.notes, emptyCookie)
	}
	if used == 0 {
		in.refused = &verdict{errNoSession, fmt.Sprintf("the chunk cookies of %s (.0 to .%d) are all empty", quoteArg(name), n-1)}
		return in, nil
	}
	in.token = strings.Join(set.Chunks[:used], "")
	if looksLikeKey(in.token) {
		return inspectInput{}, errKey
	}
	counted := fmt.Sprintf("%d chunk cookies", used)
	if len(emptyCounted) > 0 {
		counted += ", counting the empty " + joinAnd(emptyCounted)
	}
	switch {
	case n-used == 1:
		counted += " (and an empty one after them, which does not count)"
	case n > used:
		counted += fmt.Sprintf(" (and %d empty ones after them, which do not count)", n-used)
	}
	switch {
	case len(in.token) > maxTokenSize(name, cookiechunk.Max, cookieSize):
		// No configuration writes it: the middleware reads it as
		// malformed.
		in.refused = &verdict{tokensession.ErrMalformed, "token exceeds the size limit"}
	case used > maxChunks && len(emptyCounted) > 0:
		// No instance writes an empty chunk before others: it is what is
		// left of an expired one.
		in.refused = &verdict{tokensession.ErrTooLarge, fmt.Sprintf("%s, more than -max-chunks %d: %s", counted, maxChunks, leftAloneEmpty)}
	case used > maxChunks:
		in.refused = &verdict{tokensession.ErrTooLarge, fmt.Sprintf("%s, more than -max-chunks %d: %s", counted, maxChunks, leftAloneChunks)}
	case len(in.token) > maxTokenSize(name, maxChunks, maxSize):
		in.refused = &verdict{tokensession.ErrTooLarge, fmt.Sprintf("%d bytes in chunk cookies, more than %d chunks carry (-max-chunks %d, -max-cookie-size %d): %s", len(in.token), maxChunks, maxChunks, maxSize, leftAloneBytes)}
	}
	return in, nil
}

// duplicates returns a note on the cookies of the Cookie header lines
// named name, or as one of its chunks, that appear more than once, or ""
// if none does. Of such cookies the first counts, as in the middleware.
func duplicates(lines []string, name string) string {
	var counts [1 + cookiechunk.Max]int // the cookie, then chunk i at i+1
	for part := range strings.SplitSeq(strings.Join(lines, ";"), ";") {
		// As cookiechunk.Set.Scan reads the header.
		k, _, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		suffix, ours := strings.CutPrefix(k, name)
		if !ours {
			continue
		}
		if suffix == "" {
			counts[0]++
		} else if i, ok := cookiechunk.Index(suffix, cookiechunk.Max); ok {
			counts[1+i]++
		}
	}
	var dups []string
	for i, n := range counts {
		if n < 2 {
			continue
		}
		cookie := userText(name)
		if i > 0 {
			cookie += "." + strconv.Itoa(i-1)
		}
		if len(dups) == 0 {
			dups = append(dups, fmt.Sprintf("%d cookies named %s", n, cookie))
		} else {
			dups = append(dups, fmt.Sprintf("%d named %s", n, cookie))
		}
	}
	if len(dups) == 0 {
		return ""
	}
	first := "the first is used"
	if len(dups) > 1 {
		first = "the first of each is used"
	}
	tossing := "(cookie tossing; the __Host- prefix prevents it)"
	if hasPrefixFold(name, "__Host-") {
		tossing = "(cookie tossing), which the __Host- prefix prevents in browsers: look for what else adds cookies to these requests"
	}
	return fmt.Sprintf("the Cookie header holds %s: %s, as in the middleware. A duplicate is what a sibling subdomain or a path-scoped cookie planting one looks like %s",
		joinAnd(dups), first, tossing)
}

// joinAnd joins words as a list in a sentence: "a", "a and b", "a, b and
// c".
func joinAnd(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " and " + words[len(words)-1]
}

// hasPrefixFold reports whether s begins with prefix, ignoring ASCII
// case.
func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// looksLikeKey reports whether tainted, given where a token belongs, holds
// key material: a PASERK secret key (k4.local…, k4.secret…) anywhere, or
// nothing but words with the length of a raw 32-byte key in base64 or hex.
// A token is neither: it starts with "v4.", and is longer.
func looksLikeKey(tainted string) bool {
	words := strings.FieldsFunc(tainted, func(r rune) bool {
		return r == ' ' || r == '\t' || r == '\r' || r == '\n' || r == ';' || r == '=' || r == ':' || r == '"'
	})
	raw := len(words) > 0
	for _, w := range words {
		if isPASERKSecret(w) {
			return true
		}
		raw = raw && isRawKey(w)
	}
	return raw
}

// isPASERKSecret reports whether w starts like a PASERK that holds a
// secret: kN.local (k4.local, k4.local-wrap, k4.local-pw) or kN.secret.
func isPASERKSecret(w string) bool {
	if len(w) < 4 || w[0] != 'k' || w[1] < '1' || w[1] > '9' || w[2] != '.' {
		return false
	}
	for _, typ := range []string{"local", "secret"} {
		if rest, ok := strings.CutPrefix(w[3:], typ); ok && (rest == "" || rest[0] == '.' || rest[0] == '-') {
			return true
		}
	}
	return false
}

// isRawKey reports whether w has the length and alphabet of 32 key bytes
// in base64 (either alphabet; 43 characters, as the caller splits off any
// '=' of padding) or hex (64).
func isRawKey(w string) bool {
	if n := len(w); n != 43 && n != 64 {
		return false
	}
	for i := 0; i < len(w); i++ {
		if !isKeyChar(w[i]) && w[i] != '/' {
			return false
		}
	}
	return true
}

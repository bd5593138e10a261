package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	osexec "os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokensession/tokensession"
	"github.com/tokensession/tokensession/internal/cookiechunk"
)

// exampleURL is the URL of the curl commands below; TestInspectReadsWhatCurlSends
// replaces it with a test server's.
const exampleURL = "https://example.com/"

// A requestCase is input pasted from curl, or Cookie and Set-Cookie
// lines, and the Cookie header lines of the request it stands for, as
// net/http presents them (r.Header["Cookie"]); or, for input inspect
// cannot model, the error it refuses it with.
type requestCase struct {
	name  string
	input string
	lines []string // nil: no Cookie header
	want  string   // "session" or "no session", to check the case tests what it means to
	err   string
}

// requestCases returns the cases for a session token tok. The lines of
// each curl command are what curl 7.88.1 sends (TestInspectReadsWhatCurlSends
// checks them against curl and bash where they are installed).
func requestCases(tok string) []requestCase {
	const s = tokensession.DefaultCookieName
	full := strings.Repeat("a=1; ", cookiechunk.MaxPairs-2) + s + "=" + tok // 2999 cookies
	atLimit := strings.Repeat("a=1; ", cookiechunk.MaxPairs-1) + s + "=" + tok
	// The 'v' of the token, as $'…' may write it.
	escaped := `\u0076` + tok[1:]
	half := len(tok) / 2
	return []requestCase{
		// An empty Cookie header line counts as a cookie against
		// net/http's limit, as in the middleware.
		{name: "Cookie lines, empty ones over the limit", input: "Cookie: " + full + "\nCookie:\nCookie: \n", lines: []string{full, "", ""}, want: "no session"},
		{name: "Cookie lines, an empty one at the limit", input: "Cookie: " + full + "\nCookie:\n", lines: []string{full, ""}, want: "session"},
		{name: "Cookie lines, one at the limit", input: "Cookie: a=1\nCookie: " + atLimit[len("a=1; "):] + "\n", lines: []string{"a=1", atLimit[len("a=1; "):]}, want: "session"},
		{name: "Cookie lines, one over the limit", input: "Cookie: a=1\nCookie: " + atLimit + "\n", lines: []string{"a=1", atLimit}, want: "no session"},
		{name: "Cookie lines, empty only", input: "Cookie:\nCookie:\n", lines: []string{"", ""}, want: "no session"},
		{name: "curl -v, empty Cookie lines over the limit", input: "> GET / HTTP/1.1\n> Host: example.com\n> Cookie: " + full + "\n> Cookie:\n> Cookie:\n>\n", lines: []string{full, "", ""}, want: "no session"},
		{name: "curl -v, an empty Cookie line at the limit", input: "> GET / HTTP/1.1\n> Cookie:\n> Cookie: " + full + "\n>\n", lines: []string{"", full}, want: "session"},
		{name: "curl -H 'Cookie;' over the limit", input: "curl '" + exampleURL + "' -H 'Cookie;' -H 'Cookie;' -H 'Cookie: " + full + "'", lines: []string{"", "", full}, want: "no session"},
		{name: "curl -H 'Cookie;' at the limit", input: "curl '" + exampleURL + "' -H 'Cookie;' -H 'Cookie: " + full + "'", lines: []string{"", full}, want: "session"},

		// curl sends no -b cookies when -H gives a Cookie header, and
		// none at all when -H removes it.
		{name: "-b and -H Cookie: -H only", input: "curl '" + exampleURL + "' -b '" + s + "=v4.local.decoy' -H 'Cookie: " + s + "=" + tok + "'", lines: []string{s + "=" + tok}, want: "session"},
		{name: "-b and -H Cookie: -b not sent", input: "curl '" + exampleURL + "' -b '" + s + "=" + tok + "' -H 'Cookie: " + s + "=garbage'", lines: []string{s + "=garbage"}, want: "no session"},
		{name: "-b and an empty -H Cookie;", input: "curl '" + exampleURL + "' -H 'Cookie;' -b '" + s + "=" + tok + "'", lines: []string{""}, want: "no session"},
		{name: "-b and -H Cookie: removing it", input: "curl '" + exampleURL + "' -b '" + s + "=" + tok + "' -H 'Cookie:'", err: "holds no Cookie"},
		{name: "-H Cookie: removing curl's, not the others", input: "curl '" + exampleURL + "' -H 'cookie: a=1' -H 'Cookie:' -H 'COOKIE: " + s + "=" + tok + "' -b 'b=2'", lines: []string{"a=1", s + "=" + tok}, want: "session"},
		{name: "several -b", input: "curl '" + exampleURL + "' -b 'a=1' -b '" + s + ".0=" + tok[:half] + "; x=y' --cookie '" + s + ".1=" + tok[half:] + "'", lines: []string{"a=1;" + s + ".0=" + tok[:half] + "; x=y;" + s + ".1=" + tok[half:]}, want: "session"},
		{name: "-b over curl's limit", input: "curl '" + exampleURL + "' -b 'a=" + strings.Repeat("x", 4000) + "' -b '" + s + "=" + tok + "'", err: "4096 bytes"},
		{name: "-b naming a cookie file", input: "curl -b jar.txt -H 'Cookie: " + s + "=" + tok + "' " + exampleURL, err: "cookie file"},
		{name: "-H from a file", input: "curl -H @headers.txt " + exampleURL, err: "from a file"},

		// Bundles of short options.
		{name: "-sSH", input: "curl -sSH 'Cookie: " + s + "=" + tok + "' " + exampleURL, lines: []string{s + "=" + tok}, want: "session"},
		{name: "-kb", input: "curl -kb '" + s + "=" + tok + "' " + exampleURL, lines: []string{s + "=" + tok}, want: "session"},
		{name: "-kb and -H", input: "curl -kb '" + s + "=" + tok + "' -H 'Cookie: " + s + "=garbage' " + exampleURL, lines: []string{s + "=garbage"}, want: "no session"},
		{name: "-sH with the value attached", input: "curl -sH'Cookie: " + s + "=" + tok + "' " + exampleURL, lines: []string{s + "=" + tok}, want: "session"},
		{name: "-Hs: s is -H's value", input: "curl -Hs -H 'Cookie: " + s + "=" + tok + "' " + exampleURL, lines: []string{s + "=" + tok}, want: "session"},
		{name: "-bs: s is -b's cookie file", input: "curl -bs '" + s + "=" + tok + "' " + exampleURL, err: "cookie file"},
		{name: "-A takes a value", input: "curl -A '-b " + s + "=garbage' -H 'Cookie: " + s + "=" + tok + "' " + exampleURL, lines: []string{s + "=" + tok}, want: "session"},
		{name: "-sA takes a value", input: "curl -sA -H -b '" + s + "=" + tok + "' " + exampleURL, lines: []string{s + "=" + tok}, want: "session"},
		{name: "unknown short option", input: "curl -sWH 'Cookie: " + s + "=" + tok + "' " + exampleURL, err: "curl option"},
		{name: "--next", input: "curl -H 'Cookie: " + s + "=" + tok + "' " + exampleURL + " --next " + exampleURL, err: "several requests"},

		// The shell's words.
		{name: "$'…' with \\x3b", input: "curl " + exampleURL + " -H $'Cookie: a=1\\x3b " + s + "=" + tok + "'", lines: []string{"a=1; " + s + "=" + tok}, want: "session"},
		{name: "$'…' with \\u", input: "curl " + exampleURL + " -b $'a=b\\u0021c; " + s + "=" + escaped + "'", lines: []string{"a=b!c; " + s + "=" + tok}, want: "session"},
		{name: "backslash kept in \"…\"", input: "curl " + exampleURL + ` -H "Cookie: ` + s + `\=x; ` + s + "=" + tok + `"`, lines: []string{s + `\=x; ` + s + "=" + tok}, want: "session"},
		{name: "escaped quote in \"…\"", input: "curl " + exampleURL + ` -H "Cookie: a=\"1\"; ` + s + "=" + tok + `"`, lines: []string{`a="1"; ` + s + "=" + tok}, want: "session"},
		{name: "comment", input: "curl " + exampleURL + " # -H 'Cookie: " + s + "=" + tok + "'", err: "holds no Cookie"},
		{name: "comment on a continued line", input: "curl " + exampleURL + " \\\n  -H 'Cookie: " + s + "=" + tok + "' # the session\n", lines: []string{s + "=" + tok}, want: "session"},
		{name: "# inside a word", input: "curl " + exampleURL + "#x -H 'Cookie: " + s + "=" + tok + "'", lines: []string{s + "=" + tok}, want: "session"},
		{name: "quote across lines", input: "curl " + exampleURL + " --data-raw 'a\nb' -H 'Cookie: " + s + "=" + tok + "'", lines: []string{s + "=" + tok}, want: "session"},
		{name: "option in a quote across lines", input: "curl " + exampleURL + " --data-raw 'x\n-H Cookie:" + s + "=" + tok + "'", err: "holds no Cookie"},
		{name: "continued lines", input: "curl " + exampleURL + " \\\n  -H 'accept: */*' \\\n  -b '" + s + "=" + tok + "' \\\n  --compressed\n", lines: []string{s + "=" + tok}, want: "session"},
		{name: "; between commands", input: "curl " + exampleURL + "; curl -b '" + s + "=" + tok + "' " + exampleURL, err: "several commands"},
		{name: "&& between commands", input: "true && curl -b '" + s + "=" + tok + "' " + exampleURL, err: "several commands"},
		{name: "| between commands", input: "curl -b '" + s + "=" + tok + "' " + exampleURL + " | jq .", err: "several commands"},
		{name: "two lines of commands", input: "curl " + exampleURL + "\ncurl -b '" + s + "=" + tok + "' " + exampleURL, err: "several commands"},
		{name: "a variable", input: "curl -b \"" + s + "=$TOKEN\" " + exampleURL, err: "expansion"},
		{name: "unclosed quote", input: "curl -b '" + s + "=" + tok + " " + exampleURL, err: "quote"},
		{name: "a glob in -b", input: "curl -b " + s + "=" + tok + "* " + exampleURL, err: "expand"},

		// curl has no --name=value form.
		{name: "--cookie=", input: "curl '" + exampleURL + "' --cookie=" + s + "=" + tok, err: "--cookie 'VALUE'"},
		{name: "--header=", input: "--header='Cookie: " + s + "=" + tok + "'", err: "--header 'VALUE'"},
		{name: "--heade, abbreviated", input: "curl --heade 'Cookie: " + s + "=" + tok + "' " + exampleURL, err: "unknown or abbreviated"},

		// curl -v: the request's lines, when there are any.
		{name: "curl -v, request and the response deleting", input: "> GET / HTTP/1.1\n> Cookie: " + s + "=" + tok + "\n>\n< HTTP/1.1 200 OK\n< Set-Cookie: " + s + "=; Path=/; Max-Age=0; HttpOnly; Secure\n", lines: []string{s + "=" + tok}, want: "session"},
		{name: "curl -v, request and the response setting", input: "> GET / HTTP/1.1\n> Cookie: a=1\n>\n< HTTP/1.1 200 OK\n< Set-Cookie: " + s + "=" + tok + "; Path=/; Max-Age=60\n", lines: []string{"a=1"}, want: "no session"},
		{name: "curl -v, two requests", input: "> GET / HTTP/1.1\n> Cookie: a=1\n>\n< HTTP/1.1 302 Found\n> GET /next HTTP/1.1\n> Cookie: " + s + "=" + tok + "\n>\n", err: "several requests"},
		{name: "curl -v, response only", input: "< HTTP/1.1 200 OK\n< Set-Cookie: " + s + ".1=; Path=/; Max-Age=0\n< Set-Cookie: " + s + "=" + tok + "; Path=/; Max-Age=60\n", lines: []string{s + "=" + tok}, want: "session"},
		{name: "Set-Cookie deleting", input: "< Set-Cookie: " + s + "=" + tok + "; Path=/; Max-Age=0\n", err: "delete"},
		{name: "Set-Cookie expired", input: "Set-Cookie: " + s + "=" + tok + "; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT\n", err: "delete"},
		{name: "Set-Cookie, the later one", input: "Set-Cookie: " + s + "=garbage; Path=/\nSet-Cookie: " + s + "=" + tok + "; Path=/\n", lines: []string{s + "=" + tok}, want: "session"},
		{name: "Set-Cookie, negative Max-Age", input: "Set-Cookie: " + s + "=garbage; Max-Age=-1\nSet-Cookie: " + s + ".0=" + tok[:half] + "\nSet-Cookie: " + s + ".1=" + tok[half:] + "; Max-Age=60; Expires=Thu, 01 Jan 1970 00:00:00 GMT\n", lines: []string{s + ".0=" + tok[:half] + "; " + s + ".1=" + tok[half:]}, want: "session"},
		{name: "Set-Cookie, empty value", input: "Set-Cookie: " + s + "=; Path=/\nSet-Cookie: " + s + ".0=" + tok[:half] + "\nSet-Cookie: " + s + ".1=" + tok[half:] + "\n", lines: []string{s + "=; " + s + ".0=" + tok[:half] + "; " + s + ".1=" + tok[half:]}, want: "session"},
		{name: "Set-Cookie, future Expires", input: "Set-Cookie: " + s + "=" + tok + "; Expires=Wed, 01 Jan 2200 00:00:00 GMT\n", err: "Expires"},
		{name: "Set-Cookie, two paths", input: "Set-Cookie: " + s + "=" + tok + "; Path=/\nSet-Cookie: " + s + "=garbage; Path=/app\n", err: "Path"},
		{name: "Cookie and Set-Cookie lines", input: "Cookie: a=1\nSet-Cookie: " + s + "=" + tok + "\n", err: "both"},
	}
}

// TestInspectReadsTheRequest checks that inspect reads the request that
// pasted material stands for, as the middleware reads it, or refuses it.
func TestInspectReadsTheRequest(t *testing.T) {
	ring, keys := newRingArgs(t)
	keys = append(keys, "-max-chunks", "4")
	clock := t0
	m := newManager(t, ring, &clock, tokensession.Config[json.RawMessage]{MaxChunks: 4, ErrorHandler: func(*http.Request, error) {}})
	tok, _, err := m.Seal(json.RawMessage(`{"user":"alice"}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range requestCases(tok) {
		t.Run(c.name, func(t *testing.T) {
			r := exec(t, t0, nil, c.input, append([]string{"inspect"}, keys...)...)
			if c.err != "" {
				checkResult(t, r, 1, c.err)
				if r.stdout != "" {
					t.Errorf("a report for input inspect refuses:\n%s", r.stdout)
				}
				return
			}
			req := httptest.NewRequest("GET", "/", nil)
			req.Header["Cookie"] = c.lines
			_, _, loadErr := m.Load(req)
			if got := map[bool]string{true: "session", false: "no session"}[loadErr == nil]; got != c.want {
				t.Fatalf("the middleware reads %s (%v), the case is for %s", got, loadErr, c.want)
			}
			switch {
			case r.stderr != "":
				t.Fatalf("inspect fails: %s", r.stderr)
			case loadErr == nil && r.code != 0:
				t.Fatalf("the middleware reads a session, inspect says (exit %d):\n%s", r.code, r.stdout)
			case loadErr != nil && r.code == 0:
				t.Fatalf("the middleware reads no session (%v), inspect says:\n%s", loadErr, r.stdout)
			case strings.Contains(r.stdout, "cookie tossing"):
				t.Errorf("a duplicate cookie where the request has none:\n%s", r.stdout)
			}
			if errors.Is(loadErr, tokensession.ErrTooLarge) != strings.Contains(r.stdout, "\ninvalid: session too large") {
				t.Errorf("the middleware: %v; inspect:\n%s", loadErr, r.stdout)
			}
		})
	}
}

// TestInspectReadsWhatCurlSends runs the curl commands of requestCases
// with bash and curl, where they are installed, against a server that
// records the Cookie header lines it receives, and checks them against
// the lines the cases expect and those inspect reads.
func TestInspectReadsWhatCurlSends(t *testing.T) {
	bash, err := osexec.LookPath("bash")
	_, errCurl := osexec.LookPath("curl")
	switch {
	case (err != nil || errCurl != nil) && os.Getenv("CI") != "":
		t.Fatal("CI needs bash and curl (.ci/run installs curl)")
	case err != nil || errCurl != nil:
		t.Skip("needs bash and curl")
	}
	var mu sync.Mutex
	var got []string
	var sent bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		got, sent = r.Header["Cookie"], true
	}))
	defer srv.Close()
	tok := "v4.local." + strings.Repeat("A", 200) // curl needs no real token
	home := tmpDir(t)
	for _, c := range requestCases(tok) {
		if !strings.HasPrefix(c.input, "curl ") || c.err != "" {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			mu.Lock()
			got, sent = nil, false
			mu.Unlock()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			cmd := strings.ReplaceAll(c.input, exampleURL, srv.URL+"/")
			run := osexec.CommandContext(ctx, bash, "-c", cmd)
			run.Env = append(run.Environ(), "CURL_HOME="+home) // no .curlrc
			out, err := run.CombinedOutput()
			if err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			mu.Lock()
			defer mu.Unlock()
			if !sent {
				t.Fatal("curl sent no request")
			}
			if !slices.Equal(got, c.lines) {
				t.Errorf("curl sends Cookie lines %.200q, the case says %.200q", got, c.lines)
			}
			lines, _, err := requestCookies(c.input)
			if err != nil || !slices.Equal(lines, got) {
				t.Errorf("inspect reads %.200q (%v), curl sends %.200q", lines, err, got)
			}
		})
	}
}

// TestShellWordsAsBash checks shellWords against bash, where it is
// installed, and otherwise against what bash 5.2 gave: the words of text
// it reads as one command, or the error for text it refuses.
func TestShellWordsAsBash(t *testing.T) {
	bash, _ := osexec.LookPath("bash")
	for _, tc := range []struct {
		in   string
		want []string
		err  string
	}{
		{in: `curl 'https://x/?a=b' \`, want: []string{"curl", "https://x/?a=b", `\`}},
		{in: `-H 'a: b' -H "c: \"d\""`, want: []string{"-H", "a: b", "-H", `c: "d"`}},
		{in: `-b $'x=1; y=\'2\''`, want: []string{"-b", "x=1; y='2'"}},
		{in: `-b 'it'\''s=1'`, want: []string{"-b", "it's=1"}},
		{in: `--header='a: b'  -Hx\ y`, want: []string{"--header=a: b", "-Hx y"}},
		{in: "\t", want: nil},
		{in: `a"b c"d 'e'f`, want: []string{"ab cd", "ef"}},
		{in: `-H "Cookie: a=b; c=d" --compressed`, want: []string{"-H", "Cookie: a=b; c=d", "--compressed"}},
		// $'…' escapes, as Copy as cURL writes them.
		{in: `-H $'Cookie: a=1\x3b s=X'`, want: []string{"-H", "Cookie: a=1; s=X"}},
		{in: `-b $'a=b\u0021c; s=X'`, want: []string{"-b", "a=b!c; s=X"}},
		{in: `-b $'a=1\n\t\r\\\'\"\a\e\?'`, want: []string{"-b", "a=1\n\t\r\\'\"\a\x1b?"}},
		{in: `$'\101\x41\x4a\u41\U00000041\x\u\q\x4g'`, want: []string{"AAJAA\\x\\u\\q\x04g"}},
		{in: `$'\x3B\7'`, want: []string{";\a"}},
		// In "…", a backslash escapes $ ` " \ and a newline only.
		{in: `-H "Cookie: a=b\c"`, want: []string{"-H", `Cookie: a=b\c`}},
		{in: `"a\c\"\\\$x\'"`, want: []string{`a\c"\$x\'`}},
		{in: "\"a\\\nb\"", want: []string{"ab"}},
		{in: `"a $ b" a$`, want: []string{"a $ b", "a$"}},
		// Comments, continued lines and quotes across lines.
		{in: `curl https://x # -b 's=X'`, want: []string{"curl", "https://x"}},
		{in: `curl https://x#y a #b`, want: []string{"curl", "https://x#y", "a"}},
		{in: "curl \\\n  -b 'a=1' \\\n  https://x\n", want: []string{"curl", "-b", "a=1", "https://x"}},
		{in: "curl -d 'a\nb' -H \"c\nd\" x", want: []string{"curl", "-d", "a\nb", "-H", "c\nd", "x"}},
		{in: "curl x # a comment\n\n# another\n", want: []string{"curl", "x"}},
		{in: "a\\\nb", want: []string{"ab"}},
		// Refused: what bash runs otherwise than as one command of plain
		// words.
		{in: `curl https://x; -b 's=X'`, err: "several commands"},
		{in: `curl x && curl y`, err: "several commands"},
		{in: `curl x || curl y`, err: "several commands"},
		{in: `curl x | jq`, err: "several commands"},
		{in: `curl x &`, err: "several commands"},
		{in: "curl x\ncurl y", err: "several commands"},
		{in: `curl x > out`, err: "redirection"},
		{in: `curl -b "s=$TOKEN"`, err: "expansion"},
		{in: `curl -b s=$TOKEN`, err: "expansion"},
		{in: "curl -b `cat f`", err: "expansion"},
		{in: `curl -b $(cat f)`, err: "expansion"},
		{in: `-H 'open quote`, err: "left open"},
		{in: `-H "open \`, err: "left open"},
		{in: `$'open`, err: "left open"},
		{in: `$'\u00e9'`, err: "non-ASCII"},
		{in: `$'a\x00b'`, err: "NUL"},
		{in: `$'\cA'`, err: `\c`},
	} {
		t.Run(tc.in, func(t *testing.T) {
			words, err := shellWords(tc.in)
			var got []string
			for _, w := range words {
				got = append(got, w.text)
			}
			switch {
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Errorf("shellWords = %q, %v; want an error with %q", got, err, tc.err)
			case tc.err == "" && (err != nil || !slices.Equal(got, tc.want)):
				t.Errorf("shellWords = %q, %v; want %q", got, err, tc.want)
			}
			if bash == "" || tc.err != "" {
				return
			}
			// printf's format is the first word; a newline and a comment
			// end with the command.
			out, err := osexec.Command(bash, "-c", "printf '[%s]\\0' '' "+tc.in).Output()
			if err != nil {
				t.Fatal(err)
			}
			fromBash := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")[1:]
			for i, w := range fromBash {
				fromBash[i] = strings.TrimSuffix(strings.TrimPrefix(w, "["), "]")
			}
			if !slices.Equal(fromBash, tc.want) && (len(fromBash) > 0 || tc.want != nil) {
				t.Errorf("bash gives %q, the case says %q", fromBash, tc.want)
			}
		})
	}
}

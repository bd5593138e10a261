package fleet

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokensession/tokensession"
)

// hostileCase is one kind of hostile request, sent count times over a raw
// TCP connection so that nothing in a client library cleans it up.
type hostileCase struct {
	name  string
	count int
	// req returns the request head (request line and headers, without
	// Host, Connection and the final blank line) and an optional body.
	req func(i int) (head string, body io.Reader)
	// want: what an answer may be besides a 4xx or a 3xx: "anon" (a
	// logged-out 200 page), "victim" or "big-victim" (that victim's own
	// page, for requests carrying its valid token), "501" (net/http's
	// answer to an unknown transfer coding), or "" (no 200 expected).
	want string
}

// repeatReader yields b forever.
type repeatReader byte

func (r repeatReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}

func bodyOf(n int64, prefix string) io.Reader {
	return io.MultiReader(strings.NewReader(prefix), io.LimitReader(repeatReader('a'), n-int64(len(prefix))))
}

func randB64(n int) string {
	b := make([]byte, n*3/4+1)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)[:n]
}

// rawExchange sends head and body on a new connection and reads the
// response. The body is written concurrently, so a server that answers
// early (413, 431) is read even while the rest of the body is refused.
func rawExchange(addr, head string, body io.Reader) (*http.Response, []byte, error) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, nil, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	go func() {
		w := bufio.NewWriterSize(conn, 64<<10)
		io.WriteString(w, head)
		if body != nil {
			io.Copy(w, body)
		}
		w.Flush() // errors (EPIPE after an early answer) are expected
	}()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp, data, err
}

func TestHostile(t *testing.T) {
	t0 := time.Now()
	dir := t.TempDir()
	basic := build(t, dir, "./examples/basic")
	key := tokensession.GenerateKey()
	in := startInstance(t, "basic", basic, "ADDR=127.0.0.1:0", "SESSION_KEYS="+key.UnsafeExportPASERK())
	addr := in.base.Host

	// A victim with a real session: a short one (one cookie) and a long
	// one (chunked), to splice into hostile requests.
	victim := func(name string, items int, size int) (string, []*http.Cookie) {
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar, Transport: &http.Transport{Proxy: nil}, Timeout: 10 * time.Second}
		defer c.CloseIdleConnections()
		post := func(path string, form url.Values) {
			resp, err := c.PostForm(in.url(path), form)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("%s %s: %s", name, path, resp.Status)
			}
		}
		post("/login", url.Values{"username": {name}})
		for i := range items {
			post("/cart", url.Values{"item": {fmt.Sprintf("%d %s", i, strings.Repeat("y", size))}})
		}
		cookies := jar.Cookies(in.base)
		return sessionToken(cookies), cookies
	}
	validTok, _ := victim("victim", 2, 10)
	_, bigCookies := victim("big-victim", 25, 180)
	if len(bigCookies) < 2 {
		t.Fatalf("big victim has %d cookies, want a chunked session", len(bigCookies))
	}
	var bigChunks []string
	for _, c := range bigCookies {
		bigChunks = append(bigChunks, c.Name+"="+c.Value)
	}
	sort.Strings(bigChunks)
	kid, err := tokenKID(validTok)
	if err != nil {
		t.Fatal(err)
	}
	footer := func(json string) string { return base64.RawURLEncoding.EncodeToString([]byte(json)) }
	payload := strings.Split(validTok, ".")[2]

	get := func(headers ...string) string { return "GET / HTTP/1.1\r\n" + strings.Join(headers, "") }
	cookie := func(v string) string { return "Cookie: " + v + "\r\n" }
	form := "Content-Type: application/x-www-form-urlencoded\r\n"
	post := func(path, ctype string, n int64, extra ...string) string {
		return "POST " + path + " HTTP/1.1\r\n" + ctype + "Content-Length: " + strconv.FormatInt(n, 10) + "\r\n" + strings.Join(extra, "")
	}
	// postBody is a POST of body with the right Content-Length.
	postBody := func(path, ctype, body string, extra ...string) func(int) (string, io.Reader) {
		return func(int) (string, io.Reader) {
			return post(path, ctype, int64(len(body)), extra...), strings.NewReader(body)
		}
	}
	fixed := func(head string) func(int) (string, io.Reader) {
		return func(int) (string, io.Reader) { return head, nil }
	}
	withBody := func(head, body string) func(int) (string, io.Reader) {
		return func(int) (string, io.Reader) { return head, strings.NewReader(body) }
	}
	chunkStorm := func(n, size int) string {
		var b strings.Builder
		for i := 0; i <= n; i++ {
			if i > 0 {
				b.WriteString("; ")
			}
			fmt.Fprintf(&b, "session.%d=%s", i, randB64(size))
		}
		return b.String()
	}
	manyCookies := func(n int) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "c%d=v%d; ", i, i)
		}
		return b.String() + "session=" + randB64(100)
	}
	deepJSON := `{"kid":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}`
	multipart := func(ctype, body string) func(int) (string, io.Reader) {
		return postBody("/cart", "Content-Type: "+ctype+"\r\n", body)
	}
	const oneMiB = 1 << 20

	cases := []hostileCase{
		{"cookie 64KiB", 300, func(int) (string, io.Reader) { return get(cookie("session=" + randB64(64<<10))), nil }, "anon"},
		{"cookie 1MiB (within net/http's 1MiB+4KiB)", 20, func(int) (string, io.Reader) { return get(cookie("session=" + randB64(oneMiB+100))), nil }, "anon"},
		{"cookie 1MiB+8KiB", 20, func(int) (string, io.Reader) { return get(cookie("session=" + randB64(oneMiB+8<<10))), nil }, ""},
		{"cookie 900KiB total, 60k pairs", 10, fixed(get(cookie(manyCookies(60000)))), "anon"},
		{"chunks session.0…500", 300, func(int) (string, io.Reader) { return get(cookie(chunkStorm(500, 100))), nil }, "anon"},
		{"chunks session.0…500 of 3KiB", 10, func(int) (string, io.Reader) { return get(cookie(chunkStorm(500, 3000))), nil }, "anon"},
		{"1000 Cookie header lines", 50, func(int) (string, io.Reader) {
			var b strings.Builder
			for i := range 1000 {
				fmt.Fprintf(&b, "Cookie: session.%d=%s\r\n", i%20, randB64(50))
			}
			return get(b.String()), nil
		}, "anon"},
		// Names from session.16 up are other cookies, not chunks: the
		// valid chunks below them still make the session.
		{"valid chunks + session.16…500 junk", 50, nil, "big-victim"}, // req set below
		// Names up to session.15 are chunks whatever MaxChunks is: with
		// them the set reads as 16 chunks, more than this instance reads,
		// so no session (and no cookie expired: an instance configured
		// for more chunks might read it).
		{"valid chunks + session.N…15 junk", 50, nil, "anon"}, // req set below
		{"chunk index 4 (out of range)", 20, fixed(get(cookie("session.4=" + validTok))), "anon"},
		{"chunk index 16, 99999999999999999999, -1, +1, 01, 00, 0x1", 20, fixed(get(cookie("session.16=" + validTok + "; session.99999999999999999999=a; session.-1=b; session.+1=c; session.01=d; session.00=e; session.0x1=f"))), "anon"},
		{"lone chunk 0", 20, fixed(get(cookie("session.0=" + validTok))), "anon"},
		{"chunks 0 and 2 (gap)", 20, fixed(get(cookie("session.0=" + validTok[:100] + "; session.2=" + validTok[100:]))), "anon"},
		{"chunks 1 and 2 (no 0)", 20, fixed(get(cookie("session.1=" + validTok[:100] + "; session.2=" + validTok[100:]))), "anon"},
		{"valid token split by hand into 0,1", 20, fixed(get(cookie("session.1=" + validTok[100:] + "; session.0=" + validTok[:100]))), "victim"},
		{"valid token then a duplicate", 20, fixed(get(cookie("session=" + validTok + "; session=garbage"))), "victim"},
		{"garbage then the valid token", 20, fixed(get(cookie("session=garbage; session=" + validTok))), "anon"},
		{"quoted valid token", 20, fixed(get(cookie(`session="` + validTok + `"`))), "victim"},
		{"invalid UTF-8 after a valid token", 50, fixed(get(cookie("session=" + validTok + "\xff\xfe\xc3\x28"))), "anon"},
		{"invalid UTF-8 token", 50, fixed(get(cookie("session=v4.local.\xc3\x28\xa0\xa1." + footer(`{"kid":"`+kid+`"}`)))), "anon"},
		{"invalid UTF-8 cookie name", 20, fixed(get(cookie("sess\xffion=" + validTok + "; session\xc0.0=x; s\xe9ssion.1=y; session=" + validTok))), "victim"},
		{"NUL in cookie value", 50, fixed(get(cookie("session=" + validTok[:50] + "\x00" + validTok[50:]))), ""},
		{"control bytes 0x01 0x7f in cookie", 30, fixed(get(cookie("session=\x01\x7f" + validTok))), ""},
		{"bare CR in cookie", 20, fixed(get(cookie("session=a\rb"))), ""},
		{"footer 60KiB kid", 20, fixed(get(cookie("session=v4.local." + payload + "." + footer(`{"kid":"k4.lid.`+strings.Repeat("A", 45000)+`"}`)))), "anon"},
		{"footer nested JSON depth 10000", 20, fixed(get(cookie("session=v4.local." + payload + "." + footer(deepJSON)))), "anon"},
		// A key this instance may not have yet (a rollout): the example
		// answers 503 with Retry-After and leaves the cookie alone.
		{"footer unknown kid", 20, fixed(get(cookie("session=v4.local." + payload + "." + footer(`{"kid":"k4.lid.`+randB64(44)+`"}`)))), "unavailable"},
		{"footer extra fields", 20, fixed(get(cookie("session=v4.local." + payload + "." + footer(`{"kid":"`+kid+`","x":1}`)))), "anon"},
		{"footer duplicate kid", 20, fixed(get(cookie("session=v4.local." + payload + "." + footer(`{"kid":"k4.lid.x","kid":"`+kid+`"}`)))), "anon"},
		{"payload swapped to v4.public", 20, fixed(get(cookie("session=v4.public." + payload + "." + footer(`{"kid":"`+kid+`"}`)))), "anon"},
		{"header only, 1000 dots, empty", 30, func(i int) (string, io.Reader) {
			return get(cookie([]string{"session=v4.local.", "session=" + strings.Repeat(".", 1000), "session="}[i%3])), nil
		}, "anon"},
		{"bit-flipped valid token", 200, func(i int) (string, io.Reader) {
			b := []byte(validTok)
			p := len("v4.local.") + i%(len(payload))
			b[p] ^= 1
			return get(cookie("session=" + string(b))), nil
		}, "anon"},
		{"POST /cart 10MiB form", 10, func(int) (string, io.Reader) {
			return post("/cart", form, 10*oneMiB), bodyOf(10*oneMiB, "item=")
		}, ""},
		{"POST /login 10MiB form", 10, func(int) (string, io.Reader) {
			return post("/login", form, 10*oneMiB), bodyOf(10*oneMiB, "username=")
		}, ""},
		{"POST /cart 10MiB chunked", 5, func(int) (string, io.Reader) {
			chunk := strings.Repeat("a", 64<<10)
			var body strings.Builder
			for range 160 {
				fmt.Fprintf(&body, "%x\r\n%s\r\n", len(chunk), chunk)
			}
			body.WriteString("0\r\n\r\n")
			return "POST /cart HTTP/1.1\r\n" + form + "Transfer-Encoding: chunked\r\n", strings.NewReader("5\r\nitem=\r\n" + body.String())
		}, ""},
		{"POST /cart 8KiB+1 form", 20, func(int) (string, io.Reader) { return post("/cart", form, 8<<10+1), bodyOf(8<<10+1, "item=") }, ""},
		{"POST /cart 10000 fields", 20, func(int) (string, io.Reader) {
			body := strings.Repeat("a=1&", 10000) + "item=x"
			return post("/cart", form, int64(len(body))), strings.NewReader(body)
		}, ""},
		{"multipart garbage", 20, multipart("multipart/form-data; boundary=XYZ", "--XYZ\r\ngarbage\r\n\r\nitem\r\n--XY"), ""},
		{"multipart no boundary", 20, multipart("multipart/form-data", "--\r\n\r\n"), ""},
		{"multipart 10KiB boundary", 20, multipart("multipart/form-data; boundary="+strings.Repeat("b", 10<<10), "--b\r\n"), ""},
		{"multipart unterminated part", 20, multipart("multipart/form-data; boundary=XYZ", "--XYZ\r\nContent-Disposition: form-data; name=\"item\"\r\n\r\n"+strings.Repeat("z", 7000)), ""},
		{"multipart valid (the example reads urlencoded only)", 20, multipart("multipart/form-data; boundary=XYZ", "--XYZ\r\nContent-Disposition: form-data; name=\"item\"\r\n\r\nthing\r\n--XYZ--\r\n"), ""},
		{"form: bad percent-encoding", 20, postBody("/cart", form, "item=%zz"), ""},
		{"form: NUL item", 20, postBody("/cart", form, "item=%00"), ""},
		{"form: control char user", 20, postBody("/login", form, "username=a%01b"), ""},
		{"form: invalid UTF-8 item", 20, postBody("/cart", form, "item=%ff%fe"), ""},
		{"form: 201-byte item", 20, postBody("/cart", form, "item="+strings.Repeat("i", 201)), ""},
		{"form: empty user", 20, postBody("/login", form, "username="), ""},
		{"form: odd content type", 20, withBody(post("/cart", "Content-Type: application/x-www-form-urlencoded; charset=\"\x01\"\r\n", 6), "item=x"), ""},
		{"framing: Content-Length -1", 10, fixed("POST /cart HTTP/1.1\r\n" + form + "Content-Length: -1\r\n"), ""},
		{"framing: Content-Length abc", 10, fixed("POST /cart HTTP/1.1\r\n" + form + "Content-Length: abc\r\n"), ""},
		{"framing: two Content-Lengths", 10, withBody("POST /cart HTTP/1.1\r\n"+form+"Content-Length: 6\r\nContent-Length: 7\r\n", "item=x"), ""},
		{"framing: bad chunk size", 10, withBody("POST /cart HTTP/1.1\r\n"+form+"Transfer-Encoding: chunked\r\n", "zz\r\nitem=x\r\n0\r\n\r\n"), ""},
		// net/http answers 501 Not Implemented to a transfer coding it does
		// not know (RFC 9112, section 6.1), before any handler runs: the
		// one 5xx allowed here.
		{"framing: gzip, chunked", 10, withBody("POST /cart HTTP/1.1\r\n"+form+"Transfer-Encoding: gzip, chunked\r\n", "6\r\nitem=x\r\n0\r\n\r\n"), "501"},
		{"cross-site POST (Sec-Fetch-Site)", 20, withBody(post("/cart", form, 6, "Sec-Fetch-Site: cross-site\r\n", cookie("session="+validTok)), "item=x"), ""},
		{"cross-origin POST (Origin)", 20, withBody(post("/logout", form, 0, "Origin: http://evil.example\r\n", cookie("session="+validTok)), ""), ""},
		{"URL 1MiB (within net/http's 1MiB+4KiB)", 10, func(int) (string, io.Reader) { return "GET /?q=" + strings.Repeat("q", oneMiB) + " HTTP/1.1\r\n", nil }, "anon"},
		{"URL 1MiB+8KiB", 10, func(int) (string, io.Reader) {
			return "GET /?q=" + strings.Repeat("q", oneMiB+8<<10) + " HTTP/1.1\r\n", nil
		}, ""},
		{"path 64KiB", 20, fixed("GET /" + strings.Repeat("p", 64<<10) + " HTTP/1.1\r\n"), ""},
		{"path traversal", 10, fixed("GET /../../etc/passwd HTTP/1.1\r\n"), ""},
		{"unknown method", 10, fixed("BREW / HTTP/1.1\r\n"), ""},
		{"header name with NUL", 10, fixed("GET / HTTP/1.1\r\nX-\x00: 1\r\n"), ""},
		{"HTTP/0.9-ish request line", 10, fixed("GET /\r\n"), ""},
	}
	// The valid-chunks case: replace chunk 0…2 of the storm by the real ones.
	for i := range cases {
		if strings.HasPrefix(cases[i].name, "valid chunks") {
			from, to := 16, 500
			if strings.HasSuffix(cases[i].name, "15 junk") {
				from, to = len(bigChunks), 15
			}
			cases[i].req = func(int) (string, io.Reader) {
				var b strings.Builder
				b.WriteString(strings.Join(bigChunks, "; "))
				for j := from; j <= to; j++ {
					fmt.Fprintf(&b, "; session.%d=%s", j, randB64(20))
				}
				return get(cookie(b.String())), nil
			}
		}
	}
	total := 0
	for _, c := range cases {
		total += c.count
	}

	// Warm up with ordinary traffic, then take the baseline.
	warm := &http.Client{Transport: &http.Transport{Proxy: nil}, Timeout: 10 * time.Second}
	for range 50 {
		resp, err := warm.Get(in.url("/"))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	warm.CloseIdleConnections()
	rssBefore, err := procStatus(in.pid, "VmRSS")
	if err != nil {
		t.Fatal(err)
	}
	hwmBefore, _ := procStatus(in.pid, "VmHWM")
	threadsBefore, _ := procStatus(in.pid, "Threads")

	// Fire: 8 connections at a time, every case interleaved.
	type job struct {
		c *hostileCase
		i int
	}
	var jobs []job
	for ci := range cases {
		for i := range cases[ci].count {
			jobs = append(jobs, job{&cases[ci], i})
		}
	}
	// Interleave deterministically so heavy cases do not run back to back.
	for i := range jobs {
		j := (i * 7919) % len(jobs)
		jobs[i], jobs[j] = jobs[j], jobs[i]
	}
	var (
		errs     errorList
		mu       sync.Mutex
		statuses = map[string]map[int]int{}
		sent     atomic.Int64
		rssPeak  atomic.Int64
	)
	tFire := time.Now()
	work := make(chan job)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range work {
				head, body := j.c.req(j.i)
				head += "Host: " + addr + "\r\nConnection: close\r\n\r\n"
				resp, data, err := rawExchange(addr, head, body)
				if n := sent.Add(1); n%100 == 0 {
					if rss, err := procStatus(in.pid, "VmRSS"); err == nil && rss > rssPeak.Load() {
						rssPeak.Store(rss)
					}
				}
				if err != nil {
					errs.add("transport", "%s #%d: %v", j.c.name, j.i, err)
					continue
				}
				mu.Lock()
				if statuses[j.c.name] == nil {
					statuses[j.c.name] = map[int]int{}
				}
				statuses[j.c.name][resp.StatusCode]++
				mu.Unlock()
				switch code := resp.StatusCode; {
				case code == 501 && j.c.want == "501" && strings.Contains(strings.ToLower(string(data)), "unsupported transfer encoding"):
					// net/http itself, before the handler: see the case.
				case code == 503 && j.c.want == "unavailable":
					if resp.Header.Get("Retry-After") == "" || len(resp.Header.Values("Set-Cookie")) > 0 || !isUnavailablePage(string(data)) {
						errs.add("unavailable", "%s #%d: 503 without Retry-After, with Set-Cookie, or not the unavailable page", j.c.name, j.i)
					}
				case code >= 500:
					errs.add("5xx", "%s #%d: %s %q", j.c.name, j.i, resp.Status, trimBody(data))
				case code == 200:
					p, err := parsePage(string(data))
					switch {
					case err != nil:
						errs.add("200-not-a-page", "%s #%d: %v: %q", j.c.name, j.i, err, trimBody(data))
					case j.c.want == "anon" && p.LoggedIn:
						errs.add("logged-in", "%s #%d: logged in as %q", j.c.name, j.i, p.User)
					case j.c.want == "victim" && (!p.LoggedIn || p.User != "victim" || len(p.Cart) != 2):
						errs.add("victim", "%s #%d: page shows %+v, want the victim's", j.c.name, j.i, p)
					case j.c.want == "big-victim" && (!p.LoggedIn || p.User != "big-victim" || len(p.Cart) != 25):
						errs.add("victim", "%s #%d: page shows %d items for %q, want big-victim's 25", j.c.name, j.i, len(p.Cart), p.User)
					case j.c.want == "" || j.c.want == "unavailable":
						errs.add("unexpected-200", "%s #%d: 200 %+v", j.c.name, j.i, p)
					}
				case code >= 300 && code < 400, code >= 400 && code < 500:
					// Refused, or redirected (a POST that started an
					// anonymous session, a cleaned path): never a 5xx.
				default:
					errs.add("status", "%s #%d: %s", j.c.name, j.i, resp.Status)
				}
			}
		}()
	}
	for _, j := range jobs {
		work <- j
	}
	close(work)
	wg.Wait()
	fireTime := time.Since(tFire)

	// The server is still healthy, and the victim still logged in.
	resp, data, err := rawExchange(addr, get(cookie("session="+validTok))+"Host: "+addr+"\r\nConnection: close\r\n\r\n", nil)
	if err != nil {
		t.Fatalf("after the barrage: %v", err)
	}
	if p, err := parsePage(string(data)); resp.StatusCode != 200 || err != nil || p.User != "victim" || len(p.Cart) != 2 {
		t.Errorf("after the barrage the victim's page is %s %+v %v", resp.Status, p, err)
	}
	rssAfter, _ := procStatus(in.pid, "VmRSS")
	hwmAfter, _ := procStatus(in.pid, "VmHWM")
	threadsAfter, _ := procStatus(in.pid, "Threads")

	var lines []string
	for _, c := range cases {
		var codes []string
		m := statuses[c.name]
		keys := make([]int, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			codes = append(codes, fmt.Sprintf("%d×%d", k, m[k]))
		}
		lines = append(lines, fmt.Sprintf("  %-52s %s", c.name, strings.Join(codes, " ")))
	}
	t.Logf("hostile requests: %d in %v (%d cases), responses by case:\n%s", total, fireTime.Round(time.Millisecond), len(cases), strings.Join(lines, "\n"))
	t.Logf("memory: VmRSS before %s, peak sampled %s, after %s (Δ %s); VmHWM before %s, after %s; threads %d → %d",
		mib(rssBefore), mib(rssPeak.Load()), mib(rssAfter), mib(rssAfter-rssBefore), mib(hwmBefore), mib(hwmAfter), threadsBefore, threadsAfter)
	in.mu.Lock()
	nLog, panics := in.nLines, slices.Clone(in.panics)
	in.mu.Unlock()
	t.Logf("server log lines: %d; panics: %d; errors: %v; total %v", nLog, len(panics), &errs, time.Since(t0).Round(time.Millisecond))
	if len(panics) > 0 {
		t.Errorf("the server logged panics: %q", panics)
	}
	if errs.count() > 0 {
		t.Errorf("%v", &errs)
	}
	const bound = 100 << 20
	if rssAfter-rssBefore > bound || hwmAfter-rssBefore > 2*bound {
		t.Errorf("memory grew: VmRSS %s → %s (peak %s), bound +%s", mib(rssBefore), mib(rssAfter), mib(hwmAfter), mib(bound))
	}
}

func trimBody(b []byte) string {
	if len(b) > 200 {
		return string(b[:200]) + "…"
	}
	return string(b)
}

package fleet

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Fleet parameters. The whole test stays well under a minute on two cores.
const (
	fleetUsers       = 200
	fleetConcurrency = 32
	stepsPerRound    = 2
	// settleRounds is how many rounds of traffic run between two steps
	// of the rotation, so that each state of the fleet meets load and
	// the big users' sessions grow past one cookie.
	settleRounds = 8
	offsetAhead  = 3 * time.Second
	leeway       = "10s"
)

// fleet is the set of live instances users spread their requests over.
type fleet struct {
	insts atomic.Pointer[[]*instance]
}

func (f *fleet) list() []*instance { return *f.insts.Load() }

// acquire returns instance i (mod the fleet size) with a request counted
// in flight. A retired instance is never returned: restart swaps the list
// before it retires the old instance, so a retry sees the new one.
func (f *fleet) acquire(i int) *instance {
	for {
		list := f.list()
		in := list[i%len(list)]
		in.inflight.Add(1)
		if !in.retired.Load() {
			return in
		}
		in.inflight.Add(-1)
	}
}

type fleetStats struct {
	exchanges  atomic.Int64 // HTTP request/response pairs, redirect hops included
	actions    atomic.Int64 // user actions (a POST and its redirect are one)
	pages      atomic.Int64 // pages parsed and checked
	setCookies atomic.Int64 // responses that set a session token
	reseals    atomic.Int64 // ... whose kid differs from the user's previous one

	// slip: the rollout-slip drill, where an instance that lacks a key
	// other instances seal with (instance.lacksKey) may answer the page
	// or a cart write with 503 and Retry-After. Elsewhere that is an
	// error.
	slip        bool
	unavailable atomic.Int64 // 503 + Retry-After "unavailable" pages to a GET
	retryLater  atomic.Int64 // 503 + Retry-After answers to a cart write

	mu          sync.Mutex
	transitions map[string]int                  // "old→new" kid changes
	firstSeal   map[string]map[string]time.Time // kid → host → when its first token sealed with kid arrived

	errs errorList
}

func (s *fleetStats) kidChange(from, to string) {
	s.reseals.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.transitions == nil {
		s.transitions = map[string]int{}
	}
	s.transitions[short(from)+"→"+short(to)]++
}

func (s *fleetStats) sealed(kid, host string, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.firstSeal == nil {
		s.firstSeal = map[string]map[string]time.Time{}
	}
	if s.firstSeal[kid] == nil {
		s.firstSeal[kid] = map[string]time.Time{}
	}
	if _, ok := s.firstSeal[kid][host]; !ok {
		s.firstSeal[kid][host] = at
	}
}

// firstSealed returns when the first token sealed with kid arrived from
// the instance at host, if one has.
func (s *fleetStats) firstSealed(kid, host string) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	at, ok := s.firstSeal[kid][host]
	return at, ok
}

func short(kid string) string {
	if len(kid) > 14 {
		return kid[:14] + "…"
	}
	return kid
}

// fuser is one simulated browser: its own cookie jar, requests one at a
// time, spread round-robin over the fleet.
type fuser struct {
	idx    int
	name   string
	big    bool // adds long items, so its session spans several cookies
	jar    *cookiejar.Jar
	client *http.Client
	rng    *rand.Rand
	n      int      // actions so far, picks the instance
	cart   []string // what the shop must show

	// noLogin: the user does not log in again. A login starts a new
	// session whatever the old cookie held (it is how a user gets out of
	// a cookie no instance can read), so on an instance without the key
	// it would drop the cart; the rollout-slip drill's users reload the
	// page instead.
	noLogin  bool
	pending  string // an item a 503 refused, to add again
	tempSeen int    // temporary answers (503 to a GET or a cart write) seen

	lastOK atomic.Int64 // start (UnixNano) of the last action whose page checked out

	mu  sync.Mutex
	kid string // key ID of the last session token the user was sent
}

// observer sees every HTTP exchange of one user, redirects included.
type observer struct {
	base http.RoundTripper
	u    *fuser
	st   *fleetStats
}

func (o *observer) RoundTrip(req *http.Request) (*http.Response, error) {
	defer progress.fire()
	o.st.exchanges.Add(1)
	resp, err := o.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 500 && !(o.st.slip && resp.StatusCode == http.StatusServiceUnavailable) { // act judges those
		o.st.errs.add("5xx", "%s %s %s: %s", o.u.name, req.Method, req.URL, resp.Status)
	}
	if tok := sessionToken(resp.Cookies()); tok != "" {
		o.st.setCookies.Add(1)
		kid, err := tokenKID(tok)
		if err != nil {
			o.st.errs.add("token", "%s %s %s: %v", o.u.name, req.Method, req.URL, err)
		} else {
			o.st.sealed(kid, req.URL.Host, time.Now())
			o.u.mu.Lock()
			prev := o.u.kid
			o.u.kid = kid
			o.u.mu.Unlock()
			if prev != "" && prev != kid {
				o.st.kidChange(prev, kid)
			}
		}
	}
	return resp, nil
}

func newFleetUser(i int, tr http.RoundTripper, st *fleetStats) *fuser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		panic(err)
	}
	u := &fuser{
		idx: i,
		// Characters that HTML escaping and JSON must carry through.
		name: fmt.Sprintf("user-%03d <Zoë & \"Ünï\">", i),
		big:  i%5 == 0,
		jar:  jar,
		rng:  rand.New(rand.NewPCG(uint64(i), 42)),
	}
	u.client = &http.Client{
		Transport: &observer{base: tr, u: u, st: st},
		Jar:       jar,
		Timeout:   15 * time.Second,
	}
	return u
}

func (u *fuser) cartJSONLen() int {
	b, _ := json.Marshal(u.cart)
	return len(b)
}

// nextItem returns a new item: short ones, or ~180 bytes for big users.
func (u *fuser) nextItem() string {
	item := fmt.Sprintf("#%d of %s: <b>ß&amp;€ '%d'", len(u.cart), u.name[:8], u.rng.IntN(1000))
	if u.big {
		item += " " + strings.Repeat("x", 180-len(item))
	}
	return item
}

// outcome is how a user action ended.
type outcome int

const (
	actFailed      outcome = iota // counted in fleetStats.errs
	actOK                         // the page checked out
	actUnavailable                // slip drill: the page answered 503 with Retry-After
	actRetryLater                 // slip drill: 503 with Retry-After, nothing changed
)

// act performs one user action (a POST with its redirect, or a GET) on
// the next instance and checks the page it ends on: logged in as this
// user, with exactly the expected cart. In the slip drill, an instance
// that lacks the key the user's cookie was sealed with may instead answer
// a GET with 503, Retry-After and the "unavailable" page (never the
// anonymous page, whose login form would replace the session), or a cart
// write with 503 and Retry-After, provided it leaves the cookie alone.
func (u *fuser) act(fl *fleet, st *fleetStats, method, path string, form url.Values) outcome {
	defer progress.fire() // after the in-flight count drops and lastOK is set
	in := fl.acquire(u.idx + u.n)
	u.n++
	defer in.inflight.Add(-1)
	lagging := st.slip && in.lacksKey.Load()
	in.requests.Add(1)
	st.actions.Add(1)
	start := time.Now()

	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, in.url(path), body)
	if err != nil {
		panic(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := u.client.Do(req)
	if err != nil {
		st.errs.add("transport", "%s %s %s on %s: %v", u.name, method, path, in.name, err)
		return actFailed
	}
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		st.errs.add("transport", "%s %s %s on %s: reading body: %v", u.name, method, path, in.name, err)
		return actFailed
	}
	setCookie := resp.Header.Values("Set-Cookie")
	if st.slip && resp.StatusCode == http.StatusServiceUnavailable {
		get := method == "GET" && path == "/"
		switch {
		case !lagging:
			st.errs.add("5xx", "%s %s %s on %s: %s from an instance with every key", u.name, method, path, in.name, resp.Status)
		case !get && (method != "POST" || path != "/cart"):
			st.errs.add("5xx", "%s %s %s on %s: %s to a request that may not get one", u.name, method, path, in.name, resp.Status)
		case resp.Header.Get("Retry-After") == "":
			st.errs.add("5xx", "%s %s %s on %s: %s without Retry-After", u.name, method, path, in.name, resp.Status)
		case len(setCookie) > 0:
			st.errs.add("replaced", "%s %s %s on %s: a 503 set %d cookies", u.name, method, path, in.name, len(setCookie))
		case get && !isUnavailablePage(string(data)):
			st.errs.add("page", "%s %s %s on %s: a 503 without the unavailable page, or with a form", u.name, method, path, in.name)
		case get:
			st.unavailable.Add(1)
			u.tempSeen++
			return actUnavailable
		default:
			st.retryLater.Add(1)
			u.tempSeen++
			return actRetryLater
		}
		return actFailed
	}
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/" {
		st.errs.add("status", "%s %s %s on %s: ended at %s with %s", u.name, method, path, in.name, resp.Request.URL, resp.Status)
		return actFailed
	}
	p, err := parsePage(string(data))
	st.pages.Add(1)
	switch {
	case err != nil:
		st.errs.add("page", "%s %s %s on %s: %v", u.name, method, path, in.name, err)
		return actFailed
	case !p.LoggedIn:
		st.errs.add("logged-out", "%s %s %s on %s: page says not logged in", u.name, method, path, in.name)
		return actFailed
	case p.User != u.name:
		st.errs.add("wrong-user", "%s %s %s on %s: logged in as %q", u.name, method, path, in.name, p.User)
		return actFailed
	case p.Full:
		st.errs.add("cart-full", "%s %s %s on %s: cart reported full at %d items", u.name, method, path, in.name, len(u.cart))
		return actFailed
	case !slices.Equal(p.Cart, u.cart):
		st.errs.add("cart", "%s %s %s on %s: cart has %d items %q, want %d", u.name, method, path, in.name, len(p.Cart), trimList(p.Cart), len(u.cart))
		return actFailed
	}
	u.lastOK.Store(start.UnixNano())
	return actOK
}

// sessionLogErrors returns the errors the instances logged about
// sessions, renders and carts.
func sessionLogErrors(insts []*instance) []string {
	var errs []string
	for _, in := range insts {
		in.mu.Lock()
		for _, l := range in.lines {
			if strings.Contains(l, " session: ") || strings.Contains(l, " render: ") || strings.Contains(l, " cart: ") {
				errs = append(errs, in.name+": "+l)
			}
		}
		in.mu.Unlock()
	}
	return errs
}

func trimList(l []string) []string {
	if len(l) > 3 {
		return append(slices.Clone(l[:3]), "…")
	}
	return l
}

func (u *fuser) login(fl *fleet, st *fleetStats) bool {
	// Logging in again keeps the cart (the example renews the session ID
	// and sets the user), so the expected cart does not change.
	return u.act(fl, st, "POST", "/login", url.Values{"username": {u.name}}) == actOK
}

// step does one random action: add an item (while the cart is well below
// the 2-cookie limit), log in again, or read the page.
func (u *fuser) step(fl *fleet, st *fleetStats) {
	limit := 1500
	if u.big {
		limit = 3500
	}
	switch r := u.rng.IntN(10); {
	case r < 4 && u.cartJSONLen() < limit:
		item := cmp.Or(u.pending, u.nextItem())
		u.pending = ""
		u.cart = append(u.cart, item)
		// On failure the error is counted and the expectation kept:
		// resynchronising from the page would hide a lost item. A 503
		// added nothing: the user tries the item again later.
		if u.act(fl, st, "POST", "/cart", url.Values{"item": {item}}) == actRetryLater {
			u.cart = u.cart[:len(u.cart)-1]
			u.pending = item
		}
	case r == 9 && !u.noLogin:
		u.login(fl, st)
	default:
		u.act(fl, st, "GET", "/", nil)
	}
}

// sessionKID returns the key ID of the session cookie in the user's jar.
func (u *fuser) session(fl *fleet) (tok, kid string, err error) {
	tok = sessionToken(u.jar.Cookies(fl.list()[0].base))
	if tok == "" {
		return "", "", fmt.Errorf("no session cookie")
	}
	kid, err = tokenKID(tok)
	return tok, kid, err
}

// runRound has every user do fn, at most fleetConcurrency at a time.
func runRound(users []*fuser, fn func(*fuser)) {
	sem := make(chan struct{}, fleetConcurrency)
	var wg sync.WaitGroup
	for _, u := range users {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			fn(u)
		}()
	}
	wg.Wait()
}

// traffic is the background load: rounds in which every user takes
// stepsPerRound random steps, until stop.
type traffic struct {
	rounds atomic.Int64
	stop   func() // stops it and waits for the round in progress
}

// startTraffic starts the background load and waits (bounded) for its
// first round.
func startTraffic(t *testing.T, users []*fuser, fl *fleet, st *fleetStats) *traffic {
	t.Helper()
	tr := &traffic{}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			runRound(users, func(u *fuser) {
				for range stepsPerRound {
					u.step(fl, st)
				}
			})
			tr.rounds.Add(1)
			progress.fire()
		}
	}()
	tr.stop = sync.OnceFunc(func() { stop(); <-done })
	waitFor(t, 20*time.Second, "a first round of traffic", func() bool { return tr.rounds.Load() >= 1 })
	return tr
}

// allSince waits until every user has had an action that started after
// mark end on a page that checked out. A user who has lost the login
// never does: the failure then shows the errors counted so far.
func allSince(t *testing.T, users []*fuser, st *fleetStats, mark time.Time, what string) {
	t.Helper()
	behind := func() int {
		n := 0
		for _, u := range users {
			if u.lastOK.Load() <= mark.UnixNano() {
				n++
			}
		}
		return n
	}
	await(t, 20*time.Second, what, func() bool { return behind() == 0 }, func() string {
		return fmt.Sprintf("%d users still without a good page; %v", behind(), &st.errs)
	})
}

// sighup sends SIGHUP to the instance and waits (bounded) for a keyring
// reload after it whose log line satisfies ok.
func sighup(t *testing.T, in *instance, phase string, ok func(string) bool) {
	t.Helper()
	n := in.reloadCount()
	if err := in.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatalf("SIGHUP %s: %v", in.name, err)
	}
	line := in.waitReload(t, n, ok)
	t.Logf("%s: SIGHUP %s → %s", phase, in.name, line[strings.Index(line, "keyring"):])
}

// waitFor waits until cond holds, re-checking it whenever the fleet makes
// progress, and fails the test if bound passes first.
func waitFor(t *testing.T, bound time.Duration, what string, cond func() bool) {
	t.Helper()
	await(t, bound, what, cond, nil)
}

func TestFleet(t *testing.T) {
	t0 := time.Now()
	dir := t.TempDir()
	basic := build(t, dir, "./examples/basic", "-tags", "testhooks")
	ts := build(t, dir, "./cmd/tokensession")
	t.Logf("built examples/basic and cmd/tokensession in %v", time.Since(t0).Round(time.Millisecond))

	// The first key seals at once.
	keyfile := filepath.Join(dir, "keys.json")
	oldID := strings.TrimSpace(cli(t, ts, "keyring", "add", "-file", keyfile))
	if !strings.HasPrefix(oldID, "k4.lid.") {
		t.Fatalf("keyring add printed %q", oldID)
	}

	env := []string{"ADDR=127.0.0.1:0", "SESSION_KEYRING=" + keyfile, "SESSION_LEEWAY=" + leeway}
	fl := &fleet{}
	insts := []*instance{
		startInstance(t, "A", basic, env...),
		startInstance(t, "B", basic, env...),
		startInstance(t, "C(+3s)", basic, append(slices.Clone(env), "CLOCK_OFFSET="+offsetAhead.String())...),
	}
	fl.insts.Store(&insts)
	all := slices.Clone(insts) // every process ever started, for the log checks
	for _, in := range insts {
		t.Logf("instance %s pid %d at %s", in.name, in.pid, in.base)
	}

	tr := &http.Transport{
		Proxy:               nil, // loopback only, whatever the environment says
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     30 * time.Second,
	}
	defer tr.CloseIdleConnections()
	st := &fleetStats{}
	users := make([]*fuser, fleetUsers)
	for i := range users {
		users[i] = newFleetUser(i, tr, st)
	}

	// Everyone logs in and adds an item before the rotation starts.
	tTraffic := time.Now()
	runRound(users, func(u *fuser) {
		if u.login(fl, st) {
			item := u.nextItem()
			u.cart = append(u.cart, item)
			u.act(fl, st, "POST", "/cart", url.Values{"item": {item}})
		}
	})
	if st.errs.count() > 0 {
		t.Fatalf("before any rotation: %v\ninstances logged: %q", &st.errs, trimList(sessionLogErrors(all)))
	}

	load := startTraffic(t, users, fl, st)
	defer load.stop()
	rounds := &load.rounds
	settle := func(what string) {
		t.Helper()
		r := rounds.Load()
		waitFor(t, 30*time.Second, fmt.Sprintf("%d rounds of traffic %s", settleRounds, what), func() bool { return rounds.Load() >= r+settleRounds })
	}

	// roll sends SIGHUP to each instance in turn and waits for the reload
	// it causes (the example also polls the file every second, so a
	// reload may come from either; the SIGHUP is the explicit path).
	roll := func(phase string, ok func(string) bool) {
		t.Helper()
		list := fl.list()
		for i, in := range list {
			sighup(t, in, phase, ok)
			if i < len(list)-1 {
				// Rolling: users make requests to a fleet that is
				// part old, part new before the next instance reloads.
				n := st.exchanges.Load()
				waitFor(t, 10*time.Second, "traffic between two reloads", func() bool {
					return st.exchanges.Load() >= n+2*fleetConcurrency
				})
			}
		}
	}

	// The rotation runs the README's recipe, command for command, on the
	// one file every instance reads.
	// 1. keyring add: a new key, staged for an hour; every instance
	// reloads. Restart instance B mid-rollout: start a new process on a
	// new port, switch users to it, drain and stop the old one.
	tRotation := time.Now()
	newID := strings.TrimSpace(cli(t, ts, "keyring", "add", "-file", keyfile))
	roll("stage", func(l string) bool {
		return strings.Contains(l, newID+" (staged)") && strings.Contains(l, oldID+" (sealing)")
	})
	{
		list := fl.list()
		old := list[1]
		nu := startInstance(t, "B'", basic, old.env...)
		all = append(all, nu)
		next := slices.Clone(list)
		next[1] = nu
		fl.insts.Store(&next)
		old.retired.Store(true)
		waitFor(t, 10*time.Second, "B to drain", func() bool { return old.inflight.Load() == 0 })
		// Close the clients' idle connections, as a load balancer
		// draining B would: the server's Shutdown waits up to 5s for a
		// connection dialed but never used.
		tr.CloseIdleConnections()
		old.stop(t, syscall.SIGTERM)
		if old.waitErr != nil {
			t.Errorf("B exited with %v after SIGTERM", old.waitErr)
		}
		t.Logf("restarted B: pid %d at %s replaced by pid %d at %s (%d requests served)", old.pid, old.base, nu.pid, nu.base, old.requests.Load())
	}
	settle("with the key staged")

	// 2. keyring list, and keyring reschedule: the rollout runs late.
	keys := listKeys(t, ts, keyfile)
	if len(keys) != 2 || keys[0].ID != newID || keys[0].State != "staged" || keys[1].ID != oldID || keys[1].State != "sealing" {
		t.Fatalf("after keyring add: %+v", keys)
	}
	if d := time.Until(keys[0].NotBefore); d < 59*time.Minute || d > time.Hour {
		t.Errorf("keyring add staged the key for %v, want an hour", d)
	}
	cli(t, ts, "keyring", "reschedule", "-file", keyfile, "-id", newID, "-not-before", "+1h")
	keys = listKeys(t, ts, keyfile)
	if len(keys) != 2 || keys[0].State != "staged" || time.Until(keys[0].NotBefore) < 59*time.Minute {
		t.Fatalf("after keyring reschedule: %+v", keys)
	}
	roll("reschedule", func(l string) bool {
		return strings.Contains(l, newID+" (staged)") && strings.Contains(l, oldID+" (sealing)")
	})
	settle("after the reschedule")
	tRolled := time.Now()

	// 3. keyring promote: every instance has the key, so it seals now.
	tPromote := time.Now()
	cli(t, ts, "keyring", "promote", "-file", keyfile, "-id", newID)
	keys = listKeys(t, ts, keyfile)
	if len(keys) != 2 || keys[0].ID != newID || keys[0].State != "sealing" || keys[1].State != "opening" {
		t.Fatalf("after keyring promote: %+v", keys)
	}
	activation := keys[0].NotBefore
	roll("promote", func(l string) bool {
		return strings.Contains(l, newID+" (sealing)") && strings.Contains(l, oldID+" (opening)")
	})

	// Wait until every live instance has sent a token sealed with the
	// new key, then until every user has made a request after that,
	// which re-seals every session with the new key.
	waitFor(t, 15*time.Second, "every instance to seal with the new key", func() bool {
		for _, in := range fl.list() {
			if _, ok := st.firstSealed(newID, in.base.Host); !ok {
				return false
			}
		}
		return true
	})
	activated := time.Now()
	// A staged key never seals: no token sealed with it may have
	// arrived before the promote, not even from the instance whose
	// clock runs ahead.
	for _, in := range all {
		if at, ok := st.firstSealed(newID, in.base.Host); ok && at.Before(tPromote) {
			t.Errorf("%s sent a token sealed with the staged key at %s, before the promote at %s", in.name, at.Format(time.RFC3339Nano), tPromote.Format(time.RFC3339Nano))
		}
	}
	allSince(t, users, st, activated, "every user to make a request after the activation")
	tResealed := time.Now()
	var stale []string
	for _, u := range users {
		if _, kid, err := u.session(fl); err != nil || kid != newID {
			stale = append(stale, fmt.Sprintf("%s: kid %s %v", u.name, short(kid), err))
		}
	}
	if len(stale) > 0 {
		t.Fatalf("%d users not re-sealed with the new key after a request past activation: %q", len(stale), trimList(stale))
	}
	resealsAtActivation := st.reseals.Load()
	settle("with the new key sealing")

	// 4. keyring retire, at its default time: the idle timeout (30m, the
	// example's) and the leeway after the new key started sealing.
	out := strings.TrimSpace(cli(t, ts, "keyring", "retire", "-file", keyfile, "-id", oldID))
	keys = listKeys(t, ts, keyfile)
	if want := activation.Add(30*time.Minute + 30*time.Second); len(keys) != 2 || keys[1].ID != oldID || !keys[1].NotAfter.Equal(want) {
		t.Fatalf("keyring retire printed %q; keys %+v, want the old key's not_after at %s", out, keys, want.Format(time.RFC3339))
	}
	retireAt := keys[1].NotAfter
	roll("retire", func(l string) bool {
		return strings.Contains(l, newID+" (sealing)") && strings.Contains(l, oldID+" (opening)")
	})
	settle("with the old key retiring")

	// 5. keyring prune, once no token the old key sealed can come back:
	// after not_after, the idle timeout and the leeway (prune's defaults,
	// 30m and 30s, the example's). Every session is already on the new
	// key, so the drill does not wait the hour: the command runs with its
	// clock set to that time.
	pruned := strings.TrimSpace(cliAt(t, ts, retireAt.Add(30*time.Minute+30*time.Second), "keyring", "prune", "-file", keyfile))
	if pruned != oldID {
		t.Fatalf("keyring prune dropped %q, want %s", pruned, oldID)
	}
	keys = listKeys(t, ts, keyfile)
	if len(keys) != 1 || keys[0].ID != newID || keys[0].State != "sealing" {
		t.Fatalf("after retire and prune: %+v", keys)
	}
	roll("prune", func(l string) bool { return strings.Contains(l, newID+" (sealing)") && !strings.Contains(l, oldID) })
	pruneDone := time.Now()
	allSince(t, users, st, pruneDone, "every user to make a request after the prune")
	settle("after the prune")
	load.stop()
	tTrafficEnd := time.Now()

	// 5. Final read by every user, then check every cookie: sealed by the
	// new key, and (opened with the library and the keyring file) holding
	// exactly the user and the cart.
	runRound(users, func(u *fuser) { u.act(fl, st, "GET", "/", nil) })
	m := keyfileOpener(t, keyfile)
	var chunked, wrongKey, badCookie int
	for _, u := range users {
		tok, kid, err := u.session(fl)
		if err != nil {
			badCookie++
			t.Errorf("%s: final cookie: %v", u.name, err)
			continue
		}
		if kid != newID {
			wrongKey++
			t.Errorf("%s: final cookie sealed by %s, want the new key %s", u.name, kid, newID)
		}
		if len(tok) > 4096-len(cookieName) {
			chunked++
		}
		v, info, err := m.Open(tok)
		if err != nil {
			badCookie++
			t.Errorf("%s: final cookie does not open with the keyring file: %v", u.name, err)
			continue
		}
		if v.User != u.name || !slices.Equal(v.Cart, u.cart) || info.KeyID != newID {
			badCookie++
			t.Errorf("%s: final cookie holds user %q and %d items (key %s), want %d items", u.name, v.User, len(v.Cart), short(info.KeyID), len(u.cart))
		}
	}

	// The instances' own view: no panics, no bad cookies reported.
	sessionErrs := sessionLogErrors(all)
	for _, in := range all {
		in.mu.Lock()
		if len(in.panics) > 0 {
			t.Errorf("%s logged a panic: %q", in.name, in.panics)
		}
		in.mu.Unlock()
	}
	if len(sessionErrs) > 0 {
		t.Errorf("instances logged %d session errors, first: %q", len(sessionErrs), trimList(sessionErrs))
	}

	items, maxItems := 0, 0
	for _, u := range users {
		items += len(u.cart)
		maxItems = max(maxItems, len(u.cart))
	}
	var perInst []string
	for _, in := range all {
		perInst = append(perInst, fmt.Sprintf("%s=%d", in.name, in.requests.Load()))
	}
	st.mu.Lock()
	var trans []string
	for k, n := range st.transitions {
		trans = append(trans, fmt.Sprintf("%s ×%d", k, n))
	}
	st.mu.Unlock()
	sort.Strings(trans)
	t.Logf("users %d, actions %d, HTTP exchanges %d (%.0f/s), pages checked %d, background rounds %d",
		len(users), st.actions.Load(), st.exchanges.Load(), float64(st.exchanges.Load())/tTrafficEnd.Sub(tTraffic).Seconds(), st.pages.Load(), rounds.Load())
	t.Logf("actions per instance: %s", strings.Join(perInst, " "))
	t.Logf("session Set-Cookie responses %d; re-seals observed (kid changed) %d, %d of them by the time every user had a post-activation request: %s",
		st.setCookies.Load(), st.reseals.Load(), resealsAtActivation, strings.Join(trans, ", "))
	t.Logf("cart items %d (max %d per user), chunked sessions at the end %d, wrong-key cookies %d, bad cookies %d",
		items, maxItems, chunked, wrongKey, badCookie)
	t.Logf("timeline: build %v, traffic start +%v, added at +%v, rolled+restarted+rescheduled at +%v, promoted at +%v, all re-sealed at +%v, retired+pruned+rolled at +%v, traffic end +%v, total %v",
		tTraffic.Sub(t0).Round(time.Millisecond), 0*time.Second,
		tRotation.Sub(tTraffic).Round(time.Millisecond), tRolled.Sub(tTraffic).Round(time.Millisecond),
		tPromote.Sub(tTraffic).Round(time.Millisecond), tResealed.Sub(tTraffic).Round(time.Millisecond),
		pruneDone.Sub(tTraffic).Round(time.Millisecond), tTrafficEnd.Sub(tTraffic).Round(time.Millisecond), time.Since(t0).Round(time.Millisecond))
	t.Logf("errors: %v", &st.errs)
	if chunked == 0 {
		t.Errorf("no session spans several cookies at the end: the rotation did not carry a chunked session")
	}
	if st.errs.count() > 0 {
		t.Errorf("%v", &st.errs)
	}
	if time.Since(t0) > 60*time.Second {
		t.Errorf("the fleet test took %v, over its 60s budget", time.Since(t0))
	}
}

package fleet

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestRolloutSlip is the rollout-slip mistake: a new key seals on one
// instance (X) before the others (Y, Z) have it, because the operator
// promoted it and copied the file to X alone. Users whose cookie X
// re-sealed with the new key then meet Y and Z, which cannot read it:
// they may get a 503 with Retry-After (to the page, the "unavailable"
// page), and those are counted, but never the anonymous page, whose login
// form would replace the session, and Y and Z must leave the cookie alone.
// Once the file reaches every instance, no user has lost a login or a
// cart item, and every session is on the new key.
func TestRolloutSlip(t *testing.T) {
	t0 := time.Now()
	dir := t.TempDir()
	basic := build(t, dir, "./examples/basic", "-tags", "testhooks")
	ts := build(t, dir, "./cmd/tokensession")

	// One file the operator edits, copied to each instance's own file.
	keyfile := filepath.Join(dir, "keys.json")
	oldID := strings.TrimSpace(cli(t, ts, "keyring", "add", "-file", keyfile))
	names := []string{"X", "Y", "Z"}
	files := map[string]string{}
	insts := make([]*instance, len(names))
	for i, name := range names {
		files[name] = filepath.Join(dir, strings.ToLower(name)+".json")
		copyFile(t, keyfile, files[name])
		insts[i] = startInstance(t, name, basic, "ADDR=127.0.0.1:0", "SESSION_KEYRING="+files[name], "SESSION_LEEWAY="+leeway)
	}
	fl := &fleet{}
	fl.insts.Store(&insts)
	x, lagging := insts[0], insts[1:]

	tr := &http.Transport{Proxy: nil, MaxIdleConns: 128, MaxIdleConnsPerHost: 32, IdleConnTimeout: 30 * time.Second}
	defer tr.CloseIdleConnections()
	st := &fleetStats{slip: true}
	users := make([]*fuser, 60)
	for i := range users {
		users[i] = newFleetUser(i, tr, st)
		users[i].noLogin = true
	}
	runRound(users, func(u *fuser) {
		if u.login(fl, st) {
			item := u.nextItem()
			u.cart = append(u.cart, item)
			u.act(fl, st, "POST", "/cart", url.Values{"item": {item}})
		}
	})
	if st.errs.count() > 0 {
		t.Fatalf("before the rotation: %v", &st.errs)
	}
	load := startTraffic(t, users, fl, st)
	defer load.stop()

	// The mistake: the new key is promoted at once, and only X gets the
	// file.
	for _, in := range lagging {
		in.lacksKey.Store(true)
	}
	newID := strings.TrimSpace(cli(t, ts, "keyring", "add", "-file", keyfile))
	cli(t, ts, "keyring", "promote", "-file", keyfile, "-id", newID)
	tSlip := time.Now()
	copyFile(t, keyfile, files[x.name])
	sighup(t, x, "slip", func(l string) bool { return strings.Contains(l, newID+" (sealing)") })

	// Let users run into it: wait for a page and a cart write on an
	// instance without the key (each a 503, or an error if it went
	// wrong), then for some more traffic.
	waitFor(t, 20*time.Second, "an unavailable page and a 503 to a cart write from an instance without the key", func() bool {
		return (st.unavailable.Load() > 0 || st.errs.count() > 0) && (st.retryLater.Load() > 0 || st.errs.count() > 0)
	})
	r := load.rounds.Load()
	waitFor(t, 20*time.Second, "three rounds of traffic during the slip", func() bool { return load.rounds.Load() >= r+3 })
	unavailableDuring, retryDuring := st.unavailable.Load(), st.retryLater.Load()

	// The fix: the file reaches the others.
	for _, in := range lagging {
		copyFile(t, keyfile, files[in.name])
		sighup(t, in, "rollout", func(l string) bool {
			return strings.Contains(l, newID+" (sealing)") && strings.Contains(l, oldID+" (opening)")
		})
		in.lacksKey.Store(false)
	}
	tRolled := time.Now()
	allSince(t, users, st, tRolled, "every user to make a request after the rollout")
	load.stop()

	// Final read by every user (act checks login and cart), then every
	// cookie: on the new key, holding exactly the user and the cart.
	runRound(users, func(u *fuser) { u.act(fl, st, "GET", "/", nil) })
	m := keyfileOpener(t, keyfile)
	affected, items := 0, 0
	for _, u := range users {
		items += len(u.cart)
		if u.tempSeen > 0 {
			affected++
		}
		tok, kid, err := u.session(fl)
		if err != nil {
			t.Errorf("%s: final cookie: %v", u.name, err)
			continue
		}
		v, _, err := m.Open(tok)
		switch {
		case err != nil:
			t.Errorf("%s: final cookie does not open: %v", u.name, err)
		case kid != newID:
			t.Errorf("%s: final cookie sealed by %s, want the new key %s", u.name, short(kid), short(newID))
		case v.User != u.name || !slices.Equal(v.Cart, u.cart):
			t.Errorf("%s: final cookie holds user %q and %d items, want %d", u.name, v.User, len(v.Cart), len(u.cart))
		}
	}

	// What the instances logged: a lagging instance reports the cookies
	// it cannot read (unknown key ID) until its reload; nothing else.
	var expected int
	var unexpected []string
	for _, in := range insts {
		in.mu.Lock()
		if len(in.panics) > 0 {
			t.Errorf("%s logged a panic: %q", in.name, in.panics)
		}
		in.mu.Unlock()
	}
	for _, l := range sessionLogErrors(insts) {
		if strings.Contains(l, "unknown key ID") && !strings.HasPrefix(l, x.name+":") {
			expected++
			continue
		}
		unexpected = append(unexpected, l)
	}
	if len(unexpected) > 0 {
		t.Errorf("instances logged %d unexpected session errors: %q", len(unexpected), trimList(unexpected))
	}

	t.Logf("users %d (%d saw a temporary answer), actions %d, HTTP exchanges %d, cart items %d at the end",
		len(users), affected, st.actions.Load(), st.exchanges.Load(), items)
	t.Logf("slip lasted %v: 503 + Retry-After to a page %d, to a cart write %d (%d and %d while waiting, before the rollout began); unknown-key reports logged by Y and Z %d",
		tRolled.Sub(tSlip).Round(time.Millisecond), st.unavailable.Load(), st.retryLater.Load(), unavailableDuring, retryDuring, expected)
	t.Logf("errors: %v; total %v", &st.errs, time.Since(t0).Round(time.Millisecond))
	if st.unavailable.Load() == 0 || st.retryLater.Load() == 0 {
		t.Errorf("the drill met no unavailable page or no 503 to a cart write: it did not exercise an instance without the key")
	}
	if st.errs.count() > 0 {
		t.Errorf("%v", &st.errs)
	}
}

// copyFile replaces dst with a copy of src the way a deployment does:
// write a temporary file next to it, then rename it over dst, so that a
// watcher never reads half a file.
func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	tmp := dst + fmt.Sprintf(".tmp%d", time.Now().UnixNano())
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		t.Fatal(err)
	}
}

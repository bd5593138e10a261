//go:build testhooks

package main

import (
	"context"
	"io"
	"log"
	"strings"
	"testing"
	"time"
)

func TestEnvHooks(t *testing.T) {
	o := options{insecure: true}
	env := map[string]string{"SESSION_LEEWAY": "5s", "CLOCK_OFFSET": "-1m", "INSECURE_COOKIES": "0"}
	if err := envHooks(lookup(env), &o); err != nil {
		t.Fatal(err)
	}
	if o.insecure || o.leeway != 5*time.Second || o.now == nil {
		t.Fatalf("options %+v", o)
	}
	if d := time.Since(o.now()); d < 59*time.Second || d > 61*time.Second {
		t.Errorf("CLOCK_OFFSET=-1m: clock %v behind, want 1m", d)
	}

	o = options{insecure: true}
	if err := envHooks(lookup(nil), &o); err != nil || !o.insecure || o.leeway != 0 || o.now != nil {
		t.Fatalf("no hooks set: options %+v, %v", o, err)
	}

	for _, bad := range []string{"SESSION_LEEWAY", "CLOCK_OFFSET"} {
		env := map[string]string{"ADDR": "127.0.0.1:0", bad: "soon"}
		err := run(context.Background(), lookup(env), log.New(io.Discard, "", 0))
		if err == nil || !strings.Contains(err.Error(), bad) {
			t.Fatalf("%s=soon: %v", bad, err)
		}
	}
}

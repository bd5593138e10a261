//go:build testhooks

// Hooks for the multi-process tests (fleet/, edge/), which build the example
// with -tags testhooks to skew one instance's clock or force Secure
// cookies. A build without the tag has none of them.

package main

import (
	"fmt"
	"time"
)

func init() { testHooks = envHooks }

// envHooks reads:
//
//	SESSION_LEEWAY    clock-skew leeway, a Go duration (default 30s; -1s: none)
//	CLOCK_OFFSET      shift the session clock, a Go duration
//	INSECURE_COOKIES  "0": Secure cookies even on a loopback address
func envHooks(lookupEnv func(string) (string, bool), o *options) error {
	leeway, err := durationEnv(lookupEnv, "SESSION_LEEWAY")
	if err != nil {
		return err
	}
	offset, err := durationEnv(lookupEnv, "CLOCK_OFFSET")
	if err != nil {
		return err
	}
	o.leeway = leeway
	if offset != 0 {
		o.now = func() time.Time { return time.Now().Add(offset) }
	}
	if v, _ := lookupEnv("INSECURE_COOKIES"); v == "0" {
		o.insecure = false
	}
	return nil
}

func durationEnv(lookupEnv func(string) (string, bool), name string) (time.Duration, error) {
	s, _ := lookupEnv(name)
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", name, err)
	}
	return d, nil
}

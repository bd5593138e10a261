package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/tokensession/tokensession/internal/cookiechunk"
	"github.com/tokensession/tokensession/internal/format"
)

// This file finds the token in inspect's untrusted input; FuzzInspectInput
// exercises it.

// maxInspectInput bounds what inspect reads: a whole Cookie header with
// the largest chunked session, and room to spare.
const maxInspectInput = 128 << 10

// An inspectInput is the token found in inspect's input.
type inspectInput struct {
	token  string
	cookie string // the cookie it came from; "" for a bare token
	chunks int    // how many chunk cookies were joined; 0 for none
}

// parseInspectInput finds the token in tainted: a bare token, or a Cookie
// header value (one or more lines, each with or without "Cookie:") holding
// the cookie name or a complete, contiguous set of its chunks name.0,
// name.1, … below maxChunks. A plain cookie wins over chunks, and the first
// of duplicate cookies wins, as in the middleware. A header with more
// cookies than net/http reads is an error: the middleware sees no cookie
// in it at all.
func parseInspectInput(tainted, name string, maxChunks int) (inspectInput, error) {
	if len(tainted) > maxInspectInput {
		return inspectInput{}, fmt.Errorf("input larger than %d bytes", maxInspectInput)
	}
	const prefix = "cookie:"
	var parts []string
	for line := range strings.Lines(tainted) {
		line = strings.TrimSpace(line)
		if len(line) >= len(prefix) && strings.EqualFold(line[:len(prefix)], prefix) {
			line = strings.TrimSpace(line[len(prefix):])
		}
		if line != "" {
			parts = append(parts, line)
		}
	}
	if len(parts) == 0 {
		return inspectInput{}, errors.New("empty input: give a token or a Cookie header")
	}
	header := strings.Join(parts, "; ")
	if len(parts) == 1 && !strings.ContainsAny(header, "=;") {
		return inspectInput{token: header}, nil
	}
	if !strings.ContainsRune(header, '=') && len(parts) > 1 {
		return inspectInput{}, errors.New("input has several lines but is not a Cookie header")
	}

	var set cookiechunk.Set
	var others []string
	if !set.Scan([]string{header}, name, maxChunks, func(k string) {
		if len(others) < 6 {
			others = append(others, quoteArg(k))
		}
	}) {
		return inspectInput{}, fmt.Errorf("the Cookie header has more than %d cookies, more than net/http reads: the middleware would read no session from it", cookiechunk.MaxPairs)
	}
	if set.HasPlain {
		if set.Plain == "" {
			return inspectInput{}, fmt.Errorf("cookie %s is empty", quoteArg(name))
		}
		return inspectInput{token: set.Plain, cookie: name}, nil
	}
	if set.Present == 0 {
		if len(others) == 0 {
			return inspectInput{}, fmt.Errorf("no cookie named %s in the Cookie header", quoteArg(name))
		}
		return inspectInput{}, fmt.Errorf("no cookie named %s in the Cookie header, which has %s; set -cookie-name", quoteArg(name), strings.Join(others, ", "))
	}
	n, ok := set.Count()
	if !ok {
		var have []string
		for i := range maxChunks {
			if set.Present&(1<<i) != 0 {
				have = append(have, fmt.Sprintf(".%d", i))
			}
		}
		return inspectInput{}, fmt.Errorf("chunk cookies of %s are not a complete, contiguous set of two or more (have %s); the middleware ignores them", quoteArg(name), strings.Join(have, " "))
	}
	// An empty chunk is refused like an empty cookie: no token is empty,
	// and no chunk of one is.
	for i, c := range set.Chunks[:n] {
		if c == "" {
			return inspectInput{}, fmt.Errorf("chunk cookie %s is empty", quoteArg(fmt.Sprintf("%s.%d", name, i)))
		}
	}
	return inspectInput{token: strings.Join(set.Chunks[:n], ""), cookie: name, chunks: n}, nil
}

// footerKeyID returns the key ID in tainted's footer, read without
// decrypting anything, as the library reads it. The footer is
// authenticated only once the token is decrypted, so until then the ID is
// a claim, not a fact.
func footerKeyID(tainted string) (string, error) {
	_, footer, err := format.Split(tainted)
	if err != nil {
		return "", err
	}
	return format.FooterKeyID(footer)
}

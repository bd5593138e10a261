// Package keyaccess lets the tokensession command decrypt a token with a
// tokensession.Key, whatever the time, without the key's secret leaving
// the library: the library's public API hands out the secret only through
// an alarmingly named export, which the command has no reason to call.
// Package tokensession registers the one function when it initialises.
package keyaccess

import (
	"errors"

	"aidanwoods.dev/go-paseto"
)

var decrypt func(key any, tainted string, implicit []byte) (*paseto.Token, error)

// Register sets the function behind [Decrypt]. Package tokensession calls
// it once, from init; a second call panics.
func Register(f func(key any, tainted string, implicit []byte) (*paseto.Token, error)) {
	if decrypt != nil {
		panic("keyaccess: Register called twice")
	}
	decrypt = f
}

// Decrypt authenticates and decrypts tainted with key, a tokensession.Key,
// and the implicit assertion, as format.Decrypt does, and fails as it
// does.
func Decrypt(key any, tainted string, implicit []byte) (*paseto.Token, error) {
	if decrypt == nil {
		return nil, errors.New("keyaccess: package tokensession is not linked in")
	}
	return decrypt(key, tainted, implicit)
}

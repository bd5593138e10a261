// Package tokensession keeps web sessions in the client's cookie as
// authenticated-encrypted [PASETO] v4.local tokens, so no server-side store
// is needed: every instance of a service, a serverless function or an edge
// function reads and writes sessions with nothing but the shared keys.
//
// A [Manager] seals a typed session value (any T its [Codec] can encode,
// JSON by default) into a token and opens it back. [Manager.Handler] is
// net/http middleware that keeps the token in a cookie: it opens the
// session lazily, re-seals it only when it changed or nears expiry, and
// writes Set-Cookie before the response headers go out. [Manager.Load]
// reads the session from a request's cookies where the middleware does
// not run. [Manager.Seal] and [Manager.Open] give the same tokens for
// Authorization headers, WebSocket handshakes and queues.
//
// # Token format
//
// A token is "v4.local." + base64url(nonce || ciphertext || tag) + "." +
// base64url(footer). The footer is exactly {"kid":"k4.lid.…"}, the [PASERK]
// ID of the key that sealed it; the implicit assertion is
// "tokensession/v1:" + purpose (by default the cookie name); the claims are
// a JSON object with "exp", "iat" (RFC 3339 UTC, whole seconds), "created"
// (RFC 3339 UTC, fractional seconds), "sid" (the session ID) and "data"
// (the session value; null is the zero value). FORMAT.md in the
// repository specifies the format for implementations in other languages.
//
// # Key rotation
//
// Keys are 32-byte v4.local keys written as PASERK k4.local strings. A
// [Keyring] lists them in order: the first active key seals, every key not
// retired opens, selected by the token's key ID with one map lookup and
// never by trial decryption. A key listed first with a future NotBefore is
// staged: all instances open its tokens at once and start sealing with it
// at the same instant. Tokens sealed by a key that no longer seals are
// re-sealed by the middleware on their next read.
//
// # Security model
//
// Tokens are confidential and tamper-proof against anyone without a key,
// and bound to their purpose. Expiry is inside the token: an idle timeout
// from each sealing and an absolute lifetime from the session's creation,
// checked against an injectable clock with a leeway for skew. Stateless
// sessions cannot be revoked by deleting them: a stolen cookie is valid
// until it expires, unless [Config.RevokedBefore] or [Config.IsRevoked]
// rejects it. There is no replay protection. Nothing is compressed before
// encryption, so the token length reveals only the value's length.
//
// # Cookie size
//
// Browsers keep about 4096 bytes per cookie. The middleware computes the
// exact size before writing; a larger session fails to save with a
// [*TooLargeError] and the client keeps its previous cookie, unless
// [Config.MaxChunks] allows splitting it across several cookies.
//
// [PASETO]: https://github.com/paseto-standard/paseto-spec
// [PASERK]: https://github.com/paseto-standard/paserk
package tokensession

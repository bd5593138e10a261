module github.com/tokensession/tokensession

go 1.25

require (
	aidanwoods.dev/go-paseto v1.6.0
	github.com/google/go-cmp v0.7.0
	golang.org/x/crypto v0.46.0
)

require (
	aidanwoods.dev/go-result v0.3.1 // indirect
	golang.org/x/sys v0.39.0 // indirect
)

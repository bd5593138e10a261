module github.com/tokensession/tokensession/benchmarks

go 1.25

require (
	aidanwoods.dev/go-paseto v1.6.0
	github.com/gorilla/securecookie v1.1.2
	github.com/gorilla/sessions v1.4.0
	github.com/tokensession/tokensession v0.0.0
)

require (
	aidanwoods.dev/go-result v0.3.1 // indirect
	golang.org/x/crypto v0.46.0 // indirect
	golang.org/x/sys v0.39.0 // indirect
)

replace github.com/tokensession/tokensession => ../

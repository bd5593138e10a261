//go:build goexperiment.jsonv2

package benchmarks

import "github.com/tokensession/tokensession"

func init() {
	extraImpls = append(extraImpls, func() (Impl, error) {
		return Tokensession("tokensession-jsonv2", cacheHit, tokensession.JSONv2Codec{})
	})
}

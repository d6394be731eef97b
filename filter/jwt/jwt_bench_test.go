package jwt

import (
	"testing"

	"github.com/sluicehq/sluice/filter"
)

// BenchmarkRequest measures one authenticated request through the filter:
// with the verified-token cache (a hit: hash, compare, append headers) and
// without it (signature check, claims parse and header rendering every
// time).
func BenchmarkRequest(b *testing.B) {
	dir := b.TempDir()
	ss := testSigners(b)
	for _, alg := range []string{"HS256", "RS256", "ES256", "EdDSA"} {
		s := ss[alg]
		src := "public_key_file: " + alg + ".pem"
		if s.pubPEM == nil {
			b.Setenv("BENCH_SECRET", s.secret)
			src = "secret_env: BENCH_SECRET"
		} else {
			writeFile(b, dir, alg+".pem", s.pubPEM)
		}
		for _, mode := range []struct{ name, cache string }{{"cache", ""}, {"nocache", ", cache: 0"}} {
			b.Run(alg+"/"+mode.name, func(b *testing.B) {
				f := mustBuild(b, dir, "  a: {type: jwt, algorithms: ["+alg+"], "+src+mode.cache+"}\n", "a")
				x := exchange(nil, "", bearer(s.token(b, claims(nil), nil)))
				req, at := x.Req, x.Now
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					x.Reset(nil)
					x.Req, x.Now = req, at
					if f.Request(x) != filter.Continue {
						b.Fatal(x.Message)
					}
				}
			})
		}
	}
}

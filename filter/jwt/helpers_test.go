package jwt

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/filter"
	"github.com/sluicehq/sluice/http1"
)

// now is the clock of every test exchange.
var now = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// signer is a private key and the PEM of its public half.
type signer struct {
	alg    string
	priv   any
	pubPEM []byte // nil for HMAC
	secret string // HMAC only
}

var (
	signersOnce sync.Once
	signers     map[string]*signer
)

// testSigners returns a signer per algorithm (RSA shared, it is slow to
// generate).
func testSigners(t testing.TB) map[string]*signer {
	t.Helper()
	signersOnce.Do(func() {
		m := map[string]*signer{}
		pemOf := func(pub any) []byte {
			der, err := x509.MarshalPKIXPublicKey(pub)
			if err != nil {
				panic(err)
			}
			return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
		}
		for alg, n := range map[string]int{"HS256": 32, "HS384": 48, "HS512": 64} {
			// Printable, as an environment variable would hold it.
			secret := []byte(rand.Text() + rand.Text() + rand.Text())[:n]
			m[alg] = &signer{alg: alg, priv: secret, secret: string(secret)}
		}
		rk, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		for _, alg := range []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"} {
			m[alg] = &signer{alg: alg, priv: rk, pubPEM: pemOf(&rk.PublicKey)}
		}
		for alg, c := range map[string]elliptic.Curve{"ES256": elliptic.P256(), "ES384": elliptic.P384(), "ES512": elliptic.P521()} {
			k, err := ecdsa.GenerateKey(c, rand.Reader)
			if err != nil {
				panic(err)
			}
			m[alg] = &signer{alg: alg, priv: k, pubPEM: pemOf(&k.PublicKey)}
		}
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			panic(err)
		}
		m["EdDSA"] = &signer{alg: "EdDSA", priv: priv, pubPEM: pemOf(pub)}
		signers = m
	})
	return signers
}

// token signs claims (and extra header parameters; nil deletes one).
func (s *signer) token(t testing.TB, claims gojwt.MapClaims, hdr map[string]any) string {
	t.Helper()
	method := gojwt.GetSigningMethod(s.alg)
	tok := gojwt.NewWithClaims(method, claims)
	for k, v := range hdr {
		if v == nil {
			delete(tok.Header, k)
		} else {
			tok.Header[k] = v
		}
	}
	out, err := tok.SignedString(s.priv)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// claims is a valid claims set at now.
func claims(extra map[string]any) gojwt.MapClaims {
	c := gojwt.MapClaims{"sub": "user-7", "role": "admin", "email": "a@example.com", "exp": now.Add(time.Hour).Unix(), "iat": now.Unix()}
	for k, v := range extra {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

// parse decodes a config holding middleware instances (yaml, indented
// under `middleware:`) from a file in dir.
func parse(t testing.TB, dir, instances string) (*config.Config, error) {
	t.Helper()
	return config.Parse(filepath.Join(dir, "sluice.yaml"), []byte("middleware:\n"+instances))
}

// build decodes and builds the instance called name; Close is registered.
func mustBuild(t testing.TB, dir, instances, name string) *Filter {
	t.Helper()
	c, err := parse(t, dir, instances)
	if err != nil {
		t.Fatal(err)
	}
	f, err := filter.Build(c.Middleware[name])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.(*Filter).Close() })
	return f.(*Filter)
}

func writeFile(t testing.TB, dir, name string, data []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// parker counts parks and resumes.
type parker struct {
	parks, resumes atomic.Int64
	resumed        chan struct{}
}

func newParker() *parker { return &parker{resumed: make(chan struct{}, 16)} }

func (p *parker) Park(time.Duration, string) func() {
	p.parks.Add(1)
	return func() {
		p.resumes.Add(1)
		p.resumed <- struct{}{}
	}
}

func (p *parker) wait(t testing.TB) {
	t.Helper()
	select {
	case <-p.resumed:
	case <-time.After(10 * time.Second):
		t.Fatal("never resumed")
	}
}

// exchange is a request with the given header lines ("Name: value") and
// query string.
func exchange(p filter.Parker, query string, headers ...string) *filter.Exchange {
	x := &filter.Exchange{}
	x.Reset(p)
	req := &http1.Request{Method: []byte("GET"), Path: []byte("/api")}
	if query != "" {
		req.Query = []byte(query)
	}
	for _, h := range headers {
		name, value, _ := strings.Cut(h, ": ")
		req.Headers = append(req.Headers, http1.Header{Name: []byte(name), Value: []byte(value)})
	}
	x.Req = req
	x.Now = now.UnixNano()
	return x
}

func bearer(tok string) string { return "Authorization: Bearer " + tok }

// outcome is what a test checks of one Request.
type outcome struct {
	verdict  filter.Verdict
	status   int
	message  string
	upstream string // upstream header lines
	response string // response header lines
	stripped bool   // Authorization stripped
}

func run(f *Filter, x *filter.Exchange) outcome {
	v := f.Request(x)
	return outcome{
		verdict:  v,
		status:   x.Status,
		message:  x.Message,
		upstream: string(x.UpstreamHeaders()),
		response: string(x.ResponseHeaders()),
		stripped: x.Stripped([]byte("Authorization")),
	}
}

package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// testKey is a signing key with its public half, for one algorithm.
type testKey struct {
	alg  string
	priv any    // what jwt's Sign wants
	pub  any    // what a verifier gets
	kid  string // for JWKS-style sets
}

var (
	testKeysOnce sync.Once
	testKeysByAl map[string]*testKey
	rsaKey       *rsa.PrivateKey
)

// testKeys returns one key per supported algorithm (RSA keys are shared:
// generating them is slow).
func testKeys(t testing.TB) map[string]*testKey {
	t.Helper()
	testKeysOnce.Do(func() {
		var err error
		rsaKey, err = rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		m := map[string]*testKey{}
		for _, a := range []string{"HS256", "HS384", "HS512"} {
			secret := make([]byte, MinSecretLen(a))
			_, _ = rand.Read(secret)
			m[a] = &testKey{alg: a, priv: secret, pub: secret}
		}
		for _, a := range []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"} {
			m[a] = &testKey{alg: a, priv: rsaKey, pub: &rsaKey.PublicKey}
		}
		for a, c := range map[string]elliptic.Curve{"ES256": elliptic.P256(), "ES384": elliptic.P384(), "ES512": elliptic.P521()} {
			k, err := ecdsa.GenerateKey(c, rand.Reader)
			if err != nil {
				panic(err)
			}
			m[a] = &testKey{alg: a, priv: k, pub: &k.PublicKey}
		}
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			panic(err)
		}
		m["EdDSA"] = &testKey{alg: "EdDSA", priv: priv, pub: pub}
		for a, k := range m {
			k.kid = "kid-" + a
		}
		testKeysByAl = m
	})
	return testKeysByAl
}

// verifyKey wraps tk's public half as a Key.
func (tk *testKey) verifyKey(t testing.TB) *Key {
	t.Helper()
	if s, ok := tk.pub.([]byte); ok {
		k := NewHMACKey(s)
		k.ID = tk.kid
		return k
	}
	k, err := NewPublicKey(tk.pub)
	if err != nil {
		t.Fatal(err)
	}
	k.ID = tk.kid
	return k
}

// sign makes a token with tk, the given claims and extra header params.
func sign(t testing.TB, tk *testKey, claims jwt.MapClaims, hdr map[string]any) string {
	t.Helper()
	m := signingMethod(tk.alg)
	tok := jwt.NewWithClaims(m, claims)
	tok.Header["kid"] = tk.kid
	for k, v := range hdr {
		if v == nil {
			delete(tok.Header, k)
		} else {
			tok.Header[k] = v
		}
	}
	s, err := tok.SignedString(tk.priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func signingMethod(alg string) jwt.SigningMethod {
	if a := algorithms[alg]; a != nil {
		return a.method
	}
	return jwt.GetSigningMethod(alg)
}

// rawToken assembles a token from a header, payload and signing function
// (for shapes jwt.Token will not produce).
func rawToken(hdr, payload string, signFn func(input string) []byte) string {
	in := base64.RawURLEncoding.EncodeToString([]byte(hdr)) + "." + base64.RawURLEncoding.EncodeToString([]byte(payload))
	return in + "." + base64.RawURLEncoding.EncodeToString(signFn(in))
}

func hmacSign(secret []byte, h crypto.Hash) func(string) []byte {
	return func(in string) []byte {
		m := &jwt.SigningMethodHMAC{Name: "x", Hash: h}
		s, _ := m.Sign(in, secret)
		return s
	}
}

func pemOf(t testing.TB, typ string, der []byte) []byte {
	t.Helper()
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func TestParsePublicKeyPEM(t *testing.T) {
	ks := testKeys(t)
	pkixPEM := func(pub any) []byte {
		der, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		return pemOf(t, "PUBLIC KEY", der)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "idp"}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	certDER, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, ks["ES256"].pub, ks["ES256"].priv)
	if err != nil {
		t.Fatal(err)
	}
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	p224, _ := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	privDER, _ := x509.MarshalPKCS8PrivateKey(rsaKey)

	cases := []struct {
		name string
		pem  []byte
		fits string // an alg the key must fit
		err  string // substring of the error, "" = ok
	}{
		{"PKIX RSA", pkixPEM(&rsaKey.PublicKey), "RS256", ""},
		{"PKCS1 RSA", pemOf(t, "RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(&rsaKey.PublicKey)), "PS512", ""},
		{"PKIX P-384", pkixPEM(ks["ES384"].pub), "ES384", ""},
		{"PKIX Ed25519", pkixPEM(ks["EdDSA"].pub), "EdDSA", ""},
		{"certificate", pemOf(t, "CERTIFICATE", certDER), "ES256", ""},
		{"private key refused", pemOf(t, "PRIVATE KEY", privDER), "", "private key"},
		{"RSA under 2048 bits", pkixPEM(&small.PublicKey), "", "1024 bits"},
		{"P-224", pkixPEM(&p224.PublicKey), "", "P-224"},
		{"not PEM", []byte("hello"), "", "no PEM block"},
		{"other block", pemOf(t, "DH PARAMETERS", []byte{1}), "", "unsupported PEM block"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			k, err := ParsePublicKeyPEM(tc.pem)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.Is(err, ErrBadKey) {
					t.Fatalf("err = %v, want ErrBadKey containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !k.Fits(tc.fits) {
				t.Errorf("key does not fit %s", tc.fits)
			}
		})
	}
}

func TestKeyFits(t *testing.T) {
	ks := testKeys(t)
	for _, alg := range Algorithms() {
		for _, other := range Algorithms() {
			k := ks[other].verifyKey(t)
			a, b := algorithms[alg], algorithms[other]
			want := a.fam == b.fam && (a.fam != famEC || a.curve == b.curve)
			if secret, ok := ks[other].pub.([]byte); ok {
				want = want && len(secret) >= a.minKey // HS384 needs 48 bytes
			}
			if got := k.Fits(alg); got != want {
				t.Errorf("key for %s fits %s = %v, want %v", other, alg, got, want)
			}
		}
	}
	// A key's own alg narrows it to that alg.
	k := ks["RS256"].verifyKey(t)
	k.Alg = "PS256"
	if k.Fits("RS256") || !k.Fits("PS256") {
		t.Error("key alg PS256 must fit PS256 only")
	}
}

func jwkJSON(t testing.TB, m map[string]any) []byte {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseJWK(t *testing.T) {
	ks := testKeys(t)
	enc := base64.RawURLEncoding.EncodeToString
	ec := ks["ES256"].pub.(*ecdsa.PublicKey)
	ecb, _ := ec.Bytes()
	x, y := ecb[1:33], ecb[33:]
	rsaN, rsaE := enc(rsaKey.N.Bytes()), "AQAB"
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	badY := append([]byte{}, y...)
	badY[31] ^= 1

	cases := []struct {
		name string
		jwk  map[string]any
		opt  JWKOptions
		fits string
		err  error
	}{
		{"RSA", map[string]any{"kty": "RSA", "n": rsaN, "e": rsaE, "kid": "r"}, JWKOptions{}, "RS256", nil},
		{"RSA with alg", map[string]any{"kty": "RSA", "n": rsaN, "e": rsaE, "alg": "PS384"}, JWKOptions{}, "PS384", nil},
		{"EC P-256", map[string]any{"kty": "EC", "crv": "P-256", "x": enc(x), "y": enc(y), "use": "sig"}, JWKOptions{}, "ES256", nil},
		{"OKP Ed25519", map[string]any{"kty": "OKP", "crv": "Ed25519", "x": enc(ks["EdDSA"].pub.(ed25519.PublicKey))}, JWKOptions{}, "EdDSA", nil},
		{"oct allowed", map[string]any{"kty": "oct", "k": enc(make([]byte, 32))}, JWKOptions{AllowSymmetric: true}, "HS256", nil},

		{"oct refused by default", map[string]any{"kty": "oct", "k": enc(make([]byte, 32))}, JWKOptions{}, "", ErrBadKey},
		{"use enc", map[string]any{"kty": "RSA", "n": rsaN, "e": rsaE, "use": "enc"}, JWKOptions{}, "", ErrKeyUse},
		{"key_ops without verify", map[string]any{"kty": "RSA", "n": rsaN, "e": rsaE, "key_ops": []string{"encrypt"}}, JWKOptions{}, "", ErrKeyUse},
		{"RSA 1024", map[string]any{"kty": "RSA", "n": enc(small.N.Bytes()), "e": rsaE}, JWKOptions{}, "", ErrBadKey},
		{"RSA even exponent", map[string]any{"kty": "RSA", "n": rsaN, "e": enc([]byte{4})}, JWKOptions{}, "", ErrBadKey},
		{"EC point off the curve", map[string]any{"kty": "EC", "crv": "P-256", "x": enc(x), "y": enc(badY)}, JWKOptions{}, "", ErrBadKey},
		{"EC short coordinate", map[string]any{"kty": "EC", "crv": "P-256", "x": enc(x[1:]), "y": enc(y)}, JWKOptions{}, "", ErrBadKey},
		{"EC secp256k1", map[string]any{"kty": "EC", "crv": "secp256k1", "x": enc(x), "y": enc(y)}, JWKOptions{}, "", ErrBadKey},
		{"padded base64", map[string]any{"kty": "RSA", "n": rsaN + "==", "e": rsaE}, JWKOptions{}, "", ErrBadKey},
		{"alg of another family", map[string]any{"kty": "RSA", "n": rsaN, "e": rsaE, "alg": "HS256"}, JWKOptions{}, "", ErrBadKey},
		{"alg none", map[string]any{"kty": "RSA", "n": rsaN, "e": rsaE, "alg": "none"}, JWKOptions{}, "", ErrBadKey},
		{"kid not a string", map[string]any{"kty": "RSA", "n": rsaN, "e": rsaE, "kid": 7}, JWKOptions{}, "", ErrBadKey},
		{"unknown kty", map[string]any{"kty": "DSA"}, JWKOptions{}, "", ErrBadKey},
		// Member names are exact: "KTY" is not "kty".
		{"case-folded names", map[string]any{"KTY": "RSA", "N": rsaN, "E": rsaE}, JWKOptions{}, "", ErrBadKey},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			k, err := ParseJWK(jwkJSON(t, tc.jwk), tc.opt)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !k.Fits(tc.fits) {
				t.Errorf("key does not fit %s", tc.fits)
			}
		})
	}
}

func TestParseJWKS(t *testing.T) {
	enc := base64.RawURLEncoding.EncodeToString
	testKeys(t)
	good := map[string]any{"kty": "RSA", "n": enc(rsaKey.N.Bytes()), "e": "AQAB", "kid": "a"}
	bad := map[string]any{"kty": "RSA", "n": enc(rsaKey.N.Bytes()), "e": "AQAB", "use": "enc"}
	set, skipped, err := ParseJWKS(jwkJSON(t, map[string]any{"keys": []any{good, bad}}), JWKOptions{})
	if err != nil || set.Len() != 1 || len(skipped) != 1 {
		t.Fatalf("set %v skipped %v err %v", set, skipped, err)
	}
	for name, doc := range map[string]string{
		"not an object":  `[1]`,
		"no keys":        `{}`,
		"keys not list":  `{"keys": 1}`,
		"nothing usable": string(jwkJSON(t, map[string]any{"keys": []any{bad}})),
	} {
		if _, _, err := ParseJWKS([]byte(doc), JWKOptions{}); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

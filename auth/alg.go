package auth

import (
	"crypto"
	"crypto/elliptic"
	"crypto/rsa"
	"slices"

	"github.com/golang-jwt/jwt/v5"
)

// family is the kind of key an algorithm needs.
type family uint8

const (
	famHMAC family = iota + 1
	famRSA         // RS* and PS*
	famEC          // ES*, with a fixed curve each
	famEd          // EdDSA (Ed25519 only)
)

// algorithm is one JWS "alg" this package verifies.
type algorithm struct {
	name   string
	fam    family
	method jwt.SigningMethod
	curve  elliptic.Curve // famEC: the only curve allowed (RFC 7518 §3.4)
	minKey int            // famHMAC: shortest secret, the hash size (RFC 7518 §3.2)
}

// pss builds a PS* method that verifies with the salt length RFC 7518 §3.5
// prescribes (the hash size). golang-jwt's SigningMethodPS* set
// VerifyOptions to PSSSaltLengthAuto, which accepts any salt length for
// compatibility with old signers; Wycheproof's SaltLenChanged vectors
// expect those to fail.
func pss(name string, h crypto.Hash) *jwt.SigningMethodRSAPSS {
	return &jwt.SigningMethodRSAPSS{
		SigningMethodRSA: &jwt.SigningMethodRSA{Name: name, Hash: h},
		Options:          &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash},
	}
}

// algorithms is every alg this package supports, by its JWA name. "none"
// is not here, so it can never be allowed.
var algorithms = map[string]*algorithm{
	"HS256": {name: "HS256", fam: famHMAC, method: jwt.SigningMethodHS256, minKey: 32},
	"HS384": {name: "HS384", fam: famHMAC, method: jwt.SigningMethodHS384, minKey: 48},
	"HS512": {name: "HS512", fam: famHMAC, method: jwt.SigningMethodHS512, minKey: 64},
	"RS256": {name: "RS256", fam: famRSA, method: jwt.SigningMethodRS256},
	"RS384": {name: "RS384", fam: famRSA, method: jwt.SigningMethodRS384},
	"RS512": {name: "RS512", fam: famRSA, method: jwt.SigningMethodRS512},
	"PS256": {name: "PS256", fam: famRSA, method: pss("PS256", crypto.SHA256)},
	"PS384": {name: "PS384", fam: famRSA, method: pss("PS384", crypto.SHA384)},
	"PS512": {name: "PS512", fam: famRSA, method: pss("PS512", crypto.SHA512)},
	"ES256": {name: "ES256", fam: famEC, method: jwt.SigningMethodES256, curve: elliptic.P256()},
	"ES384": {name: "ES384", fam: famEC, method: jwt.SigningMethodES384, curve: elliptic.P384()},
	"ES512": {name: "ES512", fam: famEC, method: jwt.SigningMethodES512, curve: elliptic.P521()},
	"EdDSA": {name: "EdDSA", fam: famEd, method: jwt.SigningMethodEdDSA},
}

// Algorithms returns the names of the supported algorithms, sorted.
func Algorithms() []string {
	out := make([]string, 0, len(algorithms))
	for n := range algorithms {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// Supported reports whether alg (case-sensitive, as in a JWS header) is
// verified by this package.
func Supported(alg string) bool { return algorithms[alg] != nil }

// IsHMAC reports whether alg is one of HS256, HS384, HS512.
func IsHMAC(alg string) bool {
	a := algorithms[alg]
	return a != nil && a.fam == famHMAC
}

// MinSecretLen returns the shortest HMAC secret RFC 7518 §3.2 allows for
// alg (its hash size in bytes), or 0 if alg is not an HMAC algorithm.
func MinSecretLen(alg string) int {
	if a := algorithms[alg]; a != nil {
		return a.minKey
	}
	return 0
}

package auth

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"slices"
	"sync/atomic"
)

// MinRSABits is the smallest RSA modulus accepted, from a PEM file or a JWK
// (NIST SP 800-131A; RFC 7518 §3.3 requires 2048 for RS*).
const MinRSABits = 2048

// Key is one verification key. It is immutable once built.
type Key struct {
	// ID is the key's kid ("" if it has none).
	ID string
	// Alg is the JWK's own "alg" member: when set, the key verifies only
	// tokens with exactly that alg. "" = any alg of the key's type.
	Alg string
	// key is []byte (HMAC), *rsa.PublicKey, *ecdsa.PublicKey or
	// ed25519.PublicKey.
	key any
}

// NewHMACKey returns a key for HS256/384/512 holding a copy of secret.
func NewHMACKey(secret []byte) *Key { return &Key{key: slices.Clone(secret)} }

// NewPublicKey wraps a public key (*rsa.PublicKey, *ecdsa.PublicKey on
// P-256/384/521, ed25519.PublicKey), checking it is usable.
func NewPublicKey(pub any) (*Key, error) {
	if err := checkPublic(pub); err != nil {
		return nil, err
	}
	return &Key{key: pub}, nil
}

// ParsePublicKeyPEM reads the first PEM block of data: a "PUBLIC KEY"
// (PKIX), an "RSA PUBLIC KEY" (PKCS #1) or a "CERTIFICATE" (its public key
// is used; the certificate itself is not validated). Private keys are
// refused: the gateway only verifies.
func ParsePublicKeyPEM(data []byte) (*Key, error) {
	b, _ := pem.Decode(data)
	if b == nil {
		return nil, fmt.Errorf("%w: no PEM block found", ErrBadKey)
	}
	var pub any
	var err error
	switch b.Type {
	case "PUBLIC KEY":
		pub, err = x509.ParsePKIXPublicKey(b.Bytes)
	case "RSA PUBLIC KEY":
		pub, err = x509.ParsePKCS1PublicKey(b.Bytes)
	case "CERTIFICATE":
		var c *x509.Certificate
		if c, err = x509.ParseCertificate(b.Bytes); err == nil {
			pub = c.PublicKey
		}
	case "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "ENCRYPTED PRIVATE KEY":
		return nil, fmt.Errorf("%w: PEM block is a private key (%s); give the gateway the public key only", ErrBadKey, b.Type)
	default:
		return nil, fmt.Errorf("%w: unsupported PEM block %q (want PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE)", ErrBadKey, b.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadKey, err)
	}
	return NewPublicKey(pub)
}

// checkPublic accepts the key types and sizes this package verifies with.
func checkPublic(pub any) error {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < MinRSABits {
			return fmt.Errorf("%w: RSA key has %d bits, need at least %d", ErrBadKey, k.N.BitLen(), MinRSABits)
		}
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256(), elliptic.P384(), elliptic.P521():
		default:
			return fmt.Errorf("%w: EC curve %s (want P-256, P-384 or P-521)", ErrBadKey, k.Curve.Params().Name)
		}
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return fmt.Errorf("%w: Ed25519 key of %d bytes", ErrBadKey, len(k))
		}
	default:
		return fmt.Errorf("%w: unsupported key type %T", ErrBadKey, pub)
	}
	return nil
}

// Fits reports whether k can verify tokens signed with alg: the key type
// (and curve) match the algorithm, and the key's own Alg, if any, is alg.
func (k *Key) Fits(alg string) bool {
	a := algorithms[alg]
	return a != nil && k.fits(a)
}

func (k *Key) fits(a *algorithm) bool {
	if k.Alg != "" && k.Alg != a.name {
		return false
	}
	switch key := k.key.(type) {
	case []byte:
		return a.fam == famHMAC && len(key) >= a.minKey
	case *rsa.PublicKey:
		return a.fam == famRSA
	case *ecdsa.PublicKey:
		return a.fam == famEC && key.Curve == a.curve
	case ed25519.PublicKey:
		return a.fam == famEd
	}
	return false
}

// KeySet is an immutable set of keys, indexed by kid. The zero value is
// not usable; build one with NewKeySet or NewStaticKeySet.
type KeySet struct {
	keys  []*Key
	byKID map[string][]*Key
	// static sets (a secret, a PEM file) ignore the token's kid: their
	// keys are tried whatever kid the token names.
	static bool
	gen    uint64
}

// keySetGen numbers key sets, so a verified-token cache can tell that the
// keys a token was verified with are gone.
var keySetGen atomic.Uint64

// NewKeySet returns a JWKS-style set: a token with a kid is verified only
// by keys with that kid; a token without one only when exactly one key
// fits its alg.
func NewKeySet(keys ...*Key) *KeySet {
	s := &KeySet{keys: slices.Clone(keys), byKID: make(map[string][]*Key, len(keys)), gen: keySetGen.Add(1)}
	for _, k := range keys {
		if k.ID != "" {
			s.byKID[k.ID] = append(s.byKID[k.ID], k)
		}
	}
	return s
}

// NewStaticKeySet returns a set for configured keys (a secret, a PEM
// file): the token's kid is ignored and every key fitting the alg is
// tried, in order.
func NewStaticKeySet(keys ...*Key) *KeySet {
	s := NewKeySet(keys...)
	s.static = true
	return s
}

// Keys implements KeySource: a set is its own source.
func (s *KeySet) Keys() *KeySet { return s }

// Len is the number of keys.
func (s *KeySet) Len() int { return len(s.keys) }

// Generation identifies this set among all sets built in the process.
func (s *KeySet) Generation() uint64 { return s.gen }

// candidates returns the keys that may verify a token with this kid and
// alg, or an error saying why there are none.
func (s *KeySet) candidates(kid string, hasKID bool, a *algorithm) ([]*Key, error) {
	if len(s.keys) == 0 {
		return nil, ErrUnknownKey
	}
	var pool []*Key
	switch {
	case s.static:
		pool = s.keys
	case hasKID:
		pool = s.byKID[kid]
		if len(pool) == 0 {
			return nil, ErrUnknownKey
		}
	default:
		var only *Key
		for _, k := range s.keys {
			if k.fits(a) {
				if only != nil {
					return nil, fmt.Errorf("%w: no kid and several keys fit %s", ErrKeyNotFound, a.name)
				}
				only = k
			}
		}
		if only == nil {
			return nil, ErrKeyMismatch
		}
		return []*Key{only}, nil
	}
	for _, k := range pool {
		if k.fits(a) {
			return pool, nil
		}
	}
	return nil, ErrKeyMismatch
}

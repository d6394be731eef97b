package auth

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
)

// b64 is the only base64 this package decodes: URL alphabet, no padding,
// zero trailing bits (RFC 7515 §2, RFC 7518 §6).
var b64 = base64.RawURLEncoding.Strict()

// object is a JSON object with its members undecoded. Members are looked
// up by exact name: encoding/json's struct decoding folds case, which
// would make {"ALG": ...} count as "alg".
type object map[string]json.RawMessage

func parseObject(data []byte) (object, error) {
	var o object
	if err := json.Unmarshal(data, &o); err != nil || o == nil {
		return nil, errors.New("not a JSON object")
	}
	return o, nil
}

// str returns member name as a string; ok is false when absent, err set
// when present but not a string.
func (o object) str(name string) (s string, ok bool, err error) {
	raw, ok := o[name]
	if !ok {
		return "", false, nil
	}
	if err := json.Unmarshal(raw, &s); err != nil || len(raw) == 0 || raw[0] != '"' {
		return "", true, fmt.Errorf("%q is not a string", name)
	}
	return s, true, nil
}

// bytes returns member name decoded from base64url.
func (o object) bytes(name string) ([]byte, error) {
	s, ok, err := o.str(name)
	if err != nil {
		return nil, err
	}
	if !ok || s == "" {
		return nil, fmt.Errorf("%q is missing", name)
	}
	b, err := b64.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%q is not base64url: %v", name, err)
	}
	return b, nil
}

// JWKOptions say which keys ParseJWK and ParseJWKS accept besides the
// public key types.
type JWKOptions struct {
	// AllowSymmetric accepts "oct" keys (HMAC secrets). A JWKS fetched
	// from a URL is public by nature, so the JWKS source leaves it false.
	AllowSymmetric bool
}

// ParseJWK parses one JSON Web Key (RFC 7517, RFC 7518 §6, RFC 8037):
// RSA, EC (P-256/384/521), OKP (Ed25519) and, if allowed, oct. A key whose
// "use" is not "sig", whose "key_ops" lack "verify", or whose "alg" is not
// a supported algorithm is refused. Private members ("d", ...) are
// ignored; "x5c", "x5u" and friends are never read.
func ParseJWK(data []byte, opt JWKOptions) (*Key, error) {
	o, err := parseObject(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadKey, err)
	}
	return jwkFromObject(o, opt)
}

func jwkFromObject(o object, opt JWKOptions) (*Key, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrBadKey, fmt.Sprintf(format, args...))
	}
	k := &Key{}
	var err error
	if k.ID, _, err = o.str("kid"); err != nil {
		return nil, bad("%v", err)
	}
	use, hasUse, err := o.str("use")
	if err != nil {
		return nil, bad("%v", err)
	}
	if hasUse && use != "sig" {
		return nil, fmt.Errorf("%w: use is %q", ErrKeyUse, use)
	}
	if raw, ok := o["key_ops"]; ok {
		var ops []string
		if err := json.Unmarshal(raw, &ops); err != nil {
			return nil, bad("key_ops is not a list of strings")
		}
		if !slices.Contains(ops, "verify") {
			return nil, fmt.Errorf("%w: key_ops %q lack \"verify\"", ErrKeyUse, ops)
		}
	}
	if k.Alg, _, err = o.str("alg"); err != nil {
		return nil, bad("%v", err)
	}
	kty, _, err := o.str("kty")
	if err != nil {
		return nil, bad("%v", err)
	}
	switch kty {
	case "RSA":
		n, err := o.bytes("n")
		if err != nil {
			return nil, bad("RSA key: %v", err)
		}
		e, err := o.bytes("e")
		if err != nil {
			return nil, bad("RSA key: %v", err)
		}
		// Leading zero octets are not allowed (RFC 7518 §6.3.1.1); an
		// exponent must be odd and fit an int.
		if n[0] == 0 || e[0] == 0 || len(e) > 4 {
			return nil, bad("RSA key: non-minimal or oversized n/e")
		}
		ev := new(big.Int).SetBytes(e).Int64()
		if ev < 3 || ev%2 == 0 {
			return nil, bad("RSA key: bad exponent %d", ev)
		}
		k.key = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(ev)}
	case "EC":
		crv, _, err := o.str("crv")
		if err != nil {
			return nil, bad("%v", err)
		}
		var c elliptic.Curve
		switch crv {
		case "P-256":
			c = elliptic.P256()
		case "P-384":
			c = elliptic.P384()
		case "P-521":
			c = elliptic.P521()
		default:
			return nil, bad("EC curve %q (want P-256, P-384 or P-521)", crv)
		}
		size := (c.Params().BitSize + 7) / 8
		x, err := o.bytes("x")
		if err != nil {
			return nil, bad("EC key: %v", err)
		}
		y, err := o.bytes("y")
		if err != nil {
			return nil, bad("EC key: %v", err)
		}
		// RFC 7518 §6.2.1.2: x and y are the full coordinate size.
		if len(x) != size || len(y) != size {
			return nil, bad("EC key: coordinates of %d/%d bytes, want %d", len(x), len(y), size)
		}
		point := append(append([]byte{4}, x...), y...)
		pub, err := ecdsa.ParseUncompressedPublicKey(c, point)
		if err != nil {
			return nil, bad("EC key: %v", err)
		}
		k.key = pub
	case "OKP":
		crv, _, err := o.str("crv")
		if err != nil {
			return nil, bad("%v", err)
		}
		if crv != "Ed25519" {
			return nil, bad("OKP curve %q (want Ed25519)", crv)
		}
		x, err := o.bytes("x")
		if err != nil {
			return nil, bad("OKP key: %v", err)
		}
		k.key = ed25519.PublicKey(x)
	case "oct":
		if !opt.AllowSymmetric {
			return nil, bad("symmetric (oct) keys are not accepted here")
		}
		secret, err := o.bytes("k")
		if err != nil {
			return nil, bad("oct key: %v", err)
		}
		k.key = secret
		return k, checkAlg(k)
	default:
		return nil, bad("key type %q (want RSA, EC or OKP)", kty)
	}
	if err := checkPublic(k.key); err != nil {
		return nil, err
	}
	return k, checkAlg(k)
}

// checkAlg refuses a key whose own alg this package cannot honour or that
// names an algorithm of another key type: such a key could never verify
// anything, and silently ignoring its alg would widen what it accepts.
func checkAlg(k *Key) error {
	if k.Alg == "" {
		return nil
	}
	a := algorithms[k.Alg]
	if a == nil {
		return fmt.Errorf("%w: key alg %q is not supported", ErrBadKey, k.Alg)
	}
	if !k.fits(a) {
		return fmt.Errorf("%w: key alg %q does not fit its key type", ErrBadKey, k.Alg)
	}
	return nil
}

// MaxJWKSKeys bounds how many keys one JWKS document may hold.
const MaxJWKSKeys = 100

// ParseJWKS parses a JWK Set ({"keys": [...]}). Keys that cannot be used
// are skipped and reported in skipped; err is set only when the document
// is malformed or has no usable key at all.
func ParseJWKS(data []byte, opt JWKOptions) (set *KeySet, skipped []error, err error) {
	o, err := parseObject(data)
	if err != nil {
		return nil, nil, fmt.Errorf("JWKS: %v", err)
	}
	raw, ok := o["keys"]
	if !ok {
		return nil, nil, errors.New(`JWKS: no "keys" member`)
	}
	var list []json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, nil, errors.New(`JWKS: "keys" is not an array`)
	}
	if len(list) > MaxJWKSKeys {
		return nil, nil, fmt.Errorf("JWKS: %d keys, at most %d accepted", len(list), MaxJWKSKeys)
	}
	var keys []*Key
	for i, item := range list {
		ko, err := parseObject(bytes.TrimSpace(item))
		if err == nil {
			var k *Key
			if k, err = jwkFromObject(ko, opt); err == nil {
				keys = append(keys, k)
				continue
			}
		}
		skipped = append(skipped, fmt.Errorf("key %d: %w", i, err))
	}
	if len(keys) == 0 {
		return nil, skipped, errors.New("JWKS: no usable key")
	}
	return NewKeySet(keys...), skipped, nil
}

package auth

import (
	"errors"
	"fmt"
	"time"
)

// KeySource hands out the current key set. KeySet (static) and JWKS
// (refreshed) implement it. Keys must be cheap and safe from any goroutine.
type KeySource interface {
	Keys() *KeySet
}

// Policy is what a token must satisfy beyond its signature.
type Policy struct {
	// Algorithms is the allow-list of JWS algs (see Algorithms). Required;
	// "none" is never accepted.
	Algorithms []string
	// Issuer, when set, must equal the iss claim. Default "": not checked.
	Issuer string
	// Audience, when set, must contain one of the aud claim's values.
	// Default none: not checked.
	Audience []string
	// Leeway absorbs clock skew on exp, nbf and iat. Zero is exact.
	Leeway time.Duration
	// RequiredClaims must be present and not null. exp is always required.
	RequiredClaims []string
}

// Token is a verified JWT.
type Token struct {
	Header Header
	// Claims is the claims set; numbers are json.Number. Read-only.
	Claims map[string]any
	// Expires is exp in unix nanoseconds (without the leeway).
	Expires int64
}

// Verifier checks tokens against one policy and key source. It is
// immutable and safe for concurrent use.
type Verifier struct {
	p       Policy
	keys    KeySource
	allowed map[string]*algorithm
}

// ErrPolicy is wrapped by NewVerifier's errors.
var ErrPolicy = errors.New("invalid verification policy")

// NewVerifier checks the policy (known algorithms, at least one) and
// returns a verifier.
func NewVerifier(p Policy, keys KeySource) (*Verifier, error) {
	if keys == nil {
		return nil, fmt.Errorf("%w: no key source", ErrPolicy)
	}
	if len(p.Algorithms) == 0 {
		return nil, fmt.Errorf("%w: no algorithms allowed", ErrPolicy)
	}
	if p.Leeway < 0 {
		return nil, fmt.Errorf("%w: negative leeway", ErrPolicy)
	}
	v := &Verifier{p: p, keys: keys, allowed: make(map[string]*algorithm, len(p.Algorithms))}
	for _, name := range p.Algorithms {
		a := algorithms[name]
		if a == nil {
			return nil, fmt.Errorf("%w: unsupported algorithm %q", ErrPolicy, name)
		}
		v.allowed[name] = a
	}
	return v, nil
}

// Generation identifies the key set in use now; it changes when the keys
// do, so cached verdicts from older keys can be dropped.
func (v *Verifier) Generation() uint64 { return v.keys.Keys().gen }

// Verify checks tok's signature, then its claims at now (unix
// nanoseconds). Errors wrap this package's sentinels; Message turns them
// into what the client is told.
func (v *Verifier) Verify(tok []byte, now int64) (*Token, error) {
	h, payload, err := v.VerifySignature(tok)
	if err != nil {
		return nil, err
	}
	claims, err := decodeClaims(payload)
	if err != nil {
		return nil, err
	}
	exp, err := v.validate(claims, now)
	if err != nil {
		return nil, err
	}
	return &Token{Header: h, Claims: claims, Expires: exp}, nil
}

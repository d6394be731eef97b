package auth

import (
	"bytes"
	"fmt"
)

// MaxTokenBytes bounds the token this package will look at; longer ones
// are malformed without further work.
const MaxTokenBytes = 32 << 10

// Header is what the verifier reads from a JWS protected header.
type Header struct {
	Alg    string
	KID    string
	HasKID bool
}

// b64url marks the bytes allowed in a compact JWS: the base64url alphabet
// and the dots between segments. Checking them first matters because Go's
// base64 decoder silently skips '\r' and '\n'.
var b64url = func() (t [256]bool) {
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	t['-'], t['_'], t['.'] = true, true, true
	return t
}()

// split cuts a compact JWS into its three segments, checking the alphabet.
func split(tok []byte) (h, p, s []byte, err error) {
	if len(tok) == 0 || len(tok) > MaxTokenBytes {
		return nil, nil, nil, fmt.Errorf("%w: length %d", ErrMalformed, len(tok))
	}
	for _, c := range tok {
		if !b64url[c] {
			return nil, nil, nil, fmt.Errorf("%w: byte %q outside base64url", ErrMalformed, c)
		}
	}
	i := bytes.IndexByte(tok, '.')
	j := bytes.LastIndexByte(tok, '.')
	if i < 0 || i == j || bytes.IndexByte(tok[i+1:j], '.') >= 0 {
		return nil, nil, nil, fmt.Errorf("%w: want three segments", ErrMalformed)
	}
	return tok[:i], tok[i+1 : j], tok[j+1:], nil
}

func decodeSegment(seg []byte, what string) ([]byte, error) {
	out := make([]byte, b64.DecodedLen(len(seg)))
	n, err := b64.Decode(out, seg)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrMalformed, what, err)
	}
	return out[:n], nil
}

// parseHeader decodes the protected header: a JSON object whose "alg" is
// a string, whose "kid" (if any) is a string, and without "crit" (this
// verifier understands no extension, so RFC 7515 §4.1.11 says reject).
// Every other member, "jku", "x5u", "jwk" and "x5c" included, is ignored.
func parseHeader(seg []byte) (Header, error) {
	raw, err := decodeSegment(seg, "header")
	if err != nil {
		return Header{}, err
	}
	o, err := parseObject(raw)
	if err != nil {
		return Header{}, fmt.Errorf("%w: header: %v", ErrMalformed, err)
	}
	var h Header
	var ok bool
	if h.Alg, ok, err = o.str("alg"); err != nil || !ok {
		return Header{}, fmt.Errorf("%w: header has no alg string", ErrAlgorithm)
	}
	if h.KID, h.HasKID, err = o.str("kid"); err != nil {
		return Header{}, fmt.Errorf("%w: header: %v", ErrMalformed, err)
	}
	if _, crit := o["crit"]; crit {
		return Header{}, fmt.Errorf("%w: header has crit", ErrMalformed)
	}
	return h, nil
}

// VerifySignature checks a compact JWS against the allow-list and the key
// set and returns its header and decoded payload. It does not look at the
// payload: Verify adds the JWT claim checks.
func (v *Verifier) VerifySignature(tok []byte) (Header, []byte, error) {
	hs, ps, ss, err := split(tok)
	if err != nil {
		return Header{}, nil, err
	}
	h, err := parseHeader(hs)
	if err != nil {
		return Header{}, nil, err
	}
	a := v.allowed[h.Alg]
	if a == nil {
		return h, nil, fmt.Errorf("%w: %q", ErrAlgorithm, h.Alg)
	}
	keys, err := v.keys.Keys().candidates(h.KID, h.HasKID, a)
	if err != nil {
		return h, nil, err
	}
	sig, err := decodeSegment(ss, "signature")
	if err != nil {
		return h, nil, err
	}
	payload, err := decodeSegment(ps, "payload")
	if err != nil {
		return h, nil, err
	}
	input := string(tok[:len(hs)+1+len(ps)])
	for _, k := range keys {
		if !k.fits(a) {
			continue
		}
		if a.method.Verify(input, sig, k.key) == nil {
			return h, payload, nil
		}
	}
	return h, nil, ErrSignature
}

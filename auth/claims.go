package auth

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// decodeClaims parses a JWT claims set: one JSON object and nothing after
// it. Numbers stay json.Number, so a 64-bit user ID survives intact (a
// float64 would round it).
func decodeClaims(payload []byte) (map[string]any, error) {
	d := json.NewDecoder(bytes.NewReader(payload))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil || m == nil {
		return nil, fmt.Errorf("%w: claims are not a JSON object", ErrMalformed)
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: data after the claims object", ErrMalformed)
	}
	return m, nil
}

// numericDate reads a NumericDate claim (RFC 7519 §2) as unix nanoseconds,
// saturating far dates; ok is false when the claim is absent or null.
func numericDate(m map[string]any, name string) (ns int64, ok bool, err error) {
	v, ok := m[name]
	if !ok || v == nil {
		return 0, false, nil
	}
	n, isNum := v.(json.Number)
	if !isNum {
		return 0, true, fmt.Errorf("%w: %s is not a number", ErrClaimType, name)
	}
	f, err := n.Float64()
	if err != nil || math.IsNaN(f) {
		return 0, true, fmt.Errorf("%w: %s is not a finite number", ErrClaimType, name)
	}
	switch s := f * 1e9; {
	case s >= math.MaxInt64:
		return math.MaxInt64, true, nil
	case s <= math.MinInt64:
		return math.MinInt64, true, nil
	default:
		return int64(s), true, nil
	}
}

// AppendClaim appends the text form of a claim value, the form that goes
// into upstream headers and that require compares: strings as they are,
// numbers in plain decimal (1e3 -> 1000, never an exponent), booleans as
// true/false, arrays as their elements joined with ",", objects as compact
// JSON. ok is false for null and absent values (nothing to render).
func AppendClaim(dst []byte, v any) (out []byte, ok bool) {
	switch v := v.(type) {
	case nil:
		return dst, false
	case string:
		return append(dst, v...), true
	case json.Number:
		return appendNumber(dst, string(v)), true
	case float64:
		return strconv.AppendFloat(dst, v, 'f', -1, 64), true
	case bool:
		return strconv.AppendBool(dst, v), true
	case []any:
		first := true
		for _, e := range v {
			if _, isArr := e.([]any); isArr {
				b, _ := json.Marshal(e)
				e = json.RawMessage(b)
			}
			mark := len(dst)
			if !first {
				dst = append(dst, ',')
			}
			var got bool
			if dst, got = AppendClaim(dst, e); !got {
				dst = dst[:mark]
				continue
			}
			first = false
		}
		return dst, true
	case json.RawMessage:
		return append(dst, v...), true
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return dst, false
		}
		return append(dst, b...), true
	}
}

// appendNumber renders a JSON number literal without an exponent: integer
// literals verbatim (no float rounding of big IDs), others through
// float64 in the shortest plain decimal.
func appendNumber(dst []byte, lit string) []byte {
	if !strings.ContainsAny(lit, ".eE") {
		return append(dst, lit...)
	}
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil {
		return append(dst, lit...)
	}
	return strconv.AppendFloat(dst, f, 'f', -1, 64)
}

// SafeHeaderValue reports whether b can go into a header value as is: no
// control bytes (CR, LF, NUL, HTAB, ... and DEL). Bytes >= 0x80 (UTF-8)
// pass, as obs-text.
func SafeHeaderValue(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c == 0x7f {
			return false
		}
	}
	return true
}

// validate applies the time, issuer, audience and presence checks.
func (v *Verifier) validate(m map[string]any, now int64) (exp int64, err error) {
	leeway := int64(v.p.Leeway)
	exp, ok, err := numericDate(m, "exp")
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, fmt.Errorf("%w: exp", ErrMissingClaim)
	}
	if now >= satAdd(exp, leeway) {
		return 0, ErrExpired
	}
	if nbf, ok, err := numericDate(m, "nbf"); err != nil {
		return 0, err
	} else if ok && satAdd(now, leeway) < nbf {
		return 0, ErrNotYetValid
	}
	if iat, ok, err := numericDate(m, "iat"); err != nil {
		return 0, err
	} else if ok && iat > satAdd(now, leeway) {
		return 0, ErrIssuedInFuture
	}
	if v.p.Issuer != "" {
		iss, isStr := m["iss"].(string)
		if !isStr || iss != v.p.Issuer {
			return 0, ErrIssuer
		}
	}
	if len(v.p.Audience) > 0 && !v.audienceOK(m["aud"]) {
		return 0, ErrAudience
	}
	for _, name := range v.p.RequiredClaims {
		if m[name] == nil {
			return 0, fmt.Errorf("%w: %s", ErrMissingClaim, name)
		}
	}
	return exp, nil
}

// audienceOK: aud is a string or an array of strings (RFC 7519 §4.1.3),
// and one of them is a configured audience.
func (v *Verifier) audienceOK(aud any) bool {
	switch a := aud.(type) {
	case string:
		return v.audience(a)
	case []any:
		for _, e := range a {
			if s, ok := e.(string); ok && v.audience(s) {
				return true
			}
		}
	}
	return false
}

func (v *Verifier) audience(s string) bool {
	for _, want := range v.p.Audience {
		if s == want {
			return true
		}
	}
	return false
}

// satAdd adds without wrapping around.
func satAdd(a, b int64) int64 {
	s := a + b
	if b > 0 && s < a {
		return math.MaxInt64
	}
	if b < 0 && s > a {
		return math.MinInt64
	}
	return s
}

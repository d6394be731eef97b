package auth

import "errors"

// Sentinel errors. Verify wraps them with %w; Message maps them to what the
// client is told.
var (
	// ErrMalformed: not a compact JWS of three strict base64url segments, a
	// header or claims set that is not a JSON object, or a "crit" header.
	ErrMalformed = errors.New("malformed token")
	// ErrAlgorithm: the header's alg is missing or not on the allow-list.
	ErrAlgorithm = errors.New("algorithm not allowed")
	// ErrUnknownKey: the key set has no key with the token's kid (or no
	// keys at all yet). A JWKS source may know it after a refresh.
	ErrUnknownKey = errors.New("unknown key id")
	// ErrKeyNotFound: no key can be chosen (a token without kid against a
	// key set of several keys). A refresh would not help.
	ErrKeyNotFound = errors.New("no key for token")
	// ErrKeyMismatch: the key with that kid cannot verify that alg (wrong
	// key type or curve, the JWK's own alg differs, HMAC secret too short).
	ErrKeyMismatch = errors.New("key does not fit the algorithm")
	// ErrSignature: the signature does not verify.
	ErrSignature = errors.New("invalid signature")
	// ErrExpired: now is at or past exp plus the leeway.
	ErrExpired = errors.New("token expired")
	// ErrNotYetValid: now plus the leeway is before nbf.
	ErrNotYetValid = errors.New("token not valid yet")
	// ErrIssuedInFuture: iat is after now plus the leeway.
	ErrIssuedInFuture = errors.New("token issued in the future")
	// ErrIssuer: iss is missing or not the configured issuer.
	ErrIssuer = errors.New("wrong issuer")
	// ErrAudience: aud is missing or names none of the configured audiences.
	ErrAudience = errors.New("wrong audience")
	// ErrMissingClaim: exp or a required claim is absent (or null).
	ErrMissingClaim = errors.New("missing claim")
	// ErrClaimType: a registered claim has the wrong JSON type (exp as a
	// string, iss as a number, ...).
	ErrClaimType = errors.New("claim has the wrong type")

	// ErrKeyUse: a JWK is not meant for verifying signatures ("use" other
	// than "sig", "key_ops" without "verify").
	ErrKeyUse = errors.New("key not meant for signature verification")
	// ErrBadKey: a key that cannot be used at all (unsupported type or
	// curve, RSA under 2048 bits, a point off its curve, a private key).
	ErrBadKey = errors.New("unusable key")
)

// Client-facing messages (DESIGN §5: `{"error": "..."}`). They say no more
// than "expired" or "invalid", so a probe learns nothing about the keys or
// the policy.
const (
	MsgAuthRequired = "Authentication required"
	MsgExpired      = "Token expired"
	MsgInvalid      = "Invalid token"
)

// Message returns the client-facing message for a verification error:
// MsgExpired for ErrExpired, MsgInvalid for anything else.
func Message(err error) string {
	if errors.Is(err, ErrExpired) {
		return MsgExpired
	}
	return MsgInvalid
}

// Reason classifies a verification error for logs and metrics: a short
// snake_case word from a fixed set, so it can be a metric label. The client
// never sees it (Message says only "expired" or "invalid").
//
//	malformed, algorithm, unknown_kid, no_key, key_mismatch, bad_signature,
//	expired, not_yet_valid, issued_in_future, bad_issuer, bad_audience,
//	missing_claim, claim_type, other
func Reason(err error) string {
	for _, r := range reasons {
		if errors.Is(err, r.err) {
			return r.name
		}
	}
	return "other"
}

// reasons is checked in order; the first sentinel err wraps wins.
var reasons = [...]struct {
	err  error
	name string
}{
	{ErrExpired, "expired"},
	{ErrNotYetValid, "not_yet_valid"},
	{ErrIssuedInFuture, "issued_in_future"},
	{ErrSignature, "bad_signature"},
	{ErrUnknownKey, "unknown_kid"},
	{ErrKeyNotFound, "no_key"},
	{ErrKeyMismatch, "key_mismatch"},
	{ErrAlgorithm, "algorithm"},
	{ErrIssuer, "bad_issuer"},
	{ErrAudience, "bad_audience"},
	{ErrMissingClaim, "missing_claim"},
	{ErrClaimType, "claim_type"},
	{ErrMalformed, "malformed"},
}

// Package auth verifies credentials for the gateway's authentication
// filters: compact JWS/JWT tokens (signatures through golang-jwt v5's signing
// methods, everything around them here), key sets from PEM files, secrets
// and JWKS endpoints refreshed off the event loops, a bounded cache of
// verified tokens, and the byte-level helpers that pull a credential out of
// a header or a query string without allocating (cookies: http1.Cookie).
//
// Nothing here knows about gnet, the config file or filters: the filters in
// filter/jwt, filter/apikey and filter/require adapt it to the chain.
//
// What the verifier refuses, whatever the key source:
//   - any alg outside the configured allow-list ("none" can never be on it);
//   - a key of the wrong type for the alg (an RSA or EC key offered to an
//     HS* token, an HMAC secret offered to an RS* token, a P-384 key for
//     ES256), and a JWK whose own "alg" names another algorithm;
//   - anything but three strict base64url segments (no padding, no
//     whitespace, no stray bits), and the "crit" header (no extension is
//     understood);
//   - PS* signatures whose salt is not the hash length (RFC 7518 §3.5;
//     golang-jwt's own PS* methods accept any salt length).
//
// The "jku", "x5u", "jwk" and "x5c" header parameters are never read, so
// never fetched; "kid" is only a key into the key set's map.
package auth
